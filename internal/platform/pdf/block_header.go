package pdf

import (
	"encoding/json"
	"strings"
)

// header: issuing body on the left, national motto on the right.

type headerJSON struct {
	blockBase
	Issuer    []lineJSON `json:"issuer"`
	Motto     []lineJSON `json:"motto"`
	Number    string     `json:"number"`
	PlaceDate string     `json:"place_date"`
	Size      float64    `json:"size"`
	LeftWidth float64    `json:"left_width"`
	spacing
}

type headerBlock struct {
	issuer, motto     []styledText
	number, placeDate styledText
	leftFrac          float64
	after             float64
}

func compileHeader(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j headerJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	size := c.size(path+".size", j.Size, base-1)
	if len(j.Issuer) == 0 {
		c.addf(path+".issuer", "at least one line is required")
	}
	if len(j.Motto) == 0 {
		j.Motto = []lineJSON{
			{Text: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Style: "bold"},
			{Text: "Độc lập - Tự do - Hạnh phúc", Style: "bold", Size: size + 1},
		}
	}
	b := &headerBlock{
		issuer:    c.lines(path+".issuer", j.Issuer, styleBold, size),
		motto:     c.lines(path+".motto", j.Motto, styleBold, size),
		number:    styledText{c.text(path+".number", j.Number), styleRegular, base},
		placeDate: styledText{c.text(path+".place_date", j.PlaceDate), styleItalic, base},
		leftFrac:  j.LeftWidth,
	}
	if b.leftFrac == 0 {
		b.leftFrac = 0.42
	}
	if b.leftFrac < 0.2 || b.leftFrac > 0.6 {
		c.addf(path+".left_width", "must be between 0.2 and 0.6 (got %g)", j.LeftWidth)
	}
	if j.SpaceBeforeMM != nil {
		c.addf(path+".space_before_mm", "not allowed: the header starts the page")
	}
	_, b.after = j.spacing.resolve(c, path, 0, 6)
	return b
}

// column draws centred lines in [x, x+w) from y and returns the bottom
// and the width of the last non-empty line.
func (r *renderer) column(lines []styledText, data any, x, y, w float64) (bottom, lastW float64, err error) {
	for _, st := range lines {
		rn, err := st.run(data)
		if err != nil {
			return 0, 0, err
		}
		if strings.TrimSpace(rn.text) == "" {
			continue
		}
		for _, l := range r.balanced([]run{rn}, w) {
			if err := r.drawLine(l, x, y, w, alignCenter); err != nil {
				return 0, 0, err
			}
			y += l.height(r.spacing)
			lastW = l.w
		}
	}
	return y, lastW, nil
}

func (b *headerBlock) draw(r *renderer, data any) error {
	x, w := r.left(), r.width()
	lw := w * b.leftFrac
	rw := w - lw
	top := r.y
	lb, lastIssuer, err := r.column(b.issuer, data, x, top, lw)
	if err != nil {
		return err
	}
	rb, lastMotto, err := r.column(b.motto, data, x+lw, top, rw)
	if err != nil {
		return err
	}
	// Decree 30/2020: a rule under the issuer's name, a third to a half
	// of its length; under the motto, a rule as long as the motto.
	if lastIssuer > 0 {
		uw := max(lastIssuer*0.4, 30)
		r.hline(x+(lw-uw)/2, x+(lw+uw)/2, lb+1.5, 0.6)
	}
	if lastMotto > 0 {
		r.hline(x+lw+(rw-lastMotto)/2, x+lw+(rw+lastMotto)/2, rb+1.5, 0.6)
	}
	y := max(lb, rb) + 2*ptPerMM
	nb, _, err := r.column([]styledText{b.number}, data, x, y, lw)
	if err != nil {
		return err
	}
	pb, _, err := r.column([]styledText{b.placeDate}, data, x+lw, y, rw)
	if err != nil {
		return err
	}
	r.y = max(nb, pb) + b.after
	return nil
}
