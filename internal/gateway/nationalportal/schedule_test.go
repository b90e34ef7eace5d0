package nationalportal_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/timer"
)

// fireAll fires the due timers of several nodes at the same time.
func (e *env) fireAll(schedulers ...*timer.Scheduler) {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(schedulers))
	for i, s := range schedulers {
		wg.Go(func() { _, errs[i] = s.FireDue(e.ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) reconciliationRuns() int {
	e.t.Helper()
	var n int
	if err := e.d.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM nationalportal_runs`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// one-stop §12 "reconciliation job": the schedule is kept in the database.
// Two nodes on one database run each reconciliation once; after a restart
// that missed runs, it runs once at start, over the days it missed, and then
// at the interval; a failure is retried 15 minutes later.
func TestScheduledReconciliation(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var codes []string
		for _, n := range []string{"Công dân 1", "Công dân 2"} {
			codes = append(codes, e.receive(n).Code)
		}
		e.drain()
		a, ta := e.np, e.timers
		b, tb, _ := e.node(nil)
		if st, err := a.ReconcileSchedule(e.ctx); err != nil || !st.Enabled || !st.NextRunAt.IsZero() || st.IntervalSeconds != 86400 {
			t.Fatalf("before scheduling: %+v, %v", st, err)
		}
		for _, np := range []*nationalportal.Service{a, b} {
			if err := np.ScheduleReconciliation(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		start := e.clock.Now()
		e.fireAll(ta, tb)
		e.fireAll(ta, tb)
		st, err := b.ReconcileSchedule(e.ctx)
		if err != nil || e.reconciliationRuns() != 1 || st.Runs != 1 || !st.LastOK || st.Running {
			t.Fatalf("after the first firing: %d reports, %+v, %v", e.reconciliationRuns(), st, err)
		}
		if !st.LastFrom.Equal(at(2026, 3, 1, 0, 0)) || !st.LastTo.Equal(at(2026, 3, 2, 0, 0)) || !st.NextRunAt.Equal(start.Add(24*time.Hour)) {
			t.Fatalf("first run: %+v", st)
		}
		for _, np := range []*nationalportal.Service{a, b} {
			if _, ran, err := np.ReconcileIfDue(e.ctx); ran || err != nil {
				t.Fatalf("ran again before it was due: %v", err)
			}
		}
		e.clock.Add(23 * time.Hour)
		e.fireAll(ta, tb)
		if n := e.reconciliationRuns(); n != 1 {
			t.Fatalf("%d reports an hour before the next run", n)
		}

		// Everything stops for three days; two new nodes start.
		e.clock.t = at(2026, 3, 5, 10, 0)
		c, tc, _ := e.node(nil)
		dn, td, _ := e.node(nil)
		for _, np := range []*nationalportal.Service{c, dn} {
			if err := np.ScheduleReconciliation(e.ctx); err != nil {
				t.Fatal(err)
			}
		}
		e.portal.Tamper(codes[0], func(h *dvcqg.HoSo) { h.TrangThaiHoSo = 9 })
		e.fireAll(tc, td)
		e.fireAll(tc, td)
		st, _ = c.ReconcileSchedule(e.ctx)
		if n := e.reconciliationRuns(); n != 2 || st.Runs != 2 {
			t.Fatalf("after the restart: %d reports, %+v", n, st)
		}
		rep, err := c.LastReport(e.ctx)
		if err != nil || rep.ID != st.LastReportID || !rep.From.Equal(at(2026, 3, 2, 0, 0)) || !rep.To.Equal(at(2026, 3, 5, 0, 0)) ||
			rep.Ours != 2 || len(rep.Mismatches) != 1 || st.LastMismatches != 1 {
			t.Fatalf("catch-up report = %+v, %v (schedule %+v)", rep, err, st)
		}
		if !st.NextRunAt.Equal(at(2026, 3, 6, 10, 0)) {
			t.Fatalf("next run = %s", st.NextRunAt)
		}

		// The portal fails at the next run: retried 15 minutes later.
		e.clock.t = at(2026, 3, 6, 10, 0)
		e.portal.FailNext(1, http.StatusServiceUnavailable)
		e.fireAll(tc, td)
		st, _ = c.ReconcileSchedule(e.ctx)
		if st.LastOK || st.LastError == "" || st.Runs != 3 || !st.NextRunAt.Equal(at(2026, 3, 6, 10, 15)) || e.reconciliationRuns() != 2 {
			t.Fatalf("after a failure: %+v", st)
		}
		// Both nodes ask at the same time, without the timer: one runs it.
		e.clock.Add(15 * time.Minute)
		var wg sync.WaitGroup
		ran := make([]bool, 2)
		for i, np := range []*nationalportal.Service{c, dn} {
			wg.Go(func() {
				var err error
				if _, ran[i], err = np.ReconcileIfDue(e.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ran[0] == ran[1] {
			t.Fatalf("ran on nodes: %v, want exactly one", ran)
		}
		e.fireAll(tc, td)
		st, _ = c.ReconcileSchedule(e.ctx)
		if !st.LastOK || st.Runs != 4 || e.reconciliationRuns() != 3 || !st.LastFrom.Equal(at(2026, 3, 5, 0, 0)) {
			t.Fatalf("after the retry: %+v", st)
		}

		// A shorter interval moves the next run.
		f, _, _ := e.node(func(c *nationalportal.Config) { c.ReconcileInterval = 6 * time.Hour })
		if err := f.ScheduleReconciliation(e.ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ = f.ReconcileSchedule(e.ctx); !st.NextRunAt.Equal(at(2026, 3, 6, 16, 15)) || st.IntervalSeconds != 6*3600 {
			t.Fatalf("after a new interval: %+v", st)
		}
	})
}
