package pdf

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/signintech/gopdf"
	qrcode "github.com/skip2/go-qrcode"
)

// qr: a QR code of a URL, with a caption beside it.

type qrJSON struct {
	blockBase
	URL      string  `json:"url"`
	SizeMM   float64 `json:"size_mm"`
	Align    string  `json:"align"`
	Caption  string  `json:"caption"`
	Required bool    `json:"required"`
	spacing
}

type qrBlock struct {
	url           text
	size          float64
	align         align
	caption       styledText
	required      bool
	before, after float64
}

func compileQR(c *checker, path string, raw json.RawMessage, base float64) drawer {
	var j qrJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	if j.URL == "" {
		c.addf(path+".url", "is required")
	}
	if j.SizeMM == 0 {
		j.SizeMM = 22
	}
	if j.SizeMM < 10 || j.SizeMM > 80 {
		c.addf(path+".size_mm", "must be between 10 and 80 (got %g)", j.SizeMM)
	}
	b := &qrBlock{
		url:      c.text(path+".url", j.URL),
		size:     j.SizeMM * ptPerMM,
		align:    c.align(path+".align", j.Align, alignLeft),
		caption:  styledText{c.text(path+".caption", j.Caption), styleItalic, base - 2},
		required: j.Required,
	}
	if b.align == alignJustify {
		c.addf(path+".align", "must be left, center or right")
	}
	b.before, b.after = j.spacing.resolve(c, path, 3, 2)
	return b
}

func (b *qrBlock) draw(r *renderer, data any) error {
	url, err := b.url.exec(data)
	if err != nil {
		return err
	}
	url = strings.TrimSpace(url)
	if url == "" {
		if b.required {
			return fmt.Errorf("%w: the QR code's URL is empty", ErrData)
		}
		return nil
	}
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("%w: QR code for %q: %w", ErrData, url, err)
	}
	// Four pixels per module: sharp at any printed size, and small.
	png, err := q.PNG(-4)
	if err != nil {
		return fmt.Errorf("pdf: QR code PNG: %w", err)
	}
	img, err := gopdf.ImageHolderByBytes(png)
	if err != nil {
		return fmt.Errorf("pdf: QR image: %w", err)
	}
	capRun, err := b.caption.run(data)
	if err != nil {
		return err
	}
	gapX := 3 * ptPerMM
	capW := r.width() - b.size - gapX
	var capLines []line
	if strings.TrimSpace(capRun.text) != "" {
		w := capW
		if b.align == alignCenter {
			w = r.width()
		}
		capLines = r.layout([]run{capRun}, w, 0, 0)
	}
	capH := r.linesHeight(capLines)
	h := b.size
	if b.align == alignCenter {
		h += capH
	} else {
		h = max(h, capH)
	}
	r.gap(b.before)
	if err := r.ensure(h); err != nil {
		return err
	}
	var qx, cx float64
	capAlign := alignLeft
	switch b.align {
	case alignLeft:
		qx, cx = r.left(), r.left()+b.size+gapX
	case alignRight:
		qx, cx = r.left()+r.width()-b.size, r.left()
		capAlign = alignRight
	case alignCenter:
		qx, cx = r.left()+(r.width()-b.size)/2, r.left()
		capW = r.width()
		capAlign = alignCenter
	}
	if err := r.gp.ImageByHolder(img, qx, r.y, &gopdf.Rect{W: b.size, H: b.size}); err != nil {
		return fmt.Errorf("pdf: draw QR image: %w", err)
	}
	cy := r.y + (b.size-capH)/2
	if b.align == alignCenter {
		cy = r.y + b.size
	}
	for _, l := range capLines {
		if err := r.drawLine(l, cx, cy, capW, capAlign); err != nil {
			return err
		}
		cy += l.height(r.spacing)
	}
	r.y += h + b.after
	return nil
}

// spacer and page break.

type spacerJSON struct {
	blockBase
	HeightMM float64 `json:"height_mm"`
}

type spacerBlock struct{ h float64 }

func compileSpacer(c *checker, path string, raw json.RawMessage) drawer {
	var j spacerJSON
	if !decodeBlock(c, path, raw, &j) {
		return nil
	}
	if j.HeightMM <= 0 || j.HeightMM > 200 {
		c.addf(path+".height_mm", "must be between 0 and 200 (got %g)", j.HeightMM)
	}
	return spacerBlock{h: j.HeightMM * ptPerMM}
}

func (b spacerBlock) draw(r *renderer, _ any) error {
	r.y = math.Min(r.y+b.h, r.bottomY())
	return nil
}

type pageBreak struct{}

func (pageBreak) draw(r *renderer, _ any) error {
	if r.atPageTop() {
		return nil
	}
	return r.newPage()
}
