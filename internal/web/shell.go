package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// User is what the shell needs to know about the signed-in person.
type User struct {
	ID       string
	Name     string
	Kind     string // "official" or "applicant"
	Roles    []string
	HasRole  func(role string) bool
	CanDo    func(action string) bool
	IsActive bool
}

// Can reports whether the user may perform action anywhere (for navigation).
func (u *User) Can(action string) bool { return u != nil && u.CanDo != nil && u.CanDo(action) }

// NavItem is a link in the main navigation. Visible decides per user; nil means
// always.
type NavItem struct {
	Path    string
	Label   string // i18n key
	Order   int
	Visible func(u *User) bool
}

// Site describes the installation for the layout.
type Site struct {
	ProvinceName string
	Demo         bool
	Version      string
}

// Shell renders pages inside the common layout.
type Shell struct {
	Site        Site
	CurrentUser func(r *http.Request) *User
	CSRFToken   func(r *http.Request) string
	Log         *slog.Logger

	base *template.Template
	nav  []NavItem
}

// New parses the layout. currentUser and csrf may be nil in tests.
func New(site Site) (*Shell, error) {
	s := &Shell{Site: site, Log: slog.Default()}
	base, err := template.New("layout").Funcs(Funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	s.base = base
	return s, nil
}

// AddNav adds a navigation link.
func (s *Shell) AddNav(items ...NavItem) {
	s.nav = append(s.nav, items...)
	sort.SliceStable(s.nav, func(i, j int) bool { return s.nav[i].Order < s.nav[j].Order })
}

// Funcs are the template functions available to every page. Translation is a
// method on View ({{.T "key"}}) because it needs the request's language.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(Location).Format("02/01/2006")
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(Location).Format("02/01/2006 15:04")
		},
		"isodate": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(Location).Format("2006-01-02")
		},
		"vnd":  FormatVND,
		"add":  func(a, b int) int { return a + b },
		"join": strings.Join,
		"contains": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
		"query": func(kv ...string) template.URL {
			var b strings.Builder
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					continue
				}
				if b.Len() > 0 {
					b.WriteByte('&')
				}
				b.WriteString(template.URLQueryEscaper(kv[i]))
				b.WriteByte('=')
				b.WriteString(template.URLQueryEscaper(kv[i+1]))
			}
			return template.URL(b.String())
		},
	}
}

// Location is Vietnam's time zone (UTC+7), used for every date shown.
var Location = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
}()

// FormatVND formats an amount in đồng with dot thousands separators.
func FormatVND(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	out := b.String() + " ₫"
	if neg {
		out = "-" + out
	}
	return out
}

// Pages parses each file matching pattern in fsys into its own copy of the
// layout; the result maps the file's base name without extension (e.g.
// "procedure_list") to its template. Files in a "partials" folder next to the
// pages are parsed into every page. A page file defines "title" and "content".
func (s *Shell) Pages(fsys fs.FS, pattern string, funcs template.FuncMap) (map[string]*template.Template, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	partials, _ := fs.Glob(fsys, path.Join(path.Dir(pattern), "partials", "*.html"))
	out := map[string]*template.Template{}
	for _, f := range files {
		t, err := s.base.Clone()
		if err != nil {
			return nil, err
		}
		if funcs != nil {
			t.Funcs(funcs)
		}
		if _, err := t.ParseFS(fsys, append([]string{f}, partials...)...); err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		name := strings.TrimSuffix(path.Base(f), path.Ext(f))
		out[name] = t
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no page templates match %s", pattern)
	}
	return out, nil
}

// View is the value every page template receives.
type View struct {
	Lang    i18n.Lang
	Site    Site
	User    *User
	CSRF    string
	Path    string
	Query   string
	Nav     []NavItem
	Flash   string
	Data    any
	Request *http.Request
}

// T translates key into the page's language.
func (v View) T(key string, args ...any) string { return i18n.T(v.Lang, key, args...) }

// OtherLang is the language the switch offers.
func (v View) OtherLang() i18n.Lang {
	if v.Lang == i18n.English {
		return i18n.Vietnamese
	}
	return i18n.English
}

// Active reports whether the nav path is the current section.
func (v View) Active(p string) bool {
	if p == "/" {
		return v.Path == "/"
	}
	return v.Path == p || strings.HasPrefix(v.Path, p+"/")
}

// NewView builds the View for a request.
func (s *Shell) NewView(r *http.Request, data any) View {
	v := View{Lang: i18n.FromRequest(r), Site: s.Site, Path: r.URL.Path, Query: r.URL.RawQuery, Data: data, Request: r}
	if s.CurrentUser != nil {
		v.User = s.CurrentUser(r)
	}
	if s.CSRFToken != nil {
		v.CSRF = s.CSRFToken(r)
	}
	for _, n := range s.nav {
		if n.Visible == nil || n.Visible(v.User) {
			v.Nav = append(v.Nav, n)
		}
	}
	if c, err := r.Cookie("flash"); err == nil {
		v.Flash = c.Value
	}
	return v
}

// Render executes page t with data and writes it with status. Rendering goes to a
// buffer first so a template error becomes a clean 500 page, not half a page.
func (s *Shell) Render(w http.ResponseWriter, r *http.Request, t *template.Template, status int, data any) {
	v := s.NewView(r, data)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Log.ErrorContext(r.Context(), "render page", "path", r.URL.Path, "err", err)
		http.Error(w, i18n.T(v.Lang, "error.internal"), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(v.Lang))
	if v.Flash != "" {
		http.SetCookie(w, &http.Cookie{Name: "flash", Path: "/", MaxAge: -1})
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// SetFlash stores a one-time message, as an i18n key, shown on the next page
// (after a redirect).
func SetFlash(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: "flash", Value: key, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}
