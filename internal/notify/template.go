package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/congso/congso/internal/web"
)

//go:embed templates
var templateFS embed.FS

// Languages are the languages every kind has a template in.
var Languages = []string{"vi", "en"}

// The blocks a kind's text file (templates/{lang}/{kind}.txt) must define.
// The HTML file (templates/{lang}/{kind}.html) defines "body", which the
// shared templates/layout.html wraps.
var textBlocks = []string{"subject", "text", "sms", "inapp"}

// Message is a notification rendered in one language for every channel.
type Message struct {
	Subject string // email subject and in-app title
	Text    string // plain-text email part
	HTML    string // HTML email part
	SMS     string // SMS text (before folding of diacritics)
	InApp   string // in-app body
}

// Data is what the templates receive. Times are shown in Asia/Ho_Chi_Minh.
type Data struct {
	Kind        Kind
	Lang        string
	Sender      string // the province's name as signature ("UBND tỉnh …")
	Name        string // the recipient's name
	Code        string // dossier code
	Procedure   string
	ReceivedAt  time.Time
	DueAt       time.Time
	NewDue      time.Time
	PreviousDue time.Time
	Reason      string
	Items       []string // supplement request: what is asked
	Fees        []Fee    // payment requested: the unpaid fees
	Fee         *Fee     // payment received: the fee paid
	Total       int64    // payment requested: sum of Fees
	// Cause of a resumption: "supplement" or "payment"; BeforeReception is
	// true when a supplement came back before the dossier was received.
	Cause           string
	BeforeReception bool
	LookupURL       string // public lookup of the dossier
	Link            string // where the in-app notification leads
	Login           *LoginEvent
	SettingsURL     string // where to change preferences
}

// Templates holds the parsed templates of every kind and language.
type Templates struct {
	text map[string]*texttemplate.Template // by lang + "/" + kind
	html map[string]*htmltemplate.Template
}

func funcs(lang string) map[string]any {
	return map[string]any{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(web.Location).Format("02/01/2006")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(web.Location).Format("15:04 02/01/2006")
		},
		"vnd": func(n int64) string {
			if lang == "en" {
				return strings.TrimSuffix(web.FormatVND(n), " ₫") + " VND"
			}
			return strings.TrimSuffix(web.FormatVND(n), " ₫") + " đồng"
		},
		"join": strings.Join,
		"inc":  func(i int) int { return i + 1 },
	}
}

// LoadTemplates parses the embedded templates, each replaced by a file of the
// same path under dir when dir is not empty and has one (an operator's
// edited copy; see docs/notifications.md). It fails when a kind lacks a file or block in
// a language, or when a template does not render with sample data, so a
// broken edit stops the start rather than a notification.
func LoadTemplates(dir string) (*Templates, error) {
	var fsys fs.FS = templateFS
	if dir != "" {
		fsys = overlay{over: os.DirFS(dir), base: templateFS}
	}
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	layout, err := fs.ReadFile(fsys, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("notify templates: %w", err)
	}
	for _, lang := range Languages {
		for _, k := range Kinds() {
			key := lang + "/" + string(k)
			name := path.Join("templates", lang, string(k))
			src, err := fs.ReadFile(fsys, name+".txt")
			if err != nil {
				return nil, fmt.Errorf("notify templates: %w", err)
			}
			tt, err := texttemplate.New(key).Funcs(funcs(lang)).Option("missingkey=error").Parse(string(src))
			if err != nil {
				return nil, fmt.Errorf("notify template %s.txt: %w", name, err)
			}
			for _, b := range textBlocks {
				if tt.Lookup(b) == nil {
					return nil, fmt.Errorf("notify template %s.txt: no block %q", name, b)
				}
			}
			hsrc, err := fs.ReadFile(fsys, name+".html")
			if err != nil {
				return nil, fmt.Errorf("notify templates: %w", err)
			}
			ht, err := htmltemplate.New(key).Funcs(funcs(lang)).Parse(string(layout))
			if err == nil {
				_, err = ht.Parse(string(hsrc))
			}
			if err != nil {
				return nil, fmt.Errorf("notify template %s.html: %w", name, err)
			}
			if ht.Lookup("body") == nil {
				return nil, fmt.Errorf("notify template %s.html: no block \"body\"", name)
			}
			t.text[key], t.html[key] = tt, ht
			if _, err := t.Render(lang, k, SampleData(lang, k)); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

// Render renders kind in lang ("" or unknown: Vietnamese) with d.
func (t *Templates) Render(lang string, kind Kind, d Data) (Message, error) {
	lang = langOf(lang)
	key := lang + "/" + string(kind)
	tt, ht := t.text[key], t.html[key]
	if tt == nil || ht == nil {
		return Message{}, fmt.Errorf("notify: no template %s: %w", key, ErrInvalid)
	}
	d.Kind, d.Lang = kind, lang
	var m Message
	for _, b := range []struct {
		name string
		dst  *string
	}{{"subject", &m.Subject}, {"text", &m.Text}, {"sms", &m.SMS}, {"inapp", &m.InApp}} {
		var buf bytes.Buffer
		if err := tt.ExecuteTemplate(&buf, b.name, d); err != nil {
			return Message{}, fmt.Errorf("notify template %s %s: %w", key, b.name, err)
		}
		*b.dst = buf.String()
	}
	var buf bytes.Buffer
	if err := ht.ExecuteTemplate(&buf, "layout", d); err != nil {
		return Message{}, fmt.Errorf("notify template %s html: %w", key, err)
	}
	m.HTML = buf.String()
	m.Subject = oneLine(m.Subject)
	m.SMS = oneLine(m.SMS)
	m.InApp = strings.TrimSpace(m.InApp)
	m.Text = strings.TrimSpace(m.Text) + "\n"
	return m, nil
}

// langOf returns a supported language, Vietnamese by default.
func langOf(lang string) string {
	for _, l := range Languages {
		if l == lang {
			return l
		}
	}
	return "vi"
}

// oneLine joins the lines of s with single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Unaccent removes Vietnamese diacritics but keeps case ("Hồ sơ Đã" →
// "Ho so Da"), for SMS sent without Unicode, as brandname gateways bill
// Unicode messages at 70 characters a segment.
func Unaccent(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		case r == '₫':
			b.WriteString("VND")
		case r == '–' || r == '—':
			b.WriteByte('-')
		case r == '…':
			b.WriteString("...")
		case r == '“' || r == '”':
			b.WriteByte('"')
		case r == '‘' || r == '’':
			b.WriteByte('\'')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncate cuts s to at most n runes, ending with "...".
func truncate(s string, n int) string {
	if n <= 3 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}

// SampleData is example data for kind, used to check templates at load and
// by the preview command of docs/notifications.md.
func SampleData(lang string, k Kind) Data {
	due := time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)
	d := Data{Kind: k, Lang: lang, Sender: "UBND tỉnh Mẫu", Name: "Nguyễn Thị Hồng Nhung", Code: "000.00.12.H12-261201-0001",
		Procedure: "Cấp giấy phép xây dựng nhà ở riêng lẻ", ReceivedAt: due.AddDate(0, 0, -14), DueAt: due,
		NewDue: due.AddDate(0, 0, 5), PreviousDue: due, Reason: "Cần xác minh thêm hiện trạng công trình.",
		Items: []string{"Bản vẽ mặt bằng có chữ ký của chủ hộ", "Bản sao giấy chứng nhận quyền sử dụng đất"},
		Fees:  []Fee{{Name: "Lệ phí cấp giấy phép", Amount: 75000}}, Total: 75000,
		Fee:   &Fee{Name: "Lệ phí cấp giấy phép", Amount: 75000, Paid: true, Reference: "VNPAY-123"},
		Cause: "supplement", LookupURL: "https://dichvucong.example.gov.vn/lookup?code=000.00.12.H12-261201-0001",
		Link: "/account/notifications", SettingsURL: "https://dichvucong.example.gov.vn/account/notifications/settings"}
	if k == KindLogin {
		d.Login = &LoginEvent{PersonID: "p1", At: due, Method: "password", IP: "203.0.113.7", UserAgent: "Firefox"}
	}
	return d
}

// overlay reads templates/NAME from over as NAME when it has it, else
// from base.
type overlay struct{ over, base fs.FS }

// Open implements fs.FS.
func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.over.Open(strings.TrimPrefix(name, "templates/"))
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return o.base.Open(name)
}

// Preview renders kind in lang with sample data from the templates in dir
// (over the embedded ones) and writes every part to w: what an operator
// checks after editing a template (docs/notifications.md).
func Preview(w io.Writer, dir, lang string, kind Kind) error {
	t, err := LoadTemplates(dir)
	if err != nil {
		return err
	}
	m, err := t.Render(lang, kind, SampleData(lang, kind))
	if err != nil {
		return err
	}
	sms := m.SMS
	_, err = fmt.Fprintf(w, "== subject\n%s\n== sms (%d characters; without diacritics: %q)\n%s\n== in-app\n%s\n== text\n%s== html\n%s\n",
		m.Subject, utf8.RuneCountInString(sms), Unaccent(sms), sms, m.InApp, m.Text, m.HTML)
	return err
}
