package identity_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// auditLog records the events of committed transactions only.
type auditLog struct {
	mu     sync.Mutex
	events []identity.AuditEvent
}

func (a *auditLog) Append(ctx context.Context, tx *db.Tx, e identity.AuditEvent) error {
	tx.AfterCommit(func() {
		a.mu.Lock()
		a.events = append(a.events, e)
		a.mu.Unlock()
	})
	return nil
}

// find returns the committed events with action.
func (a *auditLog) find(action string) []identity.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []identity.AuditEvent
	for _, e := range a.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

type fixture struct {
	svc   *identity.Service
	db    *db.DB
	clock *clock
	audit *auditLog
}

func newFixture(t *testing.T, d *db.DB, tweak ...func(*identity.Config)) *fixture {
	t.Helper()
	f := &fixture{db: d, clock: newClock(), audit: &auditLog{}}
	cfg := identity.Config{Audit: f.audit, Now: f.clock.Now, PasswordParams: identity.CheapPasswordParams}
	for _, fn := range tweak {
		fn(&cfg)
	}
	svc, err := identity.NewService(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

const goodPassword = "Hoa sen nở giữa đầm 2026"

// person creates an official with goodPassword.
func (f *fixture) person(t *testing.T, username, name string) identity.Person {
	t.Helper()
	p, err := f.svc.CreatePerson(context.Background(), nil, identity.NewPerson{
		Kind: identity.KindOfficial, Username: username, FullName: name, Password: goodPassword})
	if err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return p
}

// login signs in and fails the test on error.
func (f *fixture) login(t *testing.T, username, password string) (*identity.Principal, string) {
	t.Helper()
	p, token, err := f.svc.Authenticate(context.Background(), username, password, identity.Client{IP: "203.0.113.7", UserAgent: "test"})
	if err != nil {
		t.Fatalf("authenticate %s: %v", username, err)
	}
	return p, token
}

// sysadmin creates a person with a province-wide sysadmin grant.
func (f *fixture) sysadmin(t *testing.T, username string) identity.Person {
	t.Helper()
	p := f.person(t, username, "Quản Trị Viên "+username)
	if _, err := f.svc.Grant(context.Background(), nil, p.ID, identity.RoleSysadmin, identity.ProvinceWide); err != nil {
		t.Fatal(err)
	}
	return p
}
