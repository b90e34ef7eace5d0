package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// integration "Tamper-evident message log": a node that died after
// writing records and before signing them leaves them unsigned; retiring
// it signs them with the operator's key, so verify passes again, and takes
// it off the node list. A running node is refused.
func TestRetireNodeSignsWhatItLeftUnsigned(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		pub := twoSignedBatches(t, d)
		// The state a crash between writing records 11–20 and signing
		// them leaves.
		for _, q := range []string{`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND first_seq > 10`,
			`UPDATE gateway_msglog_head SET signed_seq = 10 WHERE node = 'n1'`} {
			_, err := d.Write().ExecContext(ctx, q)
			check(t, err)
		}
		s := NewStore(d, nil)
		_, err := s.heartbeat(ctx, "n1", time.Now(), 0, "p1", false)
		check(t, err)
		operator := testSigningKey(t)
		verify := func() Report {
			rep, err := VerifyDBWith(ctx, d, VerifyOptions{Trusted: []string{pub, operator.Public}, UnsignedGrace: time.Nanosecond})
			check(t, err)
			return rep
		}
		if rep := verify(); rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "10 records after its last batch") {
			t.Fatalf("the unsigned records were not reported: %+v", rep)
		}

		if _, err := RetireNode(ctx, d, "n1", operator, RetireOptions{LiveFor: time.Minute}); !errors.Is(err, ErrNodeLive) {
			t.Fatalf("a node seen a moment ago was retired: %v", err)
		}
		r, err := RetireNode(ctx, d, "n1", operator, RetireOptions{LiveFor: time.Nanosecond})
		check(t, err)
		if r.Records != 20 || r.Signed != 10 || r.FirstSeq != 11 || r.LastSeq != 20 || !r.Listed {
			t.Fatalf("retired: %+v", r)
		}
		if rep := verify(); !rep.OK() {
			t.Fatalf("after retiring: %v", rep.Problems)
		}
		// Signed with a key verify does not trust, the batch is refused.
		if rep, err := VerifyDBWith(ctx, d, VerifyOptions{Trusted: []string{pub}}); err != nil || rep.OK() {
			t.Fatalf("a batch signed by an unpinned key passed: %+v %v", rep, err)
		}
		nodes, err := s.Nodes(ctx, time.Minute)
		check(t, err)
		if len(nodes) != 0 {
			t.Fatalf("still listed: %+v", nodes)
		}
		// Again: nothing left to sign, nothing listed.
		if r, err := RetireNode(ctx, d, "n1", operator, RetireOptions{LiveFor: time.Nanosecond}); err != nil || r.Signed != 0 || r.Listed {
			t.Fatalf("retired twice: %+v %v", r, err)
		}
		if _, err := RetireNode(ctx, d, "n9", operator, RetireOptions{LiveFor: time.Nanosecond}); err == nil || !strings.Contains(err.Error(), "no node n9") {
			t.Fatalf("an unknown node: %v", err)
		}
	})
}
