package pdf

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
	"golang.org/x/text/unicode/norm"
)

// ptPerMM converts millimetres, the unit of templates, to PDF points.
const ptPerMM = 72 / 25.4

// eps absorbs floating-point error when comparing positions.
const eps = 0.01

// pageGeom is a page's size and margins, in points.
type pageGeom struct {
	w, h                     float64
	top, right, bottom, left float64
}

// renderer draws blocks on pages, top to bottom, keeping a cursor y (the
// top of the next thing to draw) and adding pages when the cursor reaches
// the bottom margin.
type renderer struct {
	ctx     context.Context
	gp      *gopdf.GoPdf
	geom    pageGeom
	base    float64 // default font size, in points
	spacing float64 // line height as a multiple of the font size
	y       float64
	page    int

	fontSet  bool
	curStyle fontStyle
	curSize  float64
	advance  [3]map[rune]float64 // advance widths at size 1, per style
}

func newRenderer(ctx context.Context, geom pageGeom, base, spacing float64) (*renderer, error) {
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: gopdf.Rect{W: geom.w, H: geom.h}, Unit: gopdf.UnitPT})
	if err := addFonts(gp); err != nil {
		return nil, err
	}
	r := &renderer{ctx: ctx, gp: gp, geom: geom, base: base, spacing: spacing}
	for i := range r.advance {
		r.advance[i] = make(map[rune]float64)
	}
	return r, nil
}

func (r *renderer) left() float64      { return r.geom.left }
func (r *renderer) width() float64     { return r.geom.w - r.geom.left - r.geom.right }
func (r *renderer) bottomY() float64   { return r.geom.h - r.geom.bottom }
func (r *renderer) atPageTop() bool    { return r.y <= r.geom.top+eps }
func (r *renderer) available() float64 { return r.bottomY() - r.y }

// newPage starts a page and, from the second page on, prints its number
// centred in the top margin (Decree 30/2020, Annex I).
func (r *renderer) newPage() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.gp.AddPage()
	r.page++
	r.fontSet = false
	r.y = r.geom.top
	if r.page > 1 {
		num := fmt.Sprint(r.page)
		size := r.base - 1
		w := r.measure(num, styleRegular, size)
		if err := r.text(r.left()+(r.width()-w)/2, r.geom.top/2+fontAscent*size/2, num, styleRegular, size); err != nil {
			return err
		}
	}
	return nil
}

// ensure starts a new page unless h points fit below the cursor. At the top
// of a page it does nothing: whatever does not fit there will not fit on a
// fresh page either.
func (r *renderer) ensure(h float64) error {
	if r.y+h > r.bottomY()+eps && !r.atPageTop() {
		return r.newPage()
	}
	return nil
}

func (r *renderer) setFont(style fontStyle, size float64) error {
	if r.fontSet && r.curStyle == style && r.curSize == size {
		return nil
	}
	if err := r.gp.SetFontWithStyle(fontFamily, style.gopdf(), size); err != nil {
		return fmt.Errorf("pdf: set font: %w", err)
	}
	r.fontSet, r.curStyle, r.curSize = true, style, size
	return nil
}

// measure returns the width of s in points. Kerning is off, so the width of
// a string is the sum of its runes' advances, which are cached.
func (r *renderer) measure(s string, style fontStyle, size float64) float64 {
	adv := r.advance[style]
	var total float64
	for _, c := range s {
		a, ok := adv[c]
		if !ok {
			if err := r.setFont(style, 1000); err == nil {
				if w, err := r.gp.MeasureTextWidth(string(c)); err == nil {
					a = w / 1000
				}
			}
			adv[c] = a
		}
		total += a
	}
	return total * size
}

// text draws s with its baseline at y.
func (r *renderer) text(x, baseline float64, s string, style fontStyle, size float64) error {
	if s == "" {
		return nil
	}
	if err := r.setFont(style, size); err != nil {
		return err
	}
	r.gp.SetXY(x, baseline)
	if err := r.gp.Text(s); err != nil {
		return fmt.Errorf("pdf: draw text: %w", err)
	}
	return nil
}

func (r *renderer) hline(x1, x2, y, width float64) {
	r.gp.SetLineWidth(width)
	r.gp.Line(x1, y, x2, y)
}

func (r *renderer) rect(x, y, w, h float64) {
	r.gp.SetLineWidth(0.5)
	r.gp.RectFromUpperLeftWithStyle(x, y, w, h, "D")
}

// clean normalises text for drawing: NFC (so that "ộ" typed as o + U+0323
// + U+0302 is the single glyph U+1ED9), tabs as spaces, and other control
// characters dropped. Line feeds are kept as hard line breaks.
func clean(s string) string {
	s = norm.NFC.String(s)
	return strings.Map(func(c rune) rune {
		switch {
		case c == '\n':
			return c
		case c == '\t':
			return ' '
		case unicode.IsControl(c):
			return -1
		}
		return c
	}, s)
}

// A run is text in one style; a paragraph is a sequence of runs.
type run struct {
	text  string
	style fontStyle
	size  float64
}

// A box is a piece of a word in one style.
type box struct {
	text  string
	style fontStyle
	size  float64
	w     float64
}

// A word is what lines break between: boxes with no space between them.
type word struct {
	boxes  []box
	w      float64
	space  float64 // width of the space before the word, if it follows one
	brk    bool    // a hard line break, not a word
	height float64 // the largest font size among the boxes
}

// A line is laid-out words, ready to draw.
type line struct {
	words  []word
	w      float64 // natural width, including spaces
	indent float64
	size   float64 // the largest font size on the line
	last   bool    // last line of a paragraph: never justified
}

func (l line) height(spacing float64) float64 { return l.size * spacing }

// words splits runs into words. Spaces separate words; a run that starts
// where the previous one ended without a space continues its word.
func (r *renderer) words(runs []run) []word {
	var out []word
	pendingSpace := false
	var spaceW float64
	for _, rn := range runs {
		txt := clean(rn.text)
		var cur strings.Builder
		flush := func() {
			if cur.Len() == 0 {
				return
			}
			b := box{text: cur.String(), style: rn.style, size: rn.size}
			b.w = r.measure(b.text, b.style, b.size)
			cur.Reset()
			n := len(out)
			if pendingSpace || n == 0 || out[n-1].brk {
				w := word{boxes: []box{b}, w: b.w, height: b.size}
				if pendingSpace && n > 0 && !out[n-1].brk {
					w.space = spaceW
				}
				out = append(out, w)
			} else {
				last := &out[n-1]
				last.boxes = append(last.boxes, b)
				last.w += b.w
				last.height = max(last.height, b.size)
			}
			pendingSpace = false
		}
		for _, c := range txt {
			switch c {
			case '\u00a0': // no-break space: a space inside the word
				cur.WriteRune(' ')
			case ' ':
				flush()
				pendingSpace = true
				spaceW = r.measure(" ", rn.style, rn.size)
			case '\n':
				flush()
				out = append(out, word{brk: true, height: rn.size})
				pendingSpace = false
			default:
				cur.WriteRune(c)
			}
		}
		flush()
	}
	return out
}

// layout breaks runs into lines of at most width points; the first line
// is indented by first points, the others by rest.
func (r *renderer) layout(runs []run, width, first, rest float64) []line {
	var lines []line
	defSize := r.base
	if len(runs) > 0 {
		defSize = runs[0].size
	}
	cur := line{indent: first, size: defSize}
	started := false // cur has content or was explicitly started
	finish := func(last bool) {
		cur.last = last
		lines = append(lines, cur)
		cur = line{indent: rest, size: defSize}
		started = false
	}
	for _, w := range r.words(runs) {
		if w.brk {
			cur.size = max(cur.size, w.height)
			finish(true)
			continue
		}
		for {
			avail := width - cur.indent
			sp := w.space
			if len(cur.words) == 0 {
				sp = 0
			}
			if cur.w+sp+w.w <= avail+eps {
				w.space = sp
				cur.words = append(cur.words, w)
				cur.w += sp + w.w
				cur.size = max(cur.size, w.height)
				started = true
				break
			}
			if len(cur.words) > 0 {
				finish(false)
				continue
			}
			// A word longer than a whole line (a URL, a long code): cut it.
			head, tail := r.cut(w, avail)
			head.space = 0
			cur.words = append(cur.words, head)
			cur.w += head.w
			cur.size = max(cur.size, head.height)
			if len(tail.boxes) == 0 {
				break
			}
			finish(false)
			w = tail
			w.space = 0
		}
	}
	if started || len(lines) == 0 {
		finish(true)
	} else {
		lines[len(lines)-1].last = true
	}
	return lines
}

// cut splits w into a head at most avail wide (but at least one rune) and
// the rest, preferring to cut after a '-' or '/' (dossier codes, URLs).
func (r *renderer) cut(w word, avail float64) (head, tail word) {
	type glyph struct {
		c     rune
		style fontStyle
		size  float64
	}
	var gs []glyph
	for _, b := range w.boxes {
		for _, c := range b.text {
			gs = append(gs, glyph{c, b.style, b.size})
		}
	}
	n, used := 0, 0.0
	for n < len(gs) {
		cw := r.measure(string(gs[n].c), gs[n].style, gs[n].size)
		if used+cw > avail && n > 0 {
			break
		}
		used += cw
		n++
	}
	if n < len(gs) {
		for k := n - 1; k > 0; k-- {
			if gs[k-1].c == '-' || gs[k-1].c == '/' {
				n = k
				break
			}
		}
	}
	build := func(gs []glyph) word {
		var out word
		for i := 0; i < len(gs); {
			j := i
			for j < len(gs) && gs[j].style == gs[i].style && gs[j].size == gs[i].size {
				j++
			}
			var sb strings.Builder
			for _, g := range gs[i:j] {
				sb.WriteRune(g.c)
			}
			b := box{text: sb.String(), style: gs[i].style, size: gs[i].size}
			b.w = r.measure(b.text, b.style, b.size)
			out.boxes = append(out.boxes, b)
			i = j
		}
		return sumWord(out)
	}
	return build(gs[:n]), build(gs[n:])
}

func sumWord(w word) word {
	w.w, w.height = 0, 0
	for _, b := range w.boxes {
		w.w += b.w
		w.height = max(w.height, b.size)
	}
	return w
}

// Alignments of text within its width.
type align int

const (
	alignLeft align = iota
	alignCenter
	alignRight
	alignJustify
)

var alignNames = map[string]align{
	"left": alignLeft, "center": alignCenter, "right": alignRight, "justify": alignJustify,
}

// drawLine draws l with its top at y, within [x, x+width).
func (r *renderer) drawLine(l line, x, y, width float64, al align) error {
	avail := width - l.indent
	start := x + l.indent
	var extra float64
	switch al {
	case alignCenter:
		start += (avail - l.w) / 2
	case alignRight:
		start += avail - l.w
	case alignJustify:
		if !l.last && len(l.words) > 1 && l.w < avail {
			extra = (avail - l.w) / float64(len(l.words)-1)
		}
	}
	lh := l.height(r.spacing)
	baseline := y + (lh-(fontAscent+fontDescent)*l.size)/2 + fontAscent*l.size

	// Consecutive boxes in one style are drawn as one string, so that text
	// extraction sees ordinary spaces; justified lines place each word.
	var seg strings.Builder
	var segX float64
	var segStyle fontStyle
	var segSize float64
	flush := func() error {
		if seg.Len() == 0 {
			return nil
		}
		err := r.text(segX, baseline, seg.String(), segStyle, segSize)
		seg.Reset()
		return err
	}
	cx := start
	for i, w := range l.words {
		if i > 0 {
			cx += w.space + extra
		}
		for j, b := range w.boxes {
			joinable := seg.Len() > 0 && b.style == segStyle && b.size == segSize && (extra == 0 || j > 0)
			if joinable {
				if j == 0 {
					seg.WriteString(" ")
				}
				seg.WriteString(b.text)
			} else {
				if err := flush(); err != nil {
					return err
				}
				segX, segStyle, segSize = cx, b.style, b.size
				seg.WriteString(b.text)
			}
			cx += b.w
		}
	}
	return flush()
}

// paragraph lays out runs across the content width (or the given column)
// and draws them, breaking pages between lines.
func (r *renderer) paragraph(runs []run, x, width, first, rest float64, al align) error {
	var lines []line
	if al == alignCenter && first == 0 && rest == 0 {
		lines = r.balanced(runs, width)
	} else {
		lines = r.layout(runs, width, first, rest)
	}
	for _, l := range lines {
		lh := l.height(r.spacing)
		if err := r.ensure(lh); err != nil {
			return err
		}
		if err := r.drawLine(l, x, r.y, width, al); err != nil {
			return err
		}
		r.y += lh
	}
	return nil
}

// balanced lays out runs like layout, then narrows the width as far as it
// can without adding a line, so that centred multi-line text (an agency's
// name, a title) has lines of similar length: "ỦY BAN NHÂN DÂN / TỈNH BÌNH
// PHƯỚC" rather than "ỦY BAN NHÂN DÂN TỈNH BÌNH / PHƯỚC".
func (r *renderer) balanced(runs []run, width float64) []line {
	lines := r.layout(runs, width, 0, 0)
	if len(lines) < 2 {
		return lines
	}
	lo, hi := width/float64(len(lines)), width
	for range 12 {
		mid := (lo + hi) / 2
		if len(r.layout(runs, mid, 0, 0)) > len(lines) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return r.layout(runs, hi, 0, 0)
}

// linesHeight is the total height of lines.
func (r *renderer) linesHeight(lines []line) float64 {
	var h float64
	for _, l := range lines {
		h += l.height(r.spacing)
	}
	return h
}
