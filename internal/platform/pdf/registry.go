package pdf

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/signintech/gopdf"
)

//go:embed templates/*.json
var defaultTemplates embed.FS

// A Registry holds the templates of each form, in every version, and picks
// the one in force at a date. The zero value is an empty registry ready to
// use; NewRegistry returns one holding the default templates. A Registry is
// safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	forms map[string][]*Template // per key, ordered by effective date, then version
}

// NewRegistry returns a registry holding the default templates of forms
// 01–07 (the embedded templates/*.json).
func NewRegistry() (*Registry, error) {
	r := &Registry{}
	if err := r.LoadFS(defaultTemplates, "templates"); err != nil {
		return nil, fmt.Errorf("pdf: default templates: %w", err)
	}
	return r, nil
}

// Register adds a template. A province customises a form by registering a
// template with the form's key and a new version: it supersedes the older
// versions from its effective date (or, with the same effective date, by its
// higher version). Registering a key and version that is already present
// fails with ErrDuplicateTemplate.
func (r *Registry) Register(t *Template) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.forms[t.key] {
		if old.version == t.version {
			return fmt.Errorf("%w: %s v%d", ErrDuplicateTemplate, t.key, t.version)
		}
	}
	if r.forms == nil {
		r.forms = make(map[string][]*Template)
	}
	list := append(slices.Clone(r.forms[t.key]), t)
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].effective.Equal(list[j].effective) {
			return list[i].effective.Before(list[j].effective)
		}
		return list[i].version < list[j].version
	})
	r.forms[t.key] = list
	return nil
}

// RegisterJSON parses a template (see ParseTemplate) and registers it.
func (r *Registry) RegisterJSON(src []byte) (*Template, error) {
	t, err := ParseTemplate(src)
	if err != nil {
		return nil, err
	}
	if err := r.Register(t); err != nil {
		return nil, err
	}
	return t, nil
}

// LoadFS registers every *.json file in dir of fsys, in name order; use it
// for a province's directory of customised templates. It stops at the first
// file that fails, naming it; templates registered before stay registered.
func (r *Registry) LoadFS(fsys fs.FS, dir string) error {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("pdf: list templates in %s: %w", dir, err)
	}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("pdf: read template: %w", err)
		}
		if _, err := r.RegisterJSON(src); err != nil {
			return fmt.Errorf("pdf: template %s: %w", name, err)
		}
	}
	return nil
}

// Template returns the template of form in force at the date of at (read
// in Vietnam's time zone): the one with the latest effective date on or
// before that day, the higher version winning a tie. It fails with
// ErrUnknownForm or ErrNotInForce.
func (r *Registry) Template(form string, at time.Time) (*Template, error) {
	r.mu.RLock()
	list, ok := r.forms[form]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownForm, form)
	}
	y, m, d := at.In(vnZone).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, vnZone)
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].effective.After(day) {
			return list[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s on %s (first version effective %s)", ErrNotInForce, form,
		day.Format(time.DateOnly), list[0].effective.Format(time.DateOnly))
}

// Version returns a given version of form's template, for re-printing a
// form exactly as it was first issued. It fails with ErrUnknownForm or
// ErrNotInForce.
func (r *Registry) Version(form string, version int) (*Template, error) {
	r.mu.RLock()
	list, ok := r.forms[form]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownForm, form)
	}
	for _, t := range list {
		if t.version == version {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no version %d", ErrNotInForce, form, version)
}

// Templates returns every registered template, ordered by key, then
// effective date and version.
func (r *Registry) Templates() []*Template {
	r.mu.RLock()
	defer r.mu.RUnlock()
	keys := make([]string, 0, len(r.forms))
	for k := range r.forms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*Template
	for _, k := range keys {
		out = append(out, r.forms[k]...)
	}
	return out
}

// Render renders form with the template in force at the date of at (see
// Template) over data, normally a Data or *Data, and returns the PDF.
func (r *Registry) Render(ctx context.Context, form string, at time.Time, data any) ([]byte, error) {
	t, err := r.Template(form, at)
	if err != nil {
		return nil, err
	}
	return t.Render(ctx, data)
}

// pdfInfo is the document information dictionary; the subject records the
// template key and version that produced the file.
func pdfInfo(t *Template) gopdf.PdfInfo {
	return gopdf.PdfInfo{
		Title:    t.title,
		Subject:  fmt.Sprintf("%s v%d", t.key, t.version),
		Creator:  "congso",
		Producer: "congso internal/platform/pdf (gopdf)",
	}
}
