package pdf

import (
	"errors"
	"strings"
	"testing"
)

// minimal returns a valid template with the given blocks (a JSON array).
func minimal(blocks string) string {
	return `{"key":"test","version":1,"effective_from":"2025-07-01","title":"Thử","blocks":` + blocks + `}`
}

func TestParseTemplateReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each must appear in the error
	}{
		{"not JSON", `{"key": "x",`, []string{"parse JSON"}},
		{"unknown top-level field", `{"key":"x","version":1,"effective_from":"2025-07-01","title":"T","blokcs":[]}`,
			[]string{`unknown field "blokcs"`}},
		{"missing head fields", `{"blocks":[{"type":"spacer","height_mm":5}]}`,
			[]string{"key: must be", "version: must be", "effective_from: must be a date", "title: is required"}},
		{"bad date", strings.Replace(minimal(`[{"type":"spacer","height_mm":5}]`), "2025-07-01", "01/07/2025", 1),
			[]string{`effective_from: must be a date YYYY-MM-DD (got "01/07/2025")`}},
		{"no blocks", minimal(`[]`), []string{"blocks: at least one block"}},
		{"unknown block type", minimal(`[{"type":"image"}]`), []string{`blocks[0] (image): unknown block type "image"`}},
		{"unknown block field", minimal(`[{"type":"paragraph","txt":"x"}]`), []string{`blocks[0] (paragraph): json: unknown field "txt"`}},
		{"bad placeholder syntax", minimal(`[{"type":"paragraph","text":"Mã: {{.Dossier.Code"}]`),
			[]string{"blocks[0] (paragraph).text: bad placeholder"}},
		{"field Data lacks", minimal(`[{"type":"paragraph","text":"Mã: {{.Dossier.Cod}}"}]`),
			[]string{"rendering sample data", "can't evaluate field Cod"}},
		{"unknown function", minimal(`[{"type":"paragraph","text":"{{ngay .IssuedAt}}"}]`),
			[]string{`function "ngay" not defined`}},
		{"bad style and align", minimal(`[{"type":"paragraph","text":"x","style":"underline","align":"middle"}]`),
			[]string{`.style: must be regular, bold or italic (got "underline")`, `.align: must be left, center, right or justify (got "middle")`}},
		{"table without source or columns", minimal(`[{"type":"table"}]`),
			[]string{"blocks[0] (table).source: is required", "blocks[0] (table).columns: at least one column"}},
		{"table source not a path", minimal(`[{"type":"table","source":"Dossier Documents","columns":[{"header":"A","value":"{{.N}}","width":1}]}]`),
			[]string{"must be a field path"}},
		{"table source not a list", minimal(`[{"type":"table","source":".Dossier.Code","columns":[{"header":"A","value":"{{.N}}","width":1}]}]`),
			[]string{".Dossier.Code is a string, not a list"}},
		{"column without width", minimal(`[{"type":"table","source":".Handoffs","columns":[{"header":"A","value":"{{.N}}"}]}]`),
			[]string{"columns[0].width: must be a positive relative width"}},
		{"too many signers", minimal(`[{"type":"signature","signers":[{},{},{},{},{}]}]`),
			[]string{"must have 1 to 4 signers (got 5)"}},
		{"qr without url", minimal(`[{"type":"qr"}]`), []string{"blocks[0] (qr).url: is required"}},
		{"page out of range", `{"key":"x","version":1,"effective_from":"2025-07-01","title":"T","page":{"size":"B5","orientation":"sideways","font_size":40,"margins_mm":{"top":1,"right":15,"bottom":20,"left":30}},"blocks":[{"type":"spacer","height_mm":5}]}`,
			[]string{"page.size", "page.orientation", "page.font_size", "page.margins_mm.top"}},
		{"several problems at once", minimal(`[{"type":"paragraph"},{"type":"list","items":["a"],"source":".Defects"},{"type":"fields","items":[{"label":"A","value":"x","width":2}]}]`),
			[]string{"blocks[0] (paragraph): text or runs is required", "blocks[1] (list): give either items or source", "blocks[2] (fields).items[0].width"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplate([]byte(tt.src))
			if err == nil {
				t.Fatal("ParseTemplate accepted an invalid template")
			}
			if !errors.Is(err, ErrInvalidTemplate) {
				t.Errorf("errors.Is(err, ErrInvalidTemplate) = false for %v", err)
			}
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("error is not a *TemplateError: %T", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseTemplateAcceptsEveryBlockType(t *testing.T) {
	src := minimal(`[
		{"type":"header","issuer":[{"text":"{{upper .Issuer.Name}}"}],"number":"Số: {{.Number}}","place_date":"{{.Issuer.Place}}, {{date .IssuedAt}}"},
		{"type":"heading","text":"TIÊU ĐỀ"},
		{"type":"paragraph","runs":[{"text":"Mã: "},{"text":"{{.Dossier.Code}}","style":"bold"}],"indent_mm":10},
		{"type":"fields","items":[{"label":"Họ tên","value":"{{.Dossier.Applicant.Name}}","width":0.5},{"label":"Điện thoại","value":"{{.Dossier.Applicant.Phone}}","width":0.5}]},
		{"type":"list","source":".Defects","marker":"alpha"},
		{"type":"list","items":["Một","Hai"],"marker":"bullet"},
		{"type":"table","source":".Dossier.Fees","columns":[{"header":"Khoản","value":"{{.Item.Name}}","width":3},{"header":"Số tiền","value":"{{money .Item.Amount}}","width":1,"align":"right"}]},
		{"type":"spacer","height_mm":5},
		{"type":"pagebreak"},
		{"type":"qr","url":"{{.LookupURL}}","align":"right","size_mm":30},
		{"type":"signature","signers":[{"title":"NGƯỜI KÝ","name":"{{.Signer.Name}}"}],"align":"center","when":"{{.Signer.Name}}"}
	]`)
	tmpl, err := ParseTemplate([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Key() != "test" || tmpl.Version() != 1 || tmpl.Title() != "Thử" {
		t.Errorf("accessors: %q v%d %q", tmpl.Key(), tmpl.Version(), tmpl.Title())
	}
	if got := tmpl.EffectiveFrom().Format("2006-01-02 15:04 -0700"); got != "2025-07-01 00:00 +0700" {
		t.Errorf("EffectiveFrom = %s, want midnight 2025-07-01 in Vietnam", got)
	}
	if string(tmpl.Source()) != src {
		t.Error("Source does not return the JSON parsed")
	}
}

func TestWhenSkipsBlocks(t *testing.T) {
	tmpl, err := ParseTemplate([]byte(minimal(`[
		{"type":"paragraph","text":"CÓ PHÍ {{money .Dossier.FeeTotal}}","when":"{{if .Dossier.Fees}}yes{{end}}"},
		{"type":"paragraph","text":"KHÔNG PHÍ","when":"{{if not .Dossier.Fees}}yes{{end}}"}
	]`)))
	if err != nil {
		t.Fatal(err)
	}
	d := fixture()
	b, err := tmpl.Render(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, b)
	if !strings.Contains(text, "KHÔNG PHÍ") || strings.Contains(text, "CÓ PHÍ") {
		t.Errorf("without fees: got %q", text)
	}
	d.Dossier.Fees = []Fee{{Name: "Lệ phí", Amount: 8000}, {Name: "Phí", Amount: 1_250_000}}
	b, err = tmpl.Render(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	text = pdftotext(t, b)
	if !strings.Contains(text, "CÓ PHÍ 1.258.000 đồng") || strings.Contains(text, "KHÔNG PHÍ") {
		t.Errorf("with fees: got %q", text)
	}
}
