package stats_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// life is a random dossier's history, as the oracle sees it.
type life struct {
	agency, field string
	online        bool
	recv, due     time.Time // due: the due time before any pause
	p1, p2        time.Time // pause, zero when none
	fee           bool      // the pause waits for a payment
	due1          time.Time // due time after the pause
	closeAt       time.Time // zero: still open
	closing       string    // resolved, withdrawn, stopped
	retAt         time.Time // returned, zero when not
	story         *story
	finalDue      time.Time
}

func randomLives(r *rand.Rand, n int, start, now time.Time) []*life {
	var out []*life
	hours := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Hour))
	}
	for i := range n {
		l := &life{agency: []string{dept, health}[r.IntN(2)], field: []string{build, civil}[r.IntN(2)], online: r.IntN(2) == 0}
		l.recv = start.Add(hours(0, now.Sub(start).Hours()-1))
		l.due = l.recv.Add(hours(2, 20*24))
		ch := dossier.ChannelCounter
		if l.online {
			ch = dossier.ChannelOnline
		}
		s := newStory(fmt.Sprintf("R%04d", i), l.agency, l.field, ch).receive(l.recv, l.due)
		l.story, l.finalDue = s, l.due
		last := l.recv
		cut := func(t time.Time) bool { return !t.Before(now) }
		func() {
			if r.Float64() < 0.4 {
				p1 := last.Add(hours(0.5, 15*24))
				if cut(p1) {
					return
				}
				l.p1, l.fee = p1, r.IntN(2) == 0
				if l.fee {
					s.payment(p1)
				} else {
					s.supplement(p1)
				}
				p2 := p1.Add(hours(1, 20*24))
				if cut(p2) {
					return
				}
				l.p2, l.due1 = p2, l.due.Add(p2.Sub(p1))
				l.finalDue = l.due1
				s.resume(p2, l.due1)
				last = p2
			}
			x := r.Float64()
			c := last.Add(hours(0.5, 30*24))
			if x < 0.2 || cut(c) {
				return
			}
			l.closeAt = c
			switch {
			case x < 0.3:
				l.closing = "withdrawn"
				s.withdraw(c)
			case x < 0.35:
				l.closing = "stopped"
				s.stop(c)
			default:
				l.closing = "resolved"
				s.resolve(c)
				if rt := c.Add(hours(0.5, 5*24)); r.IntN(2) == 0 && !cut(rt) {
					l.retAt = rt
					s.ret(rt)
				}
			}
		}()
		out = append(out, l)
	}
	return out
}

// expect computes a row of the report for [a, b) (stocks at b) directly
// from the histories.
func expect(lives []*life, a, b time.Time, agency, field string) stats.Counts {
	var c stats.Counts
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(a) && t.Before(b) }
	open := func(l *life, x time.Time) bool {
		return l.recv.Before(x) && (l.closeAt.IsZero() || !l.closeAt.Before(x))
	}
	for _, l := range lives {
		if (agency != "" && l.agency != agency) || (field != "" && l.field != field) {
			continue
		}
		if open(l, a) {
			c.CarriedOver++
		}
		if in(l.recv) {
			if l.online {
				c.ReceivedOnline++
			} else {
				c.ReceivedOffline++
			}
		}
		if in(l.p1) {
			if l.fee {
				c.FeeRequested++
			} else {
				c.SupplementRequested++
			}
		}
		if in(l.closeAt) {
			switch l.closing {
			case "withdrawn":
				c.Withdrawn++
			case "stopped":
				c.Stopped++
			default:
				switch stats.Timeliness(l.closeAt, l.finalDue, loc) {
				case "early":
					c.ResolvedEarly++
				case "on_time":
					c.ResolvedOnTime++
				default:
					c.ResolvedLate++
				}
			}
		}
		if in(l.retAt) {
			c.Returned++
		}
		if !open(l, b) {
			continue
		}
		c.Pending++
		// Paused on (p1, p2]; running on (recv, p1] with the first due time
		// and on (p2, close] with the second.
		switch {
		case !l.p1.IsZero() && l.p1.Before(b) && (l.p2.IsZero() || !l.p2.Before(b)):
			if l.fee {
				c.PausedFee++
			} else {
				c.PausedSupplement++
			}
		case !l.p2.IsZero() && l.p2.Before(b):
			if l.due1.Before(b) {
				c.PendingOverdue++
			}
		default:
			if l.due.Before(b) {
				c.PendingOverdue++
			}
		}
	}
	c.Received = c.ReceivedOnline + c.ReceivedOffline
	c.Resolved = c.ResolvedEarly + c.ResolvedOnTime + c.ResolvedLate
	c.PendingWithinTime = c.Pending - c.PendingOverdue - c.PausedSupplement - c.PausedFee
	return plus(c, stats.Counts{})
}

// Random histories against a direct count from them, for random periods
// (month and year boundaries, day 16/17 and July/August splits, periods
// ending now), every grouping and filter, with every event delivered twice.
func TestReportMatchesDirectCount(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		now := at(2026, 4, 15, 14, 30)
		e := newEnv(t, d, now)
		r := rand.New(rand.NewPCG(7, 11))
		lives := randomLives(r, 400, at(2025, 5, 1, 0, 0), now)
		var evs []dossier.Event
		for _, l := range lives {
			evs = append(evs, l.story.out...)
		}
		// Interleave dossiers (each one's events stay in order) and deliver
		// a random fifth of the events twice.
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		next := map[string]int64{}
		pending := evs
		for len(pending) > 0 {
			var later []dossier.Event
			for _, ev := range pending {
				if cur := max(next[ev.Code], 1); ev.Version != cur+1 {
					later = append(later, ev)
					continue
				}
				next[ev.Code] = ev.Version
				e.apply(ev)
				if r.IntN(5) == 0 {
					e.apply(ev)
				}
			}
			pending = later
		}

		today := calendar.DateOf(now.In(loc))
		first := date(2025, 4, 20)
		days := int(now.Sub(first.In(loc)).Hours() / 24)
		for i := range 40 {
			from := first.AddDays(r.IntN(days))
			to := from.AddDays(1 + r.IntN(400))
			if i%5 == 0 {
				to = today.AddDays(1 + r.IntN(3)) // ends now
			}
			q := stats.Query{From: from, To: to, GroupBy: []stats.GroupBy{stats.GroupByAgencyField, stats.GroupByAgency, stats.GroupByField}[i%3]}
			if i%7 == 3 {
				q.Agency = dept
			}
			if i%11 == 4 {
				q.Field = civil
			}
			rep := e.report(q)
			balanced(t, rep)
			end := to.In(loc)
			if to.After(today) {
				end = now
			}
			for _, ag := range []string{dept, health} {
				for _, f := range []string{build, civil} {
					ka, kf := ag, f
					switch q.GroupBy {
					case stats.GroupByAgency:
						if f != build {
							continue
						}
						kf = ""
					case stats.GroupByField:
						if ag != dept {
							continue
						}
						ka = ""
					}
					fa, ff := ka, kf
					if q.Agency != "" {
						if fa != "" && fa != q.Agency {
							continue
						}
						fa = q.Agency
					}
					if q.Field != "" {
						if ff != "" && ff != q.Field {
							continue
						}
						ff = q.Field
					}
					sameCounts(t, fmt.Sprintf("%s..%s %s %s/%s", from, to, q.GroupBy, ka, kf), row(rep, ka, kf),
						expect(lives, from.In(loc), end, fa, ff))
				}
			}
		}
	})
}

// Every event of random histories delivered in any order, some twice:
// flows and the stocks now are those of the ordered delivery.
func TestAnyOrderGivesTheSameTotals(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		now := at(2026, 4, 15, 14, 30)
		ordered := newEnv(t, d, now)
		shuffled := newEnv(t, dbtest.Open(t, d.Dialect(), stats.Migrations()), now)
		r := rand.New(rand.NewPCG(3, 5))
		var evs []dossier.Event
		for _, l := range randomLives(r, 300, at(2025, 10, 1, 0, 0), now) {
			ordered.apply(l.story.out...)
			evs = append(evs, l.story.out...)
		}
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		for _, ev := range evs {
			shuffled.apply(ev)
			if r.IntN(4) == 0 {
				shuffled.apply(evs[r.IntN(len(evs))])
			}
		}
		q := stats.Query{From: date(2025, 9, 1), To: date(2026, 4, 16)}
		want, got := ordered.report(q), shuffled.report(q)
		balanced(t, got)
		if len(got.Rows) != 4 {
			t.Fatalf("rows: %+v", got.Rows)
		}
		for _, w := range want.Rows {
			sameCounts(t, w.Agency+"/"+w.Field, row(got, w.Agency, w.Field), w.Counts)
		}
	})
}
