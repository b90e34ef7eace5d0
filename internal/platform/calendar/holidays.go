package calendar

import (
	"slices"
	"time"
)

// HolidayKind says why a day is off.
type HolidayKind string

// The kinds of days off.
const (
	// KindPublicHoliday is a public holiday of the Labour Code 2019, Art. 112.
	KindPublicHoliday HolidayKind = "public_holiday"
	// KindCompensatory is a compensatory day off (nghỉ bù) for a public
	// holiday that fell on a weekend day, Labour Code 2019, Art. 111(3).
	KindCompensatory HolidayKind = "compensatory"
	// KindAnnounced is a day off set by a government announcement.
	KindAnnounced HolidayKind = "announced"
)

// Holiday is one day off other than an ordinary weekend day.
type Holiday struct {
	Date Date        `json:"date"`
	Name string      `json:"name"` // Vietnamese, e.g. "Tết Nguyên đán", "Nghỉ bù Quốc khánh"
	Kind HolidayKind `json:"kind"`
	// Source is the legal basis: the Labour Code article for the default
	// rule, the announcement's source for announced days.
	Source string `json:"source"`
}

// Vietnamese names of the public holidays (Labour Code 2019, Art. 112(1)).
const (
	NameNewYear       = "Tết Dương lịch"
	NameLunarNewYear  = "Tết Nguyên đán"
	NameHungKings     = "Giỗ Tổ Hùng Vương"
	NameVictoryDay    = "Ngày Chiến thắng"
	NameLabourDay     = "Ngày Quốc tế Lao động"
	NameNationalDay   = "Quốc khánh"
	compensatoryLabel = "Nghỉ bù "
)

const (
	sourceArt112 = "Bộ luật Lao động 2019, Điều 112"
	sourceArt111 = "Bộ luật Lao động 2019, Điều 111 khoản 3"
)

// defaultHolidays returns the public holidays of year by the Labour Code
// 2019, Art. 112(1), in date order:
//   - Tết Dương lịch: 1 January;
//   - Tết Nguyên đán: 5 days. The law leaves the choice of days to the
//     government each year; the default is the last day of the lunar year
//     and lunar 1/1 to 1/4;
//   - Giỗ Tổ Hùng Vương: lunar 10/3 (of the regular, not the leap, 3rd month);
//   - Ngày Chiến thắng: 30 April; Ngày Quốc tế Lao động: 1 May;
//   - Quốc khánh: 2 September and one adjacent day chosen by the government
//     each year; the default is 1 September.
//
// The result has one entry per day.
func defaultHolidays(year int) []Holiday {
	h := func(d Date, name string) Holiday {
		return Holiday{Date: d, Name: name, Kind: KindPublicHoliday, Source: sourceArt112}
	}
	list := []Holiday{h(Date{year, time.January, 1}, NameNewYear)}
	tet := LunarNewYear(year)
	for i := -1; i <= 3; i++ {
		list = append(list, h(tet.AddDays(i), NameLunarNewYear))
	}
	if j, ok := lunarToSolar(LunarDate{Year: year, Month: 3, Day: 10}, vietnamTimeZone); ok {
		list = append(list, h(dateFromJDN(j), NameHungKings))
	}
	list = append(list,
		h(Date{year, time.April, 30}, NameVictoryDay),
		h(Date{year, time.May, 1}, NameLabourDay),
		h(Date{year, time.September, 1}, NameNationalDay),
		h(Date{year, time.September, 2}, NameNationalDay),
	)
	slices.SortStableFunc(list, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	// Two holidays on one day (Hùng Kings fell on 30 April in 1947) give
	// one day off under both names: the law compensates weekends only.
	merged := list[:1]
	for _, h := range list[1:] {
		if last := &merged[len(merged)-1]; last.Date == h.Date {
			if last.Name != h.Name {
				last.Name += ", " + h.Name
			}
			continue
		}
		merged = append(merged, h)
	}
	return merged
}

// compensatoryDays applies Art. 111(3): for each holiday on a weekend day,
// in date order, the next day after it that is neither a weekend day, a
// holiday nor already a compensatory day becomes a compensatory day off.
// Consecutive holidays therefore push their compensatory days past the end of
// the whole run (Tết on Saturday and Sunday gives two days after Tết).
//
// The default holidays end on 2 September, so compensatory days never leave
// the year.
func compensatoryDays(holidays []Holiday, weekend *[7]bool) []Holiday {
	taken := map[Date]bool{}
	for _, h := range holidays {
		taken[h.Date] = true
	}
	var out []Holiday
	for _, h := range holidays {
		if !weekend[h.Date.Weekday()] {
			continue
		}
		d := h.Date.AddDays(1)
		for weekend[d.Weekday()] || taken[d] {
			d = d.AddDays(1)
		}
		taken[d] = true
		out = append(out, Holiday{Date: d, Name: compensatoryLabel + h.Name, Kind: KindCompensatory, Source: sourceArt111})
	}
	return out
}

// yearData is the resolved calendar of one year, immutable once built.
type yearData struct {
	off    map[int]Holiday // days off other than plain weekend days, by JDN
	makeUp map[int]bool    // announced working days, by JDN

	// exDays are the JDNs, sorted, on which the working status differs from
	// the plain weekday/weekend rule; exPrefix[i] is the sum of their deltas
	// (+1 weekend worked, -1 weekday off) over exDays[:i]. They let counting
	// working days over any range take two binary searches per year.
	exDays   []int
	exPrefix []int

	holidays []Holiday // off, sorted by date
	makeUps  []Date    // makeUp, sorted
}

// buildYear resolves year from the default rule and its announcements.
func buildYear(year int, anns []Announcement, weekend *[7]bool) *yearData {
	yd := &yearData{off: map[int]Holiday{}, makeUp: map[int]bool{}}
	replaces := slices.ContainsFunc(anns, func(a Announcement) bool { return a.Replaces })
	if !replaces {
		def := defaultHolidays(year)
		for _, h := range append(def, compensatoryDays(def, weekend)...) {
			yd.off[h.Date.jdn()] = h
		}
	}
	for _, a := range anns {
		source := a.Source
		if source == "" {
			source = a.Title
		}
		for _, p := range a.DaysOff {
			name := p.Name
			if name == "" {
				name = a.Title
			}
			for d := p.From; !d.After(p.Last()); d = d.AddDays(1) {
				yd.off[d.jdn()] = Holiday{Date: d, Name: name, Kind: KindAnnounced, Source: source}
			}
		}
	}
	for _, a := range anns {
		for _, d := range a.WorkingDays {
			j := d.jdn()
			delete(yd.off, j)
			yd.makeUp[j] = true
		}
	}

	changed := map[int]bool{}
	for j, h := range yd.off {
		yd.holidays = append(yd.holidays, h)
		if !weekend[weekdayOf(j)] {
			changed[j] = true
		}
	}
	for j := range yd.makeUp {
		yd.makeUps = append(yd.makeUps, dateFromJDN(j))
		if weekend[weekdayOf(j)] {
			changed[j] = true
		}
	}
	slices.SortFunc(yd.holidays, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	slices.SortFunc(yd.makeUps, Date.Compare)
	for j := range changed {
		yd.exDays = append(yd.exDays, j)
	}
	slices.Sort(yd.exDays)
	yd.exPrefix = make([]int, len(yd.exDays)+1)
	for i, j := range yd.exDays {
		delta := -1 // a weekday off
		if weekend[weekdayOf(j)] {
			delta = 1 // a weekend day worked
		}
		yd.exPrefix[i+1] = yd.exPrefix[i] + delta
	}
	return yd
}

// deltaIn returns the sum of exception deltas on days a..b inclusive.
func (yd *yearData) deltaIn(a, b int) int {
	i, _ := slices.BinarySearch(yd.exDays, a)
	k, _ := slices.BinarySearch(yd.exDays, b+1)
	return yd.exPrefix[k] - yd.exPrefix[i]
}
