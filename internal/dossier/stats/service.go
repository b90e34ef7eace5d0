package stats

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidEvent: an event without a dossier code, a version or a time.
	ErrInvalidEvent = errors.New("stats: invalid event")
	// ErrInvalidQuery: a report query breaks a rule; a *QueryError lists
	// every problem.
	ErrInvalidQuery = errors.New("stats: invalid query")
)

// QueryProblem is one thing wrong with a report query: the parameter, a
// stable code and a Vietnamese message.
type QueryProblem struct {
	Field   string
	Code    string
	Message string
}

// QueryError lists every problem of a report query. It matches
// ErrInvalidQuery.
type QueryError struct {
	Problems []QueryProblem
}

func (e *QueryError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "stats: invalid query: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalidQuery) hold.
func (e *QueryError) Is(target error) bool { return target == ErrInvalidQuery }

// SubscriberName is the name of the module's outbox subscriptions.
const SubscriberName = "dossier_stats"

// Topics are the dossier topics the statistics follow: those that change a
// dossier's state. "dossier.fee_paid" and "dossier.result_added" carry the
// version of the last transition and no change of status, so they are not
// followed (applied first, they would hide that transition's own event).
var Topics = []string{dossier.TopicSubmitted, dossier.TopicReceived, dossier.TopicTransition}

// Config wires a Service.
type Config struct {
	// Location is where days are read; default the working-day calendar's
	// (Asia/Ho_Chi_Minh).
	Location *time.Location
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service keeps and reports the statistics. It is safe for concurrent use;
// several nodes may run it over the same database.
type Service struct {
	db  *db.DB
	loc *time.Location
	now func() time.Time
}

// New returns a Service over d, whose schema must include [Migrations]. It
// does no I/O.
func New(d *db.DB, cfg Config) *Service {
	s := &Service{db: d, loc: cfg.Location, now: cfg.Now}
	if s.loc == nil {
		s.loc = calendar.Default().Location()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Subscribe registers the statistics' handlers for [Topics] on d (call it
// while wiring, before d.Register or d.Run).
func (s *Service) Subscribe(d *outbox.Dispatcher) {
	for _, topic := range Topics {
		d.Subscribe(topic, SubscriberName, s.handle)
	}
}

func (s *Service) handle(ctx context.Context, e outbox.Event) error {
	var ev dossier.Event
	if err := e.Decode(&ev); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error { return s.Apply(ctx, tx, ev) })
}

// Apply applies one dossier event in tx: it updates the dossier's state and
// the flow counters of its agency and field. Applying an event again
// changes nothing; an event older than one already applied (out of order)
// moves nothing but still counts the supplement or fee request it records.
func (s *Service) Apply(ctx context.Context, tx *db.Tx, ev dossier.Event) error {
	if ev.Code == "" || ev.Version <= 0 || ev.At.IsZero() {
		return fmt.Errorf("%w: code %q, version %d, at %s", ErrInvalidEvent, ev.Code, ev.Version, ev.At)
	}
	now := s.now()
	st, err := lockState(ctx, tx, ev.Code, now)
	if err != nil {
		return err
	}
	l := ledger{loc: s.loc}
	if !st.apply(&ev, &l) {
		return nil
	}
	if err := saveState(ctx, tx, ev.Code, st, now); err != nil {
		return err
	}
	if err := addFlows(ctx, tx, st.Agency, st.Field, l.entries); err != nil {
		return fmt.Errorf("apply %s v%d: %w", ev.Code, ev.Version, err)
	}
	return nil
}

// Source yields dossier events for [Service.Rebuild]: each dossier's events
// in version order (a replay of kept outbox events), or one event per
// dossier carrying its current state (a snapshot; its At must be the time
// of the last change, the return time for a returned dossier).
type Source func(ctx context.Context, yield func(dossier.Event) error) error

// Rebuild empties the statistics and applies every event of src, in
// transactions of 500 events. It returns how many events it read.
//
// The dossier module exports no query that lists every dossier with its
// agency, field and dates (List pages one official's units without them),
// so the caller provides the source. A snapshot source gives exact
// receptions, resolutions, returns, withdrawals, stops and current stocks,
// but not the supplement and fee requests nor past pauses, which only the
// events record. Events the dispatcher applies meanwhile are not counted
// twice (versions), but an event applied just before the reset and missing
// from the source would be lost: stop the subscription while rebuilding.
func (s *Service) Rebuild(ctx context.Context, src Source) (int, error) {
	if err := s.db.Tx(ctx, func(tx *db.Tx) error { return reset(ctx, tx) }); err != nil {
		return 0, err
	}
	n := 0
	batch := make([]dossier.Event, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.db.Tx(ctx, func(tx *db.Tx) error {
			for _, ev := range batch {
				if err := s.Apply(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err := src(ctx, func(ev dossier.Event) error {
		n++
		batch = append(batch, ev)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("rebuild statistics: %w", err)
	}
	return n, nil
}

// GroupBy says how a report's rows are grouped.
type GroupBy string

// The groupings.
const (
	GroupByAgency      GroupBy = "agency"
	GroupByField       GroupBy = "field"
	GroupByAgencyField GroupBy = "agency_field"
)

// Query asks for a report over the days [From, To) in Asia/Ho_Chi_Minh.
type Query struct {
	From, To calendar.Date
	// Agency (an e-ID, exactly; sub-units are not included) and Field (a
	// field code) narrow the report when set.
	Agency string
	Field  string
	// GroupBy defaults to agency_field.
	GroupBy GroupBy
}

// Counts are the columns of the §11 report for one row.
//
// Flows count what happened in the period; stocks count dossiers at a
// moment. They balance: CarriedOver + Received = Resolved + Withdrawn +
// Stopped + Pending.
type Counts struct {
	// CarriedOver: received before From and still open at From.
	CarriedOver int64 `json:"carried_over"`
	// Received in the period, online (channel 2) and offline (in person 1,
	// post 3).
	Received        int64 `json:"received"`
	ReceivedOnline  int64 `json:"received_online"`
	ReceivedOffline int64 `json:"received_offline"`
	// Resolved in the period (result ready, or refusal letter issued), by
	// [Timeliness].
	Resolved       int64 `json:"resolved"`
	ResolvedEarly  int64 `json:"resolved_early"`
	ResolvedOnTime int64 `json:"resolved_on_time"`
	ResolvedLate   int64 `json:"resolved_late"`
	// OnTimeRate is (early + on time) / resolved in percent, nil when
	// nothing was resolved.
	OnTimeRate *float64 `json:"on_time_rate"`
	// Pending is the open stock at the end of the period: within time,
	// overdue (running past the due time) and paused (supplement, fee).
	Pending           int64 `json:"pending"`
	PendingWithinTime int64 `json:"pending_within_time"`
	PendingOverdue    int64 `json:"pending_overdue"`
	PausedSupplement  int64 `json:"paused_supplement"`
	PausedFee         int64 `json:"paused_fee"`
	// Flows of the period: stopped (form 05), withdrawn after reception,
	// results returned, supplement and fee requests during processing, and
	// dossiers refused at reception (form 03, never received).
	Stopped             int64 `json:"stopped"`
	Withdrawn           int64 `json:"withdrawn"`
	Returned            int64 `json:"returned"`
	SupplementRequested int64 `json:"supplement_requested"`
	FeeRequested        int64 `json:"fee_requested"`
	NotReceived         int64 `json:"not_received"`
}

// Row is one row of a report: an agency, a field, or both.
type Row struct {
	Agency string `json:"agency,omitempty"`
	Field  string `json:"field,omitempty"`
	Counts
}

// Report is the §11 report of a period.
type Report struct {
	From    calendar.Date `json:"from"`
	To      calendar.Date `json:"to"`
	Agency  string        `json:"agency,omitempty"`
	Field   string        `json:"field,omitempty"`
	GroupBy GroupBy       `json:"group_by"`
	// StockAt is when the stocks were taken: midnight starting To, or now
	// when To is after today.
	StockAt time.Time `json:"stock_at"`
	Rows    []Row     `json:"rows"`
	Total   Counts    `json:"total"`
}

func (q *Query) check(today calendar.Date) error {
	var ps []QueryProblem
	add := func(field, code, msg string) { ps = append(ps, QueryProblem{Field: field, Code: code, Message: msg}) }
	switch {
	case q.From.IsZero():
		add("from", "required", "Chọn ngày bắt đầu.")
	case !q.From.Valid():
		add("from", "invalid_format", "Ngày bắt đầu không hợp lệ.")
	case q.From.After(today):
		add("from", "invalid_value", "Ngày bắt đầu không được sau hôm nay.")
	}
	switch {
	case q.To.IsZero():
		add("to", "required", "Chọn ngày kết thúc.")
	case !q.To.Valid():
		add("to", "invalid_format", "Ngày kết thúc không hợp lệ.")
	case q.From.Valid() && !q.To.After(q.From):
		add("to", "invalid_value", "Ngày kết thúc phải sau ngày bắt đầu.")
	}
	if q.GroupBy == "" {
		q.GroupBy = GroupByAgencyField
	}
	if q.GroupBy != GroupByAgency && q.GroupBy != GroupByField && q.GroupBy != GroupByAgencyField {
		add("group_by", "invalid_value", "Cách nhóm phải là agency, field hoặc agency_field.")
	}
	if len(q.Agency) > 100 {
		add("agency", "too_long", "Mã cơ quan quá dài.")
	}
	if len(q.Field) > 100 {
		add("field", "too_long", "Mã lĩnh vực quá dài.")
	}
	if ps != nil {
		return &QueryError{Problems: ps}
	}
	return nil
}

// Report returns the §11 report of q: per group, the flows of [From, To),
// the stock carried over at From, and the stocks at the end (midnight
// starting To, or now when To is after today), with a total row.
//
// Every number comes from two prefix sums of the flow tables (at From and
// at the end), each read from at most 9 rows per agency and field plus one
// per earlier year (see the package documentation): the cost grows with
// agencies × fields, not with dossiers or the length of the period. The
// overdue stock "now" also subtracts the dossiers that become overdue later
// today, read from an index over exactly those dossiers.
func (s *Service) Report(ctx context.Context, q Query) (*Report, error) {
	now := s.now()
	today := calendar.DateOf(now.In(s.loc))
	if err := q.check(today); err != nil {
		return nil, err
	}
	end, stockAt, live := q.To, q.To.In(s.loc), false
	if q.To.After(today) {
		end, stockAt, live = today.AddDays(1), now, true
	}
	f := filter{agency: q.Agency, field: q.Field, by: q.GroupBy}
	atFrom, atEnd, later, err := s.prefixes(ctx, q.From, end, f, live, now, end.In(s.loc))
	if err != nil {
		return nil, fmt.Errorf("statistics report: %w", err)
	}
	keys := map[group]bool{}
	for g := range atFrom {
		keys[g] = true
	}
	for g := range atEnd {
		keys[g] = true
	}
	rep := &Report{From: q.From, To: q.To, Agency: q.Agency, Field: q.Field, GroupBy: q.GroupBy, StockAt: stockAt, Rows: []Row{}}
	var zero counts
	for g := range keys {
		a, b := atFrom[g], atEnd[g]
		if a == nil {
			a = &zero
		}
		if b == nil {
			b = &zero
		}
		c := columns(a, b, later[g])
		if c == (Counts{}) {
			continue
		}
		rep.Rows = append(rep.Rows, Row{Agency: g.agency, Field: g.field, Counts: c})
	}
	slices.SortFunc(rep.Rows, func(x, y Row) int {
		if c := strings.Compare(x.Agency, y.Agency); c != 0 {
			return c
		}
		return strings.Compare(x.Field, y.Field)
	})
	for _, r := range rep.Rows {
		rep.Total.add(r.Counts)
	}
	rep.Total.rate()
	return rep, nil
}

// prefixes returns the prefix sums at from and at end per group and, when
// live, the dossiers that become overdue in [now, midnight): the queries
// run at once on the read pool.
func (s *Service) prefixes(ctx context.Context, from, end calendar.Date, f filter, live bool, now, midnight time.Time) (
	atFrom, atEnd map[group]*counts, later map[group]int64, err error) {
	type task struct {
		s    span
		into map[group]*counts
	}
	atFrom, atEnd, later = map[group]*counts{}, map[group]*counts{}, map[group]int64{}
	var tasks []task
	for _, sp := range prefixSpans(from) {
		tasks = append(tasks, task{sp, atFrom})
	}
	for _, sp := range prefixSpans(end) {
		tasks = append(tasks, task{sp, atEnd})
	}
	results := make([]map[group]*counts, len(tasks))
	errs := make([]error, len(tasks)+1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, t := range tasks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = sumSpan(ctx, s.db, t.s, f)
		})
	}
	if live {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[len(tasks)] = notYetOverdue(ctx, s.db.Read(), now, midnight, f, later)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, err
	}
	for i, t := range tasks {
		for g, c := range results[i] {
			if t.into[g] == nil {
				t.into[g] = &counts{}
			}
			t.into[g].add(c, 1)
		}
	}
	return atFrom, atEnd, later, nil
}

// columns computes a row from the prefix sums at From (a) and at the end
// (b), and the dossiers of b's overdue entries not overdue yet.
func columns(a, b *counts, notYet int64) Counts {
	var fl counts
	fl.add(b, 1)
	fl.add(a, -1)
	c := Counts{
		CarriedOver:         a.open(),
		ReceivedOnline:      fl[colReceivedOnline],
		ReceivedOffline:     fl[colReceivedOffline],
		ResolvedEarly:       fl[colResolvedEarly],
		ResolvedOnTime:      fl[colResolvedOnTime],
		ResolvedLate:        fl[colResolvedLate],
		Returned:            fl[colReturned],
		Withdrawn:           fl[colWithdrawn],
		Stopped:             fl[colStopped],
		SupplementRequested: fl[colSupplementRequested],
		FeeRequested:        fl[colFeeRequested],
		NotReceived:         fl[colNotReceived],
		Pending:             b.open(),
		PausedSupplement:    b[colPausedSupplement],
		PausedFee:           b[colPausedFee],
		PendingOverdue:      b[colOverdueIn] - b[colOverdueOut] - notYet,
	}
	c.Received = c.ReceivedOnline + c.ReceivedOffline
	c.Resolved = c.ResolvedEarly + c.ResolvedOnTime + c.ResolvedLate
	c.PendingWithinTime = c.Pending - c.PendingOverdue - c.PausedSupplement - c.PausedFee
	c.rate()
	return c
}

func (c *Counts) add(o Counts) {
	c.CarriedOver += o.CarriedOver
	c.Received += o.Received
	c.ReceivedOnline += o.ReceivedOnline
	c.ReceivedOffline += o.ReceivedOffline
	c.Resolved += o.Resolved
	c.ResolvedEarly += o.ResolvedEarly
	c.ResolvedOnTime += o.ResolvedOnTime
	c.ResolvedLate += o.ResolvedLate
	c.Pending += o.Pending
	c.PendingWithinTime += o.PendingWithinTime
	c.PendingOverdue += o.PendingOverdue
	c.PausedSupplement += o.PausedSupplement
	c.PausedFee += o.PausedFee
	c.Stopped += o.Stopped
	c.Withdrawn += o.Withdrawn
	c.Returned += o.Returned
	c.SupplementRequested += o.SupplementRequested
	c.FeeRequested += o.FeeRequested
	c.NotReceived += o.NotReceived
}

// rate sets OnTimeRate, rounded to two decimals.
func (c *Counts) rate() {
	c.OnTimeRate = nil
	if c.Resolved > 0 {
		r := math.Round(float64(c.ResolvedEarly+c.ResolvedOnTime)*10000/float64(c.Resolved)) / 100
		c.OnTimeRate = &r
	}
}

func ymd(d calendar.Date) int32 { return int32(d.Year*10000 + int(d.Month)*100 + d.Day) }

// firstOfMonth returns the first day of d's month, moved by n months.
func firstOfMonth(d calendar.Date, n int) calendar.Date {
	m := d.Year*12 + int(d.Month) - 1 + n
	return calendar.Date{Year: m / 12, Month: time.Month(m%12 + 1), Day: 1}
}

// prefixSpans returns the spans whose signed sum is the sum of every
// counter on the days before x. It walks up the levels from x: at each
// level it reaches the enclosing boundary of the level above either
// forwards (adding the periods from that boundary up to x) or backwards
// (subtracting the periods from x up to the next boundary), whichever reads
// fewer rows, then adds the whole years before. A prefix thus reads at most
// 5 daily, 1 dekad, 1 monthly and 2 quarterly rows per agency and field,
// plus one per year before.
func prefixSpans(x calendar.Date) []span {
	var out []span
	walk := func(table string, lo, x, hi int32, fwd, bwd int) {
		if fwd <= bwd {
			out = append(out, span{table, lo, x, 1})
		} else {
			out = append(out, span{table, x, hi, -1})
		}
	}
	// Days within the dekad.
	month, next := firstOfMonth(x, 0), firstOfMonth(x, 1)
	k := min((x.Day-1)/10, 2)
	ds := calendar.Date{Year: x.Year, Month: x.Month, Day: 1 + 10*k}
	de := next
	if k < 2 {
		de = calendar.Date{Year: x.Year, Month: x.Month, Day: 11 + 10*k}
	}
	fwd, bwd := x.Day-ds.Day, int(de.In(time.UTC).Sub(x.In(time.UTC)).Hours()/24)
	walk(tableDaily, ymd(ds), ymd(x), ymd(de), fwd, bwd)
	b := ds
	if fwd > bwd {
		b = de
	}
	// Dekads within the month: b is the first day of a dekad.
	month, next = firstOfMonth(b, 0), firstOfMonth(b, 1)
	dekad := func(d calendar.Date) int32 { return int32(d.Year*1000 + int(d.Month)*10 + (d.Day-1)/10) }
	k = (b.Day - 1) / 10
	walk(tableDekadly, dekad(month), dekad(b), dekad(next), k, 3-k)
	m := month
	if k > 3-k {
		m = next
	}
	// Months within the quarter: m is the first day of a month.
	j := (int(m.Month) - 1) % 3
	qs, qe := firstOfMonth(m, -j), firstOfMonth(m, 3-j)
	ym := func(d calendar.Date) int32 { return int32(d.Year*100 + int(d.Month)) }
	walk(tableMonthly, ym(qs), ym(m), ym(qe), j, 3-j)
	q := qs
	if j > 3-j {
		q = qe
	}
	// Quarters within the year: q is the first day of a quarter.
	qi := (int(q.Month) - 1) / 3
	qc := func(d calendar.Date) int32 { return int32(d.Year*10 + (int(d.Month)-1)/3 + 1) }
	walk(tableQuarterly, int32(q.Year*10+1), qc(q), int32((q.Year+1)*10+1), qi, 4-qi)
	y := q.Year
	if qi > 4-qi {
		y++
	}
	return append(out, span{tableYearly, 0, int32(y), 1})
}
