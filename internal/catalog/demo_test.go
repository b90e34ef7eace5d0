package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

func TestLoadDemoTwice(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		if err := catalog.LoadDemo(ctx, svc); err != nil {
			t.Fatalf("first load: %v", err)
		}
		first := exportAll(t, svc, catalog.FormatJSON)
		if err := catalog.LoadDemo(ctx, svc); err != nil {
			t.Fatalf("second load: %v", err)
		}
		if exportAll(t, svc, catalog.FormatJSON) != first {
			t.Error("second LoadDemo changed the catalogs")
		}

		units := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{Level: catalog.LevelCommune}))
		if len(units) != 30 {
			t.Errorf("communes today: %d, want 30", len(units))
		}
		kinds := map[catalog.UnitKind]int{}
		for _, u := range units {
			kinds[u.Kind]++
		}
		if kinds[catalog.KindWard] == 0 || kinds[catalog.KindCommune] == 0 || kinds[catalog.KindSpecialZone] != 1 {
			t.Errorf("kinds of communes: %v", kinds)
		}
		if n := len(must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{Level: catalog.LevelDistrict}))); n != 0 {
			t.Errorf("districts in force today: %d", n)
		}
		if n := len(must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{Level: catalog.LevelDistrict, At: date("2025-06-30")}))); n != 5 {
			t.Errorf("districts before the reform: %d", n)
		}
		// Xã Đông Lợi (merged in 2020 into Đông Hòa, itself merged in 2025) is
		// today part of Xã Đông Sơn.
		old := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{IncludeHistory: true, Text: "dong loi"}))
		if len(old) != 1 {
			t.Fatalf("Đông Lợi: %v", old)
		}
		now := must[[]catalog.AdminUnit](t)(svc.ResolveAdminUnit(ctx, old[0].Code, calendar.Date{}))
		if len(now) != 1 || now[0].Name != "Đông Sơn" || now[0].Kind != catalog.KindCommune {
			t.Errorf("Đông Lợi today: %+v", now)
		}

		agencies := must[[]catalog.Agency](t)(svc.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency, Level: catalog.LevelProvince}))
		if len(agencies) != 15 {
			t.Errorf("provincial agencies: %d, want 15", len(agencies))
		}
		for _, want := range []string{"Văn phòng Ủy ban nhân dân tỉnh", "Sở Tư pháp", "Sở Xây dựng", "Sở Nông nghiệp và Môi trường", "Sở Y tế",
			"Sở Giáo dục và Đào tạo", "Sở Tài chính", "Sở Công Thương", "Sở Nội vụ", "Sở Văn hóa, Thể thao và Du lịch", "Công an tỉnh",
			"Trung tâm Phục vụ hành chính công tỉnh", "Sở Khoa học và Công nghệ", "Ban Quản lý các khu công nghiệp"} {
			found := false
			for _, a := range agencies {
				found = found || a.Name == want
			}
			if !found {
				t.Errorf("agency %q missing", want)
			}
		}
		// The former e-ID of the Department of Natural Resources and Environment
		// resolves to the merged department.
		if a := must[catalog.Agency](t)(svc.Agency(ctx, "000.00.16.H99")); a.Name != "Sở Nông nghiệp và Môi trường" {
			t.Errorf("former e-ID resolves to %q", a.Name)
		}
		communeUBND := must[[]catalog.Agency](t)(svc.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency, Level: catalog.LevelCommune}))
		if len(communeUBND) != 30 {
			t.Errorf("commune People's Committees: %d", len(communeUBND))
		}
		if n := len(must[[]catalog.Field](t)(svc.Fields(ctx))); n < 10 {
			t.Errorf("fields: %d", n)
		}
		all := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Limit: 200}))
		if all.Total < 55 {
			t.Errorf("procedures in force: %d", all.Total)
		}
		for _, s := range all.Items {
			p := must[catalog.Procedure](t)(svc.Procedure(ctx, s.Code, calendar.Date{}))
			if len(p.Documents) == 0 || len(p.LegalBasis) == 0 {
				t.Errorf("%s lacks documents or legal basis", p.Code)
			}
		}
		if first := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "ly lich tu phap cong dan"})); first.Items[0].Code != "2.000488" {
			t.Errorf("search in demo: %+v", first.Items[0])
		}
		if v := must[[]catalog.Procedure](t)(svc.ProcedureVersions(ctx, "2.000488")); len(v) != 2 || v[0].EffectiveTo != catalog.DistrictLevelAbolished {
			t.Errorf("versions of 2.000488: %+v", v)
		}
	})
}

func TestDemoUnits(t *testing.T) {
	units := catalog.DemoUnits()
	purposes := map[string]int{}
	seen := map[string]bool{}
	for _, u := range units {
		purposes[u.Purpose]++
		if seen[u.EID] || !catalog.ValidEID(u.EID) || u.AgencyEID == "" || u.AgencyName == "" {
			t.Errorf("bad demo unit %+v", u)
		}
		seen[u.EID] = true
	}
	if purposes[catalog.PurposeReception] != 31 || purposes[catalog.PurposeProcessing] == 0 || purposes[catalog.PurposeOffice] == 0 {
		t.Errorf("purposes: %v", purposes)
	}
	for _, u := range units {
		if u.AgencyEID == catalog.DemoCenterEID && u.Purpose == catalog.PurposeReception && !strings.Contains(u.Name, "Tiếp nhận") {
			t.Errorf("center reception unit: %+v", u)
		}
	}
}
