package calendardb_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// noInlineCode checks what the Content-Security-Policy would block.
func noInlineCode(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script", " style=", "<style", " onclick=", " onsubmit=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q, which the CSP forbids", bad)
		}
	}
}

func TestPublicPage(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		w := e.do("GET", "/calendar?year=2025", anonymous, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("calendar 2025: %d", w.Code)
		}
		body := w.Body.String()
		mustContain(t, body,
			"<h1>Lịch nghỉ lễ, Tết năm 2025</h1>",
			// Tết 2025 begins on Saturday 25 January, dates dd/mm/yyyy.
			`<td><time datetime="2025-01-25">25/01/2025</time></td><td>Thứ Bảy</td><td>Tết Nguyên đán</td><td>Theo thông báo</td>`,
			`<time datetime="2025-09-02">02/09/2025</time></td><td>Thứ Ba</td><td>Quốc khánh</td>`,
			// Make-up working days.
			`<time datetime="2025-02-08">08/02/2025</time></td><td>Thứ Bảy</td>`,
			`<time datetime="2025-04-26">26/04/2025</time></td><td>Thứ Bảy</td>`,
			// The basis, and a year selector that works without script.
			"Theo Lịch nghỉ lễ, Tết năm 2025 đối với cán bộ, công chức, viên chức.",
			`<form method="get" action="/calendar"`, `<label for="year">Năm</label>`, `id="year" name="year"`, `value="2025"`,
			`href="/calendar?year=2024"`, `href="/calendar?year=2026"`,
		)
		noInlineCode(t, body)
		if strings.Contains(body, "/admin/calendar") {
			t.Error("the public sees the edit link")
		}

		// A year by the default rule: compensatory day, default basis.
		body = e.do("GET", "/calendar?year=2026", anonymous, nil).Body.String()
		mustContain(t, body,
			`<time datetime="2026-04-27">27/04/2026</time></td><td>Thứ Hai</td><td>Nghỉ bù Giỗ Tổ Hùng Vương</td><td>Nghỉ bù</td>`,
			"Năm 2026 không có ngày làm việc bù.")
		body = e.do("GET", "/calendar?year=2031", anonymous, nil).Body.String()
		mustContain(t, body, "Chưa có thông báo của Chính phủ cho năm này")

		// No year: the current one; English on request.
		body = e.do("GET", "/calendar", anonymous, nil, "Accept-Language", "en").Body.String()
		mustContain(t, body, "<h1>Public holidays 2026</h1>", "Thursday")

		// A bad year is shown next to the field.
		w = e.do("GET", "/calendar?year=abc", anonymous, nil)
		if w.Code != http.StatusBadRequest {
			t.Errorf("bad year: %d", w.Code)
		}
		mustContain(t, w.Body.String(), `aria-invalid="true" aria-describedby="year-err"`, `<p class="err" id="year-err">Năm phải là số nguyên từ 1900 đến 2199.</p>`)

		// Editors get a link to the administration.
		mustContain(t, e.do("GET", "/calendar?year=2025", editor, nil).Body.String(), `href="/admin/calendar?year=2025"`)
	})
}

func TestAdminPageAccess(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		w := e.do("GET", "/admin/calendar?year=2027", anonymous, nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next=%2Fadmin%2Fcalendar%3Fyear%3D2027" {
			t.Errorf("anonymous: %d %q", w.Code, w.Header().Get("Location"))
		}
		w = e.do("GET", "/admin/calendar", citizen, nil)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Không có quyền truy cập") {
			t.Errorf("citizen: %d", w.Code)
		}
		w = e.postForm("/admin/calendar/2027", citizen, url.Values{"title": {"x"}, "days_off": {"2027-03-01"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("citizen post: %d", w.Code)
		}
		w = e.postForm("/admin/calendar/2025/delete", anonymous, url.Values{})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("anonymous delete: %d %q", w.Code, w.Header().Get("Location"))
		}
		if list, _ := e.provider.Store().List(t.Context()); len(list) != 0 {
			t.Fatalf("a refused form was stored: %+v", list)
		}
	})
}

func TestAdminFormSavesAndShowsErrors(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		// The shipped 2025 announcement fills the form; the list shows both
		// shipped years.
		w := e.do("GET", "/admin/calendar?year=2025", editor, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("admin page: %d %s", w.Code, w.Body.String())
		}
		body := w.Body.String()
		mustContain(t, body,
			`<form method="post" action="/admin/calendar/2025"`,
			`<input type="hidden" name="csrf_token" value="tok">`,
			`<input type="hidden" name="version" value="0">`,
			`<label for="days_off">`, `<label for="working_days">`, `<label for="title">`, `<label for="source">`,
			"2025-01-25 2025-02-02 Tết Nguyên đán\n",
			"2025-02-08\n2025-04-26\n",
			`name="replaces" value="1" aria-describedby="replaces-hint" checked`,
			"Kèm phần mềm", "Năm này đang dùng dữ liệu kèm phần mềm",
		)
		noInlineCode(t, body)
		if strings.Contains(body, "/admin/calendar/2025/delete") {
			t.Error("delete offered for a shipped announcement")
		}

		// Errors: shown next to their fields with the line, nothing saved.
		bad := url.Values{
			"title":        {""},
			"days_off":     {"2027-02-05 2027-02-13 Tết Nguyên đán\n\n31/02/2027 Ngày không có\n2026-12-31 Sai năm"},
			"working_days": {"2027-02-06, 2027-13-01"},
			"source":       {"Thông báo giả định"},
			"version":      {"0"},
		}
		w = e.postForm("/admin/calendar/2027", editor, bad)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("bad form: %d", w.Code)
		}
		body = w.Body.String()
		mustContain(t, body,
			`<div class="errors" role="alert"`,
			`<p class="err" id="title-err">Cần nhập tiêu đề.</p>`,
			`aria-describedby="title-hint title-err" aria-invalid="true"`,
			`<li>Dòng 3: &#34;31/02/2027&#34; không phải là ngày hợp lệ`,
			`<li>Dòng 4: Ngày 2026-12-31 không thuộc năm 2027.</li>`,
			`<li>Dòng 1: &#34;2027-13-01&#34; không phải là ngày hợp lệ`,
			`<li>Dòng 1: Ngày 2027-02-06 vừa là ngày nghỉ vừa là ngày làm việc bù.</li>`,
			`<a href="#title">Cần nhập tiêu đề.</a>`,
			// What was typed comes back.
			"31/02/2027 Ngày không có\n2026-12-31 Sai năm</textarea>", `Thông báo giả định</textarea>`,
		)
		if list, _ := e.provider.Store().List(t.Context()); len(list) != 0 {
			t.Fatalf("an invalid form was stored: %+v", list)
		}

		// A good form: saved, calendar rebuilt, redirect with a flash.
		good := url.Values{
			"title":        {"Lịch nghỉ Tết Đinh Mùi 2027"},
			"days_off":     {"05/02/2027 - 13/02/2027 Tết Nguyên đán\r\n2027-09-02 Quốc khánh\r\n"},
			"working_days": {"2027-01-30"},
			"source":       {"Thông báo giả định"},
			"version":      {"0"},
		}
		w = e.postForm("/admin/calendar/2027", editor, good)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/calendar?year=2027" {
			t.Fatalf("good form: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
		}
		if !strings.Contains(w.Header().Get("Set-Cookie"), "flash=calendar.flash.saved") {
			t.Errorf("no flash: %q", w.Header().Get("Set-Cookie"))
		}
		rec, err := e.provider.Store().Get(t.Context(), 2027)
		if err != nil {
			t.Fatal(err)
		}
		a := rec.Announcement
		if rec.UpdatedBy != "Phạm Thị Quản" || a.Replaces || len(a.DaysOff) != 2 || a.DaysOff[0].Name != "Tết Nguyên đán" ||
			a.DaysOff[0].To.String() != "2027-02-13" || len(a.WorkingDays) != 1 {
			t.Fatalf("stored %+v", rec)
		}
		if !isOff(e.provider.Calendar(), "2027-02-12") {
			t.Fatal("the calendar was not rebuilt")
		}
		body = e.do("GET", "/admin/calendar?year=2027", editor, nil, "Cookie", "flash=calendar.flash.saved").Body.String()
		mustContain(t, body, `<div class="flash" role="status">Đã lưu thông báo nghỉ lễ`, "Phạm Thị Quản",
			"2027-02-05 2027-02-13 Tết Nguyên đán\n2027-09-02 Quốc khánh\n", `action="/admin/calendar/2027/delete"`)
		version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
		if version == nil || version[1] == "0" {
			t.Fatalf("the form does not carry the stored version: %v", version)
		}

		// A form based on an old version does not overwrite a newer save.
		w = e.postForm("/admin/calendar/2027", editor, good) // still version 0
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "vừa được người khác thay đổi") {
			t.Fatalf("stale form: %d", w.Code)
		}

		// Delete goes back to the default rule.
		w = e.postForm("/admin/calendar/2027/delete", editor, url.Values{})
		if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "flash=calendar.flash.deleted") {
			t.Fatalf("delete: %d %q", w.Code, w.Header().Get("Set-Cookie"))
		}
		if isOff(e.provider.Calendar(), "2027-02-12") {
			t.Fatal("the calendar still has the deleted announcement")
		}
	})
}
