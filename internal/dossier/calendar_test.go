package dossier_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

// TestEditedHolidaysApplyToNewAppointments: the administrator's holiday
// announcements (one-stop.md §6) reach the next reception without a restart.
func TestEditedHolidaysApplyToNewAppointments(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		var cur atomic.Pointer[calendar.Calendar]
		cur.Store(calendar.Default())
		c := &clock{t: at(2026, 3, 2, 8, 0)}
		wf := workflow.New(d, workflow.Config{Now: c.Now, CalendarSource: cur.Load})
		ctx := context.Background()
		if err := wf.InstallShipped(ctx); err != nil {
			t.Fatal(err)
		}
		bs, err := blob.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s, err := dossier.New(d, dossier.Config{Procedures: testProcedures(), Workflow: wf, Blobs: bs, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, d: d, wf: wf, s: s, blobs: bs, clock: c, ctx: ctx}
		before := e.receive("Trước khi sửa lịch")

		// Two days of the coming week become days off.
		edited, err := calendar.New(calendar.Options{Announcements: []calendar.Announcement{{Year: 2026, Title: "Nghỉ đột xuất",
			DaysOff: []calendar.Period{{Name: "Nghỉ bù", From: calendar.Date{Year: 2026, Month: 3, Day: 4}, To: calendar.Date{Year: 2026, Month: 3, Day: 5}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(edited)
		after := e.receive("Sau khi sửa lịch")
		// Same statutory duration, two more calendar days: 4 and 5 March
		// (Wednesday, Thursday) are now off.
		if got, want := after.DueAt.Sub(before.DueAt), 48*time.Hour; got != want {
			t.Fatalf("appointment %v after the edit, %v before: moved %v, want %v", after.DueAt, before.DueAt, got, want)
		}
	})
}
