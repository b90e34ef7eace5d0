package stats_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

var loc = calendar.Default().Location()

// at returns a wall-clock time in Vietnam.
func at(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, loc)
}

func date(y int, mo time.Month, d int) calendar.Date {
	return calendar.Date{Year: y, Month: mo, Day: d}
}

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type env struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	s     *stats.Service
	clock *clock
}

func newEnv(t testing.TB, d *db.DB, now time.Time) *env {
	c := &clock{t: now}
	return &env{t: t, ctx: context.Background(), d: d, s: stats.New(d, stats.Config{Now: c.Now}), clock: c}
}

// apply applies each event in its own transaction.
func (e *env) apply(evs ...dossier.Event) {
	e.t.Helper()
	for _, ev := range evs {
		if err := e.d.Tx(e.ctx, func(tx *db.Tx) error { return e.s.Apply(e.ctx, tx, ev) }); err != nil {
			e.t.Fatalf("apply %s v%d: %v", ev.Code, ev.Version, err)
		}
	}
}

func (e *env) report(q stats.Query) *stats.Report {
	e.t.Helper()
	rep, err := e.s.Report(e.ctx, q)
	if err != nil {
		e.t.Fatalf("report %+v: %v", q, err)
	}
	return rep
}

// row returns the counts of a report's row (zero if absent).
func row(rep *stats.Report, agency, field string) stats.Counts {
	for _, r := range rep.Rows {
		if r.Agency == agency && r.Field == field {
			return r.Counts
		}
	}
	return stats.Counts{}
}

func rate(v float64) *float64 { return &v }

// sameCounts fails unless got equals want (the rate compared by value).
func sameCounts(t testing.TB, what string, got, want stats.Counts) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// balanced checks the identity every row obeys.
func balanced(t testing.TB, rep *stats.Report) {
	t.Helper()
	for _, r := range append(rep.Rows, stats.Row{Agency: "total", Counts: rep.Total}) {
		c := r.Counts
		if c.CarriedOver+c.Received != c.Resolved+c.Withdrawn+c.Stopped+c.Pending {
			t.Fatalf("%s/%s: carried %d + received %d != resolved %d + withdrawn %d + stopped %d + pending %d",
				r.Agency, r.Field, c.CarriedOver, c.Received, c.Resolved, c.Withdrawn, c.Stopped, c.Pending)
		}
		if c.Pending != c.PendingWithinTime+c.PendingOverdue+c.PausedSupplement+c.PausedFee || c.PendingWithinTime < 0 ||
			c.PendingOverdue < 0 {
			t.Fatalf("%s/%s: pending %d is not within %d + overdue %d + paused %d + %d", r.Agency, r.Field, c.Pending,
				c.PendingWithinTime, c.PendingOverdue, c.PausedSupplement, c.PausedFee)
		}
	}
}

// story builds the events of one dossier, numbering versions.
type story struct {
	ev  dossier.Event
	out []dossier.Event
}

func newStory(code, agency, field string, ch dossier.Channel) *story {
	return &story{ev: dossier.Event{Code: code, CaseID: code, ProcedureCode: "1.000775", FieldCode: field, Channel: ch,
		ReceivingAgency: "000.00.13.H99", CompetentAgency: agency, Unit: agency, Version: 1}}
}

func (s *story) step(action, from, to string, st dossier.Status, t time.Time) *story {
	s.ev.Version++
	s.ev.Action, s.ev.From, s.ev.To, s.ev.Status, s.ev.NationalStatus, s.ev.At = action, from, to, st, dossier.NationalStatus(st), t
	s.ev.Paused = st == dossier.StatusSupplement || st == dossier.StatusAwaitingPayment || st == dossier.StatusSupplementRequested
	switch st {
	case dossier.StatusReturned, dossier.StatusArchived, dossier.StatusWithdrawn, dossier.StatusStopped, dossier.StatusRefused:
		s.ev.Ended = true
		if s.ev.FinishedAt.IsZero() {
			s.ev.FinishedAt = t
		}
	case dossier.StatusResultReady:
		s.ev.FinishedAt = t
	}
	s.out = append(s.out, s.ev)
	return s
}

// submit records an online submission (version 1).
func (s *story) submit(t time.Time) *story {
	s.ev.Version = 0
	return s.step("start", "", "checking", dossier.StatusNew, t)
}

// receive receives the dossier at t with the given due time.
func (s *story) receive(t, due time.Time) *story {
	s.ev.ReceivedAt, s.ev.DueAt = t, due
	return s.step("receive", "checking", "assigning", dossier.StatusReceived, t)
}

func (s *story) assign(t time.Time) *story {
	return s.step("assign", "assigning", "appraising", dossier.StatusProcessing, t)
}

func (s *story) supplement(t time.Time) *story {
	return s.step("request_supplement", "appraising", "supplement", dossier.StatusSupplement, t)
}

func (s *story) payment(t time.Time) *story {
	return s.step("request_payment", "appraising", "awaiting_payment", dossier.StatusAwaitingPayment, t)
}

// resume ends a pause at t; the due time moves to due.
func (s *story) resume(t, due time.Time) *story {
	s.ev.DueAt = due
	return s.step("supplement_received", s.ev.To, "appraising", dossier.StatusProcessing, t)
}

func (s *story) extend(t, due time.Time) *story {
	s.ev.DueAt = due
	return s.step("extend", s.ev.To, s.ev.To, s.ev.Status, t)
}

func (s *story) resolve(t time.Time) *story {
	return s.step("issue", "issuing", "returning", dossier.StatusResultReady, t)
}

func (s *story) ret(t time.Time) *story {
	return s.step("return", "returning", "returned", dossier.StatusReturned, t)
}

func (s *story) withdraw(t time.Time) *story {
	return s.step("withdraw", s.ev.To, "withdrawn", dossier.StatusWithdrawn, t)
}

func (s *story) stop(t time.Time) *story {
	return s.step("stop", s.ev.To, "stopped", dossier.StatusStopped, t)
}

func (s *story) refuse(t time.Time) *story {
	return s.step("refuse", "checking", "refused", dossier.StatusRefused, t)
}
