package stats_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

const (
	dept   = "000.00.07.H99" // Department of Construction
	health = "000.00.09.H99"
	build  = "HDXD" // field: construction
	civil  = "HT"   // field: civil status
)

// march builds a month of dossiers for the Department of Construction
// (and one for another agency) whose every §11 column is known.
func march() map[string]*story {
	s := map[string]*story{}
	add := func(code, agency, field string, ch dossier.Channel) *story {
		st := newStory(code, agency, field, ch)
		s[code] = st
		return st
	}
	// Received in February, late, resolved in March: carried over, then late.
	add("D0", dept, build, dossier.ChannelCounter).receive(at(2026, 2, 20, 9, 0), at(2026, 3, 6, 17, 0)).
		assign(at(2026, 2, 20, 14, 0)).resolve(at(2026, 3, 9, 10, 0))
	// Received and resolved in February: not carried over.
	add("D00", dept, build, dossier.ChannelCounter).receive(at(2026, 2, 9, 9, 0), at(2026, 2, 20, 17, 0)).
		resolve(at(2026, 2, 12, 10, 0)).ret(at(2026, 2, 13, 10, 0))
	// Online, early, returned.
	add("D1", dept, build, dossier.ChannelOnline).submit(at(2026, 3, 1, 20, 0)).receive(at(2026, 3, 2, 9, 0), at(2026, 3, 16, 17, 0)).
		assign(at(2026, 3, 2, 14, 0)).resolve(at(2026, 3, 10, 9, 0)).ret(at(2026, 3, 11, 8, 0))
	// Counter, late by a day.
	add("D2", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 2, 10, 0), at(2026, 3, 5, 17, 0)).
		assign(at(2026, 3, 2, 11, 0)).resolve(at(2026, 3, 6, 9, 0))
	// Post, on time: the due day, before the due time.
	add("D3", dept, build, dossier.ChannelPost).receive(at(2026, 3, 3, 10, 0), at(2026, 3, 20, 17, 0)).
		assign(at(2026, 3, 3, 11, 0)).resolve(at(2026, 3, 20, 15, 0))
	// Online, withdrawn after reception.
	add("D4", dept, build, dossier.ChannelOnline).submit(at(2026, 3, 4, 7, 0)).receive(at(2026, 3, 4, 9, 0), at(2026, 3, 18, 17, 0)).
		withdraw(at(2026, 3, 5, 9, 0))
	// Counter, waiting for a supplement at the end of the month, its
	// deadline long passed: paused, not overdue.
	add("D5", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 5, 9, 0), at(2026, 3, 19, 17, 0)).
		assign(at(2026, 3, 5, 10, 0)).supplement(at(2026, 3, 6, 9, 0))
	// Online, still processing past its deadline: overdue.
	add("D6", dept, build, dossier.ChannelOnline).submit(at(2026, 3, 9, 7, 0)).receive(at(2026, 3, 9, 9, 0), at(2026, 3, 13, 17, 0)).
		assign(at(2026, 3, 9, 10, 0))
	// Counter, still processing within its deadline.
	add("D7", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 25, 9, 0), at(2026, 4, 8, 17, 0)).
		assign(at(2026, 3, 25, 10, 0))
	// Online submission refused at reception: never received.
	add("D8", dept, build, dossier.ChannelOnline).submit(at(2026, 3, 2, 7, 0)).refuse(at(2026, 3, 2, 8, 0))
	// Civil status: a fee requested and paid, then on time.
	add("D9", dept, civil, dossier.ChannelCounter).receive(at(2026, 3, 10, 9, 0), at(2026, 3, 12, 17, 0)).
		payment(at(2026, 3, 10, 10, 0)).resume(at(2026, 3, 11, 9, 0), at(2026, 3, 13, 16, 0)).resolve(at(2026, 3, 13, 15, 0))
	// Civil status: stopped.
	add("D10", dept, civil, dossier.ChannelCounter).receive(at(2026, 3, 10, 9, 0), at(2026, 3, 24, 17, 0)).
		assign(at(2026, 3, 10, 10, 0)).stop(at(2026, 3, 20, 9, 0))
	// Another agency: online, within time.
	add("H1", health, build, dossier.ChannelOnline).submit(at(2026, 3, 15, 7, 0)).receive(at(2026, 3, 16, 9, 0), at(2026, 4, 15, 17, 0))
	return s
}

func allEvents(s map[string]*story) []dossier.Event {
	var out []dossier.Event
	codes := make([]string, 0, len(s))
	for c := range s {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		out = append(out, s[c].out...)
	}
	return out
}

var marchQuery = stats.Query{From: date(2026, 3, 1), To: date(2026, 4, 1)}

// The expected March rows (§11 columns).
var (
	wantBuild = stats.Counts{CarriedOver: 1, Received: 7, ReceivedOnline: 3, ReceivedOffline: 4,
		Resolved: 4, ResolvedEarly: 1, ResolvedOnTime: 1, ResolvedLate: 2, OnTimeRate: rate(50),
		Pending: 3, PendingWithinTime: 1, PendingOverdue: 1, PausedSupplement: 1,
		Withdrawn: 1, Returned: 1, SupplementRequested: 1, NotReceived: 1}
	wantCivil = stats.Counts{Received: 2, ReceivedOffline: 2, Resolved: 1, ResolvedOnTime: 1, OnTimeRate: rate(100),
		Stopped: 1, FeeRequested: 1}
	wantHealth = stats.Counts{Received: 1, ReceivedOnline: 1, Pending: 1, PendingWithinTime: 1}
)

// §11: every report column per agency × field × period, and grouped by
// agency or field, with totals.
func TestReportColumns(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		e.apply(allEvents(march())...)

		rep := e.report(marchQuery)
		balanced(t, rep)
		if len(rep.Rows) != 3 {
			t.Fatalf("rows = %+v, want 3", rep.Rows)
		}
		sameCounts(t, "construction", row(rep, dept, build), wantBuild)
		sameCounts(t, "civil status", row(rep, dept, civil), wantCivil)
		sameCounts(t, "health", row(rep, health, build), wantHealth)
		if !rep.StockAt.Equal(at(2026, 4, 1, 0, 0)) {
			t.Fatalf("stock at %s, want midnight starting April 1", rep.StockAt)
		}
		total := stats.Counts{CarriedOver: 1, Received: 10, ReceivedOnline: 4, ReceivedOffline: 6,
			Resolved: 5, ResolvedEarly: 1, ResolvedOnTime: 2, ResolvedLate: 2, OnTimeRate: rate(60),
			Pending: 4, PendingWithinTime: 2, PendingOverdue: 1, PausedSupplement: 1,
			Withdrawn: 1, Stopped: 1, Returned: 1, SupplementRequested: 1, FeeRequested: 1, NotReceived: 1}
		sameCounts(t, "total", rep.Total, total)

		byAgency := e.report(stats.Query{From: marchQuery.From, To: marchQuery.To, GroupBy: stats.GroupByAgency})
		sameCounts(t, "by agency", row(byAgency, dept, ""), plus(wantBuild, wantCivil))
		sameCounts(t, "by agency, total", byAgency.Total, total)

		byField := e.report(stats.Query{From: marchQuery.From, To: marchQuery.To, GroupBy: stats.GroupByField})
		sameCounts(t, "by field", row(byField, "", build), plus(wantBuild, wantHealth))

		only := e.report(stats.Query{From: marchQuery.From, To: marchQuery.To, Agency: health})
		if len(only.Rows) != 1 {
			t.Fatalf("agency filter: rows = %+v", only.Rows)
		}
		sameCounts(t, "agency filter", only.Total, wantHealth)
		onlyField := e.report(stats.Query{From: marchQuery.From, To: marchQuery.To, Agency: dept, Field: civil})
		sameCounts(t, "field filter", onlyField.Total, wantCivil)

		// February: D0 received, D00 received and resolved early and returned.
		feb := e.report(stats.Query{From: date(2026, 2, 1), To: date(2026, 3, 1)})
		sameCounts(t, "february", row(feb, dept, build), stats.Counts{Received: 2, ReceivedOffline: 2, Resolved: 1,
			ResolvedEarly: 1, OnTimeRate: rate(100), Returned: 1, Pending: 1, PendingWithinTime: 1})
	})
}

// plus sums the counters of two rows and recomputes the rate.
func plus(a, b stats.Counts) stats.Counts {
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(b)
	for i := range va.NumField() {
		if f := va.Field(i); f.Kind() == reflect.Int64 {
			f.SetInt(f.Int() + vb.Field(i).Int())
		}
	}
	a.OnTimeRate = nil
	if a.Resolved > 0 {
		a.OnTimeRate = rate(math.Round(float64(a.ResolvedEarly+a.ResolvedOnTime)*10000/float64(a.Resolved)) / 100)
	}
	return a
}

// Redelivery (at-least-once outbox) changes nothing.
func TestRedeliveryChangesNothing(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		evs := allEvents(march())
		e.apply(evs...)
		first := mustJSON(t, e.report(marchQuery))
		e.apply(evs...)
		slices.Reverse(evs)
		e.apply(evs...)
		if again := mustJSON(t, e.report(marchQuery)); again != first {
			t.Fatalf("after redelivery:\n got  %s\n want %s", again, first)
		}
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Out of order: an older version arriving after a newer one moves nothing
// (the newer event carries the whole state) but its request still counts.
func TestOutOfOrderDelivery(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		s := newStory("X1", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 2, 9, 0), at(2026, 3, 16, 17, 0)).
			assign(at(2026, 3, 2, 10, 0)).supplement(at(2026, 3, 3, 9, 0)).
			resume(at(2026, 3, 5, 9, 0), at(2026, 3, 18, 17, 0)).resolve(at(2026, 3, 17, 9, 0)).ret(at(2026, 3, 18, 9, 0))
		ev := s.out // v2 receive, v3 assign, v4 supplement, v5 resume, v6 resolve, v7 return
		want := stats.Counts{Received: 1, ReceivedOffline: 1, Resolved: 1, ResolvedEarly: 1, OnTimeRate: rate(100),
			Returned: 1, SupplementRequested: 1}

		// The resume (v5) before the supplement request (v4); the result (v6)
		// before the assignment (v3).
		e.apply(ev[0], ev[3], ev[2], ev[4], ev[1], ev[5], ev[2], ev[3])
		rep := e.report(marchQuery)
		balanced(t, rep)
		sameCounts(t, "out of order", rep.Total, want)

		// A dossier whose last event arrives first: received, resolved late
		// and returned from that one event; the older ones change nothing.
		late := newStory("X2", dept, build, dossier.ChannelOnline).receive(at(2026, 3, 2, 9, 0), at(2026, 3, 4, 17, 0)).
			assign(at(2026, 3, 2, 10, 0)).resolve(at(2026, 3, 10, 9, 0)).ret(at(2026, 3, 11, 9, 0))
		e.apply(late.out[3], late.out[2], late.out[1], late.out[0])
		rep = e.report(marchQuery)
		balanced(t, rep)
		want.Received, want.ReceivedOnline, want.Resolved, want.ResolvedLate, want.Returned, want.OnTimeRate = 2, 1, 2, 1, 2, rate(50)
		sameCounts(t, "last event first", rep.Total, want)
		// Between its due time and its resolution it was overdue.
		mid := e.report(stats.Query{From: date(2026, 3, 1), To: date(2026, 3, 8)})
		if mid.Total.PendingOverdue != 1 || mid.Total.Pending != 2 || mid.Total.PausedSupplement != 0 {
			t.Fatalf("on March 8: %+v, want X2 overdue, X1 within time", mid.Total)
		}
	})
}

// Stocks across period boundaries: carried over, paused, overdue.
func TestStocksAcrossPeriods(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		// Received in January, due 3 February, resolved 5 March (late).
		x := newStory("X", dept, build, dossier.ChannelCounter).receive(at(2026, 1, 20, 9, 0), at(2026, 2, 3, 17, 0)).
			assign(at(2026, 1, 20, 10, 0)).resolve(at(2026, 3, 5, 9, 0))
		// Received in January, paused 10 February to 3 March, then due 20 March
		// and resolved early.
		y := newStory("Y", dept, build, dossier.ChannelCounter).receive(at(2026, 1, 26, 9, 0), at(2026, 2, 9, 17, 0)).
			assign(at(2026, 1, 26, 10, 0)).supplement(at(2026, 2, 6, 9, 0)).
			resume(at(2026, 3, 3, 9, 0), at(2026, 3, 20, 17, 0)).resolve(at(2026, 3, 12, 9, 0))
		// Received in January, due 2 February, extended on 30 January to 27
		// February: never overdue; still open at the end.
		z := newStory("Z", dept, build, dossier.ChannelOnline).receive(at(2026, 1, 27, 9, 0), at(2026, 2, 2, 17, 0)).
			assign(at(2026, 1, 27, 10, 0)).extend(at(2026, 1, 30, 9, 0), at(2026, 4, 27, 17, 0))
		e.apply(x.out...)
		e.apply(y.out...)
		e.apply(z.out...)

		for _, c := range []struct {
			name string
			q    stats.Query
			want stats.Counts
		}{
			{"january", stats.Query{From: date(2026, 1, 1), To: date(2026, 2, 1)}, stats.Counts{Received: 3, ReceivedOffline: 2,
				ReceivedOnline: 1, Pending: 3, PendingWithinTime: 3}},
			{"february", stats.Query{From: date(2026, 2, 1), To: date(2026, 3, 1)}, stats.Counts{CarriedOver: 3, Pending: 3,
				PendingOverdue: 1, PausedSupplement: 1, PendingWithinTime: 1, SupplementRequested: 1}},
			{"4 to 7 February", stats.Query{From: date(2026, 2, 4), To: date(2026, 2, 7)}, stats.Counts{CarriedOver: 3,
				Pending: 3, PendingOverdue: 1, PausedSupplement: 1, PendingWithinTime: 1, SupplementRequested: 1}},
			{"3 February: X overdue from 17:00", stats.Query{From: date(2026, 2, 3), To: date(2026, 2, 4)},
				stats.Counts{CarriedOver: 3, Pending: 3, PendingOverdue: 1, PendingWithinTime: 2}},
			{"2 February: X not yet overdue", stats.Query{From: date(2026, 2, 2), To: date(2026, 2, 3)},
				stats.Counts{CarriedOver: 3, Pending: 3, PendingWithinTime: 3}},
			{"march", stats.Query{From: date(2026, 3, 1), To: date(2026, 4, 1)}, stats.Counts{CarriedOver: 3, Resolved: 2,
				ResolvedEarly: 1, ResolvedLate: 1, OnTimeRate: rate(50), Pending: 1, PendingWithinTime: 1}},
			{"quarter", stats.Query{From: date(2026, 1, 1), To: date(2026, 4, 1)}, stats.Counts{Received: 3, ReceivedOffline: 2,
				ReceivedOnline: 1, Resolved: 2, ResolvedEarly: 1, ResolvedLate: 1, OnTimeRate: rate(50), Pending: 1,
				PendingWithinTime: 1, SupplementRequested: 1}},
			{"last year", stats.Query{From: date(2025, 1, 1), To: date(2026, 1, 1)}, stats.Counts{}},
		} {
			rep := e.report(c.q)
			balanced(t, rep)
			sameCounts(t, c.name, rep.Total, c.want)
		}
	})
}

// A period that ends after today takes its stocks now: a dossier due
// earlier today is overdue, one due later today is not yet.
func TestStocksNow(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 3, 10, 14, 0))
		w := newStory("W", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 9, 9, 0), at(2026, 3, 10, 10, 0))
		v := newStory("V", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 9, 9, 0), at(2026, 3, 10, 17, 0))
		u := newStory("U", dept, build, dossier.ChannelCounter).receive(at(2026, 3, 2, 9, 0), at(2026, 3, 6, 17, 0))
		e.apply(w.out...)
		e.apply(v.out...)
		e.apply(u.out...)
		q := stats.Query{From: date(2026, 3, 1), To: date(2026, 4, 1)}
		rep := e.report(q)
		balanced(t, rep)
		if !rep.StockAt.Equal(at(2026, 3, 10, 14, 0)) {
			t.Fatalf("stock at %s, want now", rep.StockAt)
		}
		sameCounts(t, "now", rep.Total, stats.Counts{Received: 3, ReceivedOffline: 3, Pending: 3, PendingOverdue: 2,
			PendingWithinTime: 1})

		// At 17:30 V is overdue too; U's resolution this morning counts.
		e.apply(u.resolve(at(2026, 3, 10, 16, 0)).out[1])
		e.clock.Set(at(2026, 3, 10, 17, 30))
		sameCounts(t, "evening", e.report(q).Total, stats.Counts{Received: 3, ReceivedOffline: 3, Resolved: 1,
			ResolvedLate: 1, OnTimeRate: rate(0), Pending: 2, PendingOverdue: 2})
		// Up to today inclusive is the same as any later end.
		sameCounts(t, "to tomorrow", e.report(stats.Query{From: date(2026, 3, 1), To: date(2026, 3, 11)}).Total,
			e.report(q).Total)
	})
}

func TestTimeliness(t *testing.T) {
	due := at(2026, 3, 20, 17, 0)
	for _, c := range []struct {
		finished string
		want     string
	}{
		{"2026-03-19T23:59:00+07:00", "early"},
		{"2026-03-20T00:00:00+07:00", "on_time"},
		{"2026-03-20T17:00:00+07:00", "on_time"},
		{"2026-03-20T17:00:01+07:00", "late"},
		{"2026-03-23T08:00:00+07:00", "late"},
	} {
		f, err := time.Parse(time.RFC3339, c.finished)
		if err != nil {
			t.Fatal(err)
		}
		if got := stats.Timeliness(f, due, loc); got != c.want {
			t.Errorf("finished %s: %s, want %s", c.finished, got, c.want)
		}
	}
	if got := stats.Timeliness(due, time.Time{}, loc); got != "on_time" {
		t.Errorf("no due time: %s, want on_time", got)
	}
}

func TestQueryValidation(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 3, 10, 14, 0))
		for _, c := range []struct {
			q      stats.Query
			fields []string
		}{
			{stats.Query{}, []string{"from", "to"}},
			{stats.Query{From: date(2026, 3, 5), To: date(2026, 3, 5)}, []string{"to"}},
			{stats.Query{From: date(2026, 3, 11), To: date(2026, 4, 1)}, []string{"from"}},
			{stats.Query{From: date(2026, 2, 30), To: date(2026, 4, 1), GroupBy: "unit"}, []string{"from", "group_by"}},
		} {
			_, err := e.s.Report(e.ctx, c.q)
			var qe *stats.QueryError
			if !errors.Is(err, stats.ErrInvalidQuery) || !errors.As(err, &qe) {
				t.Fatalf("%+v: err = %v, want a query error", c.q, err)
			}
			var got []string
			for _, p := range qe.Problems {
				got = append(got, p.Field)
			}
			if !slices.Equal(got, c.fields) {
				t.Errorf("%+v: problems %v, want %v", c.q, got, c.fields)
			}
		}
		err := e.d.Tx(e.ctx, func(tx *db.Tx) error { return e.s.Apply(e.ctx, tx, dossier.Event{Code: "X", At: at(2026, 3, 1, 0, 0)}) })
		if !errors.Is(err, stats.ErrInvalidEvent) {
			t.Fatalf("event without version: %v", err)
		}
	})
}
