package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// benchProcedures builds n distinct procedures over the demo fields and
// agencies, as a JSON import file.
func benchProcedures(n int) []byte {
	verbs := []string{"Cấp", "Cấp đổi", "Cấp lại", "Gia hạn", "Điều chỉnh", "Thẩm định", "Công nhận", "Xác nhận", "Đăng ký", "Thu hồi"}
	objects := []string{"giấy phép xây dựng", "giấy chứng nhận quyền sử dụng đất", "giấy phép kinh doanh", "chứng chỉ hành nghề",
		"giấy phép môi trường", "giấy phép lao động", "giấy chứng nhận đủ điều kiện", "giấy phép hoạt động", "thẻ công chứng viên",
		"giấy phép khai thác nước", "giấy chứng nhận đăng ký đầu tư", "giấy phép lữ hành", "phiếu lý lịch tư pháp", "hộ kinh doanh",
		"giấy phép bưu chính", "giấy phép vận tải", "văn bằng, chứng chỉ", "giấy phép tổ chức lễ hội", "nội quy lao động", "hạng cơ sở lưu trú"}
	targets := []string{"đối với tổ chức", "cho cá nhân", "trong khu công nghiệp", "đối với doanh nghiệp nhỏ và vừa", "cho hộ gia đình",
		"đối với công trình cấp II", "cho người nước ngoài", "tại địa bàn nông thôn", "theo hình thức trực tuyến", "trong trường hợp bị mất"}
	fields := []string{"XD", "DD", "DKKD", "MT", "LD", "TM", "DL", "GD", "KCB", "DUOC", "HT", "CT"}
	agencies := []string{"02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "14"}
	online := []catalog.OnlineLevel{catalog.OnlineFull, catalog.OnlinePartial, catalog.OnlineNone}
	var list []catalog.Procedure
	for i := range n {
		p := catalog.Procedure{
			Code:          fmt.Sprintf("3.%06d", i),
			Name:          fmt.Sprintf("%s %s %s (%d)", verbs[i%len(verbs)], objects[(i/len(verbs))%len(objects)], targets[(i/7)%len(targets)], i),
			FieldCode:     fields[i%len(fields)],
			OnlineLevel:   online[i%3],
			Documents:     []catalog.Document{{Name: "Đơn đề nghị", Form: catalog.FormElectronic, Quantity: 1, Required: true}},
			Fees:          []catalog.Fee{{Name: "Lệ phí", Amount: int64(i%10) * 10000, PaidAt: catalog.PaidAtReception}},
			Duration:      catalog.Duration{Value: 1 + i%30, Unit: catalog.WorkingDays},
			LegalBasis:    []string{"Nghị định số 118/2025/NĐ-CP"},
			EffectiveFrom: date("2025-07-01"), Status: catalog.StatusActive,
		}
		if i%4 == 0 {
			p.Level = catalog.LevelCommune
		} else {
			p.Level = catalog.LevelProvince
			p.CompetentAgency = "000.00." + agencies[i%len(agencies)] + ".H99"
		}
		list = append(list, p)
	}
	b, _ := json.Marshal(list)
	return b
}

// BenchmarkSearchProcedures measures procedure search over 2,000 procedures
// (plus the demo's), in process, on each engine: a mix of queries without
// diacritics, with diacritics, by code prefix, with filters and paging. It
// reports the 95th percentile latency as p95-ms.
//
//	CONGSO_TEST_POSTGRES=postgres://... go test -run '^$' -bench BenchmarkSearchProcedures ./internal/catalog/
func BenchmarkSearchProcedures(b *testing.B) {
	ctx := context.Background()
	queries := []catalog.ProcedureQuery{
		{Text: "giay phep xay dung"},
		{Text: "cấp đổi giấy phép kinh doanh"},
		{Text: "gia han chung chi hanh nghe ca nhan"},
		{Text: "3.0012"},
		{Text: "moi truong", FieldCode: "MT"},
		{Text: "dang ky", Level: catalog.LevelCommune, Offset: 20},
		{Text: "giay", OnlineLevel: catalog.OnlineFull},
		{FieldCode: "XD"},
		{AgencyEID: "000.00.07.H99", Text: "cong trinh"},
		{},
		{Text: "thu hoi giay chung nhan quyen su dung dat"},
		{Text: "khai sinh"},
		// Typing mistakes: the typo-tolerant pass runs (no exact match).
		{Text: "giay phep xay dugn"},
		{Text: "chung chi hanh nhge"},
	}
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			svc := catalog.NewService(dbtest.Open(b, engine, catalog.Migrations()), clock)
			if err := catalog.LoadDemo(ctx, svc); err != nil {
				b.Fatal(err)
			}
			rep, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, bytes.NewReader(benchProcedures(2000)), catalog.ImportOptions{})
			if err != nil {
				b.Fatalf("load: %v %v", err, rep.Errors)
			}
			// Warm up every query once (and check it finds something).
			for _, q := range queries {
				if page, err := svc.SearchProcedures(ctx, q); err != nil || page.Total == 0 {
					b.Fatalf("%+v: %v %d", q, err, page.Total)
				}
			}
			durations := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				if _, err := svc.SearchProcedures(ctx, queries[i%len(queries)]); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(durations)
			if len(durations) > 0 {
				p95 := durations[len(durations)*95/100]
				b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			}
		})
	}
}
