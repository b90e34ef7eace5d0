package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date in the Gregorian calendar, without a time of day or a
// location. The zero Date is "no date". Dates marshal as "YYYY-MM-DD".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's own location. Use
// [Calendar.DateOf] to get the date in the calendar's time zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses a date written as "YYYY-MM-DD". It rejects dates that do
// not exist, such as 2025-02-29.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: %q (want YYYY-MM-DD)", ErrInvalidDate, s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d names a day that exists (month 1–12, day within the
// month).
func (d Date) Valid() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return dateFromJDN(d.jdn()) == d
}

// String returns d as "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return weekdayOf(d.jdn()) }

// AddDays returns the date n days after d (before d when n is negative).
func (d Date) AddDays(n int) Date { return dateFromJDN(d.jdn() + n) }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	a, b := d.jdn(), o.jdn()
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// MarshalText encodes d as "YYYY-MM-DD" ("" for the zero Date).
func (d Date) MarshalText() ([]byte, error) {
	if !d.IsZero() && !d.Valid() {
		return nil, fmt.Errorf("marshal date %04d-%02d-%02d: %w", d.Year, int(d.Month), d.Day, ErrInvalidDate)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes "YYYY-MM-DD"; "" decodes to the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// jdn returns the Julian day number of d in the proleptic Gregorian calendar.
// Out-of-range months and days are normalised the way time.Date does.
func (d Date) jdn() int {
	y, m := d.Year, int(d.Month)
	// Bring the month into 1..12 first so the integer divisions below only
	// see non-negative numerators.
	m--
	y += floorDiv(m, 12)
	m = m - 12*floorDiv(m, 12) + 1
	return jdFromDate(d.Day, m, y)
}

// dateFromJDN is the inverse of Date.jdn.
func dateFromJDN(j int) Date {
	d, m, y := jdToDate(j)
	return Date{y, time.Month(m), d}
}

// jdFromDate returns the Julian day number of a Gregorian date whose month is
// 1..12 (the day may overflow). Formula from Ho Ngoc Duc's "Am lich Viet Nam",
// restricted to the Gregorian calendar so that it agrees with package time.
func jdFromDate(dd, mm, yy int) int {
	a := (14 - mm) / 12
	y := yy + 4800 - a
	m := mm + 12*a - 3
	return dd + (153*m+2)/5 + 365*y + floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400) - 32045
}

// jdToDate converts a Julian day number to a Gregorian date.
func jdToDate(jd int) (day, month, year int) {
	a := jd + 32044
	b := floorDiv(4*a+3, 146097)
	c := a - floorDiv(146097*b, 4)
	d := floorDiv(4*c+3, 1461)
	e := c - floorDiv(1461*d, 4)
	m := floorDiv(5*e+2, 153)
	day = e - floorDiv(153*m+2, 5) + 1
	month = m + 3 - 12*floorDiv(m, 10)
	year = b*100 + d - 4800 + floorDiv(m, 10)
	return day, month, year
}

// weekdayOf returns the day of the week of a Julian day number.
func weekdayOf(j int) time.Weekday {
	return time.Weekday(floorMod(j+1, 7))
}

func floorDiv(a, b int) int {
	if a >= 0 && b > 0 { // the usual case; Julian day numbers are positive
		return a / b
	}
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - b*floorDiv(a, b) }
