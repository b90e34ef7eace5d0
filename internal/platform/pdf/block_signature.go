package pdf

import (
	"encoding/json"
	"fmt"
	"strings"
)

// signature: one or more signers side by side.

type signerJSON struct {
	Above string `json:"above"`
	Title string `json:"title"`
	Note  string `json:"note"`
	Name  string `json:"name"`
}

type signatureJSON struct {
	blockBase
	Signers []signerJSON `json:"signers"`
	GapMM   float64      `json:"gap_mm"`
	Align   string       `json:"align"`
	Size    float64      `json:"size"`
	spacing
}

type signer struct {
	above, title, note, name styledText
}

type signatureBlock struct {
	signers       []signer
	gap           float64
	align         align
	before, after float64
}

func compileSignature(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j signatureJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	size := c.size(path+".size", j.Size, base)
	if len(j.Signers) == 0 || len(j.Signers) > 4 {
		c.addf(path+".signers", "must have 1 to 4 signers (got %d)", len(j.Signers))
	}
	b := &signatureBlock{gap: j.GapMM * ptPerMM, align: c.align(path+".align", j.Align, alignRight)}
	if j.GapMM == 0 {
		b.gap = 22 * ptPerMM
	}
	if j.GapMM < 0 || j.GapMM > 80 {
		c.addf(path+".gap_mm", "must be between 0 and 80 (got %g)", j.GapMM)
	}
	if b.align == alignJustify {
		c.addf(path+".align", "must be left, center or right")
	}
	for i, s := range j.Signers {
		p := fmt.Sprintf("%s.signers[%d]", path, i)
		b.signers = append(b.signers, signer{
			above: styledText{c.text(p+".above", s.Above), styleItalic, size},
			title: styledText{c.text(p+".title", s.Title), styleBold, size},
			note:  styledText{c.text(p+".note", s.Note), styleItalic, size - 1},
			name:  styledText{c.text(p+".name", s.Name), styleBold, size},
		})
	}
	b.before, b.after = j.spacing.resolve(c, path, 4, 2)
	return b
}

func (b *signatureBlock) draw(r *renderer, data any) error {
	n := len(b.signers)
	w := r.width() / float64(max(n, 2))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = r.left() + float64(i)*w
	}
	if n == 1 {
		switch b.align {
		case alignRight:
			xs[0] = r.left() + r.width() - w
		case alignCenter:
			xs[0] = r.left() + (r.width()-w)/2
		}
	}
	cols := make([][2][]line, n) // lines above and below the gap
	var h float64
	for i, s := range b.signers {
		for k, group := range [][]styledText{{s.above, s.title, s.note}, {s.name}} {
			for _, st := range group {
				rn, err := st.run(data)
				if err != nil {
					return err
				}
				if strings.TrimSpace(rn.text) == "" {
					continue
				}
				cols[i][k] = append(cols[i][k], r.balanced([]run{rn}, w-4)...)
			}
		}
		h = max(h, r.linesHeight(cols[i][0])+b.gap+r.linesHeight(cols[i][1]))
	}
	r.gap(b.before)
	if err := r.ensure(h); err != nil {
		return err
	}
	for i, c := range cols {
		y := r.y
		for _, l := range c[0] {
			if err := r.drawLine(l, xs[i]+2, y, w-4, alignCenter); err != nil {
				return err
			}
			y += l.height(r.spacing)
		}
		y = r.y + h - r.linesHeight(c[1])
		for _, l := range c[1] {
			if err := r.drawLine(l, xs[i]+2, y, w-4, alignCenter); err != nil {
				return err
			}
			y += l.height(r.spacing)
		}
	}
	r.y += h + b.after
	return nil
}
