package calendardb_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

type holidaysBody struct {
	Year         int                `json:"year"`
	Holidays     []calendar.Holiday `json:"holidays"`
	MakeUpDays   []calendar.Date    `json:"make_up_days"`
	Announcement *calendardb.Record `json:"announcement"`
}

func TestAPIHolidays(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		w := e.do("GET", "/api/v1/calendar/holidays?year=2025", anonymous, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("holidays 2025: %d %s", w.Code, w.Body.String())
		}
		b := decode[holidaysBody](t, w)
		names := map[string]string{}
		for _, h := range b.Holidays {
			names[h.Date.String()] = h.Name
		}
		// The shipped 2025 schedule: Tết from 25 January to 2 February,
		// 30 April to 4 May, 30 August to 2 September; 8 February and 26
		// April worked.
		for day, name := range map[string]string{
			"2025-01-01": "Tết Dương lịch", "2025-01-25": "Tết Nguyên đán", "2025-02-02": "Tết Nguyên đán",
			"2025-04-07": "Giỗ Tổ Hùng Vương", "2025-05-02": "Ngày Chiến thắng và Ngày Quốc tế Lao động",
			"2025-08-30": "Quốc khánh", "2025-09-02": "Quốc khánh",
		} {
			if names[day] != name {
				t.Errorf("%s: %q, want %q", day, names[day], name)
			}
		}
		if len(b.MakeUpDays) != 2 || b.MakeUpDays[0].String() != "2025-02-08" || b.MakeUpDays[1].String() != "2025-04-26" {
			t.Errorf("make-up days: %v", b.MakeUpDays)
		}
		if b.Announcement == nil || b.Announcement.Origin != calendardb.OriginShipped || !b.Announcement.Announcement.Replaces {
			t.Errorf("announcement: %+v", b.Announcement)
		}

		// No year: the current one (fixedNow is in 2026); a year without an
		// announcement has none and still lists the default holidays.
		if b := decode[holidaysBody](t, e.do("GET", "/api/v1/calendar/holidays", anonymous, nil)); b.Year != 2026 {
			t.Errorf("default year %d", b.Year)
		}
		b = decode[holidaysBody](t, e.do("GET", "/api/v1/calendar/holidays?year=2031", anonymous, nil))
		if b.Announcement != nil || len(b.Holidays) < 11 || b.MakeUpDays == nil {
			t.Errorf("2031: %+v", b)
		}

		for _, q := range []string{"year=abc", "year=1800", "year=2026.5"} {
			p := problem(t, e.do("GET", "/api/v1/calendar/holidays?"+q, anonymous, nil), http.StatusBadRequest)
			if p.Code != "invalid_query" || !strings.Contains(p.Detail, "Năm phải là số nguyên từ 1900 đến 2199") || p.Errors[0].Field != "year" {
				t.Errorf("%s: %+v", q, p)
			}
		}
	})
}

type dueBody struct {
	From    calendar.Date      `json:"from"`
	Days    int                `json:"days"`
	DueDate calendar.Date      `json:"due_date"`
	DueAt   string             `json:"due_at"`
	DaysOff []calendar.Holiday `json:"days_off"`
}

func TestAPIWorkingDays(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, tc := range []struct {
			query, due, dueAt string
			skipped           int
		}{
			// Friday before the 9-day Tết 2026: five working days end on
			// Friday the 27th.
			{"from=2026-02-13&days=5", "2026-02-27", "2026-02-27T17:00:00+07:00", 9},
			// Saturday 8 February 2025 is a make-up working day.
			{"from=2025-02-07&days=1", "2025-02-08", "2025-02-08T17:00:00+07:00", 0},
			// Days 0 on a holiday: the next working day.
			{"from=2025-01-01&days=0", "2025-01-02", "2025-01-02T17:00:00+07:00", 0},
			// An instant late on a day is that day in Vietnam.
			{"from=2026-02-12T20:00:00Z&days=1", "2026-02-23", "2026-02-23T17:00:00+07:00", 9},
		} {
			w := e.do("GET", "/api/v1/calendar/working-days?"+tc.query, anonymous, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.query, w.Code, w.Body.String())
			}
			b := decode[dueBody](t, w)
			if b.DueDate.String() != tc.due || b.DueAt != tc.dueAt || len(b.DaysOff) != tc.skipped {
				t.Errorf("%s: due %s at %s skipping %d, want %s at %s skipping %d", tc.query, b.DueDate, b.DueAt, len(b.DaysOff), tc.due, tc.dueAt, tc.skipped)
			}
		}

		for _, tc := range []struct{ query, field, detail string }{
			{"days=3", "from", "Cần tham số from"},
			{"from=13/02/2026&days=3", "from", `"13/02/2026" không phải là ngày`},
			{"from=2026-02-30&days=3", "from", `"2026-02-30" không phải là ngày`},
			{"from=1850-01-01&days=3", "from", "từ 1900 đến 2199"},
			{"from=2026-02-13", "days", "phải là số nguyên từ 0 đến 1000"},
			{"from=2026-02-13&days=-1", "days", "phải là số nguyên từ 0 đến 1000"},
			{"from=2026-02-13&days=1001", "days", "phải là số nguyên từ 0 đến 1000"},
		} {
			p := problem(t, e.do("GET", "/api/v1/calendar/working-days?"+tc.query, anonymous, nil), http.StatusBadRequest)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: %+v", tc.query, p)
			}
		}
	})
}

const goodPut = `{"title": "Lịch nghỉ Tết 2027", "replaces": false,
 "days_off": [{"name": "Tết Nguyên đán", "from": "2027-02-05", "to": "2027-02-13"}],
 "working_days": ["2027-01-30"], "source": "Thông báo giả định"}`

func TestAPIWritesNeedPermission(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := problem(t, e.putJSON("2027", anonymous, goodPut), http.StatusUnauthorized)
		if p.Code != "unauthorized" {
			t.Errorf("anonymous: %+v", p)
		}
		p = problem(t, e.putJSON("2027", citizen, goodPut), http.StatusForbidden)
		if p.Code != "forbidden" || !strings.Contains(p.Detail, "không có quyền sửa lịch nghỉ lễ") {
			t.Errorf("citizen: %+v", p)
		}
		problem(t, e.do("DELETE", "/api/v1/calendar/announcements/2025", citizen, nil), http.StatusForbidden)
		if list, _ := e.provider.Store().List(t.Context()); len(list) != 0 {
			t.Fatalf("a refused write was stored: %+v", list)
		}

		// Without an Authorizer nobody may write.
		h, err := calendardb.NewHandlers(calendardb.HandlerConfig{Provider: e.provider,
			Actor: func(*http.Request) string { return "someone" }})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Routes(mux)
		e.mux = mux
		problem(t, e.putJSON("2027", editor, goodPut), http.StatusForbidden)
	})
}

func TestAPIPutAndDelete(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		w := e.putJSON("2027", editor, goodPut)
		if w.Code != http.StatusOK {
			t.Fatalf("put: %d %s", w.Code, w.Body.String())
		}
		rec := decode[calendardb.Record](t, w)
		if rec.Year != 2027 || rec.UpdatedBy != "Phạm Thị Quản" || w.Header().Get("ETag") == "" {
			t.Fatalf("put answered %+v, ETag %q", rec, w.Header().Get("ETag"))
		}
		// The public endpoints see the edit at once.
		b := decode[holidaysBody](t, e.do("GET", "/api/v1/calendar/holidays?year=2027", anonymous, nil))
		if len(b.MakeUpDays) != 1 || b.MakeUpDays[0].String() != "2027-01-30" || b.Announcement == nil || b.Announcement.UpdatedBy != "" {
			t.Fatalf("holidays 2027 after put (updated_by must be hidden from the public): %+v", b)
		}
		list := decode[struct {
			Items []calendardb.Record `json:"items"`
			Total int                 `json:"total"`
		}](t, e.do("GET", "/api/v1/calendar/announcements", editor, nil))
		if list.Total != 3 || list.Items[2].Year != 2027 || list.Items[2].UpdatedBy == "" {
			t.Fatalf("list for an editor: %+v", list)
		}

		// Optimistic locking with If-Match.
		etag := w.Header().Get("ETag")
		if w := e.putJSON("2027", editor, goodPut, "If-Match", etag); w.Code != http.StatusOK {
			t.Fatalf("put with the current ETag: %d %s", w.Code, w.Body.String())
		}
		p := problem(t, e.putJSON("2027", editor, goodPut, "If-Match", etag), http.StatusConflict)
		if p.Code != "calendar.stale" || !strings.Contains(p.Detail, "vừa được người khác thay đổi") {
			t.Errorf("stale put: %+v", p)
		}
		problem(t, e.putJSON("2027", editor, goodPut, "If-Match", "12"), http.StatusBadRequest)

		if w := e.do("DELETE", "/api/v1/calendar/announcements/2027", editor, nil); w.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", w.Code, w.Body.String())
		}
		p = problem(t, e.do("DELETE", "/api/v1/calendar/announcements/2027", editor, nil), http.StatusNotFound)
		if p.Code != "calendar.not_found" || !strings.Contains(p.Detail, "năm 2027") {
			t.Errorf("second delete: %+v", p)
		}
		problem(t, e.do("GET", "/api/v1/calendar/announcements/2027", anonymous, nil), http.StatusNotFound)
		if w := e.do("GET", "/api/v1/calendar/announcements/2025", anonymous, nil); w.Code != http.StatusOK {
			t.Errorf("shipped 2025: %d", w.Code)
		}
	})
}

func TestAPIPutRejectsBadInput(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, tc := range []struct {
			name, year, body string
			status           int
			code, field      string
			detail           string
		}{
			{"malformed JSON", "2027", `{"title": "x",`, 400, "invalid_json", "", "JSON bị cắt cụt"},
			{"wrong type", "2027", `{"title": 5}`, 400, "invalid_type", "title", "phải là chuỗi ký tự"},
			{"unknown field", "2027", `{"titel": "x"}`, 400, "unknown_field", "titel", "không được hỗ trợ"},
			{"bad path year", "20x7", goodPut, 400, "calendar.bad_year", "year", "từ 1900 đến 2199"},
			{"impossible date", "2027", `{"title": "x", "days_off": [{"from": "2027-02-30"}]}`, 422, "validation_failed", "days_off[0].from", `"2027-02-30" không phải là ngày hợp lệ`},
			{"not a date", "2027", `{"title": "x", "working_days": ["30/01/2027"]}`, 422, "validation_failed", "working_days[0]", `"30/01/2027" không phải là ngày hợp lệ`},
			{"outside the year", "2027", `{"title": "x", "days_off": [{"from": "2026-12-31"}]}`, 422, "validation_failed", "days_off[0].from", "Ngày 2026-12-31 không thuộc năm 2027"},
			{"ends before it starts", "2027", `{"title": "x", "days_off": [{"from": "2027-02-13", "to": "2027-02-05"}]}`, 422, "validation_failed", "days_off[0].to", "ở trước ngày bắt đầu"},
			{"no title", "2027", `{"days_off": [{"from": "2027-02-13"}]}`, 422, "validation_failed", "title", "Cần nhập tiêu đề"},
			{"year mismatch", "2027", `{"year": 2028, "title": "x", "days_off": [{"from": "2027-02-13"}]}`, 422, "validation_failed", "year", "khác năm trên địa chỉ"},
		} {
			p := problem(t, e.putJSON(tc.year, editor, tc.body), tc.status)
			if p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%s: code %q detail %q, want %q containing %q", tc.name, p.Code, p.Detail, tc.code, tc.detail)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Message == "") {
				t.Errorf("%s: errors %+v, want one on %s", tc.name, p.Errors, tc.field)
			}
		}
		if list, _ := e.provider.Store().List(t.Context()); len(list) != 0 {
			t.Fatalf("bad input was stored: %+v", list)
		}

		// Every problem at once: the decoding ones and the rule violations of
		// the fields that decoded.
		w := e.putJSON("2027", editor, `{"title": "", "days_off": [{"from": "2027-02-30"}, {"from": "2026-01-01"}]}`)
		fields := map[string]string{}
		for _, f := range problem(t, w, 422).Errors {
			fields[f.Field] = f.Code
		}
		if len(fields) != 3 || fields["title"] != "required" || fields["days_off[0].from"] != "invalid_date" || fields["days_off[1].from"] != "outside_year" {
			t.Errorf("all problems: %v", fields)
		}

		// English on request.
		w = e.putJSON("2027", editor, `{"title": "x", "days_off": [{"from": "2026-12-31"}]}`, "Accept-Language", "en")
		if p := problem(t, w, 422); !strings.Contains(p.Detail, "The date 2026-12-31 is not in 2027") {
			t.Errorf("English detail: %q", p.Detail)
		}
		// A body that is not JSON at all.
		w = e.do("PUT", "/api/v1/calendar/announcements/2027", editor, strings.NewReader("title=x"), "Content-Type", "application/x-www-form-urlencoded")
		problem(t, w, http.StatusUnsupportedMediaType)
	})
}
