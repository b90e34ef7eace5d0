package calendar

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Announcement is the government's yearly notice of days off for a year
// (thông báo nghỉ lễ, Tết), stored as data so that administrators can enter
// it when it is published. It overrides the default rule of the Labour Code
// for that year.
//
// When Replaces is true, the year's days off are exactly the DaysOff of the
// year's announcements plus the weekend, minus WorkingDays: the default
// holidays and compensatory days are not used at all. When Replaces is false,
// DaysOff are added to the default rule's holidays and WorkingDays are
// removed from it (a working day may be a weekend day or a default holiday
// or compensatory day that the government moved).
type Announcement struct {
	// Year is the calendar year the announcement governs; every date in it
	// must fall inside that year.
	Year int `json:"year"`
	// Title is a short human title, shown on the admin page.
	Title string `json:"title"`
	// Replaces tells whether DaysOff is the complete list of the year's
	// holidays (see the type's comment).
	Replaces bool `json:"replaces"`
	// DaysOff lists the announced periods off work, weekends inside them
	// included or not (weekends are off anyway).
	DaysOff []Period `json:"days_off"`
	// WorkingDays lists days that are working days although they would
	// otherwise be off, such as a Saturday worked in exchange for a weekday
	// inside a holiday (ngày làm bù).
	WorkingDays []Date `json:"working_days"`
	// Source cites the notice (number, date, issuer) and how sure the data is.
	Source string `json:"source"`
}

// Period is a named run of consecutive days off, From to To inclusive. A zero
// To means the single day From.
type Period struct {
	Name string `json:"name"`
	From Date   `json:"from"`
	To   Date   `json:"to,omitzero"`
}

// Last returns the last day of the period (From when To is zero).
func (p Period) Last() Date {
	if p.To.IsZero() {
		return p.From
	}
	return p.To
}

// Validate checks that the announcement is usable: a title, a year, every
// date valid and inside the year, periods in order, and no day both off and
// working. It reports every problem found, each wrapping
// ErrInvalidAnnouncement.
func (a Announcement) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("announcement %d %q: %s: %w", a.Year, a.Title, fmt.Sprintf(format, args...), ErrInvalidAnnouncement))
	}
	if a.Year < 1 || a.Year > 9999 {
		bad("year must be between 1 and 9999")
	}
	if strings.TrimSpace(a.Title) == "" {
		bad("title is required")
	}
	if len(a.DaysOff) == 0 && len(a.WorkingDays) == 0 {
		bad("no days off and no working days")
	}
	inYear := func(what string, d Date) bool {
		switch {
		case !d.Valid():
			bad("%s %04d-%02d-%02d is not a valid date", what, d.Year, int(d.Month), d.Day)
		case d.Year != a.Year:
			bad("%s %s is outside year %d", what, d, a.Year)
		default:
			return true
		}
		return false
	}
	off := map[Date]bool{}
	for i, p := range a.DaysOff {
		what := fmt.Sprintf("days_off[%d] %q", i, p.Name)
		okFrom := inYear(what+" from", p.From)
		okTo := p.To.IsZero() || inYear(what+" to", p.To)
		if !okFrom || !okTo {
			continue
		}
		if p.Last().Before(p.From) {
			bad("%s ends %s before it starts %s", what, p.Last(), p.From)
			continue
		}
		for d := p.From; !d.After(p.Last()); d = d.AddDays(1) {
			off[d] = true
		}
	}
	for i, d := range a.WorkingDays {
		if !inYear(fmt.Sprintf("working_days[%d]", i), d) {
			continue
		}
		if off[d] {
			bad("%s is both a day off and a working day", d)
		}
	}
	return errors.Join(errs...)
}

// ParseAnnouncements decodes a JSON array of announcements, rejecting
// unknown fields, and validates each one.
func ParseAnnouncements(data []byte) ([]Announcement, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var list []Announcement
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("decode announcements: %w: %w", ErrInvalidAnnouncement, err)
	}
	var errs []error
	for _, a := range list {
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return list, nil
}

//go:embed announcements.json
var shippedJSON []byte

// ShippedAnnouncements returns the announcements embedded in the binary
// (announcements.json): the civil-service holiday schedules published for
// recent years. Each call returns a fresh copy.
func ShippedAnnouncements() ([]Announcement, error) {
	list, err := ParseAnnouncements(shippedJSON)
	if err != nil {
		return nil, fmt.Errorf("shipped announcements.json: %w", err)
	}
	return list, nil
}
