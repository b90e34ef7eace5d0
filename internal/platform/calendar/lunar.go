package calendar

import (
	"fmt"
	"math"
	"time"
)

// vietnamTimeZone is the offset, in hours east of UTC, at which the
// Vietnamese lunar calendar is computed (the 105°E meridian, used since 1968).
// The same algorithm at UTC+8 gives the Chinese calendar, which is why Tết
// sometimes falls on a different day in Vietnam and China (1968, 1985, 2007).
const vietnamTimeZone = 7.0

// LunarDate is a date in the Vietnamese lunisolar calendar (âm lịch). Month is
// 1..12; Leap is true for the intercalary month (tháng nhuận) that repeats
// Month; Day is 1..30. Year is the solar year in which the lunar year begins
// (lunar 1/1 of Year falls in January or February of Year).
type LunarDate struct {
	Year  int
	Month int
	Day   int
	Leap  bool
}

// String returns the date the Vietnamese way, "10/3/2025", with " nhuận"
// after a leap month's date.
func (l LunarDate) String() string {
	s := fmt.Sprintf("%d/%d/%d", l.Day, l.Month, l.Year)
	if l.Leap {
		s += " nhuận"
	}
	return s
}

// SolarToLunar converts a Gregorian date to the Vietnamese lunar calendar.
// Out-of-range months and days are normalised as time.Date does. Results are
// meaningful roughly from 1800 to 2199, the range the astronomical series used
// (Ho Ngoc Duc, after Meeus) was checked against.
func SolarToLunar(y, m, d int) LunarDate {
	t := time.Date(y, time.Month(m), d, 12, 0, 0, 0, time.UTC)
	return solarToLunar(DateOf(t).jdn(), vietnamTimeZone)
}

// LunarToSolar converts a Vietnamese lunar date to the Gregorian calendar. It
// returns an error wrapping ErrInvalidLunarDate when the date does not exist:
// a leap flag on a month that is not leap that year, or day 30 of a 29-day
// month.
func LunarToSolar(l LunarDate) (y, m, d int, err error) {
	j, ok := lunarToSolar(l, vietnamTimeZone)
	if !ok {
		return 0, 0, 0, fmt.Errorf("lunar date %s: %w", l, ErrInvalidLunarDate)
	}
	date := dateFromJDN(j)
	return date.Year, int(date.Month), date.Day, nil
}

// LunarNewYear returns the solar date of Tết Nguyên đán (lunar 1/1) of the
// given year.
func LunarNewYear(year int) Date {
	j, _ := lunarToSolar(LunarDate{Year: year, Month: 1, Day: 1}, vietnamTimeZone)
	return dateFromJDN(j)
}

// LeapMonth returns the number of the month that is repeated as a leap month
// in the given lunar year, or 0 when the year has 12 months.
func LeapMonth(year int) int {
	for m := 1; m <= 12; m++ {
		if _, ok := lunarToSolar(LunarDate{Year: year, Month: m, Day: 1, Leap: true}, vietnamTimeZone); ok {
			return m
		}
	}
	return 0
}

// The functions below transcribe Ho Ngoc Duc's published algorithm
// ("Thuật toán tính âm lịch", amlich.js), whose astronomical part follows
// Jean Meeus, "Astronomical Algorithms" (1998). Names follow the original so
// that the two can be compared line by line. INT() there is math.Floor here.

// newMoon returns the Julian day (with fraction, UT) of the k-th new moon
// after the new moon of 1900-01-01 13:52 UT.
func newMoon(k float64) float64 {
	const dr = math.Pi / 180
	T := k / 1236.85 // Julian centuries from 1900 January 0.5
	T2 := T * T
	T3 := T2 * T
	jd1 := 2415020.75933 + 29.53058868*k + 0.0001178*T2 - 0.000000155*T3
	jd1 += 0.00033 * math.Sin((166.56+132.87*T-0.009173*T2)*dr)     // mean new moon
	M := 359.2242 + 29.10535608*k - 0.0000333*T2 - 0.00000347*T3    // Sun's mean anomaly
	Mpr := 306.0253 + 385.81691806*k + 0.0107306*T2 + 0.00001236*T3 // Moon's mean anomaly
	F := 21.2964 + 390.67050646*k - 0.0016528*T2 - 0.00000239*T3    // Moon's argument of latitude
	C1 := (0.1734-0.000393*T)*math.Sin(M*dr) + 0.0021*math.Sin(2*dr*M)
	C1 = C1 - 0.4068*math.Sin(Mpr*dr) + 0.0161*math.Sin(dr*2*Mpr)
	C1 = C1 - 0.0004*math.Sin(dr*3*Mpr)
	C1 = C1 + 0.0104*math.Sin(dr*2*F) - 0.0051*math.Sin(dr*(M+Mpr))
	C1 = C1 - 0.0074*math.Sin(dr*(M-Mpr)) + 0.0004*math.Sin(dr*(2*F+M))
	C1 = C1 - 0.0004*math.Sin(dr*(2*F-M)) - 0.0006*math.Sin(dr*(2*F+Mpr))
	C1 = C1 + 0.0010*math.Sin(dr*(2*F-Mpr)) + 0.0005*math.Sin(dr*(2*Mpr+M))
	var deltat float64
	if T < -11 {
		deltat = 0.001 + 0.000839*T + 0.0002261*T2 - 0.00000845*T3 - 0.000000081*T*T3
	} else {
		deltat = -0.000278 + 0.000265*T + 0.000262*T2
	}
	return jd1 + C1 - deltat
}

// sunLongitude returns the Sun's apparent longitude, in radians normalised
// to [0, 2π), at Julian day jdn (UT).
func sunLongitude(jdn float64) float64 {
	const dr = math.Pi / 180
	T := (jdn - 2451545.0) / 36525 // Julian centuries from 2000-01-01 12:00 UT
	T2 := T * T
	M := 357.52910 + 35999.05030*T - 0.0001559*T2 - 0.00000048*T*T2 // mean anomaly, degrees
	L0 := 280.46645 + 36000.76983*T + 0.0003032*T2                  // mean longitude, degrees
	DL := (1.914600 - 0.004817*T - 0.000014*T2) * math.Sin(dr*M)
	DL += (0.019993-0.000101*T)*math.Sin(dr*2*M) + 0.000290*math.Sin(dr*3*M)
	L := (L0 + DL) * dr
	return L - 2*math.Pi*math.Floor(L/(2*math.Pi))
}

// sunLongitudeSector returns which of the 12 30° sectors (0..11) the Sun is
// in at local midnight starting day jdn. A lunar month without a change of
// sector contains no major solar term (trung khí) and is a leap month.
func sunLongitudeSector(jdn int, tz float64) int {
	return int(math.Floor(sunLongitude(float64(jdn)-0.5-tz/24) / math.Pi * 6))
}

// newMoonDay returns the Julian day number of the local day on which the
// k-th new moon falls.
func newMoonDay(k int, tz float64) int {
	return int(math.Floor(newMoon(float64(k)) + 0.5 + tz/24))
}

// lunarMonth11 returns the first day of lunar month 11 (the month that
// contains the winter solstice) of solar year yy.
func lunarMonth11(yy int, tz float64) int {
	off := jdFromDate(31, 12, yy) - 2415021
	k := int(math.Floor(float64(off) / 29.530588853))
	nm := newMoonDay(k, tz)
	if sunLongitudeSector(nm, tz) >= 9 { // the solstice (270°) is already past at month start
		nm = newMoonDay(k-1, tz)
	}
	return nm
}

// leapMonthOffset returns the offset, counted in months after month 11
// starting at a11, of the leap month of a 13-month year.
func leapMonthOffset(a11 int, tz float64) int {
	k := int(math.Floor((float64(a11)-2415021.076998695)/29.530588853 + 0.5))
	i := 1 // start with the month following month 11
	arc := sunLongitudeSector(newMoonDay(k+i, tz), tz)
	for {
		last := arc
		i++
		arc = sunLongitudeSector(newMoonDay(k+i, tz), tz)
		if arc == last || i >= 14 {
			break
		}
	}
	return i - 1
}

// solarToLunar converts a Julian day number to a lunar date at time zone tz.
func solarToLunar(dayNumber int, tz float64) LunarDate {
	yy := dateFromJDN(dayNumber).Year
	// The original takes new moon k+1, else k, from a mean-lunation
	// estimate. True new moons stray up to ~14 hours from the mean, so the
	// estimate can be one lunation off (2054-05-07 gave day 0); step until
	// monthStart is the last new-moon day on or before dayNumber.
	k := int(math.Floor((float64(dayNumber)-2415021.076998695)/29.530588853)) + 1
	for newMoonDay(k, tz) > dayNumber {
		k--
	}
	for newMoonDay(k+1, tz) <= dayNumber {
		k++
	}
	monthStart := newMoonDay(k, tz)
	a11 := lunarMonth11(yy, tz)
	b11 := a11
	var lunarYear int
	if a11 >= monthStart {
		lunarYear = yy
		a11 = lunarMonth11(yy-1, tz)
	} else {
		lunarYear = yy + 1
		b11 = lunarMonth11(yy+1, tz)
	}
	lunarDay := dayNumber - monthStart + 1
	diff := floorDiv(monthStart-a11, 29)
	leap := false
	lunarMonth := diff + 11
	if b11-a11 > 365 {
		leapMonthDiff := leapMonthOffset(a11, tz)
		if diff >= leapMonthDiff {
			lunarMonth = diff + 10
			if diff == leapMonthDiff {
				leap = true
			}
		}
	}
	if lunarMonth > 12 {
		lunarMonth -= 12
	}
	if lunarMonth >= 11 && diff < 4 {
		lunarYear--
	}
	return LunarDate{Year: lunarYear, Month: lunarMonth, Day: lunarDay, Leap: leap}
}

// lunarToSolar converts a lunar date at time zone tz to a Julian day number.
// ok is false when the date does not exist.
func lunarToSolar(l LunarDate, tz float64) (jdn int, ok bool) {
	if l.Month < 1 || l.Month > 12 || l.Day < 1 || l.Day > 30 {
		return 0, false
	}
	var a11, b11 int
	if l.Month < 11 {
		a11 = lunarMonth11(l.Year-1, tz)
		b11 = lunarMonth11(l.Year, tz)
	} else {
		a11 = lunarMonth11(l.Year, tz)
		b11 = lunarMonth11(l.Year+1, tz)
	}
	k := int(math.Floor(0.5 + (float64(a11)-2415021.076998695)/29.530588853))
	off := l.Month - 11
	if off < 0 {
		off += 12
	}
	if b11-a11 > 365 {
		leapOff := leapMonthOffset(a11, tz)
		leapMonth := leapOff - 2
		if leapMonth < 0 {
			leapMonth += 12
		}
		if l.Leap && l.Month != leapMonth {
			return 0, false
		}
		if l.Leap || off >= leapOff {
			off++
		}
	} else if l.Leap {
		return 0, false
	}
	monthStart := newMoonDay(k+off, tz)
	jdn = monthStart + l.Day - 1
	// Catches day 30 of a 29-day month (it lands on the next month's first
	// day) and any other date that does not exist.
	if solarToLunar(jdn, tz) != l {
		return 0, false
	}
	return jdn, true
}
