package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

func migrations() []db.Migration {
	var m []db.Migration
	m = append(m, outbox.Migrations()...)
	m = append(m, timer.Migrations()...)
	m = append(m, audit.Migrations()...)
	return append(m, workflow.Migrations()...)
}

var ict = time.FixedZone("ICT", 7*3600)

// at returns a wall-clock time in Vietnam.
func at(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, ict)
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

// The units of the tests: a one-stop desk, a division and the agency
// leadership, and three agencies consulted in the inter-agency process.
const (
	desk     = "DESK"
	division = "DIV"
	agency   = "AG"
)

var (
	officer    = workflow.Actor{ID: "officer-1", Roles: map[string][]string{desk: {"officer"}}}
	head       = workflow.Actor{ID: "head-1", Roles: map[string][]string{division: {"division_head"}}}
	handler    = workflow.Actor{ID: "handler-1", Roles: map[string][]string{division: {"handler"}}}
	handler2   = workflow.Actor{ID: "handler-2", Roles: map[string][]string{division: {"handler"}}}
	agencyHead = workflow.Actor{ID: "director-1", Roles: map[string][]string{agency: {"agency_head"}}}
	clerk      = workflow.Actor{ID: "clerk-1", Roles: map[string][]string{agency: {"clerk"}}}
)

var draft = []workflow.Attachment{{Name: "du-thao.pdf", Hash: "sha256-aa11", Size: 1234}}

type env struct {
	t     *testing.T
	d     *db.DB
	s     *workflow.Service
	clock *clock
	ctx   context.Context
}

// newEnv returns a service over d with the shipped definitions installed and
// the clock at Monday 2 March 2026, 08:00 in Vietnam.
func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	c := &clock{t: at(2026, 3, 2, 8, 0)}
	e := &env{t: t, d: d, s: workflow.New(d, workflow.Config{Now: c.Now}), clock: c, ctx: context.Background()}
	if err := e.s.InstallShipped(e.ctx); err != nil {
		t.Fatalf("install shipped definitions: %v", err)
	}
	return e
}

// start starts a case of def in the test units.
func (e *env) start(def, id string) *workflow.Case {
	e.t.Helper()
	var c *workflow.Case
	err := e.d.Tx(e.ctx, func(tx *db.Tx) error {
		var err error
		c, err = e.s.Start(e.ctx, tx, workflow.StartCase{CaseID: id, Ref: "H15.50-" + id, DefinitionKey: def,
			Units: map[string]string{"desk": desk}, Actor: officer})
		return err
	})
	if err != nil {
		e.t.Fatalf("start %s: %v", id, err)
	}
	return c
}

// do takes an action and fails the test if it is refused.
func (e *env) do(in workflow.Input) workflow.Result {
	e.t.Helper()
	res, err := e.s.Transition(e.ctx, in)
	if err != nil {
		e.t.Fatalf("%s on %s: %v", in.Action, in.CaseID, err)
	}
	return res
}

// refused takes an action that must fail with want; it returns the *Error.
func (e *env) refused(in workflow.Input, want error) *workflow.Error {
	e.t.Helper()
	_, err := e.s.Transition(e.ctx, in)
	if !errors.Is(err, want) {
		e.t.Fatalf("%s on %s: err = %v, want %v", in.Action, in.CaseID, err, want)
	}
	var we *workflow.Error
	if !errors.As(err, &we) {
		e.t.Fatalf("%s: error %T is not a *workflow.Error", in.Action, err)
	}
	if we.Code == "" || we.Reason == "" {
		e.t.Fatalf("%s: refusal without code or reason: %+v", in.Action, we)
	}
	return we
}

// receive takes a new case through reception to the given units.
func (e *env) receive(id string) workflow.Result {
	e.t.Helper()
	return e.do(workflow.Input{CaseID: id, Action: "receive", Actor: officer,
		Units: map[string]string{"division": division, "agency": agency}})
}

func (e *env) caseOf(id string) *workflow.Case {
	e.t.Helper()
	c, err := e.s.Case(e.ctx, id)
	if err != nil {
		e.t.Fatalf("case %s: %v", id, err)
	}
	return c
}

// timers returns the engine's pending timers of a case: key → due time.
func (e *env) timers(caseID string) map[string]time.Time {
	e.t.Helper()
	rows, err := e.d.Read().QueryContext(e.ctx, `SELECT timer_key, due_at FROM timers WHERE kind = $1 AND status = 'pending'`, workflow.TimerKind)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var due time.Time
		if err := rows.Scan(&k, &due); err != nil {
			e.t.Fatal(err)
		}
		if containsPart(k, caseID) {
			out[k] = due.UTC()
		}
	}
	return out
}

func containsPart(key, id string) bool {
	for i := 0; i+len(id) <= len(key); i++ {
		if key[i:i+len(id)] == id && (i == 0 || key[i-1] == ':') && (i+len(id) == len(key) || key[i+len(id)] == ':') {
			return true
		}
	}
	return false
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fireTimer runs the engine's handler on a pending timer as the scheduler
// would, with the clock at the timer's due time.
func (e *env) fireTimer(key string) {
	e.t.Helper()
	var t timer.Timer
	var payload string
	err := e.d.Read().QueryRowContext(e.ctx, `SELECT id, kind, timer_key, due_at, payload FROM timers WHERE kind = $1 AND timer_key = $2`,
		workflow.TimerKind, key).Scan(&t.ID, &t.Kind, &t.Key, &t.DueAt, &payload)
	if err != nil {
		e.t.Fatalf("timer %s: %v", key, err)
	}
	t.Payload = jsonRaw(payload)
	if e.clock.Now().Before(t.DueAt) {
		e.clock.Set(t.DueAt)
	}
	if err := e.s.HandleTimer(e.ctx, t); err != nil {
		e.t.Fatalf("fire %s: %v", key, err)
	}
}

// events returns the outbox events of a topic for a case, oldest first.
func (e *env) events(topic, caseID string) []outbox.Event {
	e.t.Helper()
	rows, err := e.d.Read().QueryContext(e.ctx, `SELECT id, topic, event_key, payload FROM outbox_events WHERE topic = $1 AND event_key = $2 ORDER BY id`, topic, caseID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []outbox.Event
	for rows.Next() {
		var ev outbox.Event
		var p string
		if err := rows.Scan(&ev.ID, &ev.Topic, &ev.Key, &p); err != nil {
			e.t.Fatal(err)
		}
		ev.Payload = jsonRaw(p)
		out = append(out, ev)
	}
	return out
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got.In(ict), want.In(ict))
	}
}

func jsonRaw(s string) json.RawMessage { return json.RawMessage(s) }
