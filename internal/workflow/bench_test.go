package workflow_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

// benchActor holds every role of the one-stop process in unit "U".
var benchActor = workflow.Actor{ID: "bench", Roles: map[string][]string{"U": {"officer", "division_head", "handler", "agency_head", "clerk"}}}

// ninePath is the main path of the one-stop process after the start.
var ninePath = []workflow.Input{
	{Action: "receive", Units: map[string]string{"division": "U", "agency": "U"}},
	{Action: "assign", Assignee: "bench"},
	{Action: "draft_result", Attachments: draft},
	{Action: "approve"},
	{Action: "sign", Signature: "sig"},
	{Action: "transfer"},
	{Action: "issue", Signature: "seal"},
	{Action: "return"},
}

// BenchmarkTransitions drives cases through the nine steps (§3) from
// several goroutines; one op is one transition (each case's start, also a
// transaction, is included in the time but not counted).
//
//	CONGSO_TEST_POSTGRES=postgres://... go test -run '^$' -bench Transitions -benchtime 20000x ./internal/workflow/
func BenchmarkTransitions(b *testing.B) {
	for _, dia := range dbtest.Engines() {
		b.Run(string(dia), func(b *testing.B) {
			d := dbtest.Open(b, dia, migrations())
			s := workflow.New(d, workflow.Config{})
			ctx := context.Background()
			if err := s.InstallShipped(ctx); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			began := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for {
					id := fmt.Sprintf("bench-%d", seq.Add(1))
					err := d.Tx(ctx, func(tx *db.Tx) error {
						_, err := s.Start(ctx, tx, workflow.StartCase{CaseID: id, Ref: id, DefinitionKey: workflow.OneStop, Unit: "U", Actor: benchActor})
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
					v := int64(1)
					for _, in := range ninePath {
						if !pb.Next() {
							return
						}
						in.CaseID, in.Actor, in.ExpectedVersion = id, benchActor, v
						res, err := s.Transition(ctx, in)
						if err != nil {
							b.Error(err)
							return
						}
						v = res.Case.Version
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "transitions/s")
		})
	}
}

// BenchmarkInbox measures inbox pages and counts over generated open cases
// (CONGSO_BENCH_CASES, default 100000; set 1000000 for a province):
//
//	CONGSO_BENCH_CASES=1000000 go test -run '^$' -bench Inbox -timeout 1h ./internal/workflow/
func BenchmarkInbox(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("CONGSO_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	now := at(2026, 3, 10, 10, 0)
	// A division head who is also the desk officer of U007, clerk of U011,
	// and handler with assigned work.
	actor := workflow.Actor{ID: "U007-handler-2", Roles: map[string][]string{"U007": {"officer", "division_head"}, "U011": {"clerk"}}}
	for _, dia := range dbtest.Engines() {
		b.Run(string(dia), func(b *testing.B) {
			d := dbtest.Open(b, dia, migrations())
			s := workflow.New(d, workflow.Config{Now: func() time.Time { return now }})
			ctx := context.Background()
			if err := s.InstallShipped(ctx); err != nil {
				b.Fatal(err)
			}
			began := time.Now()
			if err := workflow.Generate(ctx, s, n, workflow.GenerateOptions{}); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: generated %d open cases in %v", dia, n, time.Since(began).Round(time.Millisecond))
			if closed, err := strconv.Atoi(os.Getenv("CONGSO_BENCH_CLOSED")); err == nil && closed > 0 {
				began = time.Now()
				if err := workflow.Generate(ctx, s, closed, workflow.GenerateOptions{Closed: true, Prefix: "old-", Seed: 2}); err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: generated %d ended cases in %v", dia, closed, time.Since(began).Round(time.Millisecond))
			}
			analyze(b, d)
			for _, kind := range []workflow.InboxKind{workflow.InboxQueue, workflow.InboxAssigned, workflow.InboxNearBreach, workflow.InboxOverdue} {
				b.Run(string(kind), func(b *testing.B) {
					first, err := s.Inbox(ctx, workflow.InboxQuery{Kind: kind, Actor: actor, Limit: 50})
					if err != nil || len(first.Items) == 0 {
						b.Fatalf("%s: %d items, %v", kind, len(first.Items), err)
					}
					query, args, _ := s.InboxSQL(workflow.InboxQuery{Kind: kind, Actor: actor, Limit: 50, After: first.Next})
					b.Logf("%s %s plan:\n%s", dia, kind, explain(b, d, query, args))
					var lat []time.Duration
					for b.Loop() {
						// The second page: a keyset continuation.
						t0 := time.Now()
						if _, err := s.Inbox(ctx, workflow.InboxQuery{Kind: kind, Actor: actor, Limit: 50, After: first.Next}); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
				})
			}
			b.Run("counts", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.InboxCounts(ctx, actor, time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
