package calendar

import (
	"errors"
	"testing"
	"time"
)

// Tết Nguyên đán in Vietnam, from published calendars. Where the Chinese date
// differs (the time-zone effect), it is given too.
var tetDates = []struct {
	year         int
	vietnam      string
	china        string // "" when the same day
	whyDifferent string
}{
	{1968, "1968-01-29", "1968-01-30", "Tết Mậu Thân: the North switched to UTC+7 in 1967"},
	{1985, "1985-01-21", "1985-02-20", "month 11 starts a day apart, so the leap month differs"},
	{2000, "2000-02-05", "", ""},
	{2007, "2007-02-17", "2007-02-18", "new moon at 16:14 UTC on 17 Feb"},
	{2010, "2010-02-14", "", ""},
	{2016, "2016-02-08", "", ""},
	{2019, "2019-02-05", "", ""},
	{2020, "2020-01-25", "", ""},
	{2021, "2021-02-12", "", ""},
	{2022, "2022-02-01", "", ""},
	{2023, "2023-01-22", "", ""},
	{2024, "2024-02-10", "", ""},
	{2025, "2025-01-29", "", ""},
	{2026, "2026-02-17", "", ""},
	{2027, "2027-02-06", "", ""},
	{2028, "2028-01-26", "", ""},
	{2029, "2029-02-13", "", ""},
	// Often listed as 3 Feb, which is China's date: the new moon is at 16:07
	// UTC on 2 Feb, 23:07 in Vietnam but after midnight in China.
	{2030, "2030-02-02", "2030-02-03", "new moon at 16:07 UTC on 2 Feb"},
}

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLunarNewYear(t *testing.T) {
	for _, tc := range tetDates {
		want := mustDate(t, tc.vietnam)
		if got := LunarNewYear(tc.year); got != want {
			t.Errorf("LunarNewYear(%d) = %s, want %s", tc.year, got, want)
		}
		if got := SolarToLunar(want.Year, int(want.Month), want.Day); got != (LunarDate{tc.year, 1, 1, false}) {
			t.Errorf("SolarToLunar(%s) = %+v, want 1/1/%d", want, got, tc.year)
		}
		// The eve is the last day of the previous lunar year (29 or 30).
		eve := want.AddDays(-1)
		if got := SolarToLunar(eve.Year, int(eve.Month), eve.Day); got.Year != tc.year-1 || got.Month != 12 || got.Day < 29 {
			t.Errorf("SolarToLunar(%s) = %+v, want the last day of month 12 of %d", eve, got, tc.year-1)
		}
		chinese := tc.china
		if chinese == "" {
			chinese = tc.vietnam
		}
		// The same algorithm at UTC+8 must give the Chinese date: this is
		// what proves the time zone is applied, not a table.
		j, ok := lunarToSolar(LunarDate{Year: tc.year, Month: 1, Day: 1}, 8)
		if got := dateFromJDN(j); !ok || got != mustDate(t, chinese) {
			t.Errorf("Chinese new year %d = %s, want %s (%s)", tc.year, got, chinese, tc.whyDifferent)
		}
	}
}

func TestLeapMonths(t *testing.T) {
	tests := []struct {
		year, leap int
		firstDay   string // first day of the leap month
	}{
		{2017, 6, "2017-07-23"},
		{2020, 4, "2020-05-23"},
		{2023, 2, "2023-03-22"},
		{2025, 6, "2025-07-25"},
		{2028, 5, "2028-06-23"},
		{2021, 0, ""}, {2022, 0, ""}, {2024, 0, ""}, {2026, 0, ""},
	}
	for _, tc := range tests {
		if got := LeapMonth(tc.year); got != tc.leap {
			t.Errorf("LeapMonth(%d) = %d, want %d", tc.year, got, tc.leap)
		}
		if tc.leap == 0 {
			continue
		}
		want := mustDate(t, tc.firstDay)
		l := LunarDate{Year: tc.year, Month: tc.leap, Day: 1, Leap: true}
		y, m, d, err := LunarToSolar(l)
		if err != nil || (Date{y, time.Month(m), d}) != want {
			t.Errorf("LunarToSolar(%s) = %d-%d-%d, %v; want %s", l, y, m, d, err, want)
		}
		if got := SolarToLunar(want.Year, int(want.Month), want.Day); got != l {
			t.Errorf("SolarToLunar(%s) = %s, want %s", want, got, l)
		}
		// The day before is in the regular month of the same number.
		prev := want.AddDays(-1)
		if got := SolarToLunar(prev.Year, int(prev.Month), prev.Day); got.Month != tc.leap || got.Leap {
			t.Errorf("SolarToLunar(%s) = %s, want the regular month %d", prev, got, tc.leap)
		}
	}
}

func TestHungKingsDay(t *testing.T) {
	tests := []struct {
		year int
		want string
	}{
		{2020, "2020-04-02"},
		{2023, "2023-04-29"}, // 2023 has a leap 2nd month: 10/3 comes late
		{2024, "2024-04-18"},
		{2025, "2025-04-07"},
		{2026, "2026-04-26"},
	}
	for _, tc := range tests {
		y, m, d, err := LunarToSolar(LunarDate{Year: tc.year, Month: 3, Day: 10})
		if got := (Date{y, time.Month(m), d}); err != nil || got != mustDate(t, tc.want) {
			t.Errorf("10/3/%d = %s, %v; want %s", tc.year, got, err, tc.want)
		}
	}
}

func TestLunarToSolarRejectsNonexistentDates(t *testing.T) {
	tests := []LunarDate{
		{Year: 2024, Month: 3, Day: 1, Leap: true}, // 2024 has no leap month
		{Year: 2023, Month: 3, Day: 1, Leap: true}, // 2023's leap month is the 2nd
		{Year: 2025, Month: 1, Day: 31},
		{Year: 2025, Month: 13, Day: 1},
		{Year: 2025, Month: 0, Day: 1},
		{Year: 2025, Month: 1, Day: 0},
	}
	// Month 12 of Giáp Thìn (2024) has 29 days: Tết 2025 follows 29/12.
	tests = append(tests, LunarDate{Year: 2024, Month: 12, Day: 30})
	for _, l := range tests {
		if _, _, _, err := LunarToSolar(l); !errors.Is(err, ErrInvalidLunarDate) {
			t.Errorf("LunarToSolar(%+v) error = %v, want ErrInvalidLunarDate", l, err)
		}
	}
}

// TestLunarRoundTrip converts every day from 1900 to 2100 and back, and checks
// that lunar dates advance one day at a time through months of 29 or 30 days,
// years of 12 or 13 months, with a leap month right after its regular month.
func TestLunarRoundTrip(t *testing.T) {
	start, end := (Date{1900, 1, 1}).jdn(), (Date{2100, 12, 31}).jdn()
	prev := solarToLunar(start-1, vietnamTimeZone)
	monthLen := 0
	for j := start; j <= end; j++ {
		d := dateFromJDN(j)
		l := SolarToLunar(d.Year, int(d.Month), d.Day)
		y, m, dd, err := LunarToSolar(l)
		if err != nil || (Date{y, time.Month(m), dd}) != d {
			t.Fatalf("%s → %s → %d-%d-%d, %v", d, l, y, m, dd, err)
		}
		if l.Day == prev.Day+1 {
			if l.Year != prev.Year || l.Month != prev.Month || l.Leap != prev.Leap {
				t.Fatalf("%s: %s follows %s", d, l, prev)
			}
		} else {
			if l.Day != 1 || (prev.Day != 29 && prev.Day != 30) {
				t.Fatalf("%s: %s follows %s", d, l, prev)
			}
			if monthLen != 0 && monthLen != prev.Day {
				t.Fatalf("month length bookkeeping broken at %s", d)
			}
			switch {
			case l.Leap:
				if l.Month != prev.Month || prev.Leap || l.Year != prev.Year {
					t.Fatalf("%s: leap month %s does not follow its regular month (%s)", d, l, prev)
				}
			case l.Month == 1:
				if prev.Month != 12 || l.Year != prev.Year+1 {
					t.Fatalf("%s: new year %s follows %s", d, l, prev)
				}
				if d.Month > time.February || (d.Month == time.January && d.Day < 21) || (d.Month == time.February && d.Day > 20) {
					t.Fatalf("%s: Tết outside 21 Jan–20 Feb", d)
				}
			default:
				if l.Month != prev.Month+1 || l.Year != prev.Year {
					t.Fatalf("%s: month %s follows %s", d, l, prev)
				}
			}
		}
		monthLen = l.Day
		prev = l
	}
}

func TestSolarToLunarNormalisesLikeTimeDate(t *testing.T) {
	if got, want := SolarToLunar(2025, 2, 29), SolarToLunar(2025, 3, 1); got != want {
		t.Errorf("SolarToLunar(2025, 2, 29) = %s, want %s (as 1 March)", got, want)
	}
	if got, want := SolarToLunar(2025, 13, 1), SolarToLunar(2026, 1, 1); got != want {
		t.Errorf("SolarToLunar(2025, 13, 1) = %s, want %s", got, want)
	}
}

func TestLunarDateString(t *testing.T) {
	if got := (LunarDate{2023, 2, 1, true}).String(); got != "1/2/2023 nhuận" {
		t.Errorf("String = %q", got)
	}
	if got := (LunarDate{2025, 3, 10, false}).String(); got != "10/3/2025" {
		t.Errorf("String = %q", got)
	}
}
