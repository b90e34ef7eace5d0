package calendardb_test

import (
	"context"
	"errors"
	"github.com/congso/congso/internal/platform/audit"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
)

func date(t testing.TB, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tet2027 is a plausible announcement for a year the binary ships nothing
// for.
func tet2027(t testing.TB) calendar.Announcement {
	return calendar.Announcement{
		Year:  2027,
		Title: "  Lịch nghỉ Tết Đinh Mùi 2027  ",
		DaysOff: []calendar.Period{
			{Name: "Quốc khánh", From: date(t, "2027-09-02"), To: date(t, "2027-09-02")},
			{Name: "Tết Nguyên đán", From: date(t, "2027-02-05"), To: date(t, "2027-02-13")},
		},
		WorkingDays: []calendar.Date{date(t, "2027-02-20"), date(t, "2027-01-30"), date(t, "2027-02-20")},
		Source:      "Thông báo số 1/TB-BNV (giả định, cho kiểm thử)",
	}
}

var fixedNow = time.Date(2026, 3, 10, 2, 30, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

func TestStoreRoundTrip(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := calendardb.NewStore(d, clock)
		if list, err := s.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("empty store lists %v, %v", list, err)
		}
		rev0, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		put, err := s.Put(ctx, tet2027(t), "nguyen.van.a")
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		got, err := s.Get(ctx, 2027)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if !got.UpdatedAt.Equal(fixedNow) || got.UpdatedBy != "nguyen.van.a" || got.Origin != calendardb.OriginDatabase || got.Version != put.Version {
			t.Fatalf("bookkeeping: %+v (put %+v)", got, put)
		}
		a := got.Announcement
		// Stored normalised: trimmed title, periods by date, single days
		// without To, working days sorted without repeats.
		if a.Title != "Lịch nghỉ Tết Đinh Mùi 2027" || a.Year != 2027 {
			t.Errorf("title/year: %q %d", a.Title, a.Year)
		}
		if len(a.DaysOff) != 2 || a.DaysOff[0].Name != "Tết Nguyên đán" || a.DaysOff[1].From != date(t, "2027-09-02") || !a.DaysOff[1].To.IsZero() {
			t.Errorf("days off: %+v", a.DaysOff)
		}
		if len(a.WorkingDays) != 2 || a.WorkingDays[0] != date(t, "2027-01-30") || a.WorkingDays[1] != date(t, "2027-02-20") {
			t.Errorf("working days: %v", a.WorkingDays)
		}
		if got.Announcement.Source != tet2027(t).Source {
			t.Errorf("source: %q", got.Announcement.Source)
		}

		// A second save replaces the first and gets a higher version.
		next := tet2027(t)
		next.Replaces = true
		put2, err := s.Put(ctx, next, "tran.thi.b")
		if err != nil {
			t.Fatal(err)
		}
		if put2.Version <= put.Version {
			t.Errorf("version did not grow: %d then %d", put.Version, put2.Version)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || !list[0].Announcement.Replaces || list[0].UpdatedBy != "tran.thi.b" {
			t.Fatalf("list after update: %+v, %v", list, err)
		}
		if rev, _ := s.Revision(ctx); rev != rev0+2 {
			t.Errorf("revision %d after two puts from %d", rev, rev0)
		}

		if err := s.Delete(ctx, 2027, "tester"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, 2027); !errors.Is(err, calendardb.ErrNotFound) {
			t.Errorf("get after delete: %v", err)
		}
		if err := s.Delete(ctx, 2027, "tester"); !errors.Is(err, calendardb.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if rev, _ := s.Revision(ctx); rev != rev0+3 {
			t.Errorf("revision %d: a failed delete must not count", rev)
		}
	})
}

func TestStoreRejectsInvalidAnnouncements(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := calendardb.NewStore(d, clock)
		bad := calendar.Announcement{
			Year:  2027,
			Title: " ",
			DaysOff: []calendar.Period{
				{Name: "Tết", From: date(t, "2027-02-13"), To: date(t, "2027-02-05")},
				{Name: "Sai năm", From: date(t, "2026-12-31")},
				{Name: "Ngày không có", From: calendar.Date{Year: 2027, Month: 2, Day: 30}},
				{Name: "Quốc khánh", From: date(t, "2027-09-02")},
			},
			WorkingDays: []calendar.Date{date(t, "2027-09-02")},
			Source:      strings.Repeat("x", calendardb.MaxSourceLen+1),
		}
		_, err := s.Put(ctx, bad, "admin")
		var verr *calendardb.ValidationError
		if !errors.As(err, &verr) || !errors.Is(err, calendar.ErrInvalidAnnouncement) {
			t.Fatalf("want a ValidationError matching ErrInvalidAnnouncement, got %v", err)
		}
		want := map[string]string{
			"title":            "Cần nhập tiêu đề.",
			"source":           "Độ dài của căn cứ (nguồn) không được quá 4000 ký tự.",
			"days_off[0].to":   "Ngày kết thúc 2027-02-05 ở trước ngày bắt đầu 2027-02-13.",
			"days_off[1].from": "Ngày 2026-12-31 không thuộc năm 2027.",
			"days_off[2].from": `"2027-02-30" không phải là ngày hợp lệ; hãy viết theo dạng năm-tháng-ngày, ví dụ 2026-02-14.`,
			"working_days[0]":  "Ngày 2027-09-02 vừa là ngày nghỉ vừa là ngày làm việc bù.",
		}
		got := map[string]string{}
		for _, f := range verr.Fields {
			got[f.Field] = f.Message(i18n.Vietnamese)
		}
		for field, msg := range want {
			if got[field] != msg {
				t.Errorf("%s: got %q, want %q", field, got[field], msg)
			}
		}
		if len(got) != len(want) {
			t.Errorf("unexpected errors: %v", got)
		}
		if list, _ := s.List(ctx); len(list) != 0 {
			t.Errorf("an invalid announcement was stored: %+v", list)
		}

		for _, tc := range []struct {
			name  string
			a     calendar.Announcement
			field string
		}{
			{"year too early", calendar.Announcement{Year: 1800, Title: "x", WorkingDays: []calendar.Date{date(t, "1800-01-04")}}, "year"},
			{"nothing announced", calendar.Announcement{Year: 2027, Title: "x"}, "days_off"},
			{"no start", calendar.Announcement{Year: 2027, Title: "x", DaysOff: []calendar.Period{{Name: "x"}}}, "days_off[0].from"},
		} {
			_, err := s.Put(ctx, tc.a, "admin")
			if !errors.As(err, &verr) || verr.Fields[0].Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := s.Put(ctx, tet2027(t), " "); err == nil {
			t.Error("saved without an actor")
		}
	})
}

func TestStorePutIfVersion(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := calendardb.NewStore(d, clock)
		first, err := s.PutIfVersion(ctx, tet2027(t), "a", 0)
		if err != nil {
			t.Fatalf("create with version 0: %v", err)
		}
		if _, err := s.PutIfVersion(ctx, tet2027(t), "b", 0); !errors.Is(err, calendardb.ErrStale) {
			t.Fatalf("second create with version 0: %v, want ErrStale", err)
		}
		second, err := s.PutIfVersion(ctx, tet2027(t), "b", first.Version)
		if err != nil {
			t.Fatalf("update with the current version: %v", err)
		}
		if _, err := s.PutIfVersion(ctx, tet2027(t), "c", first.Version); !errors.Is(err, calendardb.ErrStale) {
			t.Fatalf("update with an old version: %v, want ErrStale", err)
		}
		if got, _ := s.Get(ctx, 2027); got.UpdatedBy != "b" || got.Version != second.Version {
			t.Errorf("a stale write changed the row: %+v", got)
		}
	})
}

func TestEditsAreAudited(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := calendardb.NewStore(d, nil)
		a := calendar.Announcement{Year: 2027, Title: "Nghỉ Tết 2027", Replaces: false,
			DaysOff: []calendar.Period{{Name: "Tết Nguyên đán", From: calendar.Date{Year: 2027, Month: 2, Day: 4}, To: calendar.Date{Year: 2027, Month: 2, Day: 12}}}}
		if _, err := s.Put(ctx, a, "Lê Thị Danh Mục"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, 2027, "Lê Thị Danh Mục"); err != nil {
			t.Fatal(err)
		}
		entries, _, err := audit.List(ctx, d, audit.Filter{ObjectType: "calendar_announcement"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].Action != "calendar.announcement.deleted" || entries[1].Action != "calendar.announcement.saved" || entries[1].Actor != "Lê Thị Danh Mục" {
			t.Fatalf("audit entries = %+v", entries)
		}
		if rep, err := audit.Verify(ctx, d); err != nil || !rep.OK {
			t.Fatalf("chain: %v %v", rep, err)
		}
	})
}
