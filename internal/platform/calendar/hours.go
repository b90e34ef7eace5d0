package calendar

import "time"

// dayClock splits t, read in the calendar's zone, into its day's Julian day
// number and the wall-clock time since midnight.
func (c *Calendar) dayClock(t time.Time) (int, time.Duration) {
	t = t.In(c.loc)
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return Date{y, m, d}.jdn(),
		time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute +
			time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// at returns the instant at wall-clock offset off on day j.
func (c *Calendar) at(j int, off time.Duration) time.Time {
	d := dateFromJDN(j)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, int(off), c.loc)
}

// officeIn returns the office time between wall-clock offsets x and y of one
// working day.
func (c *Calendar) officeIn(x, y time.Duration) time.Duration {
	var sum time.Duration
	for _, s := range c.shifts {
		lo, hi := max(x, s.Start), min(y, s.End)
		if hi > lo {
			sum += hi - lo
		}
	}
	return sum
}

// InOfficeHours reports whether t falls inside a shift of a working day.
func (c *Calendar) InOfficeHours(t time.Time) bool {
	j, off := c.dayClock(t)
	if !c.working(j) {
		return false
	}
	for _, s := range c.shifts {
		if off >= s.Start && off < s.End {
			return true
		}
	}
	return false
}

// AddWorkingHours returns the instant at which d of office time has elapsed
// after t, counting only office hours of working days (lunch breaks, nights,
// weekends and holidays do not count). When the time runs out exactly at the
// end of a shift, the result is that end (11:30, not 13:30). Starting outside
// office hours, counting begins at the next opening.
//
// A negative d counts back and returns the latest instant from which |d| of
// office time leads to t; running out exactly at the start of a shift gives
// that start. A zero d returns t (in the calendar's zone). In every case
// WorkingTimeBetween(t, AddWorkingHours(t, d)) == d.
func (c *Calendar) AddWorkingHours(t time.Time, d time.Duration) time.Time {
	switch {
	case d > 0:
		return c.forward(t, d)
	case d < 0:
		return c.backward(t, -d)
	}
	return t.In(c.loc)
}

func (c *Calendar) forward(t time.Time, d time.Duration) time.Time {
	j, off := c.dayClock(t)
	if c.working(j) {
		for _, s := range c.shifts {
			if off >= s.End {
				continue
			}
			start := max(off, s.Start)
			avail := s.End - start
			if d <= avail {
				return c.at(j, start+d)
			}
			d -= avail
		}
	}
	// Skip whole working days, then place the rest (0 < rest ≤ daily) in
	// the following one.
	full := int((d - 1) / c.daily)
	rest := d - time.Duration(full)*c.daily
	j = c.nthAfter(j, full+1)
	for _, s := range c.shifts {
		n := s.End - s.Start
		if rest <= n {
			return c.at(j, s.Start+rest)
		}
		rest -= n
	}
	panic("calendar: unreachable: rest exceeds a working day")
}

func (c *Calendar) backward(t time.Time, d time.Duration) time.Time {
	j, off := c.dayClock(t)
	if c.working(j) {
		for i := len(c.shifts) - 1; i >= 0; i-- {
			s := c.shifts[i]
			if off <= s.Start {
				continue
			}
			end := min(off, s.End)
			avail := end - s.Start
			if d <= avail {
				return c.at(j, end-d)
			}
			d -= avail
		}
	}
	full := int((d - 1) / c.daily)
	rest := d - time.Duration(full)*c.daily
	j = c.nthBefore(j, full+1)
	for i := len(c.shifts) - 1; i >= 0; i-- {
		s := c.shifts[i]
		n := s.End - s.Start
		if rest <= n {
			return c.at(j, s.End-rest)
		}
		rest -= n
	}
	panic("calendar: unreachable: rest exceeds a working day")
}

// WorkingTimeBetween returns the office time between a and b, counting only
// office hours of working days; it is negative when b is before a.
func (c *Calendar) WorkingTimeBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.WorkingTimeBetween(b, a)
	}
	ja, oa := c.dayClock(a)
	jb, ob := c.dayClock(b)
	if ja == jb {
		if !c.working(ja) {
			return 0
		}
		return c.officeIn(oa, ob)
	}
	var sum time.Duration
	if c.working(ja) {
		sum += c.officeIn(oa, 24*time.Hour)
	}
	if c.working(jb) {
		sum += c.officeIn(0, ob)
	}
	return sum + time.Duration(c.countWorking(ja+1, jb-1))*c.daily
}
