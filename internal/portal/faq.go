package portal

import "github.com/congso/congso/internal/platform/i18n"

// Question is one frequently asked question of the help page.
type Question struct {
	Q, A string
}

// faqKeys are the help page's questions, as i18n keys "portal.faq.<key>.q"
// and ".a": general questions about the online portal. The answers describe
// what this portal does, so they change with it.
var faqKeys = []string{"account", "which", "drafts", "upload", "reuse", "submit", "track", "supplement", "withdraw", "pay",
	"result", "lookup", "rate", "nojs"}

// FAQ returns the general questions and answers in lang.
func FAQ(lang i18n.Lang) []Question {
	out := make([]Question, 0, len(faqKeys))
	for _, k := range faqKeys {
		out = append(out, Question{Q: i18n.T(lang, "portal.faq."+k+".q"), A: i18n.T(lang, "portal.faq."+k+".a")})
	}
	return out
}
