package stats

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// GenerateOptions describes a synthetic history for benchmarks and demos:
// 60% of dossiers online, 35% at the counter, 5% by post; 8% wait for a
// supplement and 4% for a payment; 1% are never finished, 2% withdrawn,
// 1% stopped; the others resolved early (60%), on the due day (25%) or
// late (15%), and 90% of those returned.
// Zero fields take the defaults.
type GenerateOptions struct {
	// Dossiers is how many dossiers are received (default 5,000,000).
	Dossiers int
	// Agencies and Fields set the groups (default 50 agencies, 30 fields);
	// agencies are named "000.00.NN.H99" and fields "LVNN".
	Agencies, Fields int
	// From and To bound the reception days [From, To) (default 2024-01-01
	// to 2026-01-01). Midnight starting To is "now": nothing happens after
	// it, so dossiers received near the end are still open.
	From, To calendar.Date
	// Seed makes the history reproducible.
	Seed uint64
	// Calendar gives working days for due dates (default calendar.Default()).
	Calendar *calendar.Calendar
}

// GenerateResult says what Generate wrote.
type GenerateResult struct {
	Dossiers int
	Events   int
	// Rows is the number of flow rows written, all levels together.
	Rows int
}

// Agency is the e-ID of the i-th (from 0) synthetic agency of Generate.
func Agency(i int) string { return fmt.Sprintf("000.00.%02d.H99", i+1) }

// FieldCode is the code of the i-th (from 0) synthetic field of Generate.
func FieldCode(i int) string { return fmt.Sprintf("LV%02d", i+1) }

// Generate writes the flow rows of a synthetic history (no per-dossier
// state): each dossier's events (reception online or offline, some
// supplement or fee pauses, withdrawal, stop, resolution early, on time or
// late, return) go through the same state machine as [Service.Apply], and
// the counters are written directly, adding to what the tables hold. It
// then refreshes the planner's statistics (ANALYZE).
func Generate(ctx context.Context, d *db.DB, opt GenerateOptions) (GenerateResult, error) {
	if opt.Dossiers <= 0 {
		opt.Dossiers = 5_000_000
	}
	if opt.Agencies <= 0 {
		opt.Agencies = 50
	}
	if opt.Fields <= 0 {
		opt.Fields = 30
	}
	if opt.From.IsZero() {
		opt.From = calendar.Date{Year: 2024, Month: 1, Day: 1}
	}
	if opt.To.IsZero() {
		opt.To = calendar.Date{Year: 2026, Month: 1, Day: 1}
	}
	if opt.Calendar == nil {
		opt.Calendar = calendar.Default()
	}
	if !opt.To.After(opt.From) {
		return GenerateResult{}, fmt.Errorf("generate statistics: To %s is not after From %s", opt.To, opt.From)
	}
	g := &generator{opt: opt, cal: opt.Calendar, loc: opt.Calendar.Location(), rnd: rand.New(rand.NewPCG(opt.Seed, 0x636f6e67736f))}
	g.start, g.end = opt.From.In(g.loc), opt.To.In(g.loc)
	g.days = int(g.end.Sub(g.start).Hours()/24 + 0.5)
	groups := opt.Agencies * opt.Fields
	var res GenerateResult
	// Counters per level, period and group, written afterwards in primary
	// key order (period, agency, field): appending to the B-trees is much
	// faster than inserting group after group.
	byLevel := make([]map[int32][][nCols]int32, len(levels))
	for i := range byLevel {
		byLevel[i] = map[int32][][nCols]int32{}
	}
	for gi := range groups {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := opt.Dossiers / groups
		if gi < opt.Dossiers%groups {
			n++
		}
		for range n {
			g.dossier(gi%opt.Fields, func(e entry) {
				for i, lv := range levels {
					p := lv.period(e.day)
					rows := byLevel[i][p]
					if rows == nil {
						rows = make([][nCols]int32, groups)
						byLevel[i][p] = rows
					}
					rows[gi][e.col] += int32(e.n)
				}
			})
		}
		res.Dossiers += n
	}
	var buf []flowRow
	for i, lv := range levels {
		periods := slices.Sorted(maps.Keys(byLevel[i]))
		for j, p := range periods {
			for gi, c := range byLevel[i][p] {
				if c == ([nCols]int32{}) {
					continue
				}
				r := flowRow{period: p, agency: Agency(gi / opt.Fields), field: FieldCode(gi % opt.Fields)}
				for k, v := range c {
					r.c[k] = int64(v)
				}
				buf = append(buf, r)
			}
			if len(buf) < 20000 && j < len(periods)-1 {
				continue
			}
			if err := d.Tx(ctx, func(tx *db.Tx) error { return insertRows(ctx, tx, lv.table, buf) }); err != nil {
				return res, fmt.Errorf("generate statistics: %w", err)
			}
			res.Rows += len(buf)
			buf = buf[:0]
		}
	}
	res.Events = g.events
	for _, lv := range levels {
		if _, err := d.Write().ExecContext(ctx, "ANALYZE "+lv.table); err != nil {
			return res, fmt.Errorf("generate statistics: analyze: %w", err)
		}
	}
	return res, nil
}

type generator struct {
	opt        GenerateOptions
	cal        *calendar.Calendar
	loc        *time.Location
	rnd        *rand.Rand
	start, end time.Time
	days       int
	events     int
	st         dossierState
	l          ledger
}

// durations are the statutory durations in working days, by field.
var durations = []int{1, 3, 5, 7, 10, 15, 20}

func (g *generator) hours(lo, hi float64) time.Duration {
	return time.Duration((lo + g.rnd.Float64()*(hi-lo)) * float64(time.Hour))
}

// dossier simulates one dossier of field f and passes its entries to out.
func (g *generator) dossier(f int, out func(entry)) {
	r := g.rnd
	day := g.start.AddDate(0, 0, r.IntN(g.days))
	for !g.cal.IsWorkingDay(day) && day.Before(g.end) {
		day = day.AddDate(0, 0, 1)
	}
	recv := day.Add(7*time.Hour + 30*time.Minute + g.hours(0, 9))
	ch := dossier.ChannelOnline
	switch x := r.Float64(); {
	case x < 0.35:
		ch = dossier.ChannelCounter
	case x < 0.40:
		ch = dossier.ChannelPost
	}
	dur := durations[f%len(durations)]
	due := g.cal.AddWorkingDays(recv, dur)
	g.st = dossierState{}
	g.l = ledger{loc: g.loc, entries: g.l.entries[:0]}
	defer func() {
		for _, e := range g.l.entries {
			out(e)
		}
	}()
	ev := dossier.Event{Code: "x", Channel: ch, ReceivedAt: recv, DueAt: due}
	v := int64(1)
	emit := func(status dossier.Status, from, to string, at time.Time) bool {
		if !at.Before(g.end) {
			return false
		}
		v++
		ev.Version, ev.Status, ev.From, ev.To, ev.At = v, status, from, to, at
		g.st.apply(&ev, &g.l)
		g.events++
		return true
	}
	if !emit(dossier.StatusReceived, "checking", "assigning", recv) {
		return
	}
	t := recv
	span := float64(dur*24 + 8)
	for _, p := range []struct {
		prob   float64
		status dossier.Status
		state  string
	}{{0.08, dossier.StatusSupplement, "supplement"}, {0.04, dossier.StatusAwaitingPayment, "awaiting_payment"}} {
		if r.Float64() >= p.prob {
			continue
		}
		t = t.Add(g.hours(2, span/2))
		ev.Paused = true
		if !emit(p.status, "appraising", p.state, t) {
			return
		}
		pause := g.hours(4, 7*24)
		t = t.Add(pause)
		ev.Paused = false
		ev.DueAt = ev.DueAt.Add(pause)
		if !emit(dossier.StatusProcessing, p.state, "appraising", t) {
			return
		}
	}
	due = ev.DueAt
	if r.Float64() < 0.01 {
		return // forgotten: still open, soon overdue
	}
	if x := r.Float64(); x < 0.03 {
		status, state := dossier.StatusWithdrawn, "withdrawn"
		if x >= 0.02 {
			status, state = dossier.StatusStopped, "stopped"
		}
		t = t.Add(g.hours(1, span))
		ev.Ended, ev.FinishedAt = true, t
		emit(status, "appraising", state, t)
		return
	}
	var fin time.Time
	switch x := r.Float64(); {
	case x < 0.60:
		fin = due.Add(-g.hours(24, span+24))
	case x < 0.85:
		fin = due.Add(-g.hours(0, 2))
	default:
		fin = due.Add(g.hours(1, 240))
	}
	fin = later(fin, t.Add(time.Hour))
	ev.FinishedAt = fin
	if !emit(dossier.StatusResultReady, "issuing", "returning", fin) {
		return
	}
	if r.Float64() < 0.9 {
		ev.Ended = true
		emit(dossier.StatusReturned, "returning", "returned", fin.Add(g.hours(0.5, 120)))
	}
}
