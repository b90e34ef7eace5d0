package calendardb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
)

// announcementForm is the admin form of one year's announcement, as typed.
//
// DaysOff holds one period per line, "FROM [TO] [NAME]":
//
//	2026-02-14 2026-02-22 Tết Nguyên đán
//	2026-09-02 Quốc khánh
//
// WorkingDays holds dates separated by new lines, spaces or commas. Dates are
// written YYYY-MM-DD or dd/mm/yyyy; a dash or "đến" between two dates is
// allowed.
type announcementForm struct {
	Title       string
	Replaces    bool
	DaysOff     string
	WorkingDays string
	Source      string
	// Version is the stored version the editor saw, 0 for none.
	Version int64
}

// formFromRecord fills the form with a stored or shipped announcement.
func formFromRecord(rec Record) announcementForm {
	a := rec.Announcement
	var off, work strings.Builder
	for _, p := range a.DaysOff {
		off.WriteString(p.From.String())
		if !p.To.IsZero() {
			off.WriteString(" " + p.To.String())
		}
		if p.Name != "" {
			off.WriteString(" " + p.Name)
		}
		off.WriteString("\n")
	}
	for _, d := range a.WorkingDays {
		work.WriteString(d.String() + "\n")
	}
	return announcementForm{Title: a.Title, Replaces: a.Replaces, DaysOff: off.String(),
		WorkingDays: work.String(), Source: a.Source, Version: rec.Version}
}

// formErrors are the messages to show, by form field, in the page language.
type formErrors map[string][]string

func (e formErrors) add(field, msg string) { e[field] = append(e[field], msg) }

// announcement parses f for year. lines tell, for each period and each
// working day of the result, the line of the text area it came from, so that
// validation errors can name it.
func (f announcementForm) announcement(year int, lang i18n.Lang, errs formErrors) (a calendar.Announcement, offLines, workLines []int) {
	a = calendar.Announcement{Year: year, Title: f.Title, Replaces: f.Replaces, Source: f.Source,
		DaysOff: []calendar.Period{}, WorkingDays: []calendar.Date{}}
	lineErr := func(field string, line int, fe FieldError) {
		errs.add(field, i18n.T(lang, "calendar.field.line", "line", line, "message", fe.Message(lang)))
	}
	for i, line := range strings.Split(f.DaysOff, "\n") {
		tokens := strings.Fields(line)
		if len(tokens) == 0 {
			continue
		}
		from, err := parseFormDate(tokens[0])
		if err != nil {
			lineErr("days_off", i+1, FieldError{Code: "invalid_date", Args: []any{"value", tokens[0]}})
			continue
		}
		p := calendar.Period{From: from}
		rest := tokens[1:]
		if len(rest) > 1 && isRangeWord(rest[0]) && looksLikeDate(rest[1]) {
			rest = rest[1:]
		}
		if len(rest) > 0 && looksLikeDate(rest[0]) {
			to, err := parseFormDate(rest[0])
			if err != nil {
				lineErr("days_off", i+1, FieldError{Code: "invalid_date", Args: []any{"value", rest[0]}})
				continue
			}
			p.To = to
			rest = rest[1:]
		}
		p.Name = strings.Join(rest, " ")
		a.DaysOff = append(a.DaysOff, p)
		offLines = append(offLines, i+1)
	}
	for i, line := range strings.Split(f.WorkingDays, "\n") {
		for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' }) {
			d, err := parseFormDate(tok)
			if err != nil {
				lineErr("working_days", i+1, FieldError{Code: "invalid_date", Args: []any{"value", tok}})
				continue
			}
			a.WorkingDays = append(a.WorkingDays, d)
			workLines = append(workLines, i+1)
		}
	}
	return a, offLines, workLines
}

// addValidation places the errors of [Validate] next to the form fields,
// naming the line for list items.
func (errs formErrors) addValidation(lang i18n.Lang, fields []FieldError, offLines, workLines []int) {
	parseFailed := len(errs["days_off"]) > 0 || len(errs["working_days"]) > 0
	for _, fe := range fields {
		if parseFailed && fe.Code == "empty" {
			continue // the lines are there, only unreadable
		}
		field, line := formField(fe.Field, offLines, workLines)
		msg := fe.Message(lang)
		if line > 0 {
			msg = i18n.T(lang, "calendar.field.line", "line", line, "message", msg)
		}
		errs.add(field, msg)
	}
}

var indexed = regexp.MustCompile(`^(days_off|working_days)\[(\d+)\]`)

// formField maps the path of a field of an announcement to the form field
// and text-area line it came from (0 if none).
func formField(path string, offLines, workLines []int) (field string, line int) {
	m := indexed.FindStringSubmatch(path)
	if m == nil {
		switch path {
		case "title", "source", "days_off", "working_days":
			return path, 0
		}
		return "", 0 // shown in the summary only
	}
	i, _ := strconv.Atoi(m[2])
	lines := offLines
	if m[1] == "working_days" {
		lines = workLines
	}
	if i < len(lines) {
		line = lines[i]
	}
	return m[1], line
}

var dateLike = regexp.MustCompile(`^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$`)

// looksLikeDate tells a date-shaped token (possibly a wrong date) from the
// first word of a name.
func looksLikeDate(s string) bool { return dateLike.MatchString(s) }

func isRangeWord(s string) bool {
	switch strings.ToLower(s) {
	case "-", "–", "—", "đến", "den":
		return true
	}
	return false
}

// parseFormDate parses YYYY-MM-DD or dd/mm/yyyy (also d/m/yyyy, dd.mm.yyyy,
// dd-mm-yyyy), the ways Vietnamese officials write dates.
func parseFormDate(s string) (calendar.Date, error) {
	if d, err := calendar.ParseDate(s); err == nil {
		return d, nil
	}
	norm := strings.NewReplacer(".", "/", "-", "/").Replace(s)
	t, err := time.Parse("2/1/2006", norm)
	if err != nil {
		return calendar.Date{}, fmt.Errorf("%w: %q", calendar.ErrInvalidDate, s)
	}
	return calendar.DateOf(t), nil
}
