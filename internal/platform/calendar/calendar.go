package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Shift is one block of office hours in a working day, as wall-clock offsets
// from midnight: {7h30m, 11h30m} is 07:30–11:30.
type Shift struct {
	Start time.Duration
	End   time.Duration
}

// String returns the shift as "07:30-11:30".
func (s Shift) String() string { return clock(s.Start) + "-" + clock(s.End) }

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// DefaultOfficeHours returns the usual office hours of a one-stop desk:
// 07:30–11:30 and 13:30–17:00 (7.5 hours a day).
func DefaultOfficeHours() []Shift {
	return []Shift{
		{7*time.Hour + 30*time.Minute, 11*time.Hour + 30*time.Minute},
		{13*time.Hour + 30*time.Minute, 17 * time.Hour},
	}
}

// ParseOfficeHours parses office hours written as comma-separated shifts,
// "07:30-11:30,13:30-17:00", as one would put them in a configuration file.
func ParseOfficeHours(s string) ([]Shift, error) {
	var shifts []Shift
	for part := range strings.SplitSeq(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("office hours %q: shift %q is not HH:MM-HH:MM: %w", s, part, ErrInvalidOptions)
		}
		start, err1 := parseClock(from)
		end, err2 := parseClock(to)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("office hours %q: %w: %w", s, ErrInvalidOptions, err)
		}
		shifts = append(shifts, Shift{start, end})
	}
	if err := validateShifts(shifts); err != nil {
		return nil, fmt.Errorf("office hours %q: %w", s, err)
	}
	return shifts, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "24:00" {
		return 24 * time.Hour, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("bad time of day %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func validateShifts(shifts []Shift) error {
	if len(shifts) == 0 {
		return fmt.Errorf("no office hours: %w", ErrInvalidOptions)
	}
	prevEnd := time.Duration(0)
	for i, s := range shifts {
		if s.Start < prevEnd || s.End <= s.Start || s.End > 24*time.Hour {
			return fmt.Errorf("shift %d %s must be non-empty, inside the day and after the previous one: %w", i, s, ErrInvalidOptions)
		}
		prevEnd = s.End
	}
	return nil
}

// Options configure a Calendar. The zero Options give the civil-service
// calendar of Vietnam with the shipped announcements.
type Options struct {
	// Location is the time zone in which days begin and office hours are
	// read. Nil means Asia/Ho_Chi_Minh, or a fixed UTC+7 zone when the
	// system has no time zone database (the two agree since 1975).
	Location *time.Location
	// OfficeHours are the shifts of a working day, in order. Nil means
	// DefaultOfficeHours.
	OfficeHours []Shift
	// Weekend lists the weekly days off. Nil means Saturday and Sunday, the
	// civil-service week.
	Weekend []time.Weekday
	// Announcements override the default rule for their years. For any year
	// they cover, the shipped announcements of that year are ignored.
	Announcements []Announcement
	// IgnoreShipped drops the announcements embedded in the package, leaving
	// only the default rule and Announcements.
	IgnoreShipped bool
}

// Calendar answers working-day and office-hour questions. It is immutable
// after New and safe for concurrent use; each year's days off are resolved
// once, on first use, and cached. To apply edited announcements, build a new
// Calendar.
type Calendar struct {
	loc     *time.Location
	shifts  []Shift
	daily   time.Duration // office time in one working day
	weekend [7]bool
	perWeek int // working days in a plain week

	anns map[int][]Announcement // by year
	// Resolved years: a fixed table for cacheFirst..cacheLast (one atomic
	// load per lookup), a sync.Map beyond it.
	cache [cacheLast - cacheFirst + 1]atomic.Pointer[yearData]
	years sync.Map // int → *yearData, for years outside the table
}

const cacheFirst, cacheLast = 1900, 2299

// New returns a Calendar configured by opts. It fails with an error wrapping
// ErrInvalidOptions or ErrInvalidAnnouncement when opts are unusable, for
// example when two announcements of a year disagree about a day.
func New(opts Options) (*Calendar, error) {
	c := &Calendar{loc: opts.Location, anns: map[int][]Announcement{}}
	if c.loc == nil {
		c.loc = vietnamLocation()
	}
	c.shifts = slices.Clone(opts.OfficeHours)
	if c.shifts == nil {
		c.shifts = DefaultOfficeHours()
	}
	if err := validateShifts(c.shifts); err != nil {
		return nil, fmt.Errorf("new calendar: %w", err)
	}
	for _, s := range c.shifts {
		c.daily += s.End - s.Start
	}
	weekend := opts.Weekend
	if weekend == nil {
		weekend = []time.Weekday{time.Saturday, time.Sunday}
	}
	for _, w := range weekend {
		if w < time.Sunday || w > time.Saturday {
			return nil, fmt.Errorf("new calendar: weekend day %d: %w", w, ErrInvalidOptions)
		}
		c.weekend[w] = true
	}
	for _, off := range c.weekend {
		if !off {
			c.perWeek++
		}
	}
	if c.perWeek == 0 {
		return nil, fmt.Errorf("new calendar: the whole week is weekend: %w", ErrInvalidOptions)
	}

	var errs []error
	custom := map[int]bool{}
	for _, a := range opts.Announcements {
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
		custom[a.Year] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new calendar: %w", err)
	}
	all := slices.Clone(opts.Announcements)
	if !opts.IgnoreShipped {
		shipped, err := ShippedAnnouncements()
		if err != nil {
			return nil, fmt.Errorf("new calendar: %w", err)
		}
		for _, a := range shipped {
			if !custom[a.Year] {
				all = append(all, a)
			}
		}
	}
	for _, a := range all {
		a.DaysOff = slices.Clone(a.DaysOff)
		a.WorkingDays = slices.Clone(a.WorkingDays)
		c.anns[a.Year] = append(c.anns[a.Year], a)
	}
	for year, list := range c.anns {
		if err := checkConsistent(list); err != nil {
			return nil, fmt.Errorf("new calendar: year %d: %w", year, err)
		}
	}
	return c, nil
}

// checkConsistent rejects announcements of one year that make a day both off
// and working.
func checkConsistent(list []Announcement) error {
	off := map[Date]string{}
	for _, a := range list {
		for _, p := range a.DaysOff {
			for d := p.From; !d.After(p.Last()); d = d.AddDays(1) {
				off[d] = a.Title
			}
		}
	}
	for _, a := range list {
		for _, d := range a.WorkingDays {
			if title, ok := off[d]; ok {
				return fmt.Errorf("%s is a working day in %q but a day off in %q: %w", d, a.Title, title, ErrInvalidAnnouncement)
			}
		}
	}
	return nil
}

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := New(Options{})
	if err != nil {
		panic(err) // the shipped data is checked by the package tests
	}
	return c
})

// Default returns a shared Calendar built with the zero Options.
func Default() *Calendar { return defaultCalendar() }

func vietnamLocation() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("+07", 7*60*60)
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// OfficeHours returns the calendar's shifts.
func (c *Calendar) OfficeHours() []Shift { return slices.Clone(c.shifts) }

// DateOf returns the civil date of t in the calendar's time zone.
func (c *Calendar) DateOf(t time.Time) Date { return DateOf(t.In(c.loc)) }

// year returns the resolved data of a year, building it on first use.
// Two goroutines may build the same year at once; both results are equal
// and one wins.
func (c *Calendar) year(y int) *yearData {
	if y >= cacheFirst && y <= cacheLast {
		p := &c.cache[y-cacheFirst]
		if yd := p.Load(); yd != nil {
			return yd
		}
		p.CompareAndSwap(nil, buildYear(y, c.anns[y], &c.weekend))
		return p.Load()
	}
	if v, ok := c.years.Load(y); ok {
		return v.(*yearData)
	}
	v, _ := c.years.LoadOrStore(y, buildYear(y, c.anns[y], &c.weekend))
	return v.(*yearData)
}

// working reports whether the day with Julian day number j is a working day.
func (c *Calendar) working(j int) bool {
	yd := c.year(dateFromJDN(j).Year)
	if yd.makeUp[j] {
		return true
	}
	if _, off := yd.off[j]; off {
		return false
	}
	return !c.weekend[weekdayOf(j)]
}

// countWorking returns the number of working days in a..b inclusive (0 when
// b < a), in time logarithmic in the number of exceptions.
func (c *Calendar) countWorking(a, b int) int {
	if b < a {
		return 0
	}
	days := b - a + 1
	n := days / 7 * c.perWeek
	for j := a + days/7*7; j <= b; j++ {
		if !c.weekend[weekdayOf(j)] {
			n++
		}
	}
	for y := dateFromJDN(a).Year; y <= dateFromJDN(b).Year; y++ {
		n += c.year(y).deltaIn(a, b)
	}
	return n
}

// plainAfter returns the n-th day after d (n ≥ 1) that is not a weekend
// day, ignoring holidays: the answer when no exception lies in between.
func (c *Calendar) plainAfter(d, n int) int {
	q := (n - 1) / c.perWeek
	x, rest := d+7*q, n-q*c.perWeek
	for rest > 0 {
		x++
		if !c.weekend[weekdayOf(x)] {
			rest--
		}
	}
	return x
}

// plainBefore is plainAfter backwards.
func (c *Calendar) plainBefore(d, n int) int {
	q := (n - 1) / c.perWeek
	x, rest := d-7*q, n-q*c.perWeek
	for rest > 0 {
		x--
		if !c.weekend[weekdayOf(x)] {
			rest--
		}
	}
	return x
}

// nthAfter returns the n-th working day after day d (n ≥ 1): the smallest x
// with n working days in d+1..x. It guesses from the weekday arithmetic,
// corrects by the holidays counted in between (usually one or two rounds),
// and falls back to a binary search over countWorking.
func (c *Calendar) nthAfter(d, n int) int {
	x := c.plainAfter(d, n)
	for range 4 {
		got := c.countWorking(d+1, x)
		if got == n && c.working(x) {
			return x
		}
		if got >= n {
			break
		}
		x = c.plainAfter(x, n-got)
	}
	lo, hi := d+1, x
	for c.countWorking(d+1, hi) < n {
		hi += hi - d
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if c.countWorking(d+1, mid) >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// nthBefore returns the n-th working day before day d (n ≥ 1): the largest
// x with n working days in x..d-1.
func (c *Calendar) nthBefore(d, n int) int {
	x := c.plainBefore(d, n)
	for range 4 {
		got := c.countWorking(x, d-1)
		if got == n && c.working(x) {
			return x
		}
		if got >= n {
			break
		}
		x = c.plainBefore(x, n-got)
	}
	lo, hi := x, d-1
	for c.countWorking(lo, d-1) < n {
		lo -= d - lo
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if c.countWorking(mid, d-1) >= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// IsWorkingDay reports whether the day of t (in the calendar's time zone) is
// a working day: not a weekend day unless announced as a working day, and not
// a holiday, compensatory day or announced day off.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	return c.working(c.DateOf(t).jdn())
}

// IsWorkingDate reports whether d is a working day.
func (c *Calendar) IsWorkingDate(d Date) bool { return c.working(d.jdn()) }

// Holiday returns the Vietnamese name of the holiday, compensatory day or
// announced day off on t's day. ok is false on working days and on plain
// weekend days.
func (c *Calendar) Holiday(t time.Time) (name string, ok bool) {
	d := c.DateOf(t)
	h, ok := c.year(d.Year).off[d.jdn()]
	return h.Name, ok
}

// Holidays lists the days off of year other than plain weekend days, in date
// order, for display and administration.
func (c *Calendar) Holidays(year int) []Holiday {
	return slices.Clone(c.year(year).holidays)
}

// MakeUpDays lists the announced working days of year (ngày làm bù), in
// date order.
func (c *Calendar) MakeUpDays(year int) []Date {
	return slices.Clone(c.year(year).makeUps)
}

// NextWorkingDay returns the opening time (start of the first shift) of the
// first working day after t's day.
func (c *Calendar) NextWorkingDay(t time.Time) time.Time {
	j := c.nthAfter(c.DateOf(t).jdn(), 1)
	return c.at(j, c.shifts[0].Start)
}

// AddWorkingDays returns the deadline of something received at t with a
// duration of n working days.
//
// Following one-stop practice, the day of reception does not count: the
// result is the closing time (end of the last shift) of the n-th working day
// after t's day, whatever the time of day of t and whether or not t's day is
// itself a working day. Rules such as "received after 15:00 counts as
// received the next working day" belong to the caller, which can move t with
// NextWorkingDay first.
//
// n = 0 means "the same day": the closing time of t's day if it is a working
// day, otherwise of the next working day. A negative n counts back: the
// closing time of the |n|-th working day before t's day.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := c.DateOf(t).jdn()
	var j int
	switch {
	case n > 0:
		j = c.nthAfter(d, n)
	case n < 0:
		j = c.nthBefore(d, -n)
	case c.working(d):
		j = d
	default:
		j = c.nthAfter(d, 1)
	}
	return c.at(j, c.shifts[len(c.shifts)-1].End)
}

// WorkingDaysBetween returns the number of working days after a's day up to
// and including b's day, negated when b's day is before a's day. For n ≥ 1,
// WorkingDaysBetween(t, AddWorkingDays(t, n)) == n; a result that is
// finished on a later day is late by WorkingDaysBetween(due, finished)
// working days.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	da, db := c.DateOf(a).jdn(), c.DateOf(b).jdn()
	if db >= da {
		return c.countWorking(da+1, db)
	}
	return -c.countWorking(db+1, da)
}
