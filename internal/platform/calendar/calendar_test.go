package calendar

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// newCal builds a Calendar or fails the test.
func newCal(t testing.TB, opts Options) *Calendar {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at returns a wall-clock time in Vietnam.
func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, Default().Location())
}

func day(y int, m time.Month, d int) time.Time { return at(y, m, d, 9, 0) }

func TestDefaultLocation(t *testing.T) {
	c := Default()
	_, off := time.Date(2025, 1, 1, 0, 0, 0, 0, c.Location()).Zone()
	if off != 7*3600 {
		t.Errorf("offset = %d, want UTC+7", off)
	}
	// 18:00 UTC on Friday 7 Feb 2025 is 01:00 on Saturday 8 Feb in Vietnam,
	// the announced make-up working day.
	if !c.IsWorkingDay(time.Date(2025, 2, 7, 18, 0, 0, 0, time.UTC)) {
		t.Error("the day must be read in Vietnam's time zone")
	}
}

// TestDefaultRule checks the Labour Code rule on years without announcements,
// against the days the government actually gave where they agree (2023).
func TestDefaultRule(t *testing.T) {
	c := newCal(t, Options{IgnoreShipped: true})
	tests := []struct {
		date Date
		off  bool
		name string
	}{
		// 2023: 1/1 on Sunday → Monday 2/1 off.
		{Date{2023, 1, 1}, true, NameNewYear},
		{Date{2023, 1, 2}, true, "Nghỉ bù Tết Dương lịch"},
		{Date{2023, 1, 3}, false, ""},
		// Tết 2023 (22/1, Sunday): 21/1 (Sat, 30 Chạp) to 25/1; the two
		// weekend holidays are compensated after the whole run.
		{Date{2023, 1, 20}, false, ""},
		{Date{2023, 1, 21}, true, NameLunarNewYear},
		{Date{2023, 1, 25}, true, NameLunarNewYear},
		{Date{2023, 1, 26}, true, "Nghỉ bù Tết Nguyên đán"},
		{Date{2023, 1, 27}, true, "Nghỉ bù Tết Nguyên đán"},
		{Date{2023, 1, 30}, false, ""},
		// Hùng Kings (Saturday 29/4), 30/4 (Sunday), 1/5 (Monday):
		// compensated on Tuesday 2/5 and Wednesday 3/5, as in 2023.
		{Date{2023, 4, 29}, true, NameHungKings},
		{Date{2023, 5, 1}, true, NameLabourDay},
		{Date{2023, 5, 2}, true, "Nghỉ bù Giỗ Tổ Hùng Vương"},
		{Date{2023, 5, 3}, true, "Nghỉ bù Ngày Chiến thắng"},
		{Date{2023, 5, 4}, false, ""},
		// National Day: 1/9 (Fri), 2/9 (Sat) → Monday 4/9 off, as in 2023.
		{Date{2023, 9, 1}, true, NameNationalDay},
		{Date{2023, 9, 4}, true, "Nghỉ bù Quốc khánh"},
		{Date{2023, 9, 5}, false, ""},
		// 2024: Tết on Saturday 10/2; Friday 9/2 is the last day of the year.
		{Date{2024, 2, 8}, false, ""},
		{Date{2024, 2, 9}, true, NameLunarNewYear},
		{Date{2024, 2, 14}, true, "Nghỉ bù Tết Nguyên đán"},
		{Date{2024, 2, 15}, true, "Nghỉ bù Tết Nguyên đán"},
		{Date{2024, 2, 16}, false, ""},
		{Date{2024, 4, 18}, true, NameHungKings},
		// 1/9/2024 Sunday, 2/9 Monday → Tuesday 3/9 off, as in 2024.
		{Date{2024, 9, 3}, true, "Nghỉ bù Quốc khánh"},
		// Two holidays on one day: one day off under both names.
		{Date{1947, 4, 30}, true, NameHungKings + ", " + NameVictoryDay},
	}
	for _, tc := range tests {
		tm := tc.date.In(c.Location()).Add(10 * time.Hour)
		name, ok := c.Holiday(tm)
		if ok != tc.off || name != tc.name {
			t.Errorf("Holiday(%s %s) = %q, %v; want %q, %v", tc.date, tc.date.Weekday(), name, ok, tc.name, tc.off)
		}
		if c.IsWorkingDay(tm) == tc.off && !isWeekend(tc.date) {
			t.Errorf("IsWorkingDay(%s) = %v", tc.date, !tc.off)
		}
	}
}

func isWeekend(d Date) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

func TestDefaultRuleEveryYear(t *testing.T) {
	c := newCal(t, Options{IgnoreShipped: true})
	for y := 1900; y <= 2200; y++ {
		public := 0
		for _, h := range c.Holidays(y) {
			if h.Date.Year != y {
				t.Fatalf("%d: %s %s falls outside the year", y, h.Date, h.Name)
			}
			if h.Kind == KindPublicHoliday {
				public++
				continue
			}
			if isWeekend(h.Date) {
				t.Fatalf("%d: compensatory day %s on a weekend", y, h.Date)
			}
		}
		want := 11
		if y == 1947 { // Hùng Kings on 30 April
			want = 10
		}
		if public != want {
			t.Fatalf("%d: %d public holiday days, want %d (Art. 112)", y, public, want)
		}
	}
}

func TestShippedAnnouncementsApplied(t *testing.T) {
	c := Default()
	tests := []struct {
		date    Date
		working bool
	}{
		{Date{2025, 1, 1}, false},
		{Date{2025, 1, 24}, true},
		{Date{2025, 1, 27}, false}, // swapped with Saturday 8/2
		{Date{2025, 2, 3}, true},   // the default rule would give a compensatory day here
		{Date{2025, 2, 8}, true},   // Saturday worked
		{Date{2025, 2, 9}, false},
		{Date{2025, 4, 7}, false},
		{Date{2025, 4, 26}, true}, // Saturday worked
		{Date{2025, 5, 2}, false}, // Friday off in exchange
		{Date{2025, 5, 5}, true},
		{Date{2025, 9, 1}, false},
		{Date{2025, 9, 3}, true},
		{Date{2026, 2, 13}, true},
		{Date{2026, 2, 16}, false},
		{Date{2026, 2, 20}, false},
		{Date{2026, 2, 23}, true},
		{Date{2026, 4, 27}, false}, // 2026 keeps the default rule for the rest: Hùng Kings on Sunday
	}
	for _, tc := range tests {
		if got := c.IsWorkingDate(tc.date); got != tc.working {
			t.Errorf("IsWorkingDate(%s %s) = %v, want %v", tc.date, tc.date.Weekday(), got, tc.working)
		}
	}
	if name, ok := c.Holiday(day(2025, 1, 25)); !ok || name != NameLunarNewYear {
		t.Errorf("Holiday(2025-01-25) = %q, %v", name, ok)
	}
	if want := []Date{{2025, 2, 8}, {2025, 4, 26}}; !reflect.DeepEqual(c.MakeUpDays(2025), want) {
		t.Errorf("MakeUpDays(2025) = %v, want %v", c.MakeUpDays(2025), want)
	}
	// 2025 replaces the default rule: no compensatory days at all.
	for _, h := range c.Holidays(2025) {
		if h.Kind != KindAnnounced {
			t.Errorf("2025: %s %s has kind %s, want only announced days", h.Date, h.Name, h.Kind)
		}
	}
}

func TestCustomAnnouncementOverrides(t *testing.T) {
	custom := Announcement{
		Year:     2030,
		Title:    "Lịch nghỉ năm 2030 (thử)",
		Replaces: true,
		DaysOff: []Period{
			{Name: NameNewYear, From: Date{2030, 1, 1}},
			{Name: NameLunarNewYear, From: Date{2030, 1, 31}, To: Date{2030, 2, 6}},
		},
		WorkingDays: []Date{{2030, 2, 9}},
		Source:      "test",
	}
	c := newCal(t, Options{Announcements: []Announcement{custom}})
	def := newCal(t, Options{})
	tests := []struct {
		date         Date
		working, def bool
	}{
		{Date{2030, 1, 31}, false, true},
		{Date{2030, 2, 1}, false, false},
		{Date{2030, 2, 7}, true, false}, // default: compensatory day for Sunday 3/2
		{Date{2030, 2, 9}, true, false}, // Saturday worked
		{Date{2030, 9, 2}, true, false}, // not in the announcement, which replaces the default
		{Date{2030, 4, 30}, true, false},
	}
	for _, tc := range tests {
		if got := c.IsWorkingDate(tc.date); got != tc.working {
			t.Errorf("custom: IsWorkingDate(%s) = %v, want %v", tc.date, got, tc.working)
		}
		if got := def.IsWorkingDate(tc.date); got != tc.def {
			t.Errorf("default: IsWorkingDate(%s) = %v, want %v", tc.date, got, tc.def)
		}
	}
}

func TestCustomAnnouncementReplacesShippedYear(t *testing.T) {
	extra := Announcement{
		Year:    2025,
		Title:   "Nghỉ thêm cuối năm (thử)",
		DaysOff: []Period{{Name: "Nghỉ đặc biệt", From: Date{2025, 12, 31}}},
	}
	c := newCal(t, Options{Announcements: []Announcement{extra}})
	// The shipped 2025 schedule is no longer used; the default rule is, plus
	// the extra day.
	if c.IsWorkingDate(Date{2025, 2, 8}) {
		t.Error("Saturday 2025-02-08 should be a weekend day again")
	}
	if c.IsWorkingDate(Date{2025, 2, 3}) {
		t.Error("2025-02-03 should be the default compensatory day for Tết on Saturday 1/2")
	}
	if name, ok := c.Holiday(day(2025, 12, 31)); !ok || name != "Nghỉ đặc biệt" {
		t.Errorf("Holiday(2025-12-31) = %q, %v", name, ok)
	}
}

func TestAdditiveAnnouncementMovesADefaultHoliday(t *testing.T) {
	// 2/9/2027 is a Thursday; suppose the government picks Friday 3/9
	// instead of the default Wednesday 1/9.
	move := Announcement{
		Year:        2027,
		Title:       "Nghỉ Quốc khánh 2027 (thử)",
		DaysOff:     []Period{{Name: NameNationalDay, From: Date{2027, 9, 3}}},
		WorkingDays: []Date{{2027, 9, 1}},
	}
	c := newCal(t, Options{Announcements: []Announcement{move}})
	for d, want := range map[Date]bool{{2027, 9, 1}: true, {2027, 9, 2}: false, {2027, 9, 3}: false, {2027, 9, 6}: true} {
		if got := c.IsWorkingDate(d); got != want {
			t.Errorf("IsWorkingDate(%s) = %v, want %v", d, got, want)
		}
	}
	if got := c.AddWorkingDays(day(2027, 8, 31), 1); !got.Equal(at(2027, 9, 1, 17, 0)) {
		t.Errorf("AddWorkingDays over the moved holiday = %s", got)
	}
	if got := c.AddWorkingDays(day(2027, 8, 31), 2); !got.Equal(at(2027, 9, 6, 17, 0)) {
		t.Errorf("AddWorkingDays over the moved holiday = %s", got)
	}
}

func TestNewRejects(t *testing.T) {
	a := Announcement{Year: 2030, Title: "A", DaysOff: []Period{{From: Date{2030, 5, 2}}}}
	b := Announcement{Year: 2030, Title: "B", WorkingDays: []Date{{2030, 5, 2}}}
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"conflicting announcements", Options{Announcements: []Announcement{a, b}}, ErrInvalidAnnouncement},
		{"invalid announcement", Options{Announcements: []Announcement{{Year: 2030}}}, ErrInvalidAnnouncement},
		{"overlapping shifts", Options{OfficeHours: []Shift{{8 * time.Hour, 12 * time.Hour}, {11 * time.Hour, 17 * time.Hour}}}, ErrInvalidOptions},
		{"empty shift", Options{OfficeHours: []Shift{{8 * time.Hour, 8 * time.Hour}}}, ErrInvalidOptions},
		{"no shifts", Options{OfficeHours: []Shift{}}, ErrInvalidOptions},
		{"all week off", Options{Weekend: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, ErrInvalidOptions},
		{"bad weekday", Options{Weekend: []time.Weekday{7}}, ErrInvalidOptions},
	}
	for _, tc := range tests {
		if _, err := New(tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestParseOfficeHours(t *testing.T) {
	got, err := ParseOfficeHours("07:30-11:30, 13:30-17:00")
	if err != nil || !reflect.DeepEqual(got, DefaultOfficeHours()) {
		t.Errorf("ParseOfficeHours = %v, %v; want %v", got, err, DefaultOfficeHours())
	}
	for _, s := range []string{"", "07:30", "07:30-25:00", "13:30-17:00,07:30-11:30", "11:00-10:00"} {
		if _, err := ParseOfficeHours(s); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("ParseOfficeHours(%q) error = %v, want ErrInvalidOptions", s, err)
		}
	}
	if s := fmt.Sprint(DefaultOfficeHours()); s != "[07:30-11:30 13:30-17:00]" {
		t.Errorf("Shift.String = %s", s)
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := Default()
	def := newCal(t, Options{IgnoreShipped: true})
	tests := []struct {
		name string
		cal  *Calendar
		from time.Time
		n    int
		want time.Time
	}{
		{"plain week", c, at(2025, 3, 3, 10, 0), 3, at(2025, 3, 6, 17, 0)},
		{"over a weekend", c, at(2025, 3, 6, 16, 59), 3, at(2025, 3, 11, 17, 0)},
		{"received late at night", c, at(2025, 3, 3, 23, 59), 1, at(2025, 3, 4, 17, 0)},
		{"received on Saturday", c, at(2025, 3, 8, 9, 0), 1, at(2025, 3, 10, 17, 0)},
		{"same day", c, at(2025, 3, 3, 8, 0), 0, at(2025, 3, 3, 17, 0)},
		{"same day on Sunday", c, at(2025, 3, 9, 8, 0), 0, at(2025, 3, 10, 17, 0)},
		{"over Tết 2025", c, at(2025, 1, 24, 10, 0), 1, at(2025, 2, 3, 17, 0)},
		{"over Tết 2025 onto the make-up Saturday", c, at(2025, 1, 24, 10, 0), 6, at(2025, 2, 8, 17, 0)},
		{"over Tết 2025, 10 days", c, at(2025, 1, 20, 10, 0), 10, at(2025, 2, 8, 17, 0)},
		{"over 30/4 2025", c, at(2025, 4, 25, 10, 0), 1, at(2025, 4, 26, 17, 0)},
		{"over 30/4 2025, 3 days", c, at(2025, 4, 28, 10, 0), 3, at(2025, 5, 6, 17, 0)},
		{"into a new year", c, at(2025, 12, 31, 10, 0), 1, at(2026, 1, 2, 17, 0)},
		{"over Tết 2026", c, at(2026, 2, 11, 10, 0), 3, at(2026, 2, 23, 17, 0)},
		{"year boundary with compensation", def, at(2022, 12, 30, 10, 0), 1, at(2023, 1, 3, 17, 0)},
		{"Tết crossing a weekend (default rule)", def, at(2024, 2, 8, 10, 0), 1, at(2024, 2, 16, 17, 0)},
		{"back one day", c, at(2025, 3, 4, 10, 0), -1, at(2025, 3, 3, 17, 0)},
		{"back over Tết", c, at(2025, 2, 3, 10, 0), -1, at(2025, 1, 24, 17, 0)},
		{"back over a year boundary", def, at(2023, 1, 3, 10, 0), -1, at(2022, 12, 30, 17, 0)},
		// 2025 has 251 working days: 261 weekdays - 12 off + 2 Saturdays.
		{"a long duration", c, at(2025, 1, 2, 10, 0), 250, at(2025, 12, 31, 17, 0)},
		{"a longer duration", c, at(2025, 1, 2, 10, 0), 252, at(2026, 1, 5, 17, 0)},
	}
	for _, tc := range tests {
		got := tc.cal.AddWorkingDays(tc.from, tc.n)
		if !got.Equal(tc.want) {
			t.Errorf("%s: AddWorkingDays(%s, %d) = %s, want %s", tc.name, tc.from, tc.n, got, tc.want)
		}
		if tc.n > 0 {
			if between := tc.cal.WorkingDaysBetween(tc.from, got); between != tc.n {
				t.Errorf("%s: WorkingDaysBetween = %d, want %d", tc.name, between, tc.n)
			}
		}
	}
}

// naiveAdd is the obvious day-by-day definition AddWorkingDays must match.
func naiveAdd(c *Calendar, from Date, n int) Date {
	d := from
	switch {
	case n == 0:
		for !c.IsWorkingDate(d) {
			d = d.AddDays(1)
		}
	case n > 0:
		for n > 0 {
			d = d.AddDays(1)
			if c.IsWorkingDate(d) {
				n--
			}
		}
	default:
		for n < 0 {
			d = d.AddDays(-1)
			if c.IsWorkingDate(d) {
				n++
			}
		}
	}
	return d
}

func TestAddWorkingDaysMatchesDayByDay(t *testing.T) {
	calendars := map[string]*Calendar{
		"default":        Default(),
		"no shipped":     newCal(t, Options{IgnoreShipped: true}),
		"six-day week":   newCal(t, Options{Weekend: []time.Weekday{time.Sunday}}),
		"Friday weekend": newCal(t, Options{Weekend: []time.Weekday{time.Friday, time.Saturday}}),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := (Date{2018, 1, 1}).jdn()
	for name, c := range calendars {
		for range 3000 {
			from := dateFromJDN(start + rng.IntN(14*365))
			n := rng.IntN(121) - 60
			got := c.DateOf(c.AddWorkingDays(from.In(c.Location()).Add(8*time.Hour), n))
			if want := naiveAdd(c, from, n); got != want {
				t.Fatalf("%s: AddWorkingDays(%s, %d) = %s, want %s", name, from, n, got, want)
			}
		}
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := Default()
	tests := []struct {
		a, b time.Time
		want int
	}{
		{day(2025, 3, 3), day(2025, 3, 3), 0},
		{day(2025, 3, 3), day(2025, 3, 10), 5},
		{day(2025, 3, 10), day(2025, 3, 3), -5},
		{day(2025, 1, 24), day(2025, 2, 8), 6},
		{day(2025, 1, 25), day(2025, 2, 2), 0},
	}
	for _, tc := range tests {
		if got := c.WorkingDaysBetween(tc.a, tc.b); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", c.DateOf(tc.a), c.DateOf(tc.b), got, tc.want)
		}
	}
}

func TestNextWorkingDay(t *testing.T) {
	c := Default()
	tests := []struct{ from, want time.Time }{
		{at(2025, 3, 3, 10, 0), at(2025, 3, 4, 7, 30)},
		{at(2025, 3, 7, 18, 0), at(2025, 3, 10, 7, 30)},
		{at(2025, 1, 24, 6, 0), at(2025, 2, 3, 7, 30)},
		{at(2025, 2, 7, 6, 0), at(2025, 2, 8, 7, 30)},
		{at(2025, 12, 31, 6, 0), at(2026, 1, 2, 7, 30)},
	}
	for _, tc := range tests {
		if got := c.NextWorkingDay(tc.from); !got.Equal(tc.want) {
			t.Errorf("NextWorkingDay(%s) = %s, want %s", tc.from, got, tc.want)
		}
	}
}

func TestHolidaysListing(t *testing.T) {
	c := newCal(t, Options{IgnoreShipped: true})
	got := c.Holidays(2024)
	want := []Holiday{
		{Date{2024, 1, 1}, NameNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 9}, NameLunarNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 10}, NameLunarNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 11}, NameLunarNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 12}, NameLunarNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 13}, NameLunarNewYear, KindPublicHoliday, sourceArt112},
		{Date{2024, 2, 14}, "Nghỉ bù Tết Nguyên đán", KindCompensatory, sourceArt111},
		{Date{2024, 2, 15}, "Nghỉ bù Tết Nguyên đán", KindCompensatory, sourceArt111},
		{Date{2024, 4, 18}, NameHungKings, KindPublicHoliday, sourceArt112},
		{Date{2024, 4, 30}, NameVictoryDay, KindPublicHoliday, sourceArt112},
		{Date{2024, 5, 1}, NameLabourDay, KindPublicHoliday, sourceArt112},
		{Date{2024, 9, 1}, NameNationalDay, KindPublicHoliday, sourceArt112},
		{Date{2024, 9, 2}, NameNationalDay, KindPublicHoliday, sourceArt112},
		{Date{2024, 9, 3}, "Nghỉ bù Quốc khánh", KindCompensatory, sourceArt111},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Holidays(2024) =\n%v\nwant\n%v", got, want)
	}
	got[0].Name = "changed"
	if c.Holidays(2024)[0].Name != NameNewYear {
		t.Error("Holidays exposes the cache")
	}
}

func TestSixDayWeek(t *testing.T) {
	c := newCal(t, Options{Weekend: []time.Weekday{time.Sunday}, IgnoreShipped: true})
	if !c.IsWorkingDate(Date{2025, 3, 8}) {
		t.Error("Saturday should be a working day")
	}
	// Tết 2023 on Sunday 22/1: only that day is compensated, after the run.
	var comp []Date
	for _, h := range c.Holidays(2023) {
		if h.Kind == KindCompensatory && h.Date.Month == time.January && h.Date.Day > 2 {
			comp = append(comp, h.Date)
		}
	}
	if want := []Date{{2023, 1, 26}}; !reflect.DeepEqual(comp, want) {
		t.Errorf("compensatory days after Tết 2023 = %v, want %v", comp, want)
	}
}

// TestConcurrentUse builds years from many goroutines at once; run with
// -race. Every goroutine must see the same answers as a sequential run.
func TestConcurrentUse(t *testing.T) {
	c := newCal(t, Options{})
	ref := newCal(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 16 {
		wg.Go(func() {
			for y := 1990 + g; y < 2090; y += 3 {
				from := at(y, 1, 15, 10, 0)
				if got, want := c.AddWorkingDays(from, 40), ref.AddWorkingDays(from, 40); !got.Equal(want) {
					errs <- fmt.Sprintf("%d: %s != %s", y, got, want)
					return
				}
				c.Holidays(y)
				c.AddWorkingHours(from, 30*time.Hour)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := Default()
	starts := make([]time.Time, 64)
	for i := range starts {
		starts[i] = at(2024, 1, 1, 10, 0).AddDate(0, 0, i*17)
		c.AddWorkingDays(starts[i], 300) // warm the year cache
	}
	for _, n := range []int{1, 15, 250} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.AddWorkingDays(starts[i%len(starts)], n)
				i++
			}
		})
	}
}

func BenchmarkSolarToLunar(b *testing.B) {
	for b.Loop() {
		SolarToLunar(2025, 4, 7)
	}
}
