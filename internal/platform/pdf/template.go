package pdf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/unicode/norm"
)

// A Template is a validated, compiled form template: a JSON document (see
// doc.go for its language) turned into blocks ready to draw. A Template is
// immutable and safe for concurrent use.
type Template struct {
	key        string
	version    int
	effective  time.Time
	title      string
	legalBasis string
	geom       pageGeom
	base       float64
	spacing    float64
	blocks     []guarded
	source     []byte
}

// Key returns the form key, e.g. "form01".
func (t *Template) Key() string { return t.key }

// Version returns the template's version number (1, 2, ...).
func (t *Template) Version() int { return t.version }

// EffectiveFrom returns the first day the template is in force, at
// midnight in Vietnam's time zone.
func (t *Template) EffectiveFrom() time.Time { return t.effective }

// Title returns the form's name, e.g. "Giấy tiếp nhận hồ sơ và hẹn trả kết
// quả".
func (t *Template) Title() string { return t.title }

// LegalBasis returns the template's legal source as written in it, e.g.
// "Mẫu số 01, Phụ lục I, Thông tư 03/2025/TT-VPCP".
func (t *Template) LegalBasis() string { return t.legalBasis }

// Source returns a copy of the JSON the template was parsed from.
func (t *Template) Source() []byte { return bytes.Clone(t.source) }

// Render draws the form over data and returns the PDF. Placeholders are
// evaluated with text/template, data being the dot; the default templates
// expect a Data or *Data. An error wrapping ErrData means the data does not
// fit the template.
func (t *Template) Render(ctx context.Context, data any) ([]byte, error) {
	return t.render(ctx, data, true)
}

// render lays out the form over data and, if write, returns the PDF file;
// validation calls it without write, which spares font subsetting and
// compression.
func (t *Template) render(ctx context.Context, data any, write bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := newRenderer(ctx, t.geom, t.base, t.spacing)
	if err != nil {
		return nil, err
	}
	r.gp.SetInfo(pdfInfo(t))
	if err := r.newPage(); err != nil {
		return nil, err
	}
	for i, b := range t.blocks {
		on, err := b.enabled(data)
		if err == nil && on {
			err = b.draw(r, data)
		}
		if err != nil {
			return nil, fmt.Errorf("pdf: render %s v%d: blocks[%d] (%s): %w", t.key, t.version, i, b.kind, err)
		}
	}
	if !write {
		return nil, nil
	}
	out, err := r.gp.GetBytesPdfReturnErr()
	if err != nil {
		return nil, fmt.Errorf("pdf: render %s v%d: write: %w", t.key, t.version, err)
	}
	return out, nil
}

// Row is the dot of a template evaluated once per element of a list: a
// table cell, or an item of a list block with a source. {{.N}} is the
// 1-based position, {{.Item}} the element, {{.Root}} the whole data.
type Row struct {
	N    int
	Item any
	Root any
}

// The JSON document of a template.
type templateJSON struct {
	Key           string            `json:"key"`
	Version       int               `json:"version"`
	EffectiveFrom string            `json:"effective_from"`
	Title         string            `json:"title"`
	LegalBasis    string            `json:"legal_basis"`
	Description   string            `json:"description"`
	Page          pageJSON          `json:"page"`
	Blocks        []json.RawMessage `json:"blocks"`
}

type pageJSON struct {
	Size        string       `json:"size"`        // A4 (default), A5, A3
	Orientation string       `json:"orientation"` // portrait (default), landscape
	MarginsMM   *marginsJSON `json:"margins_mm"`
	FontSize    float64      `json:"font_size"`    // default 13
	LineSpacing float64      `json:"line_spacing"` // default 1.2
}

type marginsJSON struct {
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
	Left   float64 `json:"left"`
}

// Page sizes in points, portrait.
var pageSizes = map[string][2]float64{
	"A3": {841.89, 1190.55},
	"A4": {595.28, 841.89},
	"A5": {419.53, 595.28},
}

var (
	keyPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	pathPattern = regexp.MustCompile(`^(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
)

// maxTemplateSize bounds a template's JSON; the defaults are under 8 KiB.
const maxTemplateSize = 256 << 10

// checker collects every problem found in a template.
type checker struct{ problems []string }

func (c *checker) addf(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// ParseTemplate validates and compiles a template from its JSON. Unknown
// fields, unknown block types, bad placeholders and out-of-range sizes are
// all reported at once in a *TemplateError (matching ErrInvalidTemplate).
// As a last check the template is rendered over SampleData, so that a
// placeholder naming a field that Data lacks is caught here, not when a
// citizen is waiting at the counter.
func ParseTemplate(src []byte) (*Template, error) {
	if len(src) > maxTemplateSize {
		return nil, &TemplateError{Problems: []string{fmt.Sprintf("template is %d bytes, more than the %d allowed", len(src), maxTemplateSize)}}
	}
	var doc templateJSON
	if err := strictDecode(src, &doc); err != nil {
		return nil, &TemplateError{Problems: []string{"parse JSON: " + err.Error()}}
	}
	c := &checker{}
	t := &Template{
		key:        doc.Key,
		version:    doc.Version,
		title:      norm.NFC.String(doc.Title),
		legalBasis: norm.NFC.String(doc.LegalBasis),
		source:     bytes.Clone(src),
	}
	if !keyPattern.MatchString(doc.Key) {
		c.addf("key", "must be 1-64 lower-case letters, digits, '_', '.' or '-' (got %q)", doc.Key)
	}
	if doc.Version < 1 {
		c.addf("version", "must be a whole number from 1 (got %d)", doc.Version)
	}
	if d, err := time.ParseInLocation(time.DateOnly, doc.EffectiveFrom, vnZone); err != nil {
		c.addf("effective_from", "must be a date YYYY-MM-DD (got %q)", doc.EffectiveFrom)
	} else {
		t.effective = d
	}
	if strings.TrimSpace(doc.Title) == "" {
		c.addf("title", "is required")
	}
	t.geom, t.base, t.spacing = pageGeometry(c, doc.Page)
	if len(doc.Blocks) == 0 {
		c.addf("blocks", "at least one block is required")
	}
	for i, raw := range doc.Blocks {
		if b, ok := compileBlock(c, fmt.Sprintf("blocks[%d]", i), raw, t.base); ok {
			t.blocks = append(t.blocks, b)
		}
	}
	if len(c.problems) == 0 {
		if _, err := t.render(context.Background(), SampleData(), false); err != nil {
			c.addf("blocks", "rendering sample data: %v", err)
		}
	}
	if len(c.problems) > 0 {
		return nil, &TemplateError{Key: doc.Key, Version: doc.Version, Problems: c.problems}
	}
	return t, nil
}

// strictDecode decodes one JSON value into v, rejecting unknown fields and
// trailing data.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func pageGeometry(c *checker, p pageJSON) (g pageGeom, base, spacing float64) {
	size := p.Size
	if size == "" {
		size = "A4"
	}
	wh, ok := pageSizes[size]
	if !ok {
		c.addf("page.size", "must be A4, A5 or A3 (got %q)", p.Size)
		wh = pageSizes["A4"]
	}
	g.w, g.h = wh[0], wh[1]
	switch p.Orientation {
	case "", "portrait":
	case "landscape":
		g.w, g.h = g.h, g.w
	default:
		c.addf("page.orientation", "must be portrait or landscape (got %q)", p.Orientation)
	}
	// Decree 30/2020 margins: top and bottom 20-25 mm, left 30-35 mm, right
	// 15-20 mm.
	m := marginsJSON{Top: 20, Right: 15, Bottom: 20, Left: 30}
	if p.MarginsMM != nil {
		m = *p.MarginsMM
	}
	for _, v := range []struct {
		name string
		mm   float64
	}{{"top", m.Top}, {"right", m.Right}, {"bottom", m.Bottom}, {"left", m.Left}} {
		if v.mm < 5 || v.mm > 60 {
			c.addf("page.margins_mm."+v.name, "must be between 5 and 60 (got %g)", v.mm)
		}
	}
	g.top, g.right, g.bottom, g.left = m.Top*ptPerMM, m.Right*ptPerMM, m.Bottom*ptPerMM, m.Left*ptPerMM
	base = p.FontSize
	if base == 0 {
		base = 13
	}
	if base < 6 || base > 30 {
		c.addf("page.font_size", "must be between 6 and 30 points (got %g)", p.FontSize)
		base = 13
	}
	spacing = p.LineSpacing
	if spacing == 0 {
		spacing = 1.2
	}
	if spacing < 1 || spacing > 3 {
		c.addf("page.line_spacing", "must be between 1 and 3 (got %g)", p.LineSpacing)
		spacing = 1.2
	}
	return g, base, spacing
}

// text is one placeholder-bearing string of a template.
type text struct {
	src string
	t   *template.Template // nil when src has no placeholder
}

// compileText parses src as a text/template, recording a problem at path.
func (c *checker) text(path, src string) text {
	src = norm.NFC.String(src)
	if !strings.Contains(src, "{{") {
		return text{src: src}
	}
	t, err := template.New(path).Funcs(funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		c.addf(path, "bad placeholder: %v", err)
		return text{src: src}
	}
	return text{src: src, t: t}
}

// exec evaluates the text over dot.
func (t text) exec(dot any) (string, error) {
	if t.t == nil {
		return t.src, nil
	}
	var b strings.Builder
	if err := t.t.Execute(&b, dot); err != nil {
		return "", fmt.Errorf("%w: %w", ErrData, err)
	}
	return b.String(), nil
}

// truthy tells whether the value of a "when" condition enables its block.
func truthy(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "false", "0", "<no value>":
		return false
	}
	return true
}

// source is a path to a list in the data, such as ".Dossier.Documents".
type source []string

func (c *checker) source(path, src string) source {
	if !pathPattern.MatchString(src) {
		c.addf(path, "must be a field path such as .Dossier.Documents (got %q)", src)
		return nil
	}
	return strings.Split(src[1:], ".")
}

// list resolves the path in data and returns the list's elements. A nil
// pointer or nil slice on the way gives no elements.
func (s source) list(data any) ([]any, error) {
	v := reflect.ValueOf(data)
	for i, name := range s {
		v = indirect(v)
		if !v.IsValid() {
			return nil, nil
		}
		var next reflect.Value
		if m := v.MethodByName(name); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
			next = m.Call(nil)[0]
		} else if v.Kind() == reflect.Struct {
			if f, ok := v.Type().FieldByName(name); ok && f.IsExported() {
				next = v.FieldByIndex(f.Index)
			}
		} else if v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String {
			next = v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
			if !next.IsValid() {
				return nil, nil
			}
		}
		if !next.IsValid() {
			return nil, fmt.Errorf("%w: .%s: no field %q in %s", ErrData, strings.Join(s[:i+1], "."), name, v.Type())
		}
		v = next
	}
	v = indirect(v)
	if !v.IsValid() {
		return nil, nil
	}
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return nil, fmt.Errorf("%w: .%s is a %s, not a list", ErrData, strings.Join(s, "."), v.Type())
	}
	out := make([]any, v.Len())
	for i := range out {
		out[i] = v.Index(i).Interface()
	}
	return out, nil
}

func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}
