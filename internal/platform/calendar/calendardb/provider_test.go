package calendardb_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func newProvider(t testing.TB, d *db.DB, opts calendar.Options) *calendardb.Provider {
	t.Helper()
	p, err := calendardb.NewProvider(context.Background(), calendardb.NewStore(d, clock),
		calendardb.ProviderConfig{Options: opts, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func isOff(c *calendar.Calendar, s string) bool {
	d, err := calendar.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return !c.IsWorkingDate(d)
}

func TestProviderPutRebuildsAndOtherNodesFollowAfterPoll(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		node1 := newProvider(t, d, calendar.Options{})
		node2 := newProvider(t, d, calendar.Options{})
		before := node2.Calendar()
		// By the default rule Tết 2027 (Saturday 6 February) gives 5-9
		// February off and compensatory days on the 10th and 11th; Friday
		// the 12th is a working day until the announcement says otherwise.
		if isOff(before, "2027-02-12") {
			t.Fatal("2027-02-12 is already off by default")
		}

		if _, err := node1.Put(ctx, tet2027(t), "admin"); err != nil {
			t.Fatal(err)
		}
		if !isOff(node1.Calendar(), "2027-02-12") || isOff(node1.Calendar(), "2027-01-30") {
			t.Fatal("node1 did not rebuild its calendar on Put")
		}
		if node2.Calendar() != before || isOff(node2.Calendar(), "2027-02-12") {
			t.Fatal("node2 changed before polling")
		}
		changed, err := node2.Refresh(ctx)
		if err != nil || !changed {
			t.Fatalf("node2 refresh: %v %v", changed, err)
		}
		if !isOff(node2.Calendar(), "2027-02-12") {
			t.Fatal("node2 did not pick up the edit after its poll")
		}
		if before.IsWorkingDate(date(t, "2027-02-12")) != true {
			t.Fatal("an old Calendar changed: calendars must be immutable")
		}
		if changed, err := node2.Refresh(ctx); err != nil || changed {
			t.Fatalf("refresh without edits reloaded: %v %v", changed, err)
		}

		// A delete followed by another put leaves count and max(version)
		// as they were on some schemes; the revision still moves.
		if err := node1.Delete(ctx, 2027, "tester"); err != nil {
			t.Fatal(err)
		}
		other := tet2027(t)
		other.DaysOff = []calendar.Period{{Name: "Nghỉ thêm", From: date(t, "2027-03-01")}}
		other.WorkingDays = nil
		if _, err := node1.Put(ctx, other, "admin"); err != nil {
			t.Fatal(err)
		}
		if changed, err := node2.Refresh(ctx); err != nil || !changed {
			t.Fatalf("refresh after delete+put: %v %v", changed, err)
		}
		c := node2.Calendar()
		if isOff(c, "2027-02-12") || !isOff(c, "2027-03-01") {
			t.Fatal("node2 shows the wrong announcement after delete+put")
		}
	})
}

func TestProviderPrecedence(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := newProvider(t, d, calendar.Options{})
		// Shipped 2025: Tết from 25 January to 2 February, 8 February worked.
		if !isOff(p.Calendar(), "2025-01-27") || isOff(p.Calendar(), "2025-02-08") {
			t.Fatal("shipped 2025 announcement not applied")
		}
		if r, ok := p.Governing(2025); !ok || r.Origin != calendardb.OriginShipped {
			t.Fatalf("governing 2025: %+v %v", r, ok)
		}
		if _, ok := p.Governing(2031); ok {
			t.Fatal("2031 should follow the default rule")
		}
		stored := calendar.Announcement{Year: 2025, Title: "Bản sửa 2025", Replaces: true,
			DaysOff: []calendar.Period{{Name: "Tết", From: date(t, "2025-01-28"), To: date(t, "2025-01-31")}}}
		if _, err := p.Put(ctx, stored, "admin"); err != nil {
			t.Fatal(err)
		}
		c := p.Calendar()
		if isOff(c, "2025-01-27") || !isOff(c, "2025-01-28") || !isOff(c, "2025-02-08") {
			t.Fatal("the stored 2025 announcement does not replace the shipped one")
		}
		if r, _ := p.Governing(2025); r.Origin != calendardb.OriginDatabase || r.Announcement.Title != "Bản sửa 2025" {
			t.Fatalf("governing 2025 after put: %+v", r)
		}
		list, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Year != 2025 || list[0].Origin != calendardb.OriginDatabase || list[1].Year != 2026 || list[1].Origin != calendardb.OriginShipped {
			t.Fatalf("list: %+v", list)
		}
		if err := p.Delete(ctx, 2025, "tester"); err != nil {
			t.Fatal(err)
		}
		if !isOff(p.Calendar(), "2025-01-27") {
			t.Fatal("delete did not fall back to the shipped 2025 announcement")
		}
		if _, err := p.Get(ctx, 2031); !errors.Is(err, calendardb.ErrNotFound) {
			t.Fatalf("get 2031: %v", err)
		}

		// Configured announcements rank between stored and shipped.
		conf := calendar.Announcement{Year: 2026, Title: "Cấu hình 2026",
			DaysOff: []calendar.Period{{Name: "Nghỉ tỉnh", From: date(t, "2026-03-02")}}}
		p2 := newProvider(t, d, calendar.Options{Announcements: []calendar.Announcement{conf}})
		if !isOff(p2.Calendar(), "2026-03-02") {
			t.Fatal("configured announcement not applied")
		}
		for _, h := range p2.Calendar().Holidays(2026) {
			if h.Date == date(t, "2026-02-14") {
				t.Fatal("the shipped 2026 announcement (Tết from Saturday 14 February) still applies under a configured one")
			}
		}
		if r, _ := p2.Governing(2026); r.Origin != calendardb.OriginConfigured {
			t.Fatalf("governing 2026: %+v", r)
		}
	})
}

func TestProviderSkipsABadStoredRow(t *testing.T) {
	dbtest.Each(t, testMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// A row edited by hand into something invalid: a day outside its year.
		_, err := d.Write().ExecContext(ctx, `INSERT INTO calendar_announcements (year, announcement, updated_by, updated_at, version)
VALUES (2027, $1, 'sql', $2, 1)`, `{"year":2027,"title":"x","days_off":[{"name":"x","from":"2028-01-01"}]}`, time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		p, err := calendardb.NewProvider(ctx, calendardb.NewStore(d, clock),
			calendardb.ProviderConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatalf("one bad row took the calendar down: %v", err)
		}
		if !isOff(p.Calendar(), "2025-01-27") {
			t.Fatal("the shipped data is lost")
		}
		if !strings.Contains(logs.String(), "year=2027") {
			t.Errorf("the skipped row is not logged: %s", logs.String())
		}
	})
}

func TestProviderRejectsBadOptions(t *testing.T) {
	d := dbtest.SQLite(t, testMigrations())
	_, err := calendardb.NewProvider(context.Background(), calendardb.NewStore(d, nil),
		calendardb.ProviderConfig{Options: calendar.Options{OfficeHours: []calendar.Shift{{Start: 2 * time.Hour, End: time.Hour}}}})
	if !errors.Is(err, calendar.ErrInvalidOptions) {
		t.Fatalf("got %v, want ErrInvalidOptions", err)
	}
}
