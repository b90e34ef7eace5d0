package pdf

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// table: one row per element of a data list, header repeated on each page.

type columnJSON struct {
	Header string  `json:"header"`
	Value  string  `json:"value"`
	Width  float64 `json:"width"`
	Align  string  `json:"align"`
	Style  string  `json:"style"`
}

type tableJSON struct {
	blockBase
	Source      string       `json:"source"`
	Columns     []columnJSON `json:"columns"`
	Size        float64      `json:"size"`
	HeaderStyle string       `json:"header_style"`
	Empty       string       `json:"empty"`
	PaddingMM   *float64     `json:"padding_mm"`
	spacing
}

type column struct {
	header styledText
	value  styledText
	weight float64
	align  align
}

type tableBlock struct {
	src           source
	cols          []column
	empty         styledText
	pad           float64
	before, after float64
}

func compileTable(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j tableJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	size := c.size(path+".size", j.Size, base-1)
	hs := c.style(path+".header_style", j.HeaderStyle, styleBold)
	b := &tableBlock{pad: 1.2 * ptPerMM}
	if j.Source == "" {
		c.addf(path+".source", "is required")
	} else {
		b.src = c.source(path+".source", j.Source)
	}
	if len(j.Columns) == 0 {
		c.addf(path+".columns", "at least one column is required")
	}
	for i, col := range j.Columns {
		p := fmt.Sprintf("%s.columns[%d]", path, i)
		if col.Width <= 0 {
			c.addf(p+".width", "must be a positive relative width (got %g)", col.Width)
		}
		if col.Value == "" {
			c.addf(p+".value", "is required")
		}
		b.cols = append(b.cols, column{
			header: styledText{c.text(p+".header", col.Header), hs, size},
			value:  styledText{c.text(p+".value", col.Value), c.style(p+".style", col.Style, styleRegular), size},
			weight: col.Width,
			align:  c.align(p+".align", col.Align, alignLeft),
		})
	}
	b.empty = styledText{c.text(path+".empty", j.Empty), styleItalic, size}
	if j.PaddingMM != nil {
		if *j.PaddingMM < 0 || *j.PaddingMM > 10 {
			c.addf(path+".padding_mm", "must be between 0 and 10 (got %g)", *j.PaddingMM)
		}
		b.pad = *j.PaddingMM * ptPerMM
	}
	b.before, b.after = j.spacing.resolve(c, path, 1, 2)
	return b
}

func (b *tableBlock) widths(total float64) []float64 {
	var sum float64
	for _, c := range b.cols {
		sum += c.weight
	}
	ws := make([]float64, len(b.cols))
	for i, c := range b.cols {
		ws[i] = total * c.weight / sum
	}
	return ws
}

func (b *tableBlock) draw(r *renderer, data any) error {
	elems, err := b.src.list(data)
	if err != nil {
		return err
	}
	x0 := r.left()
	ws := b.widths(r.width())
	header := make([][]line, len(b.cols))
	for i, c := range b.cols {
		rn, err := c.header.run(data)
		if err != nil {
			return err
		}
		header[i] = r.balanced([]run{rn}, ws[i]-2*b.pad)
	}
	var headerH float64
	for _, ls := range header {
		headerH = max(headerH, r.linesHeight(ls))
	}
	headerH += 2 * b.pad
	drawHeader := func() error {
		x := x0
		for i, ls := range header {
			r.rect(x, r.y, ws[i], headerH)
			y := r.y + (headerH-r.linesHeight(ls))/2
			for _, l := range ls {
				if err := r.drawLine(l, x+b.pad, y, ws[i]-2*b.pad, alignCenter); err != nil {
					return err
				}
				y += l.height(r.spacing)
			}
			x += ws[i]
		}
		r.y += headerH
		return nil
	}

	rows := make([][][]line, 0, len(elems))
	for i, e := range elems {
		cells := make([][]line, len(b.cols))
		for k, c := range b.cols {
			rn, err := c.value.run(Row{N: i + 1, Item: e, Root: data})
			if err != nil {
				return fmt.Errorf("row %d, column %d: %w", i+1, k+1, err)
			}
			cells[k] = r.layout([]run{rn}, ws[k]-2*b.pad, 0, 0)
		}
		rows = append(rows, cells)
	}
	rowWs := ws
	aligns := make([]align, len(b.cols))
	for i, c := range b.cols {
		aligns[i] = c.align
	}
	if len(rows) == 0 {
		rn, err := b.empty.run(data)
		if err != nil {
			return err
		}
		if strings.TrimSpace(rn.text) == "" {
			rn.text = " "
		}
		rows = append(rows, [][]line{r.layout([]run{rn}, r.width()-2*b.pad, 0, 0)})
		rowWs = []float64{r.width()}
		aligns = []align{alignCenter}
	}

	r.gap(b.before)
	// Keep the header with at least the first line of the first row.
	firstLine := 0.0
	for _, ls := range rows[0] {
		if len(ls) > 0 {
			firstLine = max(firstLine, ls[0].height(r.spacing))
		}
	}
	if err := r.ensure(headerH + firstLine + 2*b.pad); err != nil {
		return err
	}
	if err := drawHeader(); err != nil {
		return err
	}
	freshRoom := r.bottomY() - r.geom.top - headerH
	if freshRoom < 2*b.pad+r.base*r.spacing {
		return errors.New("pdf: the table's header leaves no room for rows on a page")
	}
	for _, cells := range rows {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		for {
			need := 0.0
			for _, ls := range cells {
				need = max(need, r.linesHeight(ls))
			}
			need += 2 * b.pad
			if need <= r.available()+eps {
				if err := b.drawRow(r, cells, rowWs, aligns, x0); err != nil {
					return err
				}
				break
			}
			if need <= freshRoom+eps || r.available() < 2*b.pad+r.base*r.spacing*2 {
				// The row fits on a fresh page, or too little room is
				// left to start it here: move on.
				if err := r.newPage(); err != nil {
					return err
				}
				if err := drawHeader(); err != nil {
					return err
				}
				continue
			}
			// A row taller than a page: draw what fits, continue on the next.
			room := r.available() - 2*b.pad
			head := make([][]line, len(cells))
			tail := make([][]line, len(cells))
			for k, ls := range cells {
				var h float64
				n := 0
				for n < len(ls) && h+ls[n].height(r.spacing) <= room+eps {
					h += ls[n].height(r.spacing)
					n++
				}
				head[k], tail[k] = ls[:n], ls[n:]
			}
			if r.linesHeight(slices.Concat(head...)) == 0 {
				// Not even one line fits here (a page too short for the
				// font): give up rather than loop.
				return errors.New("pdf: a table row's line is taller than the page")
			}
			if err := b.drawRow(r, head, rowWs, aligns, x0); err != nil {
				return err
			}
			if err := r.newPage(); err != nil {
				return err
			}
			if err := drawHeader(); err != nil {
				return err
			}
			cells = tail
		}
	}
	r.y += b.after
	return nil
}

func (b *tableBlock) drawRow(r *renderer, cells [][]line, ws []float64, aligns []align, x0 float64) error {
	var h float64
	for _, ls := range cells {
		h = max(h, r.linesHeight(ls))
	}
	h += 2 * b.pad
	x := x0
	for k, ls := range cells {
		r.rect(x, r.y, ws[k], h)
		y := r.y + b.pad
		for _, l := range ls {
			if err := r.drawLine(l, x+b.pad, y, ws[k]-2*b.pad, aligns[k]); err != nil {
				return err
			}
			y += l.height(r.spacing)
		}
		x += ws[k]
	}
	r.y += h
	return nil
}
