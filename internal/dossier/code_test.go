package dossier_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// §5: codes are unique and gap-free under concurrency, across two nodes
// (two connection pools over one database) on both engines: 2 nodes × 6
// goroutines × 10 receptions give exactly 0001…0120 for the day.
func TestCodesUniqueAcrossNodes(t *testing.T) {
	for _, dia := range dbtest.Engines() {
		t.Run(string(dia), func(t *testing.T) {
			ctx := context.Background()
			url := dbtest.URL(t, dia)
			var nodes []*env
			for i := range 2 {
				d, err := db.Open(ctx, url, db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if err := d.Migrate(ctx, migrations()); err != nil {
					t.Fatal(err)
				}
				e := newEnv(t, d)
				if i > 0 {
					// Both nodes share the blob store, as they share S3.
					e2, err := dossier.New(d, dossier.Config{Procedures: testProcedures(), Workflow: e.wf, Blobs: nodes[0].blobs, Now: nodes[0].clock.Now})
					if err != nil {
						t.Fatal(err)
					}
					e.s, e.blobs, e.clock = e2, nodes[0].blobs, nodes[0].clock
				}
				nodes = append(nodes, e)
			}
			nodes[0].clock.Set(at(2026, 3, 2, 9, 0))
			sub := nodes[0].completeSubmission("Đồng thời")
			const workers, each = 6, 10
			var mu sync.Mutex
			var codes []string
			var wg sync.WaitGroup
			errs := make(chan error, 2*workers*each)
			for _, n := range nodes {
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							rc, err := n.s.Receive(ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer})
							if err != nil {
								errs <- err
								return
							}
							mu.Lock()
							codes = append(codes, rc.Code)
							mu.Unlock()
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			slices.Sort(codes)
			want := make([]string, 2*workers*each)
			for i := range want {
				want[i] = fmt.Sprintf("%s-260302-%04d", center, i+1)
			}
			if !slices.Equal(codes, want) {
				t.Fatalf("codes %v…%v (%d), want 0001…%04d without duplicate or gap", codes[:3], codes[len(codes)-3:], len(codes), len(want))
			}
			// The next day starts again at 0001; another agency has its own sequence.
			nodes[1].clock.Set(at(2026, 3, 3, 8, 0))
			if rc := nodes[1].receive("Hôm sau"); rc.Code != center+"-260303-0001" {
				t.Fatalf("next day's first code = %s", rc.Code)
			}
			other := placement
			other.ReceivingAgency = "000.00.07.H99"
			rc, err := nodes[1].s.Receive(ctx, dossier.ReceiveInput{Submission: sub, Placement: other, Actor: officer})
			if err != nil || rc.Code != "000.00.07.H99-260303-0001" {
				t.Fatalf("another agency's first code = %s, %v", rc.Code, err)
			}
		})
	}
}

// §5: the day of a code is the day in Vietnam, not in UTC (a dossier
// received at 06:30 in Hanoi is 23:30 the day before in UTC).
func TestCodeDayIsVietnamDay(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	e := newEnv(t, d)
	e.clock.Set(time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC)) // 06:30 on 3 March in Vietnam
	if rc := e.receive("Sớm"); rc.Code != center+"-260303-0001" {
		t.Fatalf("code = %s, want the Vietnamese day 260303", rc.Code)
	}
	if _, _, seq, ok := dossier.ParseCode(center + "-260303-12345"); !ok || seq != 12345 {
		t.Fatalf("a fifth digit beyond 9999 must parse")
	}
	for _, bad := range []string{"", "H99-260303-001", "h99-260303-0001", "H99-2603030-0001", "H99-260303-0000", "H99 260303 0001", "../260303-0001"} {
		if dossier.ValidCode(bad) {
			t.Errorf("ValidCode(%q) = true", bad)
		}
	}
}
