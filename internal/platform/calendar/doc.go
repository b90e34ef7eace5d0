// Package calendar owns the working-day calendar of Vietnamese public
// offices: which days are working days, the public holidays (including the
// lunar ones), and arithmetic on working days and office hours used for
// statutory deadlines. It is pure Go with no I/O; persistence of
// announcements and their admin pages belong to the callers.
//
// # Lunar calendar
//
// SolarToLunar and LunarToSolar convert between the Gregorian and the
// Vietnamese lunisolar calendar with Ho Ngoc Duc's astronomical algorithm
// (new moons and the Sun's longitude from Julian day numbers, after Meeus),
// evaluated at UTC+7. The time zone is what makes Vietnamese dates differ
// from Chinese ones (Tết 1985, 2007, 2030). One deviation from the published
// code: the month containing a day is found by stepping to the last new moon
// on or before it, because the original's mean-lunation estimate is one
// month off on four days of 1800–2199 (e.g. 2054-05-07 came out as day 0).
//
// # Days off
//
// A year's days off come from one of two sources:
//
//   - the default rule of the Labour Code 2019: the public holidays of
//     Art. 112 (see defaultHolidays for the days chosen where the law lets
//     the government choose) and, per Art. 111(3), a compensatory day on the
//     next working day for each holiday on a weekend day;
//   - the government's announcements for the year (Announcement), stored as
//     data. An announcement that Replaces the default is the complete list
//     of the year's holidays; otherwise it adds days off to the default rule
//     and turns listed days into working days.
//
// Precedence for a day: an announced working day is a working day; else an
// announced day off, a holiday or a compensatory day is off; else weekend
// days (Saturday and Sunday by default) are off; all other days are working
// days. Announcements for 2025 and 2026 ship embedded (announcements.json);
// announcements given to New replace the shipped ones of the same year.
//
// # Deadlines
//
// All days and office hours are read in the calendar's time zone
// (Asia/Ho_Chi_Minh). A duration of N working days received on day D ends
// at the close of office hours of the N-th working day after D
// (AddWorkingDays); durations in hours count office hours only
// (AddWorkingHours, WorkingTimeBetween).
//
// # Invariants
//
// A Calendar is immutable after New and safe for concurrent use. Each year
// is resolved once, on first use, into a cached, immutable table; counting
// working days over a range costs two binary searches per year spanned, so
// AddWorkingDays does not walk day by day.
package calendar
