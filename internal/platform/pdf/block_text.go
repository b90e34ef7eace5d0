package pdf

import (
	"encoding/json"
	"fmt"
	"strings"
)

// heading and paragraph.

type runJSON struct {
	Text  string  `json:"text"`
	Style string  `json:"style"`
	Size  float64 `json:"size"`
}

type paragraphJSON struct {
	blockBase
	Text     string    `json:"text"`
	Runs     []runJSON `json:"runs"`
	Style    string    `json:"style"`
	Size     float64   `json:"size"`
	Align    string    `json:"align"`
	IndentMM float64   `json:"indent_mm"` // first line
	LeftMM   float64   `json:"left_mm"`   // whole paragraph
	spacing
}

type paragraphBlock struct {
	runs          []styledText
	align         align
	indent, left  float64
	before, after float64
}

func compileParagraph(c *checker, path string, raw json.RawMessage, base float64, heading bool) drawer {
	var j paragraphJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	defStyle, defSize, defAlign := styleRegular, base, alignJustify
	defBefore, defAfter := 0.0, 1.0
	if heading {
		defStyle, defSize, defAlign = styleBold, base+1, alignCenter
		defBefore, defAfter = 4, 2
	}
	style := c.style(path+".style", j.Style, defStyle)
	size := c.size(path+".size", j.Size, defSize)
	b := &paragraphBlock{align: c.align(path+".align", j.Align, defAlign)}
	switch {
	case j.Text != "" && len(j.Runs) > 0:
		c.addf(path, "give either text or runs, not both")
	case j.Text != "":
		b.runs = []styledText{{c.text(path+".text", j.Text), style, size}}
	case len(j.Runs) > 0:
		for i, rn := range j.Runs {
			p := fmt.Sprintf("%s.runs[%d]", path, i)
			b.runs = append(b.runs, styledText{c.text(p+".text", rn.Text), c.style(p+".style", rn.Style, style), c.size(p+".size", rn.Size, size)})
		}
	default:
		c.addf(path, "text or runs is required")
	}
	if j.IndentMM < 0 || j.IndentMM > 50 {
		c.addf(path+".indent_mm", "must be between 0 and 50 (got %g)", j.IndentMM)
	}
	if j.LeftMM < 0 || j.LeftMM > 100 {
		c.addf(path+".left_mm", "must be between 0 and 100 (got %g)", j.LeftMM)
	}
	b.indent, b.left = j.IndentMM*ptPerMM, j.LeftMM*ptPerMM
	b.before, b.after = j.spacing.resolve(c, path, defBefore, defAfter)
	return b
}

func (b *paragraphBlock) draw(r *renderer, data any) error {
	runs := make([]run, len(b.runs))
	empty := true
	for i, st := range b.runs {
		rn, err := st.run(data)
		if err != nil {
			return err
		}
		runs[i] = rn
		if strings.TrimSpace(rn.text) != "" {
			empty = false
		}
	}
	if empty {
		return nil
	}
	r.gap(b.before)
	if err := r.paragraph(runs, r.left()+b.left, r.width()-b.left, b.indent, 0, b.align); err != nil {
		return err
	}
	r.y += b.after
	return nil
}

// fields: "Label: value" lines, several to a line by width.

type fieldJSON struct {
	Label      string  `json:"label"`
	Value      string  `json:"value"`
	Width      float64 `json:"width"`
	OmitEmpty  bool    `json:"omit_empty"`
	ValueStyle string  `json:"value_style"`
	When       string  `json:"when"`
}

type fieldsJSON struct {
	blockBase
	Items      []fieldJSON `json:"items"`
	LabelStyle string      `json:"label_style"`
	ValueStyle string      `json:"value_style"`
	Size       float64     `json:"size"`
	Separator  *string     `json:"separator"`
	LeftMM     float64     `json:"left_mm"`
	spacing
}

type field struct {
	label, value styledText
	width        float64
	omitEmpty    bool
	when         text
	hasWhen      bool
}

type fieldsBlock struct {
	items         []field
	sep           string
	left          float64
	before, after float64
}

func compileFields(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j fieldsJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	size := c.size(path+".size", j.Size, base)
	ls := c.style(path+".label_style", j.LabelStyle, styleRegular)
	vs := c.style(path+".value_style", j.ValueStyle, styleRegular)
	b := &fieldsBlock{sep: ": ", left: j.LeftMM * ptPerMM}
	if j.Separator != nil {
		b.sep = *j.Separator
	}
	if len(j.Items) == 0 {
		c.addf(path+".items", "at least one item is required")
	}
	for i, it := range j.Items {
		p := fmt.Sprintf("%s.items[%d]", path, i)
		f := field{
			label:     styledText{c.text(p+".label", it.Label), ls, size},
			value:     styledText{c.text(p+".value", it.Value), c.style(p+".value_style", it.ValueStyle, vs), size},
			width:     it.Width,
			omitEmpty: it.OmitEmpty,
		}
		if f.width == 0 {
			f.width = 1
		}
		if f.width < 0.1 || f.width > 1 {
			c.addf(p+".width", "must be a fraction of the line between 0.1 and 1 (got %g)", it.Width)
		}
		if it.When != "" {
			f.when, f.hasWhen = c.text(p+".when", it.When), true
		}
		b.items = append(b.items, f)
	}
	b.before, b.after = j.spacing.resolve(c, path, 0, 0)
	return b
}

func (b *fieldsBlock) draw(r *renderer, data any) error {
	type cell struct {
		runs  []run
		width float64
	}
	var cells []cell
	for _, f := range b.items {
		if f.hasWhen {
			s, err := f.when.exec(data)
			if err != nil {
				return err
			}
			if !truthy(s) {
				continue
			}
		}
		label, err := f.label.run(data)
		if err != nil {
			return err
		}
		value, err := f.value.run(data)
		if err != nil {
			return err
		}
		empty := strings.TrimSpace(value.text) == ""
		if empty && f.omitEmpty {
			continue
		}
		if label.text != "" {
			label.text += b.sep
		}
		if empty {
			// A dotted leader, to fill in by hand.
			cw := (r.width()-b.left)*f.width - r.measure(label.text, label.style, label.size)
			dot := r.measure(".", styleRegular, value.size)
			value = run{text: strings.Repeat(".", max(3, int(cw/dot)-2)), style: styleRegular, size: value.size}
		}
		cells = append(cells, cell{runs: []run{label, value}, width: f.width})
	}
	if len(cells) == 0 {
		return nil
	}
	r.gap(b.before)
	x0, w := r.left()+b.left, r.width()-b.left
	for i := 0; i < len(cells); {
		// Pack cells whose widths add up to at most the whole line.
		j, sum := i, 0.0
		for j < len(cells) && (j == i || sum+cells[j].width <= 1+eps) {
			sum += cells[j].width
			j++
		}
		row := cells[i:j]
		i = j
		if len(row) == 1 {
			if err := r.paragraph(row[0].runs, x0, w*row[0].width, 0, 0, alignLeft); err != nil {
				return err
			}
			continue
		}
		laid := make([][]line, len(row))
		var h float64
		for k, c := range row {
			laid[k] = r.layout(c.runs, w*c.width, 0, 0)
			h = max(h, r.linesHeight(laid[k]))
		}
		if err := r.ensure(h); err != nil {
			return err
		}
		x := x0
		for k, c := range row {
			y := r.y
			for _, l := range laid[k] {
				if err := r.drawLine(l, x, y, w*c.width, alignLeft); err != nil {
					return err
				}
				y += l.height(r.spacing)
			}
			x += w * c.width
		}
		r.y += h
	}
	r.y += b.after
	return nil
}

// list: numbered or bulleted items, static or from a data list.

type listJSON struct {
	blockBase
	Items  []string `json:"items"`
	Source string   `json:"source"`
	Item   string   `json:"item"`
	Marker string   `json:"marker"`
	Empty  string   `json:"empty"`
	Style  string   `json:"style"`
	Size   float64  `json:"size"`
	Align  string   `json:"align"`
	LeftMM float64  `json:"left_mm"`
	spacing
}

type listBlock struct {
	items         []styledText // static items, over the root data
	src           source
	item          styledText // per element, over a Row
	marker        string
	empty         styledText
	align         align
	left          float64
	before, after float64
}

var markers = map[string]bool{"decimal": true, "alpha": true, "dash": true, "bullet": true, "none": true}

func compileList(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j listJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	style := c.style(path+".style", j.Style, styleRegular)
	size := c.size(path+".size", j.Size, base)
	b := &listBlock{marker: j.Marker, align: c.align(path+".align", j.Align, alignJustify), left: j.LeftMM * ptPerMM}
	if b.marker == "" {
		b.marker = "decimal"
	}
	if !markers[b.marker] {
		c.addf(path+".marker", "must be decimal, alpha, dash, bullet or none (got %q)", j.Marker)
	}
	switch {
	case len(j.Items) > 0 && j.Source != "":
		c.addf(path, "give either items or source, not both")
	case len(j.Items) > 0:
		if j.Item != "" {
			c.addf(path+".item", "only used with source")
		}
		for i, it := range j.Items {
			b.items = append(b.items, styledText{c.text(fmt.Sprintf("%s.items[%d]", path, i), it), style, size})
		}
	case j.Source != "":
		b.src = c.source(path+".source", j.Source)
		if j.Item == "" {
			j.Item = "{{.Item}}"
		}
		b.item = styledText{c.text(path+".item", j.Item), style, size}
	default:
		c.addf(path, "items or source is required")
	}
	b.empty = styledText{c.text(path+".empty", j.Empty), styleItalic, size}
	b.before, b.after = j.spacing.resolve(c, path, 0, 1)
	return b
}

func (b *listBlock) markerText(n int) string {
	switch b.marker {
	case "decimal":
		return fmt.Sprintf("%d.", n)
	case "alpha":
		if n <= 26 {
			return string(rune('a'+n-1)) + ")"
		}
		return fmt.Sprintf("%d)", n)
	case "dash":
		return "-"
	case "bullet":
		return "•"
	}
	return ""
}

func (b *listBlock) draw(r *renderer, data any) error {
	var items []run
	if b.src != nil {
		elems, err := b.src.list(data)
		if err != nil {
			return err
		}
		for i, e := range elems {
			rn, err := b.item.run(Row{N: i + 1, Item: e, Root: data})
			if err != nil {
				return err
			}
			items = append(items, rn)
		}
	} else {
		for _, st := range b.items {
			rn, err := st.run(data)
			if err != nil {
				return err
			}
			if strings.TrimSpace(rn.text) != "" {
				items = append(items, rn)
			}
		}
	}
	x, w := r.left()+b.left, r.width()-b.left
	if len(items) == 0 {
		rn, err := b.empty.run(data)
		if err != nil || strings.TrimSpace(rn.text) == "" {
			return err
		}
		r.gap(b.before)
		if err := r.paragraph([]run{rn}, x, w, 0, 0, alignLeft); err != nil {
			return err
		}
		r.y += b.after
		return nil
	}
	var hang float64
	if b.marker != "none" {
		hang = r.measure(b.markerText(len(items))+"  ", styleRegular, items[0].size)
	}
	r.gap(b.before)
	for i, it := range items {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		for k, l := range r.layout([]run{it}, w, hang, hang) {
			lh := l.height(r.spacing)
			if err := r.ensure(lh); err != nil {
				return err
			}
			if k == 0 && hang > 0 {
				m := line{words: []word{{boxes: []box{{text: b.markerText(i + 1), style: it.style, size: it.size}}}}, size: l.size, last: true}
				if err := r.drawLine(m, x, r.y, w, alignLeft); err != nil {
					return err
				}
			}
			if err := r.drawLine(l, x, r.y, w, b.align); err != nil {
				return err
			}
			r.y += lh
		}
	}
	r.y += b.after
	return nil
}
