package stats

import (
	"time"

	"github.com/congso/congso/internal/dossier"
)

// The counters kept per (agency, field, day). The first eleven are flows
// (what happened that day); the last four are changes of stocks, whose
// value at a moment is the sum of every change before it.
const (
	colReceivedOnline      = iota // received, channel 2
	colReceivedOffline            // received, channels 1 and 3
	colResolvedEarly              // resolved on a day before the due day
	colResolvedOnTime             // resolved on the due day, not after the due time
	colResolvedLate               // resolved after the due time
	colReturned                   // result handed over
	colWithdrawn                  // withdrawn after reception
	colStopped                    // processing stopped (or ended without a result)
	colSupplementRequested        // supplement requested during processing (clock paused)
	colFeeRequested               // financial obligation requested (clock paused)
	colNotReceived                // refused at reception (form 03), never received
	colPausedSupplement           // stock change: paused waiting for a supplement
	colPausedFee                  // stock change: paused waiting for a payment
	colOverdueIn                  // stock change: a running dossier's deadline passes
	colOverdueOut                 // stock change: an overdue dossier stops running
	nCols
)

// colNames are the SQL column names of the counters, in order.
var colNames = [nCols]string{
	"received_online", "received_offline", "resolved_early", "resolved_on_time", "resolved_late",
	"returned", "withdrawn", "stopped", "supplement_requested", "fee_requested", "not_received",
	"paused_supplement", "paused_fee", "overdue_in", "overdue_out",
}

// counts is one value per counter.
type counts [nCols]int64

func (c *counts) add(o *counts, sign int64) {
	for i := range c {
		c[i] += sign * o[i]
	}
}

// open is the number of received dossiers not yet closed that c's prefix
// sum describes.
func (c *counts) open() int64 {
	return c[colReceivedOnline] + c[colReceivedOffline] - c[colResolvedEarly] - c[colResolvedOnTime] -
		c[colResolvedLate] - c[colWithdrawn] - c[colStopped]
}

// Pause kinds.
const (
	pauseNone       = ""
	pauseSupplement = "supplement"
	pauseFee        = "fee"
)

// Closing kinds kept per dossier.
const (
	closeEarly     = "early"
	closeOnTime    = "on_time"
	closeLate      = "late"
	closeWithdrawn = "withdrawn"
	closeStopped   = "stopped"
)

// entry is one change of one counter on one day (yyyymmdd) for the
// dossier's agency and field.
type entry struct {
	day int32
	col int8
	n   int8
}

// dossierState is what the module keeps per dossier: enough to recognise
// events already applied, to keep the dossier in the agency and field it
// was counted in, and to move it between stocks.
type dossierState struct {
	// Version is the highest event version applied; Seen has bit i set when
	// version Version-i was applied (a sliding window of 64 versions, as in
	// anti-replay windows: a version further back counts as applied).
	Version int64
	Seen    uint64

	Agency, Field string
	Channel       int
	Status        string

	// ReceivedAt is when the dossier was received, zero until it is counted
	// as received; DueAt is its current due time.
	ReceivedAt time.Time
	DueAt      time.Time
	// ClosedAt is when it left the open stock (result ready or refusal
	// decision, withdrawal, stop), Closed how.
	ClosedAt time.Time
	Closed   string
	// Pause is the kind of the open pause of an open dossier.
	Pause string
	// SegStart is when the dossier last started running (open, not paused,
	// with a due time); zero when it is not running.
	SegStart time.Time

	Returned    bool
	NotReceived bool
}

// overdueFrom is when a running dossier is (or becomes) overdue: the later
// of its running start and its due time. Zero when not running.
func (st *dossierState) overdueFrom() time.Time {
	if st.SegStart.IsZero() {
		return time.Time{}
	}
	return later(st.SegStart, st.DueAt)
}

// markSeen records version v as applied and reports whether it was new.
func (st *dossierState) markSeen(v int64) bool {
	if v > st.Version {
		if shift := v - st.Version; shift >= 64 {
			st.Seen = 0
		} else {
			st.Seen <<= uint(shift)
		}
		st.Seen |= 1
		st.Version = v
		return true
	}
	back := st.Version - v
	if back >= 64 || st.Seen&(1<<uint(back)) != 0 {
		return false
	}
	st.Seen |= 1 << uint(back)
	return true
}

// ledger collects the entries of one event.
type ledger struct {
	loc     *time.Location
	entries []entry
}

func (l *ledger) add(t time.Time, col int, n int) {
	l.entries = append(l.entries, entry{day: dayOf(t, l.loc), col: int8(col), n: int8(n)})
}

// dayOf returns the day (yyyymmdd) of t in loc.
func dayOf(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(y*10000 + int(m)*100 + d)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// agencyOf is the agency a dossier is counted for: the competent agency
// (the one that resolves it), else the receiving one.
func agencyOf(ev *dossier.Event) string {
	if ev.CompetentAgency != "" {
		return ev.CompetentAgency
	}
	return ev.ReceivingAgency
}

// isReceived reports whether ev shows a dossier past reception.
func isReceived(ev *dossier.Event) bool {
	switch ev.Status {
	case dossier.StatusNew, dossier.StatusSupplementRequested, dossier.StatusRefused:
		return false
	}
	return !ev.ReceivedAt.IsZero()
}

// closingOf tells whether ev shows a received dossier out of the open
// stock, and how: resolved (result ready, or refusal letter issued: the
// process ends in the same "result ready" states either way), withdrawn,
// stopped. Any other end of a received dossier (a final state of a custom
// process with another code) counts as stopped: it ended without a result.
func closingOf(ev *dossier.Event) (closed, resolved bool, kind string) {
	switch ev.Status {
	case dossier.StatusResultReady, dossier.StatusNotCollected, dossier.StatusReturned, dossier.StatusArchived:
		return true, true, ""
	case dossier.StatusWithdrawn:
		return true, false, closeWithdrawn
	case dossier.StatusStopped:
		return true, false, closeStopped
	}
	if ev.Ended {
		return true, false, closeStopped
	}
	return false, false, ""
}

// pauseOf is the kind of pause ev shows.
func pauseOf(ev *dossier.Event) string {
	switch ev.Status {
	case dossier.StatusSupplement:
		return pauseSupplement
	case dossier.StatusAwaitingPayment:
		return pauseFee
	}
	if ev.Paused {
		return pauseSupplement
	}
	return pauseNone
}

// Timeliness classifies a resolution (the rule of the on-time columns):
// with finished the time the result (or the refusal letter) was ready and
// due the due time in force then (after extensions and pauses), read in
// loc,
//
//   - late: finished after due;
//   - early: finished on a day before the due day;
//   - on time: otherwise, that is finished on the due day at or before
//     the due time. A dossier without a due time is on time.
//
// It returns "early", "on_time" or "late".
func Timeliness(finished, due time.Time, loc *time.Location) string {
	switch {
	case due.IsZero():
		return closeOnTime
	case finished.After(due):
		return closeLate
	case dayOf(finished, loc) < dayOf(due, loc):
		return closeEarly
	}
	return closeOnTime
}

var closeCols = map[string]int{
	closeEarly: colResolvedEarly, closeOnTime: colResolvedOnTime, closeLate: colResolvedLate,
	closeWithdrawn: colWithdrawn, closeStopped: colStopped,
}

var pauseCols = map[string]int{pauseSupplement: colPausedSupplement, pauseFee: colPausedFee}

// apply applies ev to st and appends the counter changes to l. It reports
// false for an event already applied (nothing changes, not even st).
//
// Events at or above the dossier's highest version move the dossier: they
// carry its whole state (status, due time, pause, finish), so the first
// one seen counts the reception and a late one (a version skipped, or
// several at once) still leaves the stocks right. A stale event (below the
// highest version, arriving late) moves nothing; it still counts the
// supplement or fee request it records, once.
func (st *dossierState) apply(ev *dossier.Event, l *ledger) bool {
	prev := st.Version
	if !st.markSeen(ev.Version) {
		return false
	}
	if ev.Version < prev {
		if !st.ReceivedAt.IsZero() {
			st.requests(ev, l)
		}
		return true
	}
	t := ev.At
	st.Status = string(ev.Status)
	counted := !st.ReceivedAt.IsZero() || st.NotReceived
	if !counted {
		st.Agency, st.Field, st.Channel = agencyOf(ev), ev.FieldCode, int(ev.Channel)
	}
	if ev.Status == dossier.StatusRefused && !counted {
		st.NotReceived = true
		l.add(t, colNotReceived, 1)
	}
	if st.ReceivedAt.IsZero() {
		if !isReceived(ev) {
			return true
		}
		// First sight of the received dossier: it has been running since
		// reception with the due time it has now (what we know best when the
		// reception event itself was not the first to arrive).
		st.ReceivedAt = ev.ReceivedAt
		col := colReceivedOffline
		if dossier.Channel(st.Channel) == dossier.ChannelOnline {
			col = colReceivedOnline
		}
		l.add(st.ReceivedAt, col, 1)
		st.DueAt = ev.DueAt
		if !st.DueAt.IsZero() {
			st.startRunning(st.ReceivedAt, l)
		}
	}
	if !st.ClosedAt.IsZero() {
		st.returned(ev, l)
		return true
	}

	closed, resolved, kind := closingOf(ev)
	pause := pauseNone
	if !closed {
		pause = pauseOf(ev)
	}
	due := ev.DueAt
	at := t // when the change happened: the finish for a closing event
	if closed && !ev.FinishedAt.IsZero() {
		at = ev.FinishedAt
	}
	at = later(at, st.ReceivedAt)
	running := !closed && pause == pauseNone && !due.IsZero()
	if !st.SegStart.IsZero() && (!running || !due.Equal(st.DueAt)) {
		st.stopRunning(at, l)
	}
	if st.Pause != pause {
		if c, ok := pauseCols[st.Pause]; ok {
			l.add(at, c, -1)
		}
		if c, ok := pauseCols[pause]; ok {
			l.add(at, c, 1)
		}
		st.Pause = pause
	}
	if !due.IsZero() || !closed {
		st.DueAt = due
	}
	if running && st.SegStart.IsZero() {
		st.startRunning(later(at, st.ReceivedAt), l)
	}
	if closed {
		if resolved {
			kind = Timeliness(at, st.DueAt, l.loc)
		}
		st.Closed, st.ClosedAt = kind, at
		l.add(at, closeCols[kind], 1)
	}
	st.requests(ev, l)
	st.returned(ev, l)
	return true
}

// requests counts the supplement or fee request that ev records (a move
// into the paused state).
func (st *dossierState) requests(ev *dossier.Event, l *ledger) {
	if ev.From == ev.To {
		return
	}
	switch ev.Status {
	case dossier.StatusSupplement:
		l.add(ev.At, colSupplementRequested, 1)
	case dossier.StatusAwaitingPayment:
		l.add(ev.At, colFeeRequested, 1)
	}
}

// returned counts the hand-over of the result, once.
func (st *dossierState) returned(ev *dossier.Event, l *ledger) {
	if ev.Status == dossier.StatusReturned && !st.Returned {
		st.Returned = true
		l.add(ev.At, colReturned, 1)
	}
}

// startRunning starts a running segment at t: the dossier becomes overdue
// at the later of t and its due time (booked now, on that day, possibly in
// the future).
func (st *dossierState) startRunning(t time.Time, l *ledger) {
	st.SegStart = t
	l.add(st.overdueFrom(), colOverdueIn, 1)
}

// stopRunning ends the running segment at t: if the dossier was overdue by
// then, it leaves the overdue stock on t's day; if not, the overdue entry
// booked at the start is cancelled.
func (st *dossierState) stopRunning(t time.Time, l *ledger) {
	from := st.overdueFrom()
	if from.Before(t) {
		l.add(t, colOverdueOut, 1)
	} else {
		l.add(from, colOverdueIn, -1)
	}
	st.SegStart = time.Time{}
}
