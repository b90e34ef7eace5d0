package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

func ids(items []workflow.WorkItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.CaseID)
	}
	return out
}

// Inboxes of §1's actors: the desk's queue, the handler's assigned work,
// near-breach and overdue slices, counts, and keyset paging.
func TestInboxes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for i := 1; i <= 5; i++ {
			e.start(workflow.OneStop, fmt.Sprintf("q%d", i))
		}
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.start(workflow.OneStop, "a1")
		e.receive("a1")
		e.do(workflow.Input{CaseID: "a1", Action: "assign", Actor: head, Assignee: handler.ID})
		e.start(workflow.OneStop, "h1")
		e.receive("h1") // waits for the division head; step due 15:00
		e.clock.Set(at(2026, 3, 3, 9, 0))
		e.start(workflow.OneStop, "a2")
		e.receive("a2")
		e.do(workflow.Input{CaseID: "a2", Action: "assign", Actor: head, Assignee: handler.ID})
		e.start(workflow.OneStop, "o1")
		e.receive("o1")
		e.do(workflow.Input{CaseID: "o1", Action: "assign", Actor: head, Assignee: handler2.ID})

		// The desk's queue: five unreceived cases, no deadline yet, paged by two.
		var seen []string
		q := workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: officer, Limit: 2}
		for pages := 0; ; pages++ {
			page, err := e.s.Inbox(e.ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if pages == 3 || len(page.Items) > 2 {
				t.Fatalf("paging runs away: page %d has %d items", pages, len(page.Items))
			}
			for _, it := range page.Items {
				if it.State != "checking" || !it.DueAt.IsZero() || it.Unit != desk || it.Ref != "H15.50-"+it.CaseID {
					t.Fatalf("queue item %+v", it)
				}
			}
			seen = append(seen, ids(page.Items)...)
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if want := []string{"q1", "q2", "q3", "q4", "q5"}; !slices.Equal(seen, want) {
			t.Fatalf("desk queue pages = %v, want %v", seen, want)
		}
		if _, err := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: officer, After: "!!"}); err == nil {
			t.Fatal("a broken cursor was accepted")
		}

		inbox := func(kind workflow.InboxKind, a workflow.Actor, now time.Time) []string {
			t.Helper()
			page, err := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: kind, Actor: a, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return ids(page.Items)
		}
		counts := func(a workflow.Actor, now time.Time) workflow.InboxCounts {
			t.Helper()
			c, err := e.s.InboxCounts(e.ctx, a, now)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if got := inbox(workflow.InboxAssigned, handler, time.Time{}); !slices.Equal(got, []string{"a1", "a2"}) {
			t.Fatalf("handler's assigned work = %v, want a1, a2 by deadline", got)
		}
		if got := inbox(workflow.InboxQueue, handler, time.Time{}); len(got) != 0 {
			t.Fatalf("handler's role queue = %v; assigned work is not in the queue", got)
		}
		if got := inbox(workflow.InboxQueue, head, time.Time{}); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("division head's queue = %v, want h1", got)
		}

		// a1 is due 16 March 17:00 (warning 13 March 16:30), a2 a day later.
		friday := at(2026, 3, 13, 17, 0)
		if got := inbox(workflow.InboxNearBreach, handler, friday); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("near breach on Friday = %v, want a1", got)
		}
		if got := inbox(workflow.InboxOverdue, head, friday); !slices.Equal(got, []string{"h1"}) {
			t.Fatalf("head's overdue = %v, want h1 (assignment step due 2 March)", got)
		}
		if c := counts(handler, friday); c != (workflow.InboxCounts{Assigned: 2, NearBreach: 1}) {
			t.Fatalf("handler's counts on Friday = %+v", c)
		}
		monday := at(2026, 3, 16, 17, 30)
		if got := inbox(workflow.InboxOverdue, handler, monday); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("overdue on Monday evening = %v, want a1", got)
		}
		if got := inbox(workflow.InboxNearBreach, handler, monday); !slices.Equal(got, []string{"a2"}) {
			t.Fatalf("near breach on Monday evening = %v, want a2", got)
		}
		if c := counts(officer, monday); c != (workflow.InboxCounts{Queue: 5}) {
			t.Fatalf("officer's counts = %+v", c)
		}
		if c := counts(head, monday); c != (workflow.InboxCounts{Queue: 1, Overdue: 1}) {
			t.Fatalf("head's counts = %+v", c)
		}
		// Moving a case moves its work: h1 assigned leaves the head's queue.
		e.do(workflow.Input{CaseID: "h1", Action: "assign", Actor: head, Assignee: handler.ID})
		if c := counts(head, monday); c.Queue != 0 {
			t.Fatalf("head's queue after assigning = %+v", c)
		}
		if got := inbox(workflow.InboxAssigned, handler, monday); !slices.Equal(got, []string{"a1", "h1", "a2"}) {
			t.Fatalf("handler's assigned work = %v", got)
		}
	})
}

// The inbox queries read index ranges, never the whole table, on a
// generated province-sized sample (the EXPLAIN notes of doc.go).
func TestInboxQueriesUseIndexes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		now := at(2026, 3, 10, 10, 0)
		if err := workflow.Generate(ctx, e.s, 6000, workflow.GenerateOptions{Now: now, Units: unitsN(12)}); err != nil {
			t.Fatal(err)
		}
		analyze(t, d)
		var n int
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM workflow_work_items`).Scan(&n); err != nil || n < 6000 {
			t.Fatalf("generated %d work items (%v), want at least 6000", n, err)
		}
		actor := workflow.Actor{ID: "U007-handler-2", Roles: map[string][]string{"U007": {"officer", "division_head"}, "U011": {"clerk"}}}
		for _, kind := range []workflow.InboxKind{workflow.InboxQueue, workflow.InboxAssigned, workflow.InboxNearBreach, workflow.InboxOverdue} {
			page, err := e.s.Inbox(ctx, workflow.InboxQuery{Kind: kind, Actor: actor, Now: now, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) == 0 {
				t.Fatalf("%s: empty on generated data", kind)
			}
			query, args, _ := e.s.InboxSQL(workflow.InboxQuery{Kind: kind, Actor: actor, Now: now, Limit: 20, After: page.Next})
			plan := explain(t, d, query, args)
			if d.Dialect() == db.SQLite {
				if strings.Contains(plan, "SCAN workflow_work_items") || !strings.Contains(plan, "USING COVERING INDEX workflow_items_") {
					t.Fatalf("%s plan scans the table:\n%s", kind, plan)
				}
			} else if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
				t.Fatalf("%s plan scans the table:\n%s", kind, plan)
			}
			t.Logf("%s plan:\n%s", kind, plan)
		}
	})
}

func unitsN(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("U%03d", i))
	}
	return out
}

func analyze(t testing.TB, d *db.DB) {
	t.Helper()
	if _, err := d.Write().ExecContext(context.Background(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
}

func explain(t testing.TB, d *db.DB, query string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN "
	if d.Dialect() == db.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := d.Read().QueryContext(context.Background(), prefix+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals[len(vals)-1])
	}
	return b.String()
}

// The leaders' overview: open, near-breach and overdue work per unit in one
// query, equal to counting the work items one by one.
func TestUnitLoads(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		units := []string{"U1", "U2", "U3"}
		if err := workflow.Generate(e.ctx, e.s, 400, workflow.GenerateOptions{Units: units[:2]}); err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		got, err := e.s.UnitLoads(e.ctx, append(units, "U9"), now)
		if err != nil {
			t.Fatal(err)
		}
		// Expected: every work item, with the inbox's own slices.
		want := map[string]*workflow.UnitLoad{}
		for _, u := range units {
			want[u] = &workflow.UnitLoad{Unit: u}
			for _, kind := range []workflow.InboxKind{workflow.InboxQueue, workflow.InboxNearBreach, workflow.InboxOverdue} {
				roles := []string{"officer", "division_head", "handler", "agency_head", "clerk"}
				c, err := e.s.InboxCounts(e.ctx, workflow.Actor{ID: "nobody", Roles: map[string][]string{u: roles}}, now)
				if err != nil {
					t.Fatal(err)
				}
				switch kind {
				case workflow.InboxQueue:
					want[u].Open += c.Queue
				case workflow.InboxNearBreach:
					want[u].NearBreach += c.NearBreach
				case workflow.InboxOverdue:
					want[u].Overdue += c.Overdue
				}
			}
		}
		// Assigned work belongs to its unit too.
		rows, err := d.Read().QueryContext(e.ctx, `SELECT unit, COUNT(*) FROM workflow_work_items WHERE assignee <> '' GROUP BY unit`)
		if err != nil {
			t.Fatal(err)
		}
		assigned := map[string]int{}
		for rows.Next() {
			var u string
			var n int
			rows.Scan(&u, &n)
			assigned[u] = n
		}
		rows.Close()
		total := 0
		for i, u := range append(units, "U9") {
			l := got[i]
			if l.Unit != u {
				t.Fatalf("loads out of order: %+v", got)
			}
			if u == "U3" || u == "U9" {
				if l.Open+l.NearBreach+l.Overdue != 0 {
					t.Fatalf("%s has no work but %+v", u, l)
				}
				continue
			}
			if l.Open != want[u].Open+assigned[u] {
				t.Errorf("%s open = %d, want %d queued + %d assigned", u, l.Open, want[u].Open, assigned[u])
			}
			if l.NearBreach < want[u].NearBreach || l.Overdue < want[u].Overdue {
				t.Errorf("%s = %+v; the queues alone have %d near breach, %d overdue", u, l, want[u].NearBreach, want[u].Overdue)
			}
			total += l.Open
		}
		if total == 0 {
			t.Fatal("no work counted at all")
		}
	})
}
