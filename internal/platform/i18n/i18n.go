package i18n

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

// Lang is a supported user-interface language, identified by its ISO 639-1 code.
type Lang string

// The supported languages.
const (
	Vietnamese Lang = "vi"
	English    Lang = "en"
)

// Key names a message. Passed as a placeholder value to [T], it is translated
// into the same language, so that callers can build a message before the
// language of the reply is known:
//
//	i18n.T(lang, "error.invalid_type", "field", "age", "expected", i18n.Key("type.integer"))
type Key string

// Default is the language used when a request expresses no usable preference,
// and the language every other one falls back to.
const Default = Vietnamese

// CookieName is the name of the cookie that holds a user's chosen language.
const CookieName = "lang"

// Langs returns the supported languages, the default first.
func Langs() []Lang { return []Lang{Vietnamese, English} }

// ParseLang returns the supported language named by s, which may be a bare code
// ("en") or a BCP 47 tag ("en-US", "vi-VN"); matching ignores case.
func ParseLang(s string) (Lang, bool) {
	base, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	switch Lang(strings.ToLower(base)) {
	case Vietnamese:
		return Vietnamese, true
	case English:
		return English, true
	}
	return "", false
}

// FromRequest returns the language to answer r in: the value of the "lang"
// cookie if it names a supported language, else the supported language with the
// highest q-value in Accept-Language (the earliest one on ties), else [Default].
func FromRequest(r *http.Request) Lang {
	if c, err := r.Cookie(CookieName); err == nil {
		if l, ok := ParseLang(c.Value); ok {
			return l
		}
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// fromAcceptLanguage picks from a header such as "en-US,en;q=0.9,vi;q=0.8".
// Entries with q=0 or a malformed q are ignored, as is the wildcard "*", which
// would choose the default anyway.
func fromAcceptLanguage(header string) Lang {
	best, bestQ := Default, 0.0
	for entry := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(entry, ";")
		l, ok := ParseLang(tag)
		if !ok {
			continue
		}
		q := 1.0
		if params = strings.TrimSpace(params); params != "" {
			name, value, _ := strings.Cut(params, "=")
			if strings.TrimSpace(name) != "q" {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

//go:embed messages/*.json
var platformMessages embed.FS

var std = func() *Bundle {
	b := &Bundle{}
	if err := b.AddFS(platformMessages, "messages"); err != nil {
		panic(err) // the catalogs are embedded; a test keeps them loadable
	}
	return b
}()

// T returns the text for key in lang from the shared catalogs, with placeholders
// filled from args, which alternate names and values ("field", "age", ...).
// It falls back to Vietnamese and then to key itself.
func T(lang Lang, key string, args ...any) string { return std.T(lang, key, args...) }

// Has reports whether key is in the shared catalogs.
func Has(key string) bool { return std.Has(key) }

// Register adds messages in lang to the shared catalogs. It fails if lang is not
// supported or if a key is already registered with different text.
func Register(lang Lang, msgs map[string]string) error { return std.Add(lang, msgs) }

// RegisterFS adds the catalogs dir/vi.json and dir/en.json from fsys (usually an
// embed.FS) to the shared catalogs. Modules call it once at start-up.
func RegisterFS(fsys fs.FS, dir string) error { return std.AddFS(fsys, dir) }

// Check reports keys of the shared catalogs that are missing from a language or
// whose placeholders differ between languages.
func Check() error { return std.Check() }
