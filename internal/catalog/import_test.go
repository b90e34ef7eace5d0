package catalog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// errorsAt renders a report's errors as "line:field:code" for comparison.
func errorsAt(rep catalog.ImportReport) []string {
	var out []string
	for _, e := range rep.Errors {
		out = append(out, fmt.Sprintf("%d:%s:%s", e.Line, e.Field, e.Code))
	}
	return out
}

func hasAll(t *testing.T, rep catalog.ImportReport, want ...string) {
	t.Helper()
	got := errorsAt(rep)
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error %s; got %v", w, got)
		}
	}
	for _, e := range rep.Errors {
		if e.Reason == "" || e.Line == 0 && e.Field != "" && e.Code != catalog.CodeTooLong {
			t.Errorf("error without reason or line: %+v", e)
		}
	}
}

func TestImportReportsEveryBadRowAndImportsNothing(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		before := exportAll(t, svc, catalog.FormatJSON)

		// Admin units: line 2 is fine, every other line has a different fault.
		units := "code,name,level,kind,parent_code,effective_from,effective_to,successors\r\n" +
			"D99503,Tân Lập,commune,xa,D99,2025-07-01,,\r\n" + // 2 good
			"D99504,Tân Hòa,commune,xa,D99,2025-02-30,,\r\n" + // 3 date that does not exist
			"D99505,Tân An,commune,xa,D98,2025-07-01,,\r\n" + // 4 dangling parent
			"D99503,Tân Lập bis,commune,xa,D99,2025-07-01,,\r\n" + // 5 duplicate code
			"D99506,,commune,ấp,D99,hôm qua,,\r\n" + // 6 no name, bad kind, bad date
			"d99507,Tân Phú,commune,xa,D99,2025-07-01,,D99999\r\n" // 7 bad code, unknown successor
		rep, err := svc.Import(ctx, catalog.DatasetAdminUnits, catalog.FormatCSV, strings.NewReader(units), catalog.ImportOptions{})
		if !errors.Is(err, catalog.ErrImportRejected) {
			t.Fatalf("import: %v", err)
		}
		hasAll(t, rep, "3:effective_from:invalid_date", "4:parent_code:not_found", "5:code:duplicate",
			"6:name:required", "6:kind:invalid_value", "6:effective_from:invalid_date",
			"7:code:invalid_format", "7:successors[0]:not_found")
		for _, e := range rep.Errors {
			if e.Line == 2 {
				t.Errorf("good line reported: %+v", e)
			}
		}
		if rep.Records != 6 || rep.Created != 0 {
			t.Errorf("report counts: %+v", rep)
		}

		// Agencies: bad e-IDs and a missing parent.
		agencies := `eid,name,kind,level,parent_eid,admin_unit_code,effective_from
000.00.30.H99,Sở Mới,agency,province,000.00.00.H99,D99,2025-07-01
000.00.31.h99,Sở Sai Mã,agency,province,000.00.00.H99,D99,2025-07-01
000.01.30.H99,Phòng Một,unit,province,000.00.40.H99,,2025-07-01
"000.00.32.H99",Sở Ba,agency,district,,D99,2025-07-01
`
		rep, err = svc.Import(ctx, catalog.DatasetAgencies, catalog.FormatCSV, strings.NewReader(agencies), catalog.ImportOptions{})
		if !errors.Is(err, catalog.ErrImportRejected) {
			t.Fatalf("import agencies: %v", err)
		}
		hasAll(t, rep, "3:eid:invalid_format", "4:parent_eid:not_found", "5:level:invalid_value")

		// Procedures in JSON: the line of each bad object is reported.
		procs := `[
  {"code": "1.111111", "name": "Thủ tục tốt", "field_code": "HT", "level": "commune", "online_level": "full",
   "documents": [], "fees": [], "duration": {"value": 3, "unit": "working_days"}, "legal_basis": [],
   "effective_from": "2025-07-01", "status": "active"},
  {"code": "1.111112", "name": "Sai ngày", "field_code": "HT", "level": "commune", "online_level": "full",
   "documents": [], "fees": [], "duration": {"value": 3, "unit": "working_days"}, "legal_basis": [],
   "effective_from": "01-07-2025", "status": "active"},
  {"code": "1.111113", "name": "Trường lạ", "field_code": "HT", "level": "commune", "online_level": "full",
   "documents": [{"name": "Tờ khai", "form": "paper", "quantity": "một", "required": true}], "fees": [],
   "duration": {"value": 3, "unit": "working_days"}, "legal_basis": [], "colour": "red",
   "effective_from": "2025-07-01", "status": "active"},
  {"code": "1.111111", "name": "Trùng mã", "field_code": "ZZ", "level": "commune", "online_level": "full",
   "documents": [], "fees": [], "duration": {"value": 3, "unit": "working_days"}, "legal_basis": [],
   "effective_from": "2025-07-01", "status": "active", "version": 1}
]`
		rep, err = svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, strings.NewReader(procs), catalog.ImportOptions{})
		if !errors.Is(err, catalog.ErrImportRejected) {
			t.Fatalf("import procedures: %v", err)
		}
		hasAll(t, rep, "5:effective_from:invalid_date", "8:colour:unknown_column", "8:documents.quantity:invalid_value",
			"12:field_code:not_found", "12:version:duplicate")

		// Nothing of the good rows was written.
		if after := exportAll(t, svc, catalog.FormatJSON); after != before {
			t.Error("a rejected import changed the catalogs")
		}
	})
}

func TestImportCSVSyntax(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		// BOM, CRLF, upper-case header, quoted fields with commas, quotes and a
		// line break, DD/MM/YYYY dates, surrounding spaces, a blank line.
		in := "\ufeffCode, Name \r\n" +
			"\"QH\",\"Quy hoạch, kiến trúc\"\r\n" +
			"\r\n" +
			"TN, \"Tài nguyên \"\"nước\"\"\"\r\n" +
			"ML,\"Hai\r\ndòng\"\r\n"
		rep, err := svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader(in), catalog.ImportOptions{})
		if err == nil {
			t.Fatalf("a line break in a name must be refused, got %+v", rep)
		}
		hasAll(t, rep, "5:name:invalid_chars")

		in = strings.Replace(in, "\"Hai\r\ndòng\"", "Môi trường", 1)
		rep, err = svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader(in), catalog.ImportOptions{})
		if err != nil {
			t.Fatalf("import: %v %+v", err, rep.Errors)
		}
		if rep.Created != 3 || rep.Records != 3 {
			t.Errorf("report: %+v", rep)
		}
		for code, want := range map[string]string{"QH": "Quy hoạch, kiến trúc", "TN": `Tài nguyên "nước"`, "ML": "Môi trường"} {
			if f := must[catalog.Field](t)(svc.Field(ctx, code)); f.Name != want {
				t.Errorf("field %s = %q, want %q", code, f.Name, want)
			}
		}
		// The same file again changes nothing.
		rep = must[catalog.ImportReport](t)(svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader(in), catalog.ImportOptions{}))
		if rep.Unchanged != 3 || rep.Created+rep.Updated != 0 {
			t.Errorf("re-import: %+v", rep)
		}

		// Unknown, duplicate and missing columns are refused up front.
		rep, err = svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader("code,name,name,colour\nA,B,C,D\n"), catalog.ImportOptions{})
		if !errors.Is(err, catalog.ErrImportRejected) {
			t.Fatal(err)
		}
		hasAll(t, rep, "1:colour:unknown_column", "1:name:duplicate")
		rep, _ = svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader("code\nA\n"), catalog.ImportOptions{})
		hasAll(t, rep, "1:name:missing_column")
		// A broken quote and a short row.
		rep, _ = svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader("code,name\nA\nB,\"x\"y\n"), catalog.ImportOptions{})
		hasAll(t, rep, "2::syntax", "3::syntax")
		// Dates in DD/MM/YYYY are read.
		units := "code,name,level,kind,parent_code,effective_from\nD99509,Tân Thạnh,commune,xa,D99,01/07/2025\n"
		must[catalog.ImportReport](t)(svc.Import(ctx, catalog.DatasetAdminUnits, catalog.FormatCSV, strings.NewReader(units), catalog.ImportOptions{}))
		if u := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99509")); u.EffectiveFrom != date("2025-07-01") {
			t.Errorf("date read as %s", u.EffectiveFrom)
		}
		// Not an array, trailing garbage, an empty file.
		for _, bad := range []string{`{"code":"A"}`, `[{"code":"A","name":"B"}] x`, ``, `[{"code":"A","name":"B"},`} {
			rep, err := svc.Import(ctx, catalog.DatasetFields, catalog.FormatJSON, strings.NewReader(bad), catalog.ImportOptions{})
			if !errors.Is(err, catalog.ErrImportRejected) || len(rep.Errors) == 0 {
				t.Errorf("JSON %q: %v %+v", bad, err, rep)
			}
		}
	})
}

func TestImportDryRunAndUpdates(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		in := "code,name\nHT,Hộ tịch và chứng thực\nNEW,Lĩnh vực mới\n"
		rep := must[catalog.ImportReport](t)(svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader(in), catalog.ImportOptions{DryRun: true}))
		if !rep.DryRun || rep.Created != 1 || rep.Updated != 1 {
			t.Errorf("dry run report: %+v", rep)
		}
		if _, err := svc.Field(ctx, "NEW"); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("dry run wrote: %v", err)
		}
		must[catalog.ImportReport](t)(svc.Import(ctx, catalog.DatasetFields, catalog.FormatCSV, strings.NewReader(in), catalog.ImportOptions{}))
		// A renamed field is found by its new name in procedure search.
		page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "chung thuc"}))
		if page.Total != 2 || page.Items[0].FieldName != "Hộ tịch và chứng thực" {
			t.Errorf("search by new field name: %+v", page)
		}

		// Importing a new version of a procedure supersedes the one in force.
		v := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.000894", date("2026-03-15")))
		var buf bytes.Buffer
		must[int](t)(buf.WriteString(fmt.Sprintf(`[{"code":"1.000894","name":"Đăng ký kết hôn (mới)","field_code":"HT","level":"commune",
"online_level":"full","documents":[],"fees":[],"duration":{"value":5,"unit":"working_days"},"legal_basis":["Nghị định mới"],
"effective_from":"2026-07-01","status":"active","version":%d}]`, v.Version+1)))
		rep = must[catalog.ImportReport](t)(svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, &buf, catalog.ImportOptions{}))
		if rep.Created != 1 {
			t.Errorf("report: %+v", rep)
		}
		if old := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.000894", v.Version)); old.EffectiveTo != date("2026-07-01") {
			t.Errorf("old version ends %s", old.EffectiveTo)
		}
	})
}

// exportAll exports every dataset in format f, concatenated.
func exportAll(t testing.TB, svc *catalog.Service, f catalog.Format) string {
	t.Helper()
	var b strings.Builder
	for _, ds := range catalog.Datasets() {
		var buf bytes.Buffer
		if err := svc.Export(context.Background(), ds, f, &buf); err != nil {
			t.Fatalf("export %s: %v", ds, err)
		}
		b.WriteString("== " + string(ds) + "\n")
		b.Write(buf.Bytes())
	}
	return b.String()
}

func TestExportImportRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, src *catalog.Service, d *db.DB) {
		ctx := context.Background()
		if err := catalog.LoadDemo(ctx, src); err != nil {
			t.Fatal(err)
		}
		// History that only edits make: a renamed agency, a superseded and a
		// retired procedure, a draft; and texts that CSV must quote.
		must[catalog.Agency](t)(src.RenameAgency(ctx, "000.00.03.H99", "000.00.33.H99"))
		p := must[catalog.Procedure](t)(src.Procedure(ctx, "1.001193", nowDate()))
		p.Version, p.Status, p.EffectiveFrom = 0, catalog.StatusActive, date("2026-06-01")
		p.LegalBasis = append(p.LegalBasis, `Quyết định "số 1", ngày 01/01/2026; <b>in đậm</b>`)
		must[catalog.Procedure](t)(src.SaveProcedure(ctx, p))
		p.Version, p.Status, p.EffectiveFrom, p.Name = 0, catalog.StatusDraft, date("2027-01-01"), "Bản nháp, có dấu phẩy"
		must[catalog.Procedure](t)(src.SaveProcedure(ctx, p))
		must[catalog.Procedure](t)(src.RetireProcedure(ctx, "1.009976", date("2026-12-31")))
		must[catalog.Field](t)(src.SaveField(ctx, catalog.Field{Code: "EV", Name: `Trường "đặc biệt", có dấu phẩy; và '); DROP TABLE x;--`}))

		for _, f := range []catalog.Format{catalog.FormatCSV, catalog.FormatJSON} {
			t.Run(string(f), func(t *testing.T) {
				first := map[catalog.Dataset][]byte{}
				for _, ds := range catalog.Datasets() {
					var buf bytes.Buffer
					if err := src.Export(ctx, ds, f, &buf); err != nil {
						t.Fatal(err)
					}
					first[ds] = buf.Bytes()
				}
				dst := catalog.NewService(dbtest.Open(t, d.Dialect(), catalog.Migrations()), clock)
				for _, ds := range catalog.Datasets() {
					rep, err := dst.Import(ctx, ds, f, bytes.NewReader(first[ds]), catalog.ImportOptions{})
					if err != nil {
						t.Fatalf("import %s: %v %+v", ds, err, rep.Errors)
					}
					if rep.Created != rep.Records || rep.Records == 0 {
						t.Errorf("import %s: %+v", ds, rep)
					}
				}
				for _, ds := range catalog.Datasets() {
					var buf bytes.Buffer
					if err := dst.Export(ctx, ds, f, &buf); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(buf.Bytes(), first[ds]) {
						t.Errorf("%s %s differs after round trip:\n%s", ds, f, firstDiff(first[ds], buf.Bytes()))
					}
				}
				// And importing the export onto its own source changes nothing.
				for _, ds := range catalog.Datasets() {
					rep := must[catalog.ImportReport](t)(src.Import(ctx, ds, f, bytes.NewReader(first[ds]), catalog.ImportOptions{}))
					if rep.Unchanged != rep.Records {
						t.Errorf("re-import %s onto source: %+v", ds, rep)
					}
				}
			})
		}
	})
}

func nowDate() calendar.Date { return date("2026-03-15") }

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(al), len(bl))
}
