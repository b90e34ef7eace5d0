package dossier_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// Issue 3: a retried request never creates a second dossier: the same key
// and request answer the first receipt (also when the retries race), the
// same key with another request is refused.
func TestIdempotentReceive(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		in := dossier.ReceiveInput{Submission: e.completeSubmission("Mai Thị Lan"), Placement: placement, Actor: officer,
			IdempotencyKey: "quay-3:2026-03-02:0042"}
		first, err := e.s.Receive(e.ctx, in)
		if err != nil || first.Replayed {
			t.Fatalf("first receive: %+v, %v", first, err)
		}
		e.clock.Set(at(2026, 3, 2, 11, 0)) // the retry comes later
		again, err := e.s.Receive(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Replayed || again.Code != first.Code || !again.DueAt.Equal(first.DueAt) || again.Version != first.Version {
			t.Fatalf("retry = %+v; want the first receipt %+v, replayed", again, first)
		}

		other := in
		other.Applicant.Name = "Mai Thị Lan Anh"
		if _, err := e.s.Receive(e.ctx, other); !errors.Is(err, dossier.ErrIdempotencyKeyReused) {
			t.Fatalf("same key, other request: %v; want ErrIdempotencyKeyReused", err)
		}

		// Ten retries racing with a new key: one dossier.
		in.IdempotencyKey = "quay-3:2026-03-02:0043"
		codes := make([]string, 10)
		errs := make([]error, 10)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc, err := e.s.Receive(e.ctx, in)
				codes[i], errs[i] = rc.Code, err
			}()
		}
		wg.Wait()
		for i := range codes {
			if errs[i] != nil || codes[i] != codes[0] {
				t.Fatalf("racing retry %d: %q, %v; want %q", i, codes[i], errs[i], codes[0])
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM dossiers`); n != 2 {
			t.Fatalf("%d dossiers, want 2 (one per key)", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox_events WHERE topic = $1`, dossier.TopicReceived); n != 2 {
			t.Fatalf("%d received events, want 2", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, dossier.AuditReceive); n != 2 {
			t.Fatalf("%d reception audit entries, want 2", n)
		}

		// Keys are purged after their retention; the dossiers stay.
		if n, err := e.s.PurgeIdempotencyKeys(e.ctx, at(2026, 3, 2, 8, 0)); err != nil || n != 0 {
			t.Fatalf("purge before any key: %d, %v", n, err)
		}
		if n, err := e.s.PurgeIdempotencyKeys(e.ctx, at(2026, 3, 9, 0, 0)); err != nil || n != 2 {
			t.Fatalf("purge a week later: %d, %v; want the 2 keys", n, err)
		}
	})
}

// Issue 3: a retried action is applied once: the retry answers the first
// result even after the dossier moved on.
func TestIdempotentAct(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Đỗ Văn Minh")
		in := dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID,
			ExpectedVersion: rc.Version, IdempotencyKey: "7f1c2e"}
		first := e.act(in)
		again := e.act(in)
		if !again.Replayed || again.Version != first.Version || again.State != "appraising" {
			t.Fatalf("retry = %+v; want the first result %+v", again, first)
		}
		// The dossier moves on; the retry still answers the same.
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "reassign", Actor: head, Assignee: handler2.PersonID})
		if late := e.act(in); !late.Replayed || late.Version != first.Version || late.Assignee != handler.PersonID {
			t.Fatalf("late retry = %+v", late)
		}
		if n := e.count(`SELECT COUNT(*) FROM workflow_history WHERE case_id = $1 AND action = 'assign'`, rc.CaseID); n != 1 {
			t.Fatalf("assign applied %d times, want once", n)
		}
		// Same key for another action, or by someone else's retry of a
		// different request: refused.
		in.Action, in.Assignee = "reassign", handler2.PersonID
		if _, err := e.s.Act(e.ctx, in); !errors.Is(err, dossier.ErrIdempotencyKeyReused) {
			t.Fatalf("same key, other action: %v", err)
		}
		// Keys belong to their actor: another person's key does not collide.
		res := e.act(dossier.ActInput{DossierCode: rc.Code, Action: "extend", Actor: handler2, Comment: "Chờ ý kiến",
			NewDue: at(2026, 3, 20, 17, 0), IdempotencyKey: "7f1c2e"})
		if res.Replayed {
			t.Fatalf("another actor's key replayed %+v", res)
		}
		bad := dossier.ActInput{DossierCode: rc.Code, Action: "extend", Actor: handler2, IdempotencyKey: "khóa có dấu"}
		if _, err := e.s.Act(e.ctx, bad); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("malformed key: %v", err)
		}
	})
}
