package stats_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func TestGenerate(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		opt := stats.GenerateOptions{Dossiers: 3000, Agencies: 3, Fields: 2, From: date(2025, 1, 1), To: date(2026, 1, 1), Seed: 1}
		res, err := stats.Generate(context.Background(), d, opt)
		if err != nil || res.Dossiers != 3000 || res.Rows == 0 {
			t.Fatalf("generate: %+v, %v", res, err)
		}
		e := newEnv(t, d, at(2026, 1, 1, 0, 0))
		year := e.report(stats.Query{From: opt.From, To: opt.To})
		balanced(t, year)
		if len(year.Rows) != 6 || year.Total.Received != 3000 || year.Total.Resolved == 0 || year.Total.ResolvedLate == 0 ||
			year.Total.PendingOverdue == 0 || year.Total.SupplementRequested == 0 || year.Total.Withdrawn == 0 {
			t.Fatalf("generated year: %+v", year.Total)
		}
		for _, m := range []int{1, 6, 7, 8, 11} {
			rep := e.report(stats.Query{From: date(2025, time.Month(m), 17), To: date(2025, time.Month(m+1), 3)})
			balanced(t, rep)
		}
		// The months add up to the year.
		var received, resolved int64
		for m := 1; m <= 12; m++ {
			to := date(2025, time.Month(m+1), 1)
			if m == 12 {
				to = date(2026, 1, 1)
			}
			rep := e.report(stats.Query{From: date(2025, time.Month(m), 1), To: to, GroupBy: stats.GroupByAgency})
			received += rep.Total.Received
			resolved += rep.Total.Resolved
		}
		if received != year.Total.Received || resolved != year.Total.Resolved {
			t.Fatalf("months: received %d resolved %d; year: %d %d", received, resolved, year.Total.Received, year.Total.Resolved)
		}
	})
}

// BenchmarkReport measures a report over 5,000,000 dossiers received over
// two years (2024–2025) in 50 agencies × 30 fields, on each engine:
//
//	CONGSO_TEST_POSTGRES=postgres://… go test -run '^$' -bench Report -benchtime 50x ./internal/dossier/stats/
//
// CONGSO_STATS_BENCH_DOSSIERS changes the number of dossiers.
func BenchmarkReport(b *testing.B) {
	n := 5_000_000
	if v, err := strconv.Atoi(os.Getenv("CONGSO_STATS_BENCH_DOSSIERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := dbtest.Open(b, engine, stats.Migrations())
			start := time.Now()
			res, err := stats.Generate(ctx, d, stats.GenerateOptions{Dossiers: n, From: date(2024, 1, 1), To: date(2026, 1, 1)})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: generated %d dossiers, %d events, %d flow rows in %s", engine, res.Dossiers, res.Events, res.Rows,
				time.Since(start).Round(time.Second))
			s := stats.New(d, stats.Config{Now: func() time.Time { return at(2026, 1, 1, 10, 0) }})
			for _, c := range []struct {
				name string
				q    stats.Query
			}{
				{"year-2025-by-agency-field", stats.Query{From: date(2025, 1, 1), To: date(2026, 1, 1)}},
				{"12-months-worst-days-by-agency-field", stats.Query{From: date(2024, 8, 16), To: date(2025, 8, 16)}},
				{"year-to-now-by-agency-field", stats.Query{From: date(2025, 1, 1), To: date(2026, 1, 2)}},
				{"quarter-by-agency", stats.Query{From: date(2025, 7, 1), To: date(2025, 10, 1), GroupBy: stats.GroupByAgency}},
				{"year-one-agency-by-field", stats.Query{From: date(2025, 1, 1), To: date(2026, 1, 1), Agency: stats.Agency(7)}},
			} {
				b.Run(c.name, func(b *testing.B) {
					var rows int
					for b.Loop() {
						rep, err := s.Report(ctx, c.q)
						if err != nil {
							b.Fatal(err)
						}
						rows = len(rep.Rows)
					}
					b.ReportMetric(float64(rows), "rows")
				})
			}
		})
	}
}

// BenchmarkApply measures the outbox handler's work: one event applied per
// transaction (reception, assignment, supplement request and its end,
// resolution, return), dossiers spread over 50 agencies × 30 fields, by
// one worker and by four at once (the dispatcher's default).
//
//	go test -run '^$' -bench Apply ./internal/dossier/stats/
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	var seq atomic.Int64
	// events returns a function giving the events of new dossiers, one by one.
	events := func() func() dossier.Event {
		var evs []dossier.Event
		return func() dossier.Event {
			if len(evs) == 0 {
				i := int(seq.Add(1))
				t := at(2025, 3, 3, 8, 0).Add(time.Duration(i) * time.Minute)
				evs = newStory(fmt.Sprintf("B%08d", i), stats.Agency(i%50), stats.FieldCode(i/50%30), dossier.Channel(1+i%2)).
					receive(t, t.Add(10*24*time.Hour)).assign(t.Add(time.Hour)).supplement(t.Add(2*time.Hour)).
					resume(t.Add(26*time.Hour), t.Add(11*24*time.Hour)).resolve(t.Add(5 * 24 * time.Hour)).ret(t.Add(6 * 24 * time.Hour)).out
			}
			ev := evs[0]
			evs = evs[1:]
			return ev
		}
	}
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := dbtest.Open(b, engine, stats.Migrations())
			s := stats.New(d, stats.Config{})
			apply := func(ev dossier.Event) {
				if err := d.Tx(ctx, func(tx *db.Tx) error { return s.Apply(ctx, tx, ev) }); err != nil {
					b.Error(err)
				}
			}
			b.Run("1-worker", func(b *testing.B) {
				next := events()
				for b.Loop() {
					apply(next())
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			b.Run("4-workers", func(b *testing.B) {
				b.SetParallelism(4 / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					next := events()
					for pb.Next() {
						apply(next())
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		})
	}
}
