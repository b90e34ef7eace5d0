package pdf

import (
	"encoding/json"
	"fmt"
)

// drawer draws one block at the renderer's cursor and moves the cursor
// below it.
type drawer interface {
	draw(r *renderer, data any) error
}

// guarded is a compiled block with its optional "when" condition.
type guarded struct {
	drawer
	kind    string
	when    text
	hasWhen bool
}

func (g guarded) enabled(data any) (bool, error) {
	if !g.hasWhen {
		return true, nil
	}
	s, err := g.when.exec(data)
	if err != nil {
		return false, fmt.Errorf("when: %w", err)
	}
	return truthy(s), nil
}

// blockBase holds the members every block has.
type blockBase struct {
	Type string `json:"type"`
	// When, if set, is a placeholder text; the block is drawn only if it
	// evaluates to something other than "", "false" or "0".
	When string `json:"when"`
}

// spacing is the vertical space around a block, in millimetres.
type spacing struct {
	SpaceBeforeMM *float64 `json:"space_before_mm"`
	SpaceAfterMM  *float64 `json:"space_after_mm"`
}

func (s spacing) resolve(c *checker, path string, before, after float64) (float64, float64) {
	get := func(name string, p *float64, def float64) float64 {
		if p == nil {
			return def * ptPerMM
		}
		if *p < 0 || *p > 100 {
			c.addf(path+"."+name, "must be between 0 and 100 (got %g)", *p)
		}
		return *p * ptPerMM
	}
	return get("space_before_mm", s.SpaceBeforeMM, before), get("space_after_mm", s.SpaceAfterMM, after)
}

// gap moves the cursor down by h, except at the top of a page.
func (r *renderer) gap(h float64) {
	if !r.atPageTop() {
		r.y += h
	}
}

// compileBlock decodes and validates one block.
func compileBlock(c *checker, path string, raw json.RawMessage, base float64) (guarded, bool) {
	var head blockBase
	if err := json.Unmarshal(raw, &head); err != nil {
		c.addf(path, "must be an object with a \"type\": %v", err)
		return guarded{}, false
	}
	path = fmt.Sprintf("%s (%s)", path, head.Type)
	n := len(c.problems)
	var d drawer
	switch head.Type {
	case "header":
		d = compileHeader(c, path, raw, base)
	case "heading":
		d = compileParagraph(c, path, raw, base, true)
	case "paragraph":
		d = compileParagraph(c, path, raw, base, false)
	case "fields":
		d = compileFields(c, path, raw, base)
	case "list":
		d = compileList(c, path, raw, base)
	case "table":
		d = compileTable(c, path, raw, base)
	case "signature":
		d = compileSignature(c, path, raw, base)
	case "qr":
		d = compileQR(c, path, raw, base)
	case "spacer":
		d = compileSpacer(c, path, raw)
	case "pagebreak":
		var b struct{ blockBase }
		decodeBlock(c, path, raw, &b)
		d = pageBreak{}
	case "":
		c.addf(path, "\"type\" is required")
	default:
		c.addf(path, "unknown block type %q (want header, heading, paragraph, fields, list, table, signature, qr, spacer or pagebreak)", head.Type)
	}
	if d == nil || len(c.problems) > n {
		return guarded{}, false
	}
	g := guarded{drawer: d, kind: head.Type}
	if head.When != "" {
		g.when, g.hasWhen = c.text(path+".when", head.When), true
	}
	return g, len(c.problems) == n
}

func decodeBlock(c *checker, path string, raw json.RawMessage, v any) bool {
	if err := strictDecode(raw, v); err != nil {
		c.addf(path, "%v", err)
		return false
	}
	return true
}

func (c *checker) style(path, s string, def fontStyle) fontStyle {
	if s == "" {
		return def
	}
	st, ok := styleNames[s]
	if !ok {
		c.addf(path, "must be regular, bold or italic (got %q)", s)
	}
	return st
}

func (c *checker) align(path, s string, def align) align {
	if s == "" {
		return def
	}
	a, ok := alignNames[s]
	if !ok {
		c.addf(path, "must be left, center, right or justify (got %q)", s)
	}
	return a
}

func (c *checker) size(path string, s, def float64) float64 {
	if s == 0 {
		return def
	}
	if s < 6 || s > 30 {
		c.addf(path, "must be between 6 and 30 points (got %g)", s)
		return def
	}
	return s
}

// styledText is a placeholder text with its face and size.
type styledText struct {
	text  text
	style fontStyle
	size  float64
}

func (s styledText) run(dot any) (run, error) {
	v, err := s.text.exec(dot)
	return run{text: v, style: s.style, size: s.size}, err
}

// lineJSON is one line of text with its own style.
type lineJSON struct {
	Text  string  `json:"text"`
	Style string  `json:"style"`
	Size  float64 `json:"size"`
}

func (c *checker) lines(path string, ls []lineJSON, defStyle fontStyle, defSize float64) []styledText {
	out := make([]styledText, len(ls))
	for i, l := range ls {
		p := fmt.Sprintf("%s[%d]", path, i)
		out[i] = styledText{
			text:  c.text(p+".text", l.Text),
			style: c.style(p+".style", l.Style, defStyle),
			size:  c.size(p+".size", l.Size, defSize),
		}
	}
	return out
}
