package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func testSigningKey(t *testing.T) *Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	check(t, err)
	k, err := NewKey(priv)
	check(t, err)
	return k
}

// twoSignedBatches writes records 1–10 and 11–20 of node n1, each ten
// signed as one batch, and returns the signing key's public half.
func twoSignedBatches(t *testing.T, d *db.DB) string {
	t.Helper()
	k := testSigningKey(t)
	ml, err := NewMessageLog(d, LogConfig{Node: "n1", Key: k, SignInterval: time.Hour})
	check(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ml.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for b := 0; b < 2; b++ {
		for i := 0; i < 10; i++ {
			at := time.Now()
			check(t, ml.Append(context.Background(), Record{At: at, DoneAt: at, Client: "VN/GOV/A/APP", Service: "VN/GOV/P/S/x/v1",
				RequestID: fmt.Sprint(b*10 + i), Method: "GET", Path: "/x", Status: 200}))
		}
		check(t, ml.Sign(context.Background()))
	}
	return k.Public
}

// integration "Tamper-evident message log": verify finds a log cut at its
// start or its end, the newest batch removed, and records left unsigned
// long after they were written (each case on a fresh log).
func TestVerifyFindsALogCutOrUnsigned(t *testing.T) {
	for _, c := range []struct {
		name  string
		cut   []string
		grace time.Duration
		want  string
	}{
		{"the first records and their batch", []string{`DELETE FROM gateway_msglog_pages WHERE node = 'n1' AND last_seq <= 10`,
			`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND last_seq <= 10`}, 0, "records 1–10 are missing"},
		{"the first records, their batch kept", []string{`DELETE FROM gateway_msglog_pages WHERE node = 'n1' AND last_seq <= 10`}, 0, "records 1–10 are missing"},
		{"the last records and their batch", []string{`DELETE FROM gateway_msglog_pages WHERE node = 'n1' AND first_seq > 10`,
			`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND first_seq > 10`}, 0, "records 11–20 are missing (the log is cut at its end)"},
		{"the newest batch", []string{`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND first_seq > 10`}, 0, "the batches signing records 11–20 are missing"},
		{"the newest batch and the head's mark of it", []string{`DELETE FROM gateway_msglog_batches WHERE node = 'n1' AND first_seq > 10`,
			`UPDATE gateway_msglog_head SET signed_seq = 10 WHERE node = 'n1'`}, time.Nanosecond, "10 records after its last batch"},
		{"a whole node", []string{`DELETE FROM gateway_msglog_pages WHERE node = 'n1'`, `DELETE FROM gateway_msglog_batches WHERE node = 'n1'`}, 0, "its 20 records are missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
				pub := twoSignedBatches(t, d)
				ctx := context.Background()
				for _, q := range c.cut {
					_, err := d.Write().ExecContext(ctx, q)
					check(t, err)
				}
				rep, err := VerifyDBWith(ctx, d, VerifyOptions{Trusted: []string{pub}, UnsignedGrace: c.grace})
				check(t, err)
				if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), c.want) {
					t.Fatalf("want a problem %q: %+v", c.want, rep)
				}
			})
		})
	}
}

// A verification while the gateway writes and signs finds nothing wrong:
// the export is the log as it stood when it began.
func TestVerifyWhileWriting(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		k := testSigningKey(t)
		ml, err := NewMessageLog(d, LogConfig{Node: "n1", Key: k, SignInterval: 5 * time.Millisecond})
		check(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { ml.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2000; i++ { // bounded: about 4,000 records a second
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					at := time.Now()
					_ = ml.Append(context.Background(), Record{At: at, DoneAt: at, Client: "VN/GOV/A/APP", Service: "VN/GOV/P/S/x/v1",
						RequestID: fmt.Sprint(w, "-", i), Method: "GET", Path: "/x", Status: 200})
				}
			}()
		}
		defer func() { close(stop); wg.Wait() }()
		time.Sleep(100 * time.Millisecond)
		for i := 0; i < 10; i++ {
			rep, err := VerifyDB(context.Background(), d, []string{k.Public})
			check(t, err)
			if !rep.OK() {
				t.Fatalf("verify %d while writing: %v", i, rep.Problems)
			}
		}
	})
}
