package pdf

import (
	_ "embed"
	"fmt"

	"github.com/signintech/gopdf"
)

// The fonts are Liberation Serif 2.1.5 (SIL Open Font License 1.1, see
// fonts/LICENSE-Liberation.txt): metric-compatible with Times New Roman,
// which Decree 30/2020 requires for administrative documents, and covering
// the whole Vietnamese alphabet in precomposed form. gopdf embeds only the
// glyphs a document uses.
var (
	//go:embed fonts/LiberationSerif-Regular.ttf
	fontRegular []byte
	//go:embed fonts/LiberationSerif-Bold.ttf
	fontBold []byte
	//go:embed fonts/LiberationSerif-Italic.ttf
	fontItalic []byte
)

const fontFamily = "LiberationSerif"

// Vertical metrics of Liberation Serif (hhea ascender 1825 and descender
// -443 at 2048 units per em), as fractions of the font size.
const (
	fontAscent  = 1825.0 / 2048
	fontDescent = 443.0 / 2048
)

// fontStyle is one of the embedded faces.
type fontStyle int

const (
	styleRegular fontStyle = iota
	styleBold
	styleItalic
)

// styleNames are the values of "style" in templates.
var styleNames = map[string]fontStyle{
	"regular": styleRegular,
	"bold":    styleBold,
	"italic":  styleItalic,
}

func (s fontStyle) gopdf() int {
	switch s {
	case styleBold:
		return gopdf.Bold
	case styleItalic:
		return gopdf.Italic
	}
	return gopdf.Regular
}

// addFonts registers the three faces with gp. A rune missing from the font
// is drawn as "?" rather than silently as a space.
func addFonts(gp *gopdf.GoPdf) error {
	for _, f := range []struct {
		style fontStyle
		data  []byte
	}{{styleRegular, fontRegular}, {styleBold, fontBold}, {styleItalic, fontItalic}} {
		opt := gopdf.TtfOption{
			Style:                     f.style.gopdf(),
			OnGlyphNotFoundSubstitute: func(rune) rune { return '?' },
		}
		if err := gp.AddTTFFontDataWithOption(fontFamily, f.data, opt); err != nil {
			return fmt.Errorf("pdf: load font: %w", err)
		}
	}
	return nil
}
