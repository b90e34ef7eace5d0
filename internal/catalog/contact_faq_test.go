package catalog_test

// Issue 4, one-stop §9 ("procedure detail", "help/FAQ"): agencies' contact
// details and procedures' frequently asked questions.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// buildContact is a complete set of contact details.
func buildContact(a catalog.Agency) catalog.Agency {
	a.Address = "Số 52 đường Trần Phú, phường Thái An, tỉnh Thái An (Demo)"
	a.Phone = "0271 3879 107"
	a.Email = "sxd@thaian.example.gov.vn"
	a.Website = "https://sxd.thaian.example.gov.vn"
	a.OpeningHours = "Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00\nSáng thứ Bảy 7:30–11:30"
	return a
}

var buildFAQ = []catalog.FAQItem{
	{Question: "Công trình nào được miễn giấy phép xây dựng?", Answer: "Công trình bí mật nhà nước, công trình xây dựng tạm.\n\nVẫn phải thông báo ngày khởi công."},
	{Question: "Thời hạn giải quyết tính từ khi nào?", Answer: "Từ ngày nhận đủ hồ sơ hợp lệ."},
}

// one-stop §9: the contact details of an agency are stored with it, on both
// engines, and can be changed and cleared.
func TestAgencyContactRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		if a.HasContact() {
			t.Fatalf("fixture agency has contact details: %+v", a)
		}
		want := buildContact(a)
		// Spaces around the values and CRLF from a browser are cleaned up;
		// a website typed without its scheme is taken as https.
		in := want
		in.Phone, in.Website, in.OpeningHours = " 0271 3879 107 ", "sxd.thaian.example.gov.vn", "Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00  \r\nSáng thứ Bảy 7:30–11:30\r\n"
		saved := must[catalog.Agency](t)(svc.SaveAgency(ctx, in))
		got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		for _, g := range []catalog.Agency{saved, got} {
			if g.Address != want.Address || g.Phone != want.Phone || g.Email != want.Email || g.Website != want.Website || g.OpeningHours != want.OpeningHours {
				t.Errorf("stored contact = %+v\nwant %+v", g, want)
			}
		}
		if got.DialNumber() != "+842713879107" {
			t.Errorf("DialNumber = %q", got.DialNumber())
		}
		// The list reads the same columns.
		list := must[[]catalog.Agency](t)(svc.Agencies(ctx, catalog.AgencyQuery{Text: "xây dựng"}))
		if len(list) != 1 || list[0].Email != want.Email {
			t.Errorf("agency list: %+v", list)
		}
		// Renaming keeps them.
		renamed := must[catalog.Agency](t)(svc.RenameAgency(ctx, eidBuild, "000.00.27.H99"))
		if renamed.Phone != want.Phone || renamed.OpeningHours != want.OpeningHours {
			t.Errorf("renamed agency lost its contact: %+v", renamed)
		}
		// Cleared.
		renamed.Address, renamed.Phone, renamed.Email, renamed.Website, renamed.OpeningHours = "", "", "", "", ""
		cleared := must[catalog.Agency](t)(svc.SaveAgency(ctx, renamed))
		if cleared.HasContact() {
			t.Errorf("contact not cleared: %+v", cleared)
		}
	})
}

// The contact details are checked with a Vietnamese reason naming the field.
func TestAgencyContactValidation(t *testing.T) {
	base := catalog.Agency{EID: "000.00.07.H99", Name: "Sở Xây dựng", Kind: catalog.KindAgency, Level: catalog.LevelProvince, EffectiveFrom: date("2025-03-01")}
	good := []func(*catalog.Agency){
		func(a *catalog.Agency) { a.Phone = "0271 3879 999" },
		func(a *catalog.Agency) { a.Phone = "0271.3879.999" },
		func(a *catalog.Agency) { a.Phone = "(0271) 3879-999" },
		func(a *catalog.Agency) { a.Phone = "+84 271 3879 999" },
		func(a *catalog.Agency) { a.Phone = "0912 345 678" },
		func(a *catalog.Agency) { a.Phone = "1900 1234" },
		func(a *catalog.Agency) { a.Email = "van.thu+tiep-nhan@sxd.thaian.example.gov.vn" },
		func(a *catalog.Agency) { a.Website = "http://sxd.example.gov.vn/lien-he?muc=1" },
		func(a *catalog.Agency) { a.Website = "sxd.example.gov.vn" },
		func(a *catalog.Agency) { a.OpeningHours = "Thứ Hai–Thứ Sáu\t7:30–17:00\nThứ Bảy: nghỉ" },
	}
	for i, set := range good {
		a := base
		set(&a)
		a.Normalize()
		if err := a.Validate(); err != nil {
			t.Errorf("good #%d (%+v): %v", i, a, err)
		}
	}
	bad := []struct {
		set          func(*catalog.Agency)
		field, code  string
		wantInReason string
	}{
		{func(a *catalog.Agency) { a.Phone = "3879 999" }, "phone", catalog.CodeInvalidFormat, "Số điện thoại"},
		{func(a *catalog.Agency) { a.Phone = "0271 3879 999 / 0912 345 678" }, "phone", catalog.CodeInvalidFormat, "ví dụ 0271 3879 999"},
		{func(a *catalog.Agency) { a.Phone = "0271 3879 99x" }, "phone", catalog.CodeInvalidFormat, "Số điện thoại"},
		{func(a *catalog.Agency) { a.Phone = "+1 202 555 0100" }, "phone", catalog.CodeInvalidFormat, "Việt Nam"},
		{func(a *catalog.Agency) { a.Email = "sxd.example.gov.vn" }, "email", catalog.CodeInvalidFormat, "thư điện tử"},
		{func(a *catalog.Agency) { a.Email = "sxd@localhost" }, "email", catalog.CodeInvalidFormat, "thư điện tử"},
		{func(a *catalog.Agency) { a.Email = "Sở XD <sxd@example.gov.vn>" }, "email", catalog.CodeInvalidFormat, "thư điện tử"},
		{func(a *catalog.Agency) { a.Website = "javascript:alert(1)" }, "website", catalog.CodeInvalidFormat, "https://"},
		{func(a *catalog.Agency) { a.Website = "ftp://sxd.example.gov.vn" }, "website", catalog.CodeInvalidFormat, "trang thông tin điện tử"},
		{func(a *catalog.Agency) { a.Website = "https://user:pw@sxd.example.gov.vn" }, "website", catalog.CodeInvalidFormat, "https://"},
		{func(a *catalog.Agency) { a.Website = "https://sxd" }, "website", catalog.CodeInvalidFormat, "https://"},
		{func(a *catalog.Agency) { a.Website = "https://" + strings.Repeat("a", 500) + ".vn" }, "website", catalog.CodeTooLong, "500"},
		{func(a *catalog.Agency) { a.Address = "Số 1\nđường Hùng Vương" }, "address", catalog.CodeInvalidChars, "ký tự điều khiển"},
		{func(a *catalog.Agency) { a.Address = strings.Repeat("đ", 501) }, "address", catalog.CodeTooLong, "500"},
		{func(a *catalog.Agency) { a.OpeningHours = strings.Repeat("7:30 ", 101) }, "opening_hours", catalog.CodeTooLong, "500"},
	}
	for _, c := range bad {
		a := base
		c.set(&a)
		a.Normalize()
		err := a.Validate()
		var ve *catalog.ValidationError
		if !asValidation(err, &ve) {
			t.Errorf("%+v: no validation error (%v)", a, err)
			continue
		}
		i := slices.IndexFunc(ve.Errors, func(f catalog.FieldError) bool { return f.Field == c.field })
		if i < 0 || ve.Errors[i].Code != c.code || !strings.Contains(ve.Errors[i].Message, c.wantInReason) {
			t.Errorf("%s=%q: got %+v, want %s with %q", c.field, fieldValue(a, c.field), ve.Errors, c.code, c.wantInReason)
		}
	}
}

func asValidation(err error, ve **catalog.ValidationError) bool {
	v, ok := err.(*catalog.ValidationError)
	*ve = v
	return ok
}

func fieldValue(a catalog.Agency, field string) string {
	return map[string]string{"phone": a.Phone, "email": a.Email, "website": a.Website, "address": a.Address, "opening_hours": a.OpeningHours}[field]
}

// A procedure's FAQ is part of its version: stored with it on both engines,
// checked, and frozen once the version is published.
func TestProcedureFAQ(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", nowDate()))
		if p.FAQ != nil {
			t.Fatalf("fixture FAQ: %+v", p.FAQ)
		}
		// A new draft with an FAQ; CRLF and surrounding spaces are cleaned up.
		draft := p
		draft.Version, draft.Status, draft.EffectiveFrom = 0, catalog.StatusDraft, date("2026-06-01")
		draft.FAQ = []catalog.FAQItem{{Question: "  " + buildFAQ[0].Question + " ", Answer: strings.ReplaceAll(buildFAQ[0].Answer, "\n", "\r\n") + "\r\n"}, buildFAQ[1]}
		saved := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, draft))
		got := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", saved.Version))
		if !slices.Equal(got.FAQ, buildFAQ) || !slices.Equal(saved.FAQ, buildFAQ) {
			t.Errorf("stored FAQ = %+v\nwant %+v", got.FAQ, buildFAQ)
		}
		// The version in force keeps its own (empty) FAQ.
		if cur := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", p.Version)); cur.FAQ != nil {
			t.Errorf("published version changed: %+v", cur.FAQ)
		}
		// Published, the FAQ cannot change in place.
		pub := must[catalog.Procedure](t)(svc.PublishProcedure(ctx, "1.004227", saved.Version))
		pub.FAQ = pub.FAQ[:1]
		_, err := svc.SaveProcedure(ctx, pub)
		if got := fieldErr(err, "version"); !slices.Equal(got, []string{catalog.CodeImmutable}) {
			t.Errorf("changing a published FAQ: %v", err)
		}
		// Saved as the next version instead, whose FAQ may differ.
		pub.Version, pub.Status, pub.EffectiveFrom = 0, catalog.StatusActive, date("2026-09-01")
		next := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, pub))
		if len(next.FAQ) != 1 || next.Version != saved.Version+1 {
			t.Errorf("next version: v%d %+v", next.Version, next.FAQ)
		}
		// An empty list is stored as none.
		next.Version, next.EffectiveFrom, next.FAQ = 0, date("2026-12-01"), []catalog.FAQItem{}
		if none := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, next)); none.FAQ != nil {
			t.Errorf("empty FAQ read back as %#v", none.FAQ)
		}
	})
}

func TestProcedureFAQValidation(t *testing.T) {
	base := fixtureProcedures()[0]
	cases := []struct {
		faq          []catalog.FAQItem
		field, code  string
		wantInReason string
	}{
		{[]catalog.FAQItem{{Question: "Hỏi?", Answer: "  "}}, "faq[0].answer", catalog.CodeRequired, "Không được để trống"},
		{[]catalog.FAQItem{buildFAQ[0], {Question: "", Answer: "Đáp."}}, "faq[1].question", catalog.CodeRequired, "Không được để trống"},
		{[]catalog.FAQItem{{Question: "Hỏi\nhai dòng?", Answer: "Đáp."}}, "faq[0].question", catalog.CodeInvalidChars, "ký tự điều khiển"},
		{[]catalog.FAQItem{{Question: strings.Repeat("h", catalog.MaxFAQQuestion+1), Answer: "Đáp."}}, "faq[0].question", catalog.CodeTooLong, "300"},
		{[]catalog.FAQItem{{Question: "Hỏi?", Answer: strings.Repeat("đ", catalog.MaxFAQAnswer+1)}}, "faq[0].answer", catalog.CodeTooLong, "3000"},
		{slices.Repeat([]catalog.FAQItem{buildFAQ[1]}, catalog.MaxFAQItems+1), "faq", catalog.CodeTooLong, "Tối đa 30 câu hỏi"},
	}
	for _, c := range cases {
		p := base
		p.FAQ = c.faq
		p.Normalize()
		var ve *catalog.ValidationError
		if !asValidation(p.Validate(), &ve) {
			t.Errorf("%s: accepted", c.field)
			continue
		}
		i := slices.IndexFunc(ve.Errors, func(f catalog.FieldError) bool { return f.Field == c.field })
		if i < 0 || ve.Errors[i].Code != c.code || !strings.Contains(ve.Errors[i].Message, c.wantInReason) {
			t.Errorf("%s: got %+v, want %s with %q", c.field, ve.Errors, c.code, c.wantInReason)
		}
	}
	p := base
	p.FAQ = slices.Repeat([]catalog.FAQItem{buildFAQ[0]}, catalog.MaxFAQItems)
	if err := p.Validate(); err != nil {
		t.Errorf("%d questions: %v", catalog.MaxFAQItems, err)
	}
}

// A database created before the contact details and FAQ existed is upgraded
// by the module's second migration: its rows read as having none.
func TestMigrationAddsContactAndFAQ(t *testing.T) {
	dbtest.Each(t, catalog.Migrations()[:1], func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`INSERT INTO catalog_agencies (eid, name, short_name, kind, level, effective_from, search_text) VALUES ('000.00.07.H99', 'Sở Xây dựng', 'SXD', 'agency', 'province', '2025-03-01', 'so xay dung')`,
			`INSERT INTO catalog_agency_eids (eid, agency_id) SELECT eid, id FROM catalog_agencies`,
			`INSERT INTO catalog_fields (code, name) VALUES ('XD', 'Xây dựng')`,
			`INSERT INTO catalog_procedure_versions (code, version, name, field_code, level, competent_agency_id, online_level, documents, fees,
				duration_value, duration_unit, legal_basis, form_schema, process_key, effective_from, status)
			SELECT '1.009972', 1, 'Cấp giấy phép xây dựng', 'XD', 'province', id, 'partial', '[]', '[]', 20, 'working_days', '[]', '', '', '2025-07-01', 'active' FROM catalog_agencies`,
		} {
			if _, err := d.Write().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := d.Migrate(ctx, catalog.Migrations()); err != nil {
			t.Fatal(err)
		}
		svc := catalog.NewService(d, clock)
		a := must[catalog.Agency](t)(svc.Agency(ctx, "000.00.07.H99"))
		if a.HasContact() || a.Name != "Sở Xây dựng" {
			t.Errorf("upgraded agency: %+v", a)
		}
		p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.009972", 1))
		if p.FAQ != nil {
			t.Errorf("upgraded procedure FAQ: %#v", p.FAQ)
		}
		// And the upgraded rows take the new details.
		must[catalog.Agency](t)(svc.SaveAgency(ctx, buildContact(a)))
		if got := must[catalog.Agency](t)(svc.Agency(ctx, a.EID)); got.Email != "sxd@thaian.example.gov.vn" {
			t.Errorf("after upgrade: %+v", got)
		}
	})
}

const agencyHeaderV1 = "eid,name,short_name,kind,level,parent_eid,admin_unit_code,effective_from,effective_to,former_eids\r\n"

// Files written before the new columns still import; a file without them
// keeps the stored details (a re-imported old export erases nothing), one
// with them sets or clears them; a bad value is reported with its line.
func TestImportContactColumns(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		imp := func(f catalog.Format, content string) (catalog.ImportReport, error) {
			return svc.Import(ctx, catalog.DatasetAgencies, f, strings.NewReader(content), catalog.ImportOptions{})
		}
		// Old layout: a new agency.
		rep, err := imp(catalog.FormatCSV, agencyHeaderV1+"000.00.15.H99,Sở Ngoại vụ,SNgV,agency,province,000.00.00.H99,D99,2025-03-01,,\r\n")
		if err != nil || rep.Created != 1 {
			t.Fatalf("old layout: %v %+v", err, rep)
		}
		// New layout: contact details, quoted opening hours on two lines.
		full := agencyHeaderV1[:len(agencyHeaderV1)-2] + ",address,phone,email,website,opening_hours\r\n" +
			`000.00.12.H99,Sở Xây dựng,SXD,agency,province,000.00.00.H99,D99,1991-08-12,,,"Số 52 đường Trần Phú, phường Thái An, tỉnh Thái An (Demo)",0271 3879 107,sxd@thaian.example.gov.vn,https://sxd.thaian.example.gov.vn,"Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00` + "\r\nSáng thứ Bảy 7:30–11:30\"\r\n"
		if rep, err := imp(catalog.FormatCSV, full); err != nil || rep.Updated != 1 {
			t.Fatalf("new layout: %v %+v", err, rep)
		}
		want := buildContact(must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)))
		if got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); got.Address != want.Address || got.OpeningHours != want.OpeningHours || got.Phone != "0271 3879 107" {
			t.Errorf("imported contact: %+v", got)
		}
		// The old layout (CSV, and JSON without the members) leaves them alone.
		old := agencyHeaderV1 + "000.00.12.H99,Sở Xây dựng,SXD,agency,province,000.00.00.H99,D99,1991-08-12,,\r\n"
		if rep, err := imp(catalog.FormatCSV, old); err != nil || rep.Unchanged != 1 {
			t.Errorf("old layout onto contact details: %v %+v", err, rep)
		}
		oldJSON := `[{"eid": "000.00.12.H99", "name": "Sở Xây dựng mới", "short_name": "SXD", "kind": "agency", "level": "province", "parent_eid": "000.00.00.H99", "admin_unit_code": "D99", "effective_from": "1991-08-12"}]`
		if rep, err := imp(catalog.FormatJSON, oldJSON); err != nil || rep.Updated != 1 {
			t.Errorf("old JSON: %v %+v", err, rep)
		}
		if got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); got.Name != "Sở Xây dựng mới" || got.Email != want.Email || got.Website != want.Website {
			t.Errorf("old JSON changed the contact details: %+v", got)
		}
		// A column present but empty clears its value; the others are kept.
		clear := agencyHeaderV1[:len(agencyHeaderV1)-2] + ",phone\r\n000.00.12.H99,Sở Xây dựng,SXD,agency,province,000.00.00.H99,D99,1991-08-12,,,\r\n"
		if rep, err := imp(catalog.FormatCSV, clear); err != nil || rep.Updated != 1 {
			t.Errorf("clearing the phone: %v %+v", err, rep)
		}
		if got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); got.Phone != "" || got.Email != want.Email {
			t.Errorf("after clearing the phone: %+v", got)
		}
		// JSON with the members; bad values are reported by line and field.
		bad := `[
  {"eid": "000.00.12.H99", "name": "Sở Xây dựng", "kind": "agency", "level": "province", "effective_from": "1991-08-12", "phone": "0271 3879 107", "email": "sxd@thaian.example.gov.vn"},
  {"eid": "000.00.09.H99", "name": "Sở Tư pháp", "kind": "agency", "level": "province", "effective_from": "1991-08-12",
   "phone": "số máy lẻ 12", "email": "stp@", "website": "ftp://stp.example.gov.vn"}
]`
		rep, err = imp(catalog.FormatJSON, bad)
		if err == nil {
			t.Fatalf("bad contact details imported: %+v", rep)
		}
		hasAll(t, rep, "3:phone:invalid_format", "3:email:invalid_format", "3:website:invalid_format")
		if got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); got.Phone != "" {
			t.Errorf("a rejected import wrote: %+v", got)
		}
		// Export carries the columns.
		var buf bytes.Buffer
		if err := svc.Export(ctx, catalog.DatasetAgencies, catalog.FormatCSV, &buf); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), ",address,phone,email,website,opening_hours\r\n") || !strings.Contains(buf.String(), "sxd@thaian.example.gov.vn") {
			t.Errorf("CSV export: %s", buf.String())
		}
	})
}

// The FAQ travels in CSV (a JSON array in the faq column) and JSON files; a
// file without it keeps the stored FAQ, so an old export of published
// versions re-imports unchanged instead of being refused as an edit.
func TestImportFAQ(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		var before bytes.Buffer // an export from before the FAQ existed
		if err := svc.Export(ctx, catalog.DatasetProcedures, catalog.FormatCSV, &before); err != nil {
			t.Fatal(err)
		}
		oldCSV := strings.Replace(before.String(), ",form_schema,faq\r\n", ",form_schema\r\n", 1)
		oldCSV = strings.ReplaceAll(oldCSV, "}\",\r\n", "}\"\r\n") // drop the empty faq cells
		if oldCSV == before.String() {
			t.Fatal("could not make an old-layout file")
		}
		var beforeJSON bytes.Buffer
		if err := svc.Export(ctx, catalog.DatasetProcedures, catalog.FormatJSON, &beforeJSON); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(beforeJSON.String(), `"faq"`) {
			t.Fatal("a procedure without FAQ exports an faq member")
		}

		// Version 2 of 1.004227 with an FAQ, through a CSV file.
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", nowDate()))
		p.Version, p.EffectiveFrom, p.FAQ = 2, date("2026-06-01"), buildFAQ
		var one bytes.Buffer
		if err := exportProcedures(ctx, t, []catalog.Procedure{p}, &one); err != nil {
			t.Fatal(err)
		}
		rep, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatCSV, &one, catalog.ImportOptions{})
		if err != nil || rep.Created != 1 {
			t.Fatalf("CSV with faq: %v %+v", err, rep)
		}
		if got := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 2)); !slices.Equal(got.FAQ, buildFAQ) {
			t.Errorf("FAQ from CSV: %+v", got.FAQ)
		}
		// The old export re-imports: its versions are unchanged, and version 2
		// (not in it) keeps its FAQ.
		for name, f := range map[string]catalog.Format{oldCSV: catalog.FormatCSV, beforeJSON.String(): catalog.FormatJSON} {
			rep, err := svc.Import(ctx, catalog.DatasetProcedures, f, strings.NewReader(name), catalog.ImportOptions{})
			if err != nil || rep.Unchanged != rep.Records {
				t.Errorf("old %s export: %v %+v", f, err, rep)
			}
		}
		// A versionless record without faq adds a version that inherits it.
		var rec string
		for _, l := range strings.Split(oldCSV, "\r\n") {
			if strings.HasPrefix(l, "1.004227,1,") {
				rec = strings.Replace(strings.Replace(l, "1.004227,1,", "1.004227,,", 1), ",2024-01-01,", ",2026-09-01,", 1)
			}
		}
		header := strings.SplitN(oldCSV, "\r\n", 2)[0]
		if rep, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatCSV, strings.NewReader(header+"\r\n"+rec+"\r\n"), catalog.ImportOptions{}); err != nil || rep.Created != 1 {
			t.Fatalf("versionless old record: %v %+v\n%s", err, rep, rec)
		}
		if got := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 3)); !slices.Equal(got.FAQ, buildFAQ) {
			t.Errorf("new version from an old record: FAQ %+v", got.FAQ)
		}
		// JSON: a bad FAQ is reported by line and field.
		bad := `[{"code": "1.000894", "name": "Đăng ký kết hôn", "field_code": "HT", "level": "commune", "online_level": "full",
 "duration": {"value": 3, "unit": "working_days"}, "effective_from": "2026-06-01", "status": "draft",
 "faq": [{"question": "Hỏi?", "answer": ""}, {"question": "Hỏi?", "answer": "Đáp", "extra": 1}]},
 {"code": "1.001193", "name": "Đăng ký khai sinh", "field_code": "HT", "level": "commune", "online_level": "full",
 "duration": {"value": 1, "unit": "working_days"}, "effective_from": "2026-06-01", "status": "draft", "faq": "không phải mảng"}]`
		rep, err = svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, strings.NewReader(bad), catalog.ImportOptions{})
		if err == nil {
			t.Fatalf("bad FAQ imported: %+v", rep)
		}
		hasAll(t, rep, "1:faq:invalid_value", "4:faq:invalid_value")
		good := strings.Replace(strings.Replace(bad, `, "extra": 1`, "", 1), `"answer": ""`, `"answer": "Đáp"`, 1)
		good = strings.Replace(good, `"faq": "không phải mảng"`, `"faq": null`, 1)
		if rep, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, strings.NewReader(good), catalog.ImportOptions{}); err != nil || rep.Created != 2 {
			t.Fatalf("good JSON FAQ: %v %+v", err, rep)
		}
		if got := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.000894", 2)); len(got.FAQ) != 2 || got.FAQ[1].Answer != "Đáp" {
			t.Errorf("FAQ from JSON: %+v", got.FAQ)
		}
		// Answer problems found by validation name the entry.
		emptyAnswer := strings.Replace(good, `"answer": "Đáp"}, {`, `"answer": " "}, {`, 1)
		rep, _ = svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, strings.NewReader(emptyAnswer), catalog.ImportOptions{DryRun: true})
		hasAll(t, rep, "1:faq[0].answer:required")
	})
}

// exportProcedures writes procedures as a procedures CSV file, through a
// scratch service.
func exportProcedures(ctx context.Context, t *testing.T, list []catalog.Procedure, w *bytes.Buffer) error {
	t.Helper()
	scratch := catalog.NewService(dbtest.SQLite(t, catalog.Migrations()), clock)
	fixture(t, scratch)
	for _, p := range list {
		if _, err := scratch.SaveProcedure(ctx, p); err != nil {
			return err
		}
	}
	var all bytes.Buffer
	if err := scratch.Export(ctx, catalog.DatasetProcedures, catalog.FormatCSV, &all); err != nil {
		return err
	}
	lines := strings.Split(all.String(), "\r\n")
	w.WriteString(lines[0] + "\r\n")
	// Records may span lines (legal basis, quoted JSON): keep the ones of
	// the saved versions by parsing.
	recs := strings.SplitAfter(all.String()[len(lines[0])+2:], "\r\n")
	var cur strings.Builder
	for _, l := range recs {
		cur.WriteString(l)
		if strings.Count(cur.String(), `"`)%2 == 1 {
			continue
		}
		for _, p := range list {
			if strings.HasPrefix(cur.String(), p.Code+","+itoa(p.Version)+",") {
				w.WriteString(cur.String())
			}
		}
		cur.Reset()
	}
	return nil
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// one-stop §9: the JSON API carries the contact details and the FAQ, and
// reports bad ones with a message in the caller's language.
func TestAPIContactAndFAQ(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := apiServer(t, svc)
		body := `{"name": "Sở Xây dựng", "short_name": "SXD", "kind": "agency", "level": "province", "parent_eid": "000.00.00.H99", "admin_unit_code": "D99", "effective_from": "1991-08-12",
 "address": "Số 52 đường Trần Phú", "phone": "0271 3879 107", "email": "sxd@thaian.example.gov.vn", "website": "https://sxd.thaian.example.gov.vn", "opening_hours": "Thứ Hai–Thứ Sáu 7:30–17:00"}`
		r := call(t, srv, "PUT", "/api/v1/agencies/"+eidBuild, "*", "application/json", body)
		expect(t, r, 200, "PUT agency with contact")
		got := get(t, srv, "/api/v1/agencies/"+eidBuild).json(t)
		for k, v := range map[string]string{"address": "Số 52 đường Trần Phú", "phone": "0271 3879 107", "email": "sxd@thaian.example.gov.vn",
			"website": "https://sxd.thaian.example.gov.vn", "opening_hours": "Thứ Hai–Thứ Sáu 7:30–17:00"} {
			if got[k] != v {
				t.Errorf("GET agency %s = %v, want %q", k, got[k], v)
			}
		}
		// An agency without contact details has no such members.
		if j := get(t, srv, "/api/v1/agencies/"+eidJustice).json(t); j["phone"] != nil || j["address"] != nil {
			t.Errorf("agency without contact: %v", j)
		}
		bad := strings.Replace(strings.Replace(body, "0271 3879 107", "107", 1), "sxd@thaian", "sxd-at-thaian", 1)
		r = call(t, srv, "PUT", "/api/v1/agencies/"+eidBuild, "*", "application/json", bad)
		expect(t, r, 422, "bad contact")
		if s := string(r.body); !strings.Contains(s, `"field":"phone"`) || !strings.Contains(s, "Số điện thoại") || !strings.Contains(s, `"field":"email"`) {
			t.Errorf("bad contact problem: %s", s)
		}
		r = call(t, srv, "PUT", "/api/v1/agencies/"+eidBuild, "*", "application/json", bad, "Accept-Language", "en")
		if s := string(r.body); !strings.Contains(s, "Not a Vietnamese phone number") || !strings.Contains(s, "Not an email address") {
			t.Errorf("bad contact problem in English: %s", s)
		}

		// Procedures: the FAQ in the body, the version and the list of versions.
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", nowDate()))
		p.Version, p.Status, p.EffectiveFrom, p.FAQ = 0, catalog.StatusDraft, date("2026-06-01"), buildFAQ
		js, _ := json.Marshal(p)
		r = call(t, srv, "PUT", "/api/v1/procedures/1.004227", eidBuild, "application/json", string(js))
		expect(t, r, 200, "PUT procedure with FAQ")
		var saved struct {
			Version int               `json:"version"`
			FAQ     []catalog.FAQItem `json:"faq"`
		}
		if err := json.Unmarshal(r.body, &saved); err != nil || !slices.Equal(saved.FAQ, buildFAQ) {
			t.Errorf("PUT answer FAQ: %v %s", err, r.body)
		}
		r = call(t, srv, "GET", "/api/v1/procedures/1.004227?version="+itoa(saved.Version), eidBuild, "", "")
		if err := json.Unmarshal(r.body, &saved); err != nil || !slices.Equal(saved.FAQ, buildFAQ) {
			t.Errorf("GET version FAQ: %v %s", err, r.body)
		}
		if j := get(t, srv, "/api/v1/procedures/1.004227").json(t); j["faq"] != nil {
			t.Errorf("version in force has an FAQ: %v", j["faq"])
		}
		p.FAQ = []catalog.FAQItem{{Question: "Hỏi?", Answer: ""}}
		js, _ = json.Marshal(p)
		r = call(t, srv, "PUT", "/api/v1/procedures/1.004227", eidBuild, "application/json", string(js), "Accept-Language", "en")
		expect(t, r, 422, "empty answer")
		if s := string(r.body); !strings.Contains(s, `"field":"faq[0].answer"`) || !strings.Contains(s, "Write the answer") {
			t.Errorf("empty answer problem: %s", s)
		}
	})
}

// one-stop §9: the procedure page shows the FAQ as disclosure widgets and
// how to reach the competent agency; without either the sections are absent.
func TestProcedurePageFAQAndContact(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)

		// Nothing known yet: no empty sections.
		_, _, body := page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		for _, absent := range []string{"Câu hỏi thường gặp", "Liên hệ", "<details", `href="tel:`} {
			if strings.Contains(body, absent) {
				t.Errorf("page without FAQ or contact shows %q", absent)
			}
		}

		must[catalog.Agency](t)(svc.SaveAgency(ctx, buildContact(must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)))))
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", nowDate()))
		p.Version, p.EffectiveFrom, p.FAQ = 0, date("2026-03-01"), append(slices.Clone(buildFAQ),
			catalog.FAQItem{Question: `Có nộp "bản vẽ" <b>giấy</b> không?`, Answer: "<script>alert(1)</script>"})
		must[catalog.Procedure](t)(svc.SaveProcedure(ctx, p))

		status, _, body := page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		if status != 200 {
			t.Fatalf("procedure page: %d", status)
		}
		contains(t, "procedure page", body,
			`<h2 id="faq-h">Câu hỏi thường gặp</h2>`,
			"<details>\n    <summary>Công trình nào được miễn giấy phép xây dựng?</summary>",
			// Paragraphs of the answer.
			"<p>Công trình bí mật nhà nước, công trình xây dựng tạm.</p><p>Vẫn phải thông báo ngày khởi công.</p>",
			"<summary>Có nộp &#34;bản vẽ&#34; &lt;b&gt;giấy&lt;/b&gt; không?</summary>",
			"&lt;script&gt;alert(1)&lt;/script&gt;",
			`<h2 id="contact-h">Liên hệ</h2>`,
			"Cơ quan có thẩm quyền: Sở Xây dựng.",
			"<dd>Số 52 đường Trần Phú, phường Thái An, tỉnh Thái An (Demo)</dd>",
			`<a href="tel:&#43;842713879107">0271 3879 107</a>`,
			`<a href="mailto:sxd@thaian.example.gov.vn">sxd@thaian.example.gov.vn</a>`,
			`<a href="https://sxd.thaian.example.gov.vn" rel="external">https://sxd.thaian.example.gov.vn</a>`,
			"<dt>Thời gian làm việc</dt><dd>Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00<br>Sáng thứ Bảy 7:30–11:30</dd>",
		)
		if strings.Contains(body, "<script>alert") {
			t.Error("FAQ text not escaped")
		}
		// In English.
		req, _ := http.NewRequest("GET", srv.URL+"/procedures/1.004227", nil)
		req.Header.Set("Accept-Language", "en")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var en bytes.Buffer
		en.ReadFrom(res.Body)
		res.Body.Close()
		contains(t, "English procedure page", en.String(), ">Frequently asked questions</h2>", ">Contact</h2>", "<dt>Phone</dt>", "<dt>Opening hours</dt>", "Competent agency: Sở Xây dựng.")

		// The version before keeps no FAQ; a commune procedure (every
		// commune's People's Committee) has no single agency to show.
		_, _, body = page(t, srv, "GET", "/procedures/1.004227?at=2026-02-01", "", "", nil)
		if strings.Contains(body, "Câu hỏi thường gặp") || !strings.Contains(body, "Liên hệ") {
			t.Error("earlier version: FAQ shown or contact missing")
		}
		_, _, body = page(t, srv, "GET", "/procedures/1.001193", "", "", nil)
		if strings.Contains(body, "Liên hệ") || strings.Contains(body, "Câu hỏi thường gặp") {
			t.Error("commune procedure shows a contact or FAQ section")
		}
	})
}

// The administrators' forms edit the contact details and the FAQ without
// JavaScript; errors are shown next to their inputs.
func TestAdminFormsContactAndFAQ(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)

		a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		form := url.Values{"csrf_token": {"x"}, "name": {a.Name}, "short_name": {a.ShortName}, "kind": {string(a.Kind)}, "level": {string(a.Level)},
			"parent_eid": {a.ParentEID}, "admin_unit_code": {a.AdminUnitCode}, "effective_from": {a.EffectiveFrom.String()},
			"address": {"Số 52 đường Trần Phú"}, "phone": {"0271 3879"}, "email": {"sxd@thaian.example.gov.vn"},
			"website": {"sxd.thaian.example.gov.vn"}, "opening_hours": {"Thứ Hai–Thứ Sáu 7:30–11:30\r\nSáng thứ Bảy 7:30–11:30"}}
		status, _, body := postForm(t, srv, "/admin/catalog/agencies/"+eidBuild, "*", form)
		if status != 422 {
			t.Fatalf("bad phone: %d", status)
		}
		contains(t, "agency form with a bad phone", body,
			`<p class="err" id="phone-err">Số điện thoại &#34;0271 3879&#34; không hợp lệ`,
			`aria-describedby="phone-hint phone-err" aria-invalid="true"`,
			`<a href="#phone">Điện thoại</a>`,
			`value="Số 52 đường Trần Phú"`, // what was typed stays
		)
		form.Set("phone", "0271 3879 107")
		status, hdr, _ := postForm(t, srv, "/admin/catalog/agencies/"+eidBuild, "*", form)
		redirected(t, "agency save", status, hdr, "/admin/catalog/agencies/"+eidBuild)
		got := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		if got.Phone != "0271 3879 107" || got.Website != "https://sxd.thaian.example.gov.vn" || got.OpeningHours != "Thứ Hai–Thứ Sáu 7:30–11:30\nSáng thứ Bảy 7:30–11:30" {
			t.Errorf("saved from the form: %+v", got)
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/agencies/"+eidBuild, "*", "", nil)
		contains(t, "agency page", body, `<a href="tel:&#43;842713879107">0271 3879 107</a>`, `name="opening_hours"`,
			">Thứ Hai–Thứ Sáu 7:30–11:30\nSáng thứ Bảy 7:30–11:30</textarea>")

		// The procedure form: blank question rows to fill, saved as a draft.
		_, _, body = page(t, srv, "GET", "/admin/catalog/procedures/1.004227", "*", "", nil)
		contains(t, "procedure form", body, `<legend id="faq-h">Câu hỏi thường gặp</legend>`,
			`<label for="faq[0].question">Câu hỏi 1</label>`, `name="faq[2].answer"`)
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", nowDate()))
		pf := url.Values{"csrf_token": {"x"}, "version": {"0"}, "code": {p.Code}, "name": {p.Name}, "field_code": {p.FieldCode},
			"level": {string(p.Level)}, "competent_agency": {p.CompetentAgency}, "online_level": {string(p.OnlineLevel)},
			"duration.value": {"15"}, "duration.unit": {"working_days"}, "effective_from": {"2026-06-01"}, "process_key": {"default"},
			"legal_basis":       {"Luật Xây dựng"},
			"documents[0].name": {"Đơn"}, "documents[0].form": {"electronic"}, "documents[0].quantity": {"1"}, "documents[0].required": {"1"},
			"faq[0].question": {buildFAQ[0].Question}, "faq[0].answer": {strings.ReplaceAll(buildFAQ[0].Answer, "\n", "\r\n")},
			"faq[1].question": {""}, "faq[1].answer": {""},
			"faq[2].question": {"Câu hỏi chưa có trả lời?"}, "faq[2].answer": {""},
		}
		status, _, body = postForm(t, srv, "/admin/catalog/procedures", "*", pf)
		if status != 422 {
			t.Fatalf("question without answer: %d", status)
		}
		// The blank row is dropped, so the unanswered question is now the second.
		contains(t, "procedure form with an unanswered question", body,
			`<p class="err" id="faq[1].answer-err">Không được để trống.</p>`,
			`<a href="#faq%5b1%5d.answer">faq[1].answer</a>`, // browsers decode the fragment
			`value="Câu hỏi chưa có trả lời?"`, `name="faq[3].question"`)
		pf.Set("faq[2].answer", "Có câu trả lời.")
		status, hdr, _ = postForm(t, srv, "/admin/catalog/procedures", "*", pf)
		redirected(t, "procedure save", status, hdr, "/admin/catalog/procedures/1.004227")
		saved := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 2))
		want := []catalog.FAQItem{buildFAQ[0], {Question: "Câu hỏi chưa có trả lời?", Answer: "Có câu trả lời."}}
		if !slices.Equal(saved.FAQ, want) {
			t.Errorf("FAQ saved from the form: %+v", saved.FAQ)
		}
		// Reopened, the form holds the entries and more blank rows.
		_, _, body = page(t, srv, "GET", "/admin/catalog/procedures/1.004227", "*", "", nil)
		contains(t, "reopened form", body, `value="Câu hỏi chưa có trả lời?"`, ">Có câu trả lời.</textarea>", `name="faq[3].question"`)
	})
}

// The demo's building-permit procedures have FAQs and their agencies contact
// details in the demo's fictitious style.
func TestDemoContactAndFAQ(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		if err := catalog.LoadDemo(ctx, svc); err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{"1.009972", "1.009974", "1.009976", "1.000775", "1.000868"} {
			p := must[catalog.Procedure](t)(svc.Procedure(ctx, code, nowDate()))
			if len(p.FAQ) < 3 || len(p.FAQ) > 4 {
				t.Errorf("%s: %d FAQ entries", code, len(p.FAQ))
			}
		}
		agencies := must[[]catalog.Agency](t)(svc.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency}))
		for _, a := range agencies {
			if !strings.HasPrefix(a.Phone, "0271 3879 ") || !strings.HasSuffix(a.Email, ".example.gov.vn") ||
				!strings.HasPrefix(a.Website, "https://") || !strings.HasSuffix(a.Website, ".example.gov.vn") ||
				!strings.Contains(a.Address, "tỉnh Thái An (Demo)") || a.OpeningHours == "" {
				t.Errorf("demo agency %s %s: %+v", a.EID, a.Name, a)
			}
		}
		// The procedure page of the demo shows them.
		srv := uiServer(t, svc)
		_, _, body := page(t, srv, "GET", "/procedures/1.009972", "", "", nil)
		contains(t, "demo building permit page", body, "Câu hỏi thường gặp", "Công trình nào được miễn giấy phép xây dựng?",
			"Cơ quan có thẩm quyền: Sở Xây dựng.", `href="tel:&#43;842713879107"`, "sxd@thaian.example.gov.vn")
	})
}
