package dossier_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// BenchmarkReceive measures dossier creations per second: each op is one
// complete counter reception (validation with the form schema, a checked
// file reference, the daily code, the dossier, its 4 components, file and
// fee, the workflow case started and received, events and audit entries),
// from 1 and from 4 goroutines of one receiving agency (whose daily counter
// row serialises its receptions, by design: no gaps), and from 4 goroutines
// of 4 agencies.
//
//	CONGSO_TEST_POSTGRES=postgres://... go test -run '^$' -bench Receive -benchtime 2000x ./internal/dossier/
func BenchmarkReceive(b *testing.B) {
	for _, dia := range dbtest.Engines() {
		for _, tc := range []struct{ par, agencies int }{{1, 1}, {4, 1}, {4, 4}} {
			par := tc.par
			b.Run(fmt.Sprintf("%s/goroutines=%d/agencies=%d", dia, par, tc.agencies), func(b *testing.B) {
				d := dbtest.Open(b, dia, migrations())
				e := newEnv(b, d)
				e.clock.Set(at(2026, 3, 2, 9, 0))
				sub := e.completeSubmission("Nguyễn Văn Đo Hiệu Năng")
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				began := time.Now()
				if par == 1 {
					for b.Loop() {
						if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer}); err != nil {
							b.Fatal(err)
						}
						n.Add(1)
					}
				} else {
					b.SetParallelism(par)
					var g atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						pl := placement
						if tc.agencies > 1 {
							pl.ReceivingAgency = fmt.Sprintf("000.00.%02d.H99", 20+g.Add(1)%int64(tc.agencies))
						}
						for pb.Next() {
							if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: pl, Actor: officer}); err != nil {
								b.Error(err)
								return
							}
							n.Add(1)
						}
					})
				}
				b.ReportMetric(float64(n.Load())/time.Since(began).Seconds(), "dossiers/s")
			})
		}
	}
}
