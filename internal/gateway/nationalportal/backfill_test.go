package nationalportal_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// listSpy is the dossier service, recording the pages the adapter lists
// and calling after (if set) once a page is read.
type listSpy struct {
	nationalportal.Dossiers
	mu    sync.Mutex
	calls []dossier.ListQuery
	after func()
}

func (l *listSpy) List(ctx context.Context, q dossier.ListQuery) (dossier.ListPage, error) {
	p, err := l.Dossiers.List(ctx, q)
	l.mu.Lock()
	l.calls = append(l.calls, q)
	after := l.after
	l.mu.Unlock()
	if after != nil {
		after()
	}
	return p, err
}

// pageCursors returns the cursors of the enqueueing pages listed so far
// (page size limit) and forgets them.
func (l *listSpy) pageCursors(limit int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, q := range l.calls {
		if q.Limit == limit {
			out = append(out, q.After)
		}
	}
	l.calls = nil
	return out
}

func backfillConfig(spy *listSpy) func(*nationalportal.Config) {
	return func(c *nationalportal.Config) {
		if spy != nil {
			c.Dossiers = spy
		}
		c.BackfillPage, c.BackfillPause = 3, time.Second
	}
}

// runBackfill fires the node's timers and delivers the outbox, a second at
// a time, until the backfill is complete; check runs after every round.
func (e *env) runBackfill(np *nationalportal.Service, timers *timer.Scheduler, disp *outbox.Dispatcher, check func(nationalportal.BackfillStatus)) nationalportal.BackfillStatus {
	e.t.Helper()
	for i := 0; i < 30; i++ {
		if _, err := timers.FireDue(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		st, err := np.BackfillStatus(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if check != nil {
			check(st)
		}
		if _, err := disp.Drain(e.ctx); err != nil {
			e.t.Fatal(err)
		}
		if st, _ = np.BackfillStatus(e.ctx); st.Complete {
			return st
		}
		e.clock.Add(time.Second)
	}
	e.t.Fatal("the backfill did not complete")
	return nationalportal.BackfillStatus{}
}

// The province turns the link on with dossiers already received: a backfill
// since a day sends each dossier of the period to the portal once, a page at
// a time, never more than a page ahead of the live syncs; running it again
// (over every dossier) sends only what the portal does not hold yet.
func TestBackfill(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newProvince(t, d)
		e.clock.t = at(2026, 2, 20, 9, 0)
		before := e.receive("Trước kỳ").Code
		e.clock.t = at(2026, 3, 2, 8, 0)
		var codes []string
		for i := 0; i < 7; i++ {
			codes = append(codes, e.receive(fmt.Sprintf("Công dân %d", i)).Code)
			e.clock.Add(time.Minute)
		}
		e.act(codes[0], "assign", head, func(in *dossier.ActInput) { in.Assignee = handler.PersonID })

		np, timers, disp := e.node(backfillConfig(nil))
		if _, err := disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.portal.Dossiers()); n != 0 {
			t.Fatalf("the portal holds %d dossiers before the backfill", n)
		}
		st, err := np.StartBackfill(e.ctx, at(2026, 3, 1, 0, 0), "admin-1")
		if err != nil || st.State != nationalportal.BackfillCounting || st.RequestedBy != "admin-1" {
			t.Fatalf("start = %+v, %v", st, err)
		}
		if _, err := np.StartBackfill(e.ctx, time.Time{}, "admin-1"); !errors.Is(err, nationalportal.ErrBackfillRunning) {
			t.Fatalf("a second backfill over another period: %v", err)
		}
		if again, err := np.StartBackfill(e.ctx, at(2026, 3, 1, 0, 0), "admin-2"); err != nil || again.ID != st.ID {
			t.Fatalf("the same period again = %+v, %v (want a resume of %d)", again, err, st.ID)
		}

		// First round: counted, and the first page enqueued.
		if _, err := timers.FireDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		st, _ = np.BackfillStatus(e.ctx)
		if st.State != nationalportal.BackfillEnqueueing || st.Total != 7 || st.Enqueued != 3 || st.Pending != 3 || st.Pages != 1 {
			t.Fatalf("after the first page: %+v", st)
		}
		// A dossier received now is synced live while the page waits, and
		// the next page is not enqueued while the previous one is queued.
		live := e.receive("Người nộp mới").Code
		e.clock.Add(time.Second)
		if _, err := timers.FireDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ = np.BackfillStatus(e.ctx); st.Enqueued != 3 {
			t.Fatalf("a page was enqueued while the previous one was queued: %+v", st)
		}
		if _, err := disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.portal.Dossier(live); !ok {
			t.Fatal("the live dossier was not synced during the backfill")
		}
		st = e.runBackfill(np, timers, disp, func(st nationalportal.BackfillStatus) {
			if st.Pending > 3 {
				t.Fatalf("the backfill is %d requests ahead (page 3): %+v", st.Pending, st)
			}
		})
		if st.Total != 7 || st.Enqueued != 7 || st.Done != 7 || st.Failed != 0 || st.Pages != 3 || st.LastError != "" || st.Percent() != 100 {
			t.Fatalf("complete = %+v", st)
		}
		for _, c := range append(codes, live) {
			if n := e.portal.Upserts(c); n != 1 {
				t.Errorf("%s reached the portal %d times, want once", c, n)
			}
		}
		if h := e.held(codes[0]); h.TrangThaiHoSo != 4 || len(e.portal.Progress(codes[0])) != len(e.get(codes[0]).Timeline) {
			t.Fatalf("an open dossier is held as %+v with %d progress entries", h, len(e.portal.Progress(codes[0])))
		}
		if _, ok := e.portal.Dossier(before); ok {
			t.Fatal("a dossier received before the period was sent")
		}

		// Again over every dossier: only the one outside the first period
		// reaches the portal.
		upserts := e.portal.Calls(nationalportal.ServiceUpsert, 200)
		all, err := np.StartBackfill(e.ctx, time.Time{}, "admin-1")
		if err != nil || all.ID == st.ID {
			t.Fatalf("second backfill = %+v, %v", all, err)
		}
		all = e.runBackfill(np, timers, disp, nil)
		if all.Total != 9 || all.Done != 9 || !all.Since.IsZero() {
			t.Fatalf("second backfill = %+v", all)
		}
		if n := e.portal.Calls(nationalportal.ServiceUpsert, 200) - upserts; n != 1 || e.portal.Upserts(before) != 1 {
			t.Fatalf("the second backfill sent %d upserts, want 1 (the dossier before the period)", n)
		}
	})
}

// A crash in the middle of a page (the context ends after the page was
// read, before its transaction commits), then a restart: the new node
// resumes at the stored cursor without listing the done pages again, and
// every dossier reaches the portal once.
func TestBackfillResumesAfterCrash(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newProvince(t, d)
		var codes []string
		for i := 0; i < 10; i++ {
			codes = append(codes, e.receive(fmt.Sprintf("Công dân %d", i)).Code)
			e.clock.Add(time.Minute)
		}
		spy := &listSpy{Dossiers: e.ds}
		np, _, disp := e.node(backfillConfig(spy))
		if _, err := np.StartBackfill(e.ctx, time.Time{}, "cli"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // count, then the first page
			if _, err := np.BackfillStep(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		first := spy.pageCursors(3)
		if len(first) != 1 || first[0] != "" {
			t.Fatalf("pages listed = %q", first)
		}

		ctx, cancel := context.WithCancel(e.ctx)
		spy.after = cancel
		e.clock.Add(time.Second)
		if _, err := np.BackfillStep(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("the crashed step: %v", err)
		}
		spy.after = nil
		crashed := spy.pageCursors(3)
		st, err := np.BackfillStatus(e.ctx)
		if err != nil || st.Enqueued != 3 || st.Pages != 1 || st.LastError == "" {
			t.Fatalf("after the crash: %+v, %v", st, err)
		}

		// The restart: another node (its own scheduler and dispatcher)
		// picks the backfill up from its timer.
		np2, timers2, disp2 := e.node(backfillConfig(spy))
		st = e.runBackfill(np2, timers2, disp2, nil)
		resumed := spy.pageCursors(3)
		if len(resumed) == 0 || resumed[0] != crashed[0] || slices.Contains(resumed, "") {
			t.Fatalf("pages listed after the restart = %q; want to start at %q and never list the first page again", resumed, crashed[0])
		}
		if st.Enqueued != 10 || st.Done != 10 || st.Pages != 4 {
			t.Fatalf("complete = %+v", st)
		}
		for _, c := range codes {
			if n := e.portal.Upserts(c); n != 1 {
				t.Errorf("%s reached the portal %d times, want once", c, n)
			}
		}
	})
}

// Cancelling stops the enqueueing; a failing sync request is counted as
// pending and its error shown on the backfill.
func TestBackfillCancelAndErrors(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newProvince(t, d)
		for i := 0; i < 5; i++ {
			e.receive(fmt.Sprintf("Công dân %d", i))
		}
		np, timers, disp := e.node(backfillConfig(nil))
		if _, err := np.StartBackfill(e.ctx, time.Time{}, "admin-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := timers.FireDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.portal.FailNext(1, 503)
		if _, err := disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		st, _ := np.BackfillStatus(e.ctx)
		if st.Pending != 1 || st.Done != 2 || st.LastError == "" {
			t.Fatalf("after a failed request: %+v", st)
		}
		st, err := np.CancelBackfill(e.ctx, "admin")
		if err != nil || st.State != nationalportal.BackfillCancelled || st.Active() {
			t.Fatalf("cancel = %+v, %v", st, err)
		}
		// Starting and stopping a backfill are in the audit log, by whom.
		entries, _, err := audit.List(e.ctx, e.d, audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		who := map[string]string{}
		for _, en := range entries {
			who[en.Action] = en.Actor
		}
		if who["nationalportal.backfill.start"] == "" || who["nationalportal.backfill.cancel"] != "admin" {
			t.Fatalf("audit of the backfill: %v", who)
		}
		for i := 0; i < 5; i++ {
			e.clock.Add(time.Hour)
			if _, err := timers.FireDue(e.ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := disp.Drain(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if st, _ = np.BackfillStatus(e.ctx); st.Enqueued != 3 || st.Done != 3 || st.Pending != 0 {
			t.Fatalf("after cancelling: %+v", st)
		}
		if n := len(e.portal.Dossiers()); n != 3 {
			t.Fatalf("the portal holds %d dossiers, want the 3 enqueued before cancelling", n)
		}
	})
}
