package catalog_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
)

func TestAdminUnitValidate(t *testing.T) {
	good := catalog.AdminUnit{Code: "D99001", Name: "Thái An", Level: catalog.LevelCommune, Kind: catalog.KindWard,
		ParentCode: "D99", EffectiveFrom: date("2025-07-01")}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid unit refused: %v", err)
	}
	cases := []struct {
		name        string
		edit        func(u *catalog.AdminUnit)
		field, code string
	}{
		{"no code", func(u *catalog.AdminUnit) { u.Code = "" }, "code", catalog.CodeRequired},
		{"lower-case code", func(u *catalog.AdminUnit) { u.Code = "d99001" }, "code", catalog.CodeInvalidFormat},
		{"no name", func(u *catalog.AdminUnit) { u.Name = "" }, "name", catalog.CodeRequired},
		{"long name", func(u *catalog.AdminUnit) { u.Name = strings.Repeat("ấ", 201) }, "name", catalog.CodeTooLong},
		{"bad level", func(u *catalog.AdminUnit) { u.Level = "hamlet" }, "level", catalog.CodeInvalidValue},
		{"kind of another level", func(u *catalog.AdminUnit) { u.Kind = catalog.KindRural }, "kind", catalog.CodeInvalidValue},
		{"commune without parent", func(u *catalog.AdminUnit) { u.ParentCode = "" }, "parent_code", catalog.CodeRequired},
		{"province with parent", func(u *catalog.AdminUnit) { u.Level, u.Kind = catalog.LevelProvince, catalog.KindProvince }, "parent_code", catalog.CodeInvalidValue},
		{"own parent", func(u *catalog.AdminUnit) { u.ParentCode = u.Code }, "parent_code", catalog.CodeCycle},
		{"no start", func(u *catalog.AdminUnit) { u.EffectiveFrom = calendar.Date{} }, "effective_from", catalog.CodeRequired},
		{"end before start", func(u *catalog.AdminUnit) { u.EffectiveTo = date("2025-06-30") }, "effective_to", catalog.CodeDateOrder},
		{"end equal to start", func(u *catalog.AdminUnit) { u.EffectiveTo = u.EffectiveFrom }, "effective_to", catalog.CodeDateOrder},
		{"impossible date", func(u *catalog.AdminUnit) { u.EffectiveFrom = calendar.Date{Year: 2025, Month: 2, Day: 30} }, "effective_from", catalog.CodeInvalidDate},
		{"district still in force", func(u *catalog.AdminUnit) {
			u.Level, u.Kind, u.EffectiveFrom = catalog.LevelDistrict, catalog.KindRural, date("2000-01-01")
		}, "effective_to", catalog.CodeInvalidValue},
		{"township after the reform", func(u *catalog.AdminUnit) { u.Kind = catalog.KindTownship; u.EffectiveTo = date("2026-01-01") }, "effective_to", catalog.CodeInvalidValue},
		{"successor without end", func(u *catalog.AdminUnit) { u.Successors = []string{"D99002"} }, "effective_to", catalog.CodeRequired},
		{"own successor", func(u *catalog.AdminUnit) { u.Successors = []string{u.Code}; u.EffectiveTo = date("2026-01-01") }, "successors[0]", catalog.CodeCycle},
		{"duplicate successor", func(u *catalog.AdminUnit) {
			u.Successors = []string{"D99002", "D99002"}
			u.EffectiveTo = date("2026-01-01")
		}, "successors[1]", catalog.CodeDuplicate},
		{"control character", func(u *catalog.AdminUnit) { u.Name = "Thái\x07An" }, "name", catalog.CodeInvalidChars},
		{"invalid UTF-8", func(u *catalog.AdminUnit) { u.Name = "Th\xffi" }, "name", catalog.CodeInvalidChars},
	}
	for _, tc := range cases {
		u := good
		tc.edit(&u)
		err := u.Validate()
		if !errors.Is(err, catalog.ErrInvalid) || !slices.Contains(fieldErr(err, tc.field), tc.code) {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
		}
	}
}

func TestAgencyValidate(t *testing.T) {
	good := catalog.Agency{EID: "000.01.03.H99", Name: "Phòng Hành chính tư pháp", Kind: catalog.KindUnit,
		Level: catalog.LevelProvince, ParentEID: "000.00.03.H99", EffectiveFrom: date("2020-01-01"), FormerEIDs: []string{"H99.03.01"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid agency refused: %v", err)
	}
	for _, eid := range []string{"000.00.00.H41", "H41.01", "H15.50.05.13", "G01", "000.00.19.H99"} {
		if !catalog.ValidEID(eid) {
			t.Errorf("ValidEID(%q) = false", eid)
		}
	}
	for _, eid := range []string{"", "h41.01", "H41.", ".H41", "H41..01", "H41 01", "H41-01", "H41.0000001", "A.B.C.D.E.F.G", "H41.01\n"} {
		if catalog.ValidEID(eid) {
			t.Errorf("ValidEID(%q) = true", eid)
		}
	}
	cases := []struct {
		name        string
		edit        func(a *catalog.Agency)
		field, code string
	}{
		{"unit without parent", func(a *catalog.Agency) { a.ParentEID = "" }, "parent_eid", catalog.CodeRequired},
		{"district agency", func(a *catalog.Agency) { a.Level = catalog.LevelDistrict }, "level", catalog.CodeInvalidValue},
		{"bad kind", func(a *catalog.Agency) { a.Kind = "department" }, "kind", catalog.CodeInvalidValue},
		{"own parent", func(a *catalog.Agency) { a.ParentEID = a.EID }, "parent_eid", catalog.CodeCycle},
		{"former equals current", func(a *catalog.Agency) { a.FormerEIDs = []string{a.EID} }, "former_eids[0]", catalog.CodeDuplicate},
		{"bad former", func(a *catalog.Agency) { a.FormerEIDs = []string{"x"} }, "former_eids[0]", catalog.CodeInvalidFormat},
		{"bad admin unit code", func(a *catalog.Agency) { a.AdminUnitCode = "a b" }, "admin_unit_code", catalog.CodeInvalidFormat},
	}
	for _, tc := range cases {
		a := good
		tc.edit(&a)
		if err := a.Validate(); !slices.Contains(fieldErr(err, tc.field), tc.code) {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
		}
	}
}

func TestProcedureValidate(t *testing.T) {
	good := fixtureProcedures()[0]
	if err := good.Validate(); err != nil {
		t.Fatalf("valid procedure refused: %v", err)
	}
	cases := []struct {
		name        string
		edit        func(p *catalog.Procedure)
		field, code string
	}{
		{"bad code", func(p *catalog.Procedure) { p.Code = "1004227" }, "code", catalog.CodeInvalidFormat},
		{"province level without agency", func(p *catalog.Procedure) { p.CompetentAgency = "" }, "competent_agency", catalog.CodeRequired},
		{"district level", func(p *catalog.Procedure) { p.Level = catalog.LevelDistrict }, "level", catalog.CodeInvalidValue},
		{"bad online level", func(p *catalog.Procedure) { p.OnlineLevel = "level4" }, "online_level", catalog.CodeInvalidValue},
		{"document without name", func(p *catalog.Procedure) { p.Documents = []catalog.Document{{Form: catalog.FormCopy, Quantity: 1}} }, "documents[0].name", catalog.CodeRequired},
		{"document bad form", func(p *catalog.Procedure) {
			p.Documents = []catalog.Document{{Name: "A", Form: "paper", Quantity: 1}}
		}, "documents[0].form", catalog.CodeInvalidValue},
		{"document zero quantity", func(p *catalog.Procedure) { p.Documents = []catalog.Document{{Name: "A", Form: catalog.FormCopy}} }, "documents[0].quantity", catalog.CodeInvalidValue},
		{"negative fee", func(p *catalog.Procedure) {
			p.Fees = []catalog.Fee{{Name: "Phí", Amount: -1, PaidAt: catalog.PaidAtResult}}
		}, "fees[0].amount", catalog.CodeInvalidValue},
		{"fee stage", func(p *catalog.Procedure) { p.Fees = []catalog.Fee{{Name: "Phí", Amount: 1, PaidAt: "later"}} }, "fees[0].paid_at", catalog.CodeInvalidValue},
		{"zero duration", func(p *catalog.Procedure) { p.Duration.Value = 0 }, "duration.value", catalog.CodeInvalidValue},
		{"duration unit", func(p *catalog.Procedure) { p.Duration.Unit = "weeks" }, "duration.unit", catalog.CodeInvalidValue},
		{"empty legal basis entry", func(p *catalog.Procedure) { p.LegalBasis = []string{"a\nb"} }, "legal_basis[0]", catalog.CodeInvalidChars},
		{"schema not JSON", func(p *catalog.Procedure) { p.FormSchema = json.RawMessage(`{"type":`) }, "form_schema", catalog.CodeInvalidValue},
		{"schema not an object", func(p *catalog.Procedure) { p.FormSchema = json.RawMessage(`true`) }, "form_schema", catalog.CodeInvalidValue},
		{"schema bad keyword value", func(p *catalog.Procedure) { p.FormSchema = json.RawMessage(`{"minLength":-1}`) }, "form_schema", catalog.CodeInvalidValue},
		{"schema remote ref", func(p *catalog.Procedure) { p.FormSchema = json.RawMessage(`{"$ref":"https://example.com/s.json"}`) }, "form_schema", catalog.CodeInvalidValue},
		{"process key", func(p *catalog.Procedure) { p.ProcessKey = "Quy Trình" }, "process_key", catalog.CodeInvalidFormat},
		{"retired without end", func(p *catalog.Procedure) { p.Status = catalog.StatusRetired }, "effective_to", catalog.CodeRequired},
		{"bad status", func(p *catalog.Procedure) { p.Status = "published" }, "status", catalog.CodeInvalidValue},
	}
	for _, tc := range cases {
		p := good
		tc.edit(&p)
		if err := p.Validate(); !slices.Contains(fieldErr(err, tc.field), tc.code) {
			t.Errorf("%s: %v, want %s on %s", tc.name, err, tc.code, tc.field)
		}
	}
	// Several problems are reported together.
	p := good
	p.Name, p.FieldCode, p.OnlineLevel = "", "", ""
	var ve *catalog.ValidationError
	if err := p.Validate(); !errors.As(err, &ve) || len(ve.Errors) != 3 {
		t.Errorf("three problems expected: %v", err)
	}
}

func TestFormSchemaValidatesData(t *testing.T) {
	sch, err := catalog.CompileFormSchema(json.RawMessage(formSchema))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(map[string]any{"ho_ten": "Nguyễn Văn A"}); err != nil {
		t.Errorf("valid data refused: %v", err)
	}
	if err := sch.Validate(map[string]any{}); err == nil {
		t.Error("missing required field accepted")
	}
}

func TestSupersede(t *testing.T) {
	v := func(n int, from, to string, st catalog.Status) catalog.Procedure {
		p := catalog.Procedure{Version: n, EffectiveFrom: date(from), Status: st}
		if to != "" {
			p.EffectiveTo = date(to)
		}
		return p
	}
	got, bad := catalog.Supersede([]catalog.Procedure{
		v(3, "2026-01-01", "", catalog.StatusDraft),
		v(1, "2020-01-01", "", catalog.StatusActive),
		v(2, "2024-01-01", "2030-01-01", catalog.StatusActive),
	})
	if len(bad) != 0 {
		t.Fatalf("problems: %v", bad)
	}
	if got[0].EffectiveTo != date("2024-01-01") || got[1].EffectiveTo != date("2030-01-01") || !got[2].EffectiveTo.IsZero() {
		t.Errorf("ends: %s %s %s", got[0].EffectiveTo, got[1].EffectiveTo, got[2].EffectiveTo)
	}
	_, bad = catalog.Supersede([]catalog.Procedure{
		v(1, "2024-01-01", "", catalog.StatusDraft),
		v(2, "2024-01-01", "", catalog.StatusActive),
		v(3, "2023-01-01", "", catalog.StatusActive),
	})
	if len(bad[1]) != 1 || bad[1][0].Field != "status" || len(bad[3]) != 1 || bad[3][0].Field != "effective_from" {
		t.Errorf("problems: %v", bad)
	}
}
