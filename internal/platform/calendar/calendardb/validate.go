package calendardb

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
)

// Limits on an announcement, to keep pages and payloads small.
const (
	// MinYear and MaxYear bound the years that announcements may govern and
	// that the API and pages answer for.
	MinYear = 1900
	MaxYear = 2199
	// MaxTitleLen, MaxNameLen and MaxSourceLen bound the text fields, in
	// characters.
	MaxTitleLen  = 300
	MaxNameLen   = 200
	MaxSourceLen = 4000
	// MaxPeriods and MaxWorkingDays bound the lists of an announcement.
	MaxPeriods     = 60
	MaxWorkingDays = 60
)

// Sentinel errors, for callers to test with errors.Is.
var (
	// ErrNotFound reports that no announcement is stored for a year.
	ErrNotFound = errors.New("calendardb: announcement not found")
	// ErrStale reports that the stored announcement changed since the
	// version the writer expected.
	ErrStale = errors.New("calendardb: announcement changed since it was read")
)

// FieldError is one problem with one field of an announcement.
type FieldError struct {
	// Field is the path of the field in the JSON form of the announcement:
	// "title", "days_off[1].to", "working_days[0]".
	Field string
	// Code is stable; the message is "calendar.field.<Code>" in the catalogs.
	Code string
	// Args fill the message's placeholders, as names and values.
	Args []any
}

// Message returns the explanation of e in lang.
func (e FieldError) Message(lang i18n.Lang) string {
	return i18n.T(lang, "calendar.field."+e.Code, e.Args...)
}

// ValidationError lists what is wrong with an announcement. It matches
// calendar.ErrInvalidAnnouncement under errors.Is.
type ValidationError struct {
	Year   int
	Fields []FieldError
}

// Error returns the problems in Vietnamese, the language of the logs.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Field + ": " + f.Message(i18n.Vietnamese)
	}
	return fmt.Sprintf("announcement %d: %s", e.Year, strings.Join(msgs, "; "))
}

// Unwrap lets errors.Is(err, calendar.ErrInvalidAnnouncement) hold.
func (e *ValidationError) Unwrap() error { return calendar.ErrInvalidAnnouncement }

// Validate checks a as administrators enter it and returns a
// *ValidationError naming each bad field, or nil. It accepts everything that
// [calendar.Announcement.Validate] accepts within [MinYear]..[MaxYear] and
// the length limits, and runs that check too, so an announcement that passes
// is always usable by calendar.New.
func Validate(a calendar.Announcement) error {
	var errs []FieldError
	add := func(field, code string, args ...any) {
		errs = append(errs, FieldError{Field: field, Code: code, Args: args})
	}
	text := func(field, s string, max int, what i18n.Key, required bool) {
		switch n := utf8.RuneCountInString(strings.TrimSpace(s)); {
		case n == 0 && required:
			add(field, "required", "what", what)
		case n > max:
			add(field, "too_long", "what", what, "max", max)
		}
	}
	yearOK := a.Year >= MinYear && a.Year <= MaxYear
	if !yearOK {
		add("year", "year_range", "min", MinYear, "max", MaxYear)
	}
	text("title", a.Title, MaxTitleLen, "calendar.what.title", true)
	text("source", a.Source, MaxSourceLen, "calendar.what.source", false)
	if len(a.DaysOff) == 0 && len(a.WorkingDays) == 0 {
		add("days_off", "empty")
	}
	if len(a.DaysOff) > MaxPeriods {
		add("days_off", "too_many", "what", i18n.Key("calendar.what.days_off"), "max", MaxPeriods)
	}
	if len(a.WorkingDays) > MaxWorkingDays {
		add("working_days", "too_many", "what", i18n.Key("calendar.what.working_days"), "max", MaxWorkingDays)
	}
	// date reports whether d is a real day of the announcement's year.
	date := func(field string, d calendar.Date) bool {
		switch {
		case !d.Valid():
			add(field, "invalid_date", "value", fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day))
		case yearOK && d.Year != a.Year:
			add(field, "outside_year", "date", d.String(), "year", a.Year)
		default:
			return yearOK
		}
		return false
	}
	off := map[calendar.Date]bool{}
	for i, p := range a.DaysOff {
		f := fmt.Sprintf("days_off[%d]", i)
		text(f+".name", p.Name, MaxNameLen, "calendar.what.name", false)
		var okFrom bool
		if p.From.IsZero() {
			add(f+".from", "required", "what", i18n.Key("calendar.what.from"))
		} else {
			okFrom = date(f+".from", p.From)
		}
		okTo := p.To.IsZero() || date(f+".to", p.To)
		if !okFrom || !okTo {
			continue
		}
		if p.Last().Before(p.From) {
			add(f+".to", "ends_before_start", "from", p.From.String(), "to", p.Last().String())
			continue
		}
		for d := p.From; !d.After(p.Last()); d = d.AddDays(1) {
			off[d] = true
		}
	}
	for i, d := range a.WorkingDays {
		f := fmt.Sprintf("working_days[%d]", i)
		if date(f, d) && off[d] {
			add(f, "off_and_working", "date", d.String())
		}
	}
	if errs == nil {
		// A safety net: the calendar's own rules, should they ever grow
		// stricter than the ones above.
		if err := a.Validate(); err != nil {
			add("", "invalid", "problem", err.Error())
		}
	}
	if errs != nil {
		return &ValidationError{Year: a.Year, Fields: errs}
	}
	return nil
}

// normalize returns a valid announcement in its stored form: text trimmed,
// single days without To, periods by start date, working days sorted without
// repeats.
func normalize(a calendar.Announcement) calendar.Announcement {
	a.Title = strings.TrimSpace(a.Title)
	a.Source = strings.TrimSpace(a.Source)
	periods := make([]calendar.Period, len(a.DaysOff))
	for i, p := range a.DaysOff {
		p.Name = strings.TrimSpace(p.Name)
		if p.To == p.From {
			p.To = calendar.Date{}
		}
		periods[i] = p
	}
	slices.SortStableFunc(periods, func(x, y calendar.Period) int { return x.From.Compare(y.From) })
	a.DaysOff = periods
	seen := map[calendar.Date]bool{}
	days := []calendar.Date{}
	for _, d := range a.WorkingDays {
		if !seen[d] {
			seen[d] = true
			days = append(days, d)
		}
	}
	slices.SortFunc(days, calendar.Date.Compare)
	a.WorkingDays = days
	return a
}
