package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

func codes(units []catalog.AdminUnit) string {
	var out []string
	for _, u := range units {
		out = append(out, u.Code)
	}
	return strings.Join(out, ",")
}

// fieldErr returns the codes of the validation problems of err on field.
func fieldErr(err error, field string) []string {
	var ve *catalog.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Errors {
		if f.Field == field {
			out = append(out, f.Code)
		}
	}
	return out
}

func TestAdminUnitHistory(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)

		// Today (2026-03-15) the province has two communes; before the reform
		// it had a district with three.
		today := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{}))
		if got := codes(today); got != "D99,D99501,D99502" {
			t.Errorf("units today = %s", got)
		}
		before := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{At: date("2025-06-30")}))
		if got := codes(before); got != "D99,D991,D99101,D99102,D99103" {
			t.Errorf("units on 2025-06-30 = %s", got)
		}
		all := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{IncludeHistory: true}))
		if len(all) != 8 {
			t.Errorf("with history: %d units, want 8", len(all))
		}
		children := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{IncludeHistory: true, ParentCode: "D991"}))
		if got := codes(children); got != "D99101,D99102,D99103" {
			t.Errorf("children of D991 = %s", got)
		}
		found := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{Text: "binh minh"}))
		if got := codes(found); got != "D99502" {
			t.Errorf("search 'binh minh' = %s", got)
		}

		resolve := func(code, at string) string {
			t.Helper()
			var d calendar.Date
			if at != "" {
				d = date(at)
			}
			units, err := svc.ResolveAdminUnit(ctx, code, d)
			if err != nil {
				t.Fatalf("resolve %s: %v", code, err)
			}
			return codes(units)
		}
		for _, tc := range []struct{ code, at, want string }{
			{"D99101", "", "D99501"},                // merged commune → new commune
			{"D99102", "2026-01-01", "D99501"},      // many-to-one
			{"D99103", "", "D99502"},                // township → ward
			{"D991", "", "D99501,D99502"},           // district → the communes that replaced it
			{"D99101", "2027-06-01", "D99601"},      // follows the chain through a second merger
			{"D991", "2027-06-01", "D99502,D99601"}, // and through several branches
			{"D99101", "2020-01-01", "D99101"},      // in force then: itself
			{"D99502", "", "D99502"},                // current unit: itself
			{"D99601", "2020-01-01", ""},            // did not exist yet
		} {
			if got := resolve(tc.code, tc.at); got != tc.want {
				t.Errorf("resolve %s at %q = %q, want %q", tc.code, tc.at, got, tc.want)
			}
		}
		if _, err := svc.ResolveAdminUnit(ctx, "D99999", calendar.Date{}); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("resolve unknown code: %v, want ErrNotFound", err)
		}
		pred := must[[]catalog.AdminUnit](t)(svc.Predecessors(ctx, "D99501"))
		if got := codes(pred); got != "D991,D99101,D99102" {
			t.Errorf("predecessors of D99501 = %s", got)
		}

		// A successor link that closes a loop is refused, and nothing changes.
		u := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99601"))
		u.EffectiveTo = date("2030-01-01")
		u.Successors = []string{"D99101"}
		_, err := svc.SaveAdminUnit(ctx, u)
		if !errors.Is(err, catalog.ErrInvalid) || !slices.Contains(fieldErr(err, "successors"), catalog.CodeCycle) {
			t.Fatalf("cycle D99601 → D99101 → D99501 → D99601: err = %v", err)
		}
		if !strings.Contains(err.Error(), "D99601 → D99101 → D99501 → D99601") {
			t.Errorf("cycle message should show the loop: %v", err)
		}
		if got := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99601")); !got.EffectiveTo.IsZero() || len(got.Successors) > 0 {
			t.Errorf("refused change was stored: %+v", got)
		}
		if got := resolve("D99101", "2031-01-01"); got != "D99601" {
			t.Errorf("after refused cycle, D99101 in 2031 resolves to %q", got)
		}

		// Broken references are named by field.
		_, err = svc.SaveAdminUnit(ctx, catalog.AdminUnit{Code: "D99700", Name: "Mới", Level: catalog.LevelCommune,
			Kind: catalog.KindCommune, ParentCode: "D98", EffectiveFrom: date("2025-07-01")})
		if !slices.Contains(fieldErr(err, "parent_code"), catalog.CodeNotFound) {
			t.Errorf("dangling parent: %v", err)
		}
		_, err = svc.SaveAdminUnit(ctx, catalog.AdminUnit{Code: "D99700", Name: "Mới", Level: catalog.LevelCommune,
			Kind: catalog.KindCommune, ParentCode: "D99502", EffectiveFrom: date("2025-07-01")})
		if !slices.Contains(fieldErr(err, "parent_code"), catalog.CodeInvalidValue) {
			t.Errorf("commune under a commune: %v", err)
		}
		if _, err := svc.AdminUnit(ctx, "D99700"); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("refused unit was stored: %v", err)
		}
	})
}

func TestAgencyAliases(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)

		// The Department of Justice receives a new e-ID; the old one resolves.
		const newEID = "000.00.19.H99"
		a := must[catalog.Agency](t)(svc.RenameAgency(ctx, eidJustice, newEID))
		if a.EID != newEID || !slices.Contains(a.FormerEIDs, eidJustice) {
			t.Fatalf("after rename: %+v", a)
		}
		old := must[catalog.Agency](t)(svc.Agency(ctx, eidJustice))
		if old.EID != newEID || old.Name != "Sở Tư pháp" {
			t.Errorf("old e-ID resolves to %+v", old)
		}
		unit := must[catalog.Agency](t)(svc.Agency(ctx, eidJustUnit))
		if unit.ParentEID != newEID {
			t.Errorf("unit's parent = %s, want the new e-ID", unit.ParentEID)
		}
		// A procedure that names the old e-ID is still found by both.
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "2.000488", calendar.Date{}))
		if p.CompetentAgency != newEID {
			t.Errorf("procedure's agency = %s, want %s", p.CompetentAgency, newEID)
		}
		for _, e := range []string{eidJustice, newEID} {
			page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{AgencyEID: e}))
			if page.Total != 1 || page.Items[0].Code != "2.000488" {
				t.Errorf("procedures of %s: %+v", e, page)
			}
		}
		// Saving with the old e-ID as parent is accepted and stored canonically.
		n := must[catalog.Agency](t)(svc.SaveAgency(ctx, catalog.Agency{EID: "000.02.19.H99", Name: "Phòng Bổ trợ tư pháp",
			Kind: catalog.KindUnit, Level: catalog.LevelProvince, ParentEID: eidJustice, EffectiveFrom: date("2020-01-01")}))
		if n.ParentEID != newEID {
			t.Errorf("parent stored as %s, want %s", n.ParentEID, newEID)
		}
		children := must[[]catalog.Agency](t)(svc.Agencies(ctx, catalog.AgencyQuery{ParentEID: eidJustice}))
		if len(children) != 2 {
			t.Errorf("children of the old e-ID: %d, want 2", len(children))
		}

		// An e-ID never goes to another agency.
		_, err := svc.SaveAgency(ctx, catalog.Agency{EID: eidJustice, Name: "Cơ quan khác", Kind: catalog.KindAgency,
			Level: catalog.LevelProvince, EffectiveFrom: date("2026-01-01")})
		if !slices.Contains(fieldErr(err, "eid"), catalog.CodeDuplicate) {
			t.Errorf("reusing a former e-ID: %v", err)
		}
		// A parent loop is refused.
		prov := must[catalog.Agency](t)(svc.Agency(ctx, eidProvince))
		prov.ParentEID = eidJustUnit
		if _, err := svc.SaveAgency(ctx, prov); !slices.Contains(fieldErr(err, "parent_eid"), catalog.CodeCycle) {
			t.Errorf("parent loop: %v", err)
		}
		// Malformed e-IDs are refused.
		for _, bad := range []string{"000.00.00.h99", "H99..01", "H 99", "H99.01;DROP", "", "1234567.1"} {
			_, err := svc.SaveAgency(ctx, catalog.Agency{EID: bad, Name: "X", Kind: catalog.KindAgency,
				Level: catalog.LevelProvince, EffectiveFrom: date("2020-01-01")})
			if fieldErr(err, "eid") == nil {
				t.Errorf("e-ID %q accepted: %v", bad, err)
			}
		}
		// Level of the administrative unit must match.
		_, err = svc.SaveAgency(ctx, catalog.Agency{EID: "000.52.00.H99", Name: "UBND phường Bình Minh", Kind: catalog.KindAgency,
			Level: catalog.LevelCommune, AdminUnitCode: "D99", EffectiveFrom: date("2025-07-01")})
		if !slices.Contains(fieldErr(err, "admin_unit_code"), catalog.CodeInvalidValue) {
			t.Errorf("commune agency on the province: %v", err)
		}
		if _, err := svc.Agency(ctx, "H99.404"); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("unknown e-ID: %v", err)
		}
	})
}

func TestProcedureVersions(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		const code = "1.001193"

		v1 := must[catalog.Procedure](t)(svc.Procedure(ctx, code, calendar.Date{}))
		if v1.Version != 1 || v1.Status != catalog.StatusActive || string(v1.FormSchema) != formSchema {
			t.Fatalf("v1 = %+v", v1)
		}
		// A new draft: not in force, invisible to the public search.
		draft := v1
		draft.Version = 0
		draft.Status = catalog.StatusDraft
		draft.Name = "Đăng ký khai sinh (sửa đổi)"
		draft.EffectiveFrom = date("2026-05-01")
		draft.Duration.Value = 2
		d := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, draft))
		if d.Version != 2 || d.Status != catalog.StatusDraft {
			t.Fatalf("draft = v%d %s", d.Version, d.Status)
		}
		// Saving again with version 0 edits the same draft.
		draft.Duration.Value = 3
		d = must[catalog.Procedure](t)(svc.SaveProcedure(ctx, draft))
		if d.Version != 2 || d.Duration.Value != 3 {
			t.Fatalf("second draft save = v%d, %d days", d.Version, d.Duration.Value)
		}
		if cur := must[catalog.Procedure](t)(svc.Procedure(ctx, code, date("2026-06-01"))); cur.Version != 1 {
			t.Errorf("a draft must not be in force: got v%d", cur.Version)
		}
		pub := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "sua doi"}))
		if pub.Total != 0 {
			t.Errorf("public search sees the draft: %+v", pub.Items)
		}
		adm := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "sua doi", Latest: true, Status: catalog.StatusDraft}))
		if adm.Total != 1 || adm.Items[0].Version != 2 {
			t.Errorf("admin search for drafts: %+v", adm)
		}

		// Publishing supersedes v1 on v2's effective date.
		must[catalog.Procedure](t)(svc.PublishProcedure(ctx, code, 2))
		old := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, code, 1))
		if old.EffectiveTo != date("2026-05-01") || old.Status != catalog.StatusActive {
			t.Errorf("v1 after publishing v2: to %s, %s", old.EffectiveTo, old.Status)
		}
		for _, tc := range []struct {
			at   string
			want int
		}{{"2024-01-01", 1}, {"2026-04-30", 1}, {"2026-05-01", 2}, {"2030-01-01", 2}} {
			if got := must[catalog.Procedure](t)(svc.Procedure(ctx, code, date(tc.at))); got.Version != tc.want {
				t.Errorf("current at %s = v%d, want v%d", tc.at, got.Version, tc.want)
			}
		}
		if _, err := svc.Procedure(ctx, code, date("2023-12-31")); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("before v1: %v, want ErrNotFound", err)
		}
		if _, err := svc.PublishProcedure(ctx, code, 2); !errors.Is(err, catalog.ErrConflict) {
			t.Errorf("publishing twice: %v", err)
		}

		// A published version is immutable; a change makes a new version.
		v2 := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, code, 2))
		v2.Name = "Sửa trực tiếp"
		if _, err := svc.SaveProcedure(ctx, v2); !slices.Contains(fieldErr(err, "version"), catalog.CodeImmutable) {
			t.Errorf("editing a published version: %v", err)
		}
		// A new version may not take effect before the one it follows.
		v3 := v2
		v3.Version = 0
		v3.EffectiveFrom = date("2026-04-01")
		if _, err := svc.SaveProcedure(ctx, v3); !slices.Contains(fieldErr(err, "effective_from"), catalog.CodeDateOrder) {
			t.Errorf("new version effective before v2: %v", err)
		}
		if n := len(must[[]catalog.Procedure](t)(svc.ProcedureVersions(ctx, code))); n != 2 {
			t.Errorf("refused version was stored: %d versions", n)
		}

		// Retiring ends the procedure without a successor.
		r := must[catalog.Procedure](t)(svc.RetireProcedure(ctx, code, date("2027-01-01")))
		if r.Version != 2 || r.Status != catalog.StatusRetired || r.EffectiveTo != date("2027-01-01") {
			t.Errorf("retired = %+v", r)
		}
		if _, err := svc.Procedure(ctx, code, date("2027-01-01")); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("after retirement: %v", err)
		}
		if got := must[catalog.Procedure](t)(svc.Procedure(ctx, code, date("2026-12-31"))); got.Version != 2 {
			t.Errorf("the day before retirement: v%d", got.Version)
		}
	})
}

func TestProcedureValidationThroughService(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		base := fixtureProcedures()[0]
		base.Code = "1.009999"
		cases := []struct {
			name  string
			edit  func(p *catalog.Procedure)
			field string
			code  string
		}{
			{"unknown field", func(p *catalog.Procedure) { p.FieldCode = "ZZ" }, "field_code", catalog.CodeNotFound},
			{"unknown agency", func(p *catalog.Procedure) { p.CompetentAgency = "000.00.77.H99" }, "competent_agency", catalog.CodeNotFound},
			{"agency of another level", func(p *catalog.Procedure) { p.CompetentAgency = eidAnPhu }, "competent_agency", catalog.CodeInvalidValue},
			{"bad schema", func(p *catalog.Procedure) { p.FormSchema = []byte(`{"type":"strin"}`) }, "form_schema", catalog.CodeInvalidValue},
			{"schema reads files", func(p *catalog.Procedure) { p.FormSchema = []byte(`{"$ref":"file:///etc/passwd"}`) }, "form_schema", catalog.CodeInvalidValue},
			{"bad code", func(p *catalog.Procedure) { p.Code = "1.0042" }, "code", catalog.CodeInvalidFormat},
		}
		for _, tc := range cases {
			p := base
			tc.edit(&p)
			_, err := svc.SaveProcedure(ctx, p)
			if !slices.Contains(fieldErr(err, tc.field), tc.code) {
				t.Errorf("%s: err = %v, want %s on %s", tc.name, err, tc.code, tc.field)
			}
		}
	})
}

func TestSearchProcedures(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		search := func(q catalog.ProcedureQuery) []string {
			t.Helper()
			page, err := svc.SearchProcedures(ctx, q)
			if err != nil {
				t.Fatalf("search %+v: %v", q, err)
			}
			var out []string
			for _, it := range page.Items {
				out = append(out, it.Code)
			}
			if page.Total < len(out) {
				t.Errorf("total %d < %d items", page.Total, len(out))
			}
			return out
		}
		first := func(q string) string {
			t.Helper()
			got := search(catalog.ProcedureQuery{Text: q})
			if len(got) == 0 {
				return ""
			}
			return got[0]
		}
		for _, tc := range []struct{ q, want string }{
			{"giay phep xay dung", "1.004227"}, // phrase in the name beats words scattered
			{"GIẤY PHÉP XÂY DỰNG", "1.004227"},
			{"cap giay phep sua chua", "1.004228"},
			{"khai sinh", "1.001193"},
			{"dang ky ket hon", "1.000894"},
			{"ly lich tu phap", "2.000488"},
			{"1.004228", "1.004228"},        // the exact code first
			{"giay phep xay d", "1.004227"}, // prefixes while typing
			{"1.0042", "1.004227"},          // part of a code
		} {
			if got := first(tc.q); got != tc.want {
				t.Errorf("search %q: first = %q, want %q (all: %v)", tc.q, got, tc.want, search(catalog.ProcedureQuery{Text: tc.q}))
			}
		}
		if got := search(catalog.ProcedureQuery{Text: "dang ky"}); len(got) != 2 {
			t.Errorf("'dang ky' = %v, want both civil-status procedures", got)
		}
		if got := search(catalog.ProcedureQuery{Text: "khong co thu tuc nay"}); len(got) != 0 {
			t.Errorf("no match expected, got %v", got)
		}
		// Filters, alone and with text.
		for _, tc := range []struct {
			q    catalog.ProcedureQuery
			want string
		}{
			{catalog.ProcedureQuery{FieldCode: "HT"}, "1.000894,1.001193"},
			{catalog.ProcedureQuery{Level: catalog.LevelProvince}, "1.004227,1.004228,2.000488"},
			{catalog.ProcedureQuery{OnlineLevel: catalog.OnlineFull, Level: catalog.LevelProvince}, "2.000488"},
			{catalog.ProcedureQuery{AgencyEID: eidBuild}, "1.004227,1.004228"},
			{catalog.ProcedureQuery{AgencyEID: eidBuild, Text: "sua chua"}, "1.004228"},
			{catalog.ProcedureQuery{FieldCode: "HT", Text: "xay dung"}, ""},
			{catalog.ProcedureQuery{AgencyEID: "H00.404"}, ""},
			{catalog.ProcedureQuery{At: date("2023-01-01")}, ""},
		} {
			got := search(tc.q)
			slices.Sort(got)
			if s := strings.Join(got, ","); s != tc.want {
				t.Errorf("search %+v = %s, want %s", tc.q, s, tc.want)
			}
		}
		// Paging: the total counts every match, pages do not overlap.
		p1 := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Limit: 2}))
		p3 := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Limit: 2, Offset: 4}))
		p9 := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Limit: 2, Offset: 40}))
		if p1.Total != 5 || len(p1.Items) != 2 || p3.Total != 5 || len(p3.Items) != 1 || p9.Total != 5 || len(p9.Items) != 0 {
			t.Errorf("paging: p1 %d/%d, p3 %d/%d, past end %d/%d", len(p1.Items), p1.Total, len(p3.Items), p3.Total, len(p9.Items), p9.Total)
		}
		if p1.Items[0].FieldName == "" || p1.Items[0].Duration.Value == 0 {
			t.Errorf("summary lacks details: %+v", p1.Items[0])
		}
		if _, err := svc.SearchProcedures(ctx, catalog.ProcedureQuery{Level: "district"}); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("bad level filter: %v", err)
		}
	})
}

func TestInjectionStoredVerbatim(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		evil := []string{
			`Robert'); DROP TABLE catalog_fields;--`,
			`<script>alert("x")</script>`,
			`100% _chắc_ \ "quoted" $1 {{id}}`,
			`' OR '1'='1`,
		}
		for i, name := range evil {
			code := fmt.Sprintf("EVIL%d", i)
			f := must[catalog.Field](t)(svc.SaveField(ctx, catalog.Field{Code: code, Name: name}))
			if f.Name != name {
				t.Errorf("field name %q stored as %q", name, f.Name)
			}
			p := fixtureProcedures()[2]
			p.Code = fmt.Sprintf("9.99999%d", i)
			p.Name = name
			p.FieldCode = code
			p.LegalBasis = []string{name}
			p.Documents[0].Name = name
			got := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, p))
			if got.Name != name || got.LegalBasis[0] != name || got.Documents[0].Name != name {
				t.Errorf("procedure texts changed: %+v", got)
			}
			if _, err := svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: name, FieldCode: name, AgencyEID: "x"}); err != nil {
				t.Errorf("search with %q: %v", name, err)
			}
		}
		if n := len(must[[]catalog.Field](t)(svc.Fields(ctx))); n != 3+len(evil) {
			t.Errorf("fields: %d", n)
		}
		page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "drop table"}))
		if page.Total != 1 || page.Items[0].Name != evil[0] {
			t.Errorf("search 'drop table': %+v", page)
		}
		// Control characters (NUL breaks PostgreSQL text) are refused, not stored.
		if _, err := svc.SaveField(ctx, catalog.Field{Code: "NUL", Name: "a\x00b"}); !slices.Contains(fieldErr(err, "name"), catalog.CodeInvalidChars) {
			t.Errorf("NUL in a name: %v", err)
		}
	})
}

// Two nodes share a database: a write through one is seen by the other's
// next search (the in-memory index follows the catalogs' revision).
func TestSearchSeesWritesFromOtherNodes(t *testing.T) {
	each(t, func(t *testing.T, a *catalog.Service, d *db.DB) {
		ctx := context.Background()
		fixture(t, a)
		b := catalog.NewService(d, clock)
		if got := must[catalog.ProcedurePage](t)(b.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "khai sinh"})); got.Total != 1 {
			t.Fatalf("node b before: %+v", got)
		}
		p := fixtureProcedures()[2]
		p.Code, p.Name = "1.001194", "Đăng ký khai sinh có yếu tố nước ngoài"
		must[catalog.Procedure](t)(a.SaveProcedure(ctx, p))
		if got := must[catalog.ProcedurePage](t)(b.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "khai sinh"})); got.Total != 2 {
			t.Errorf("node b after a's write: %+v", got)
		}
		// Renaming a field on node b changes what node a finds.
		must[catalog.Field](t)(b.SaveField(ctx, catalog.Field{Code: "HT", Name: "Hộ tịch và quốc tịch"}))
		got := must[catalog.ProcedurePage](t)(a.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "quoc tich"}))
		if got.Total != 3 || got.Items[0].FieldName != "Hộ tịch và quốc tịch" {
			t.Errorf("node a after b renamed the field: %+v", got)
		}
	})
}
