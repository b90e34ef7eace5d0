// Package pdf renders the one-stop forms of Circular 03/2025/TT-VPCP,
// Annex I, as PDF: 01 receipt and appointment slip, 02 supplement request,
// 03 refusal slip, 04 apology letter with a new date, 05 notice of stopped
// processing, 06 processing control slip and 07 dossier tracking book. It
// owns the form templates, the embedded fonts and the page layout; it knows
// nothing of dossiers beyond the Data the dossier module fills in.
//
// # Use
//
//	reg, err := pdf.NewRegistry()            // the default templates
//	err = reg.LoadFS(os.DirFS(dir), ".")     // a province's own versions
//	b, err := reg.Render(ctx, pdf.FormReceipt, dossier.ReceivedAt, data)
//
// Render picks the template in force at the given date, so a dossier is
// printed with the rules in force when it was received; Registry.Version
// re-prints a form with the exact version used before.
//
// # Fonts and Vietnamese text
//
// The text is set in Liberation Serif 2.1.5 (regular, bold, italic), which
// is metric-compatible with Times New Roman as Decree 30/2020 requires and
// is licensed under the SIL Open Font License 1.1
// (fonts/LICENSE-Liberation.txt). The fonts are embedded in the binary and
// subset into each PDF. All text is normalised to NFC before it is drawn,
// so decomposed input (a vowel followed by combining marks) prints with the
// precomposed glyphs; a character the font lacks prints as "?".
//
// # Templates
//
// A template is data: a JSON document, validated when it is parsed, with
// every problem reported at once (TemplateError). The defaults are in
// templates/ (form01.v1.json ...). Its members:
//
//	key             form key, e.g. "form01"
//	version         1, 2, ...; unique per key
//	effective_from  "YYYY-MM-DD", first day in force (Vietnam's time)
//	title           the form's name; legal_basis, description: free text
//	page            size (A4, A5, A3), orientation (portrait, landscape),
//	                margins_mm {top,right,bottom,left} (default 20,15,20,30),
//	                font_size (default 13), line_spacing (default 1.2)
//	blocks          what to draw, top to bottom
//
// Every string in a block is a text/template evaluated over the data
// ({{.Dossier.Code}}); besides the built-ins, templates may call date
// ("ngày 17 tháng 02 năm 2026"), clock ("14 giờ 30"), dateTime,
// dateShort ("17/02/2026"), dateTimeShort ("14:30 17/02/2026"), money
// ("75.000 đồng"), upper, lower and join. Any block may have "when": it is
// drawn only if that text evaluates to something other than "", "false" or
// "0". Sizes are in points, distances in millimetres; styles are regular,
// bold or italic; alignments left, center, right or justify. Block types:
//
//	header     issuer lines on the left (with a short rule under them), the
//	           national motto on the right ("motto", defaulting to "CỘNG HÒA
//	           XÃ HỘI CHỦ NGHĨA VIỆT NAM" / "Độc lập - Tự do - Hạnh phúc"),
//	           then number and place_date on one line, as Decree 30/2020 lays
//	           them out; left_width is the left column's share (0.42)
//	heading    a centred bold title
//	paragraph  text, or runs [{text, style, size}] for mixed styles; align
//	           (justify), indent_mm (first line), left_mm
//	fields     items [{label, value, width, omit_empty, value_style, when}]
//	           printed "label: value"; items whose widths (fractions of the
//	           line) add up to 1 share a line; an empty value prints a dotted
//	           leader unless omit_empty
//	list       numbered or bulleted items: static "items", or "source" (a
//	           path such as .Defects) with "item" evaluated per element;
//	           marker decimal, alpha, dash, bullet or none; "empty" if none
//	table      "source" (a path such as .Handoffs) and columns [{header,
//	           value, width (relative), align, style}]; one row per element;
//	           text wraps in cells, rows break across pages with the header
//	           repeated, and a row taller than a page continues on the next
//	signature  1-4 signers [{above, title, note, name}] side by side, with
//	           gap_mm (22) of room to sign; a single signer stands right
//	qr         a QR code of url (PNG from go-qrcode), size_mm (22), with a
//	           caption beside it; skipped when url is empty unless required
//	spacer     height_mm of blank space
//	pagebreak  start a new page
//
// In a table cell and a list item with a source the dot is a Row: {{.N}}
// is the 1-based position, {{.Item}} the element, {{.Root}} the whole data.
//
// # Invariants
//
// A Template is immutable once parsed and safe for concurrent use; so is a
// Registry. Parsing a template renders it once over SampleData, so a
// registered template never fails on a field that Data lacks. Rendering
// reads no clock and touches no file: the same template and data give the
// same text. Pages after the first carry their number centred at the top.
package pdf
