package web

import (
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/congso/congso/internal/platform/i18n"
)

// HomeCard is a tile on a signed-in user's home page.
type HomeCard struct {
	Path  string
	Title string // i18n key
	Text  string // i18n key
	Order int
	// Visible decides per user; nil means every signed-in user.
	Visible func(u *User) bool
}

// Handlers serves the shell's own pages: home, language switch, static assets and
// error pages.
type Handlers struct {
	Shell *Shell
	Cards []HomeCard

	pages map[string]*template.Template
}

// NewHandlers parses the shell's pages.
func NewHandlers(s *Shell) (*Handlers, error) {
	pages, err := s.Pages(templateFS, "templates/*.html", nil)
	if err != nil {
		return nil, err
	}
	delete(pages, "layout")
	return &Handlers{Shell: s, pages: pages}, nil
}

// Routes registers the shell's routes.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /lang", h.lang)
	sub, _ := fs.Sub(staticFS, "static")
	static := http.StripPrefix("/static/", http.FileServerFS(sub))
	mux.Handle("GET /static/", cacheStatic(static))
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets are embedded in the binary and change only with a new version;
		// revalidation by Last-Modified is cheap, a day's cache is safe.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

func (h *Handlers) home(w http.ResponseWriter, r *http.Request) {
	var cards []HomeCard
	if h.Shell.CurrentUser != nil {
		if u := h.Shell.CurrentUser(r); u != nil {
			for _, c := range h.Cards {
				if c.Visible == nil || c.Visible(u) {
					cards = append(cards, c)
				}
			}
		}
	}
	h.Shell.Render(w, r, h.pages["home"], http.StatusOK, cards)
}

// lang sets the language cookie and goes back to the page the user was on.
func (h *Handlers) lang(w http.ResponseWriter, r *http.Request) {
	lang, ok := i18n.ParseLang(r.URL.Query().Get("to"))
	if !ok {
		lang = i18n.Vietnamese
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: string(lang), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, SafeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// SafeNext returns next if it is a local path, else "/": redirect targets taken
// from a request must never send a user to another site.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

// ErrorPage renders a full HTML error page for status (404, 403, 500).
func (h *Handlers) ErrorPage(w http.ResponseWriter, r *http.Request, status int) {
	key := "error.page.internal"
	switch status {
	case http.StatusNotFound:
		key = "error.page.not_found"
	case http.StatusForbidden:
		key = "error.page.forbidden"
	}
	h.Shell.Render(w, r, h.pages["error"], status, struct{ Title, Text string }{key, key + ".text"})
}

// NotFound renders the 404 page.
func (h *Handlers) NotFound(w http.ResponseWriter, r *http.Request) {
	h.ErrorPage(w, r, http.StatusNotFound)
}
