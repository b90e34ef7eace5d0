package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// GenerateOptions shape the cases Generate creates.
type GenerateOptions struct {
	// DefinitionKey is the process of the cases (latest version); default
	// OneStop. It must be published.
	DefinitionKey string
	// Units spreads the cases; default 100 units "U001"…"U100". Every unit
	// slot of a case is the same unit.
	Units []string
	// HandlersPerUnit is how many people per unit work assigned steps
	// ("U001-handler-1"…); default 5.
	HandlersPerUnit int
	// Now is the reference time; default the service's clock. Deadlines fall
	// between 5 working days before and 25 days after it, so every inbox
	// (queue, assigned, near breach, overdue) has work.
	Now time.Time
	// Seed makes the data reproducible; default 1.
	Seed uint64
	// Prefix starts every case ID; default "gen-". Cases are numbered from
	// First (default 0).
	Prefix string
	First  int
	// Closed makes ended cases instead (returned, refused, withdrawn… in
	// the definition's final states), with no work items: the dossiers of
	// earlier years that stay in the tables.
	Closed bool
}

// Generate creates count open cases (or ended ones, with opt.Closed)
// directly in the tables (bulk inserts of
// 500 per statement, one transaction per batch), spread over the main-path
// states of the definition that people work (not forks, joins or final
// states), with consistent work items. It exists for benchmarks and load
// tests at the scale of a province (a million open cases): generated cases
// have no history, timers, outbox events or audit entries, but can be moved
// on with Transition like any other.
func Generate(ctx context.Context, s *Service, count int, opt GenerateOptions) error {
	if opt.DefinitionKey == "" {
		opt.DefinitionKey = OneStop
	}
	if len(opt.Units) == 0 {
		for i := 1; i <= 100; i++ {
			opt.Units = append(opt.Units, fmt.Sprintf("U%03d", i))
		}
	}
	if opt.HandlersPerUnit <= 0 {
		opt.HandlersPerUnit = 5
	}
	if opt.Now.IsZero() {
		opt.Now = s.now()
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.Prefix == "" {
		opt.Prefix = "gen-"
	}
	def, err := s.Definition(ctx, opt.DefinitionKey, 0)
	if err != nil {
		return err
	}
	var states []*State
	for i := range def.States {
		st := &def.States[i]
		_, inBranch := def.InBranch(st.Key)
		switch {
		case inBranch:
		case opt.Closed && st.Kind == KindFinal:
			states = append(states, st)
		case !opt.Closed && (st.Kind == KindNormal || st.Kind == KindPaused) && len(st.Roles) > 0:
			states = append(states, st)
		}
	}
	if len(states) == 0 {
		return fmt.Errorf("generate: definition %s has no states to put cases in", def.Key)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, uint64(opt.First)))
	now := ts(opt.Now)
	const batch = 500
	for done := 0; done < count; done += batch {
		n := min(batch, count-done)
		cases := make([]*caseRow, 0, n)
		var items [][]workItem
		for i := range n {
			c, its := generateCase(s, def, states, opt, rng, now, opt.First+done+i)
			cases = append(cases, c)
			items = append(items, its)
		}
		if err := s.db.Tx(ctx, func(tx *db.Tx) error { return insertGenerated(ctx, tx, now, cases, items) }); err != nil {
			return fmt.Errorf("generate cases %d–%d: %w", done, done+n, err)
		}
	}
	return nil
}

func generateCase(s *Service, def *Definition, states []*State, opt GenerateOptions, rng *rand.Rand, now time.Time, n int) (*caseRow, []workItem) {
	unit := opt.Units[rng.IntN(len(opt.Units))]
	st := states[rng.IntN(len(states))]
	day := 24 * time.Hour
	c := &caseRow{Case: Case{
		ID: fmt.Sprintf("%s%09d", opt.Prefix, n), Ref: fmt.Sprintf("%s-%s-%06d", unit, now.Format("060102"), n),
		DefinitionKey: def.Key, DefinitionVersion: def.Version, State: st.Key, Status: st.Status, Version: 1,
		Units: map[string]string{mainSlot: unit, "desk": unit, "division": unit, "agency": unit}, Unit: unit, SLA: def.SLA,
	}}
	c.StartedAt = ts(now.Add(-time.Duration(rng.Int64N(int64(20 * day)))))
	c.StateEnteredAt = ts(now.Add(-time.Duration(rng.Int64N(int64(2 * day)))))
	c.stateVisit = 1
	if st.ForAssignee {
		c.Assignee = fmt.Sprintf("%s-handler-%d", unit, 1+rng.IntN(opt.HandlersPerUnit))
	}
	if def.ClockStarts == "" || st.Key != def.Initial {
		c.ClockStartedAt = c.StartedAt.Add(time.Hour)
		c.DueAt = ts(now.Add(-5*day + time.Duration(rng.Int64N(int64(30*day)))))
	}
	if st.SLA != nil {
		c.StateDueAt = ts(now.Add(-day + time.Duration(rng.Int64N(int64(3*day)))))
	}
	if st.Kind == KindPaused {
		c.PausedAt, c.pauseSeq = c.StateEnteredAt, 1
	}
	if st.Key == def.ClockStops && !c.ClockStartedAt.IsZero() {
		c.FinishedAt = c.StateEnteredAt
	}
	if st.Kind == KindFinal {
		// Ended months or years ago, within its time.
		c.StartedAt = ts(now.Add(-time.Duration(30+rng.Int64N(700)) * day))
		c.ClockStartedAt = c.StartedAt.Add(time.Hour)
		c.DueAt = c.StartedAt.Add(14 * day)
		c.FinishedAt = c.StartedAt.Add(time.Duration(1+rng.Int64N(13)) * day)
		c.StateEnteredAt, c.EndedAt, c.StateDueAt = c.FinishedAt, c.FinishedAt, time.Time{}
		c.Outcome = st.Key
		return c, nil
	}
	x := &txn{s: s, def: def, c: c}
	return c, x.mainItems()
}

func insertGenerated(ctx context.Context, tx *db.Tx, now time.Time, cases []*caseRow, items [][]workItem) error {
	if tx.Dialect == db.SQLite {
		return insertGeneratedSQLite(ctx, tx, now, cases, items)
	}
	var b strings.Builder
	args := make([]any, 0, len(cases)*28)
	b.WriteString(`INSERT INTO workflow_cases (` + caseColumns + `, updated_at) VALUES `)
	for i, c := range cases {
		if i > 0 {
			b.WriteString(", ")
		}
		row := generatedCaseRow(c, now)
		b.WriteString(placeholderRow(len(args), len(row)))
		args = append(args, row...)
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return err
	}
	b.Reset()
	args = args[:0]
	b.WriteString(`INSERT INTO workflow_work_items (` + itemColumns + `) VALUES `)
	first := true
	for i, c := range cases {
		for _, it := range items[i] {
			if !first {
				b.WriteString(", ")
			}
			first = false
			row := generatedItemRow(c, it)
			b.WriteString(placeholderRow(len(args), len(row)))
			args = append(args, row...)
		}
	}
	if first {
		return nil
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// insertGeneratedSQLite inserts row by row through prepared statements with
// positional parameters: the SQLite driver binds parameters in time
// quadratic in their number, so large multi-row statements are slower there.
func insertGeneratedSQLite(ctx context.Context, tx *db.Tx, now time.Time, cases []*caseRow, items [][]workItem) error {
	qs := func(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
	cs, err := tx.PrepareContext(ctx, `INSERT INTO workflow_cases (`+caseColumns+`, updated_at) VALUES (`+qs(28)+`)`)
	if err != nil {
		return err
	}
	defer cs.Close()
	is, err := tx.PrepareContext(ctx, `INSERT INTO workflow_work_items (`+itemColumns+`) VALUES (`+qs(12)+`)`)
	if err != nil {
		return err
	}
	defer is.Close()
	for i, c := range cases {
		if _, err := cs.ExecContext(ctx, generatedCaseRow(c, now)...); err != nil {
			return err
		}
		for _, it := range items[i] {
			if _, err := is.ExecContext(ctx, generatedItemRow(c, it)...); err != nil {
				return err
			}
		}
	}
	return nil
}

func generatedCaseRow(c *caseRow, now time.Time) []any {
	units, _ := json.Marshal(c.Units)
	sla := ""
	if c.SLA != nil {
		s, _ := json.Marshal(c.SLA)
		sla = string(s)
	}
	return []any{c.ID, c.Ref, c.DefinitionKey, c.DefinitionVersion, c.State, c.Status, c.Version, string(units), c.Unit, c.Assignee, c.Outcome, sla,
		c.StartedAt, nullTime(c.ClockStartedAt), nullTime(c.FinishedAt), nullTime(c.EndedAt), nullTime(c.DueAt), c.StateEnteredAt, c.stateVisit, nullTime(c.StateDueAt),
		nullTime(c.PausedAt), c.pauseSeq, int64(0), "", nil, int64(0), 0, now}
}

func generatedItemRow(c *caseRow, it workItem) []any {
	return []any{c.ID, it.branch, it.role, it.state, it.unit, it.assignee, orNoDeadline(it.due), orNoDeadline(it.warn), it.entered, it.status, c.Ref, c.DefinitionKey}
}

// placeholderRow returns "($n+1, …, $n+k)".
func placeholderRow(n, k int) string {
	var b strings.Builder
	b.WriteByte('(')
	for j := 1; j <= k; j++ {
		if j > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", n+j)
	}
	b.WriteByte(')')
	return b.String()
}
