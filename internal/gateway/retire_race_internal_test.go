package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db/dbtest"
)

// A node that starts while retire runs (here while retire waits for the
// message log head's lock, as the node's own Sign holds it) keeps its
// heartbeat row and the slots of its calls, and retire says it is running.
func TestRetireLeavesANodeThatStartsMeanwhile(t *testing.T) {
	d := dbtest.Postgres(t, Migrations())
	ctx := context.Background()
	twoSignedBatches(t, d)
	for _, q := range []string{`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND first_seq > 10`,
		`UPDATE gateway_msglog_head SET signed_seq = 10 WHERE node = 'n1'`} {
		_, err := d.Write().ExecContext(ctx, q)
		check(t, err)
	}
	// n1's last heartbeat, an hour ago (its clock right).
	_, err := d.Write().ExecContext(ctx, `INSERT INTO gateway_nodes (node, started_at, seen_at, revision, process) VALUES ('n1', $1, $2, 0, 'p-old')`,
		time.Now().Add(-2*time.Hour).UTC(), time.Now().Add(-time.Hour).UTC())
	check(t, err)

	lock, err := d.Write().BeginTx(ctx, nil)
	check(t, err)
	defer lock.Rollback() // (a test that stops early must not leave it held)
	var seq int64
	check(t, lock.QueryRowContext(ctx, `SELECT seq FROM gateway_msglog_head WHERE node = 'n1' FOR UPDATE`).Scan(&seq))
	errc := make(chan error, 1)
	go func() {
		_, err := RetireNode(ctx, d, "n1", testSigningKey(t), RetireOptions{LiveFor: 10 * time.Second})
		errc <- err
	}()
	// Wait until RetireNode passed its liveness check and waits in Sign.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		check(t, d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
AND query LIKE '%gateway_msglog_head%FOR UPDATE%'`).Scan(&n))
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("RetireNode never reached Sign")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// n1 starts again now: its heartbeat, and a call in flight holding a slot.
	s := NewStore(d, nil)
	_, err = s.heartbeat(ctx, "n1", time.Now(), 0, "p-new", false)
	check(t, err)
	slot, err := s.takeSlot(ctx, "c|s", 1, 0, "n1", "req-1", time.Now().Add(time.Hour))
	check(t, err)
	if slot != 0 {
		t.Fatalf("slot %d", slot)
	}
	check(t, lock.Commit())
	if err := <-errc; !errors.Is(err, ErrNodeLive) {
		t.Errorf("retire of a node that started meanwhile: %v, want ErrNodeLive", err)
	}
	nodes, err := s.Nodes(ctx, 10*time.Second)
	check(t, err)
	if len(nodes) != 1 || !nodes[0].Live {
		t.Errorf("n1, which beat a moment ago, is listed as %+v", nodes)
	}
	if k, err := s.SlotsHeld(ctx); err != nil || k != 1 {
		t.Errorf("the running node's slot: %d held (%v), want 1", k, err)
	}
}
