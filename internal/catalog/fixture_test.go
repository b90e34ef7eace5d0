package catalog_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// now is the fixed clock of the tests: 2026-03-15 10:00 in Vietnam.
var now = time.Date(2026, 3, 15, 3, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func date(s string) calendar.Date {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// each runs fn on every engine with a fresh service.
func each(t *testing.T, fn func(t *testing.T, svc *catalog.Service, d *db.DB)) {
	t.Helper()
	dbtest.Each(t, catalog.Migrations(), func(t *testing.T, d *db.DB) {
		fn(t, catalog.NewService(d, clock), d)
	})
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Fixture e-IDs.
const (
	eidProvince = "000.00.00.H99"
	eidJustice  = "000.00.09.H99"
	eidJustUnit = "000.01.09.H99"
	eidBuild    = "000.00.12.H99"
	eidAnPhu    = "000.51.00.H99"
)

const formSchema = `{"type":"object","title":"Tờ khai","required":["ho_ten"],"properties":{"ho_ten":{"type":"string","title":"Họ và tên"}}}`

// fixture loads a small province through the service's save methods:
// a district and three communes that merged on 2025-07-01 into two new
// communes, one of which merges again on 2027-01-01.
func fixture(t testing.TB, svc *catalog.Service) {
	t.Helper()
	ctx := context.Background()
	units := []catalog.AdminUnit{
		{Code: "D99", Name: "Thử Nghiệm", Level: catalog.LevelProvince, Kind: catalog.KindProvince, EffectiveFrom: date("1991-08-12")},
		{Code: "D99501", Name: "An Phú", Level: catalog.LevelCommune, Kind: catalog.KindCommune, ParentCode: "D99",
			EffectiveFrom: date("2025-07-01"), EffectiveTo: date("2027-01-01"), Successors: []string{"D99601"}},
		{Code: "D99502", Name: "Bình Minh", Level: catalog.LevelCommune, Kind: catalog.KindWard, ParentCode: "D99", EffectiveFrom: date("2025-07-01")},
		{Code: "D99601", Name: "Trung Tâm", Level: catalog.LevelCommune, Kind: catalog.KindWard, ParentCode: "D99", EffectiveFrom: date("2027-01-01")},
		{Code: "D991", Name: "Sông Xưa", Level: catalog.LevelDistrict, Kind: catalog.KindRural, ParentCode: "D99",
			EffectiveFrom: date("1991-08-12"), EffectiveTo: date("2025-07-01"), Successors: []string{"D99502", "D99501"}},
		{Code: "D99101", Name: "An Hòa", Level: catalog.LevelCommune, Kind: catalog.KindCommune, ParentCode: "D991",
			EffectiveFrom: date("1991-08-12"), EffectiveTo: date("2025-07-01"), Successors: []string{"D99501"}},
		{Code: "D99102", Name: "An Bình", Level: catalog.LevelCommune, Kind: catalog.KindCommune, ParentCode: "D991",
			EffectiveFrom: date("1991-08-12"), EffectiveTo: date("2025-07-01"), Successors: []string{"D99501"}},
		{Code: "D99103", Name: "Sông Xưa", Level: catalog.LevelCommune, Kind: catalog.KindTownship, ParentCode: "D991",
			EffectiveFrom: date("1991-08-12"), EffectiveTo: date("2025-07-01"), Successors: []string{"D99502"}},
	}
	// Successor targets must exist first: save the targets, then the rest.
	for _, i := range []int{0, 3, 1, 2, 4, 5, 6, 7} {
		must[catalog.AdminUnit](t)(svc.SaveAdminUnit(ctx, units[i]))
	}
	for _, f := range []catalog.Field{{Code: "HT", Name: "Hộ tịch"}, {Code: "XD", Name: "Xây dựng"}, {Code: "LLTP", Name: "Lý lịch tư pháp"}} {
		must[catalog.Field](t)(svc.SaveField(ctx, f))
	}
	for _, a := range []catalog.Agency{
		{EID: eidProvince, Name: "Ủy ban nhân dân tỉnh Thử Nghiệm", ShortName: "UBND tỉnh", Kind: catalog.KindAgency, Level: catalog.LevelProvince, AdminUnitCode: "D99", EffectiveFrom: date("1991-08-12")},
		{EID: eidJustice, Name: "Sở Tư pháp", ShortName: "STP", Kind: catalog.KindAgency, Level: catalog.LevelProvince, ParentEID: eidProvince, AdminUnitCode: "D99", EffectiveFrom: date("1991-08-12")},
		{EID: eidJustUnit, Name: "Phòng Hành chính tư pháp", Kind: catalog.KindUnit, Level: catalog.LevelProvince, ParentEID: eidJustice, EffectiveFrom: date("1991-08-12")},
		{EID: eidBuild, Name: "Sở Xây dựng", ShortName: "SXD", Kind: catalog.KindAgency, Level: catalog.LevelProvince, ParentEID: eidProvince, AdminUnitCode: "D99", EffectiveFrom: date("1991-08-12")},
		{EID: eidAnPhu, Name: "Ủy ban nhân dân xã An Phú", Kind: catalog.KindAgency, Level: catalog.LevelCommune, ParentEID: eidProvince, AdminUnitCode: "D99501", EffectiveFrom: date("2025-07-01")},
	} {
		must[catalog.Agency](t)(svc.SaveAgency(ctx, a))
	}
	for _, p := range fixtureProcedures() {
		must[catalog.Procedure](t)(svc.SaveProcedure(ctx, p))
	}
}

func fixtureProcedures() []catalog.Procedure {
	docs := []catalog.Document{
		{Name: "Tờ khai theo mẫu", Form: catalog.FormOriginal, Quantity: 1, Template: "Mẫu số 01", Required: true},
		{Name: "Giấy tờ tùy thân", Form: catalog.FormCopy, Quantity: 1, Required: false},
	}
	p := func(code, name, field string, level catalog.Level, agency string, online catalog.OnlineLevel, days int) catalog.Procedure {
		return catalog.Procedure{
			Code: code, Name: name, FieldCode: field, Level: level, CompetentAgency: agency, OnlineLevel: online,
			Documents: docs, Fees: []catalog.Fee{{Name: "Lệ phí", Amount: 50000, PaidAt: catalog.PaidAtReception}},
			Duration: catalog.Duration{Value: days, Unit: catalog.WorkingDays}, LegalBasis: []string{"Luật Hộ tịch năm 2014"},
			FormSchema: json.RawMessage(formSchema), ProcessKey: "default",
			EffectiveFrom: date("2024-01-01"), Status: catalog.StatusActive,
		}
	}
	return []catalog.Procedure{
		p("1.004227", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", "XD", catalog.LevelProvince, eidBuild, catalog.OnlinePartial, 15),
		p("1.004228", "Cấp giấy phép sửa chữa, cải tạo công trình xây dựng", "XD", catalog.LevelProvince, eidBuild, catalog.OnlinePartial, 15),
		p("1.001193", "Đăng ký khai sinh", "HT", catalog.LevelCommune, "", catalog.OnlineFull, 1),
		p("1.000894", "Đăng ký kết hôn", "HT", catalog.LevelCommune, "", catalog.OnlineFull, 3),
		p("2.000488", "Cấp phiếu lý lịch tư pháp cho công dân Việt Nam", "LLTP", catalog.LevelProvince, eidJustice, catalog.OnlineFull, 10),
	}
}
