package calendar

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAnnouncementValidate(t *testing.T) {
	good := func() Announcement {
		return Announcement{
			Year:        2030,
			Title:       "Lịch nghỉ Tết 2030",
			DaysOff:     []Period{{Name: "Tết Nguyên đán", From: Date{2030, 1, 30}, To: Date{2030, 2, 7}}},
			WorkingDays: []Date{{2030, 2, 16}},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid announcement rejected: %v", err)
	}
	tests := []struct {
		name   string
		modify func(*Announcement)
		want   string // a piece of the message
	}{
		{"no title", func(a *Announcement) { a.Title = " " }, "title is required"},
		{"no year", func(a *Announcement) { a.Year = 0 }, "year must be"},
		{"empty", func(a *Announcement) { a.DaysOff, a.WorkingDays = nil, nil }, "no days off and no working days"},
		{"off outside year", func(a *Announcement) { a.DaysOff[0].From = Date{2029, 12, 31} }, "2029-12-31 is outside year 2030"},
		{"period end outside year", func(a *Announcement) { a.DaysOff[0].To = Date{2031, 1, 2} }, "outside year 2030"},
		{"working outside year", func(a *Announcement) { a.WorkingDays[0] = Date{2031, 1, 4} }, "working_days[0] 2031-01-04 is outside year 2030"},
		{"reversed period", func(a *Announcement) { a.DaysOff[0].To = Date{2030, 1, 29} }, "ends 2030-01-29 before it starts 2030-01-30"},
		{"nonexistent day", func(a *Announcement) { a.DaysOff[0].From = Date{2030, 2, 30} }, "2030-02-30 is not a valid date"},
		{"off and working", func(a *Announcement) { a.WorkingDays = append(a.WorkingDays, Date{2030, 2, 2}) }, "2030-02-02 is both a day off and a working day"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := good()
			tc.modify(&a)
			err := a.Validate()
			if !errors.Is(err, ErrInvalidAnnouncement) {
				t.Fatalf("error = %v, want ErrInvalidAnnouncement", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestAnnouncementJSONRoundTrip(t *testing.T) {
	a := Announcement{
		Year:        2031,
		Title:       "Thông báo thử",
		Replaces:    true,
		DaysOff:     []Period{{Name: "Tết Dương lịch", From: Date{2031, 1, 1}}, {Name: "Tết Nguyên đán", From: Date{2031, 1, 18}, To: Date{2031, 1, 26}}},
		WorkingDays: []Date{{2031, 2, 1}},
		Source:      "test",
	}
	b, err := json.Marshal([]Announcement{a})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `{"name":"Tết Dương lịch","from":"2031-01-01"}`) {
		t.Errorf("a single-day period should omit \"to\": %s", b)
	}
	list, err := ParseAnnouncements(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(list, []Announcement{a}) {
		t.Errorf("round trip = %+v, want %+v", list, a)
	}
}

func TestParseAnnouncementsRejects(t *testing.T) {
	tests := map[string]string{
		"unknown field": `[{"year":2030,"title":"x","days_off":[{"from":"2030-01-01"}],"extra":1}]`,
		"bad date":      `[{"year":2030,"title":"x","days_off":[{"from":"2030-02-30"}]}]`,
		"invalid":       `[{"year":2030,"title":"x","days_off":[{"from":"2031-01-01"}]}]`,
		"not a list":    `{"year":2030}`,
	}
	for name, in := range tests {
		if _, err := ParseAnnouncements([]byte(in)); !errors.Is(err, ErrInvalidAnnouncement) {
			t.Errorf("%s: error = %v, want ErrInvalidAnnouncement", name, err)
		}
	}
}

func TestShippedAnnouncements(t *testing.T) {
	list, err := ShippedAnnouncements()
	if err != nil {
		t.Fatalf("embedded announcements.json is invalid: %v", err)
	}
	years := map[int]bool{}
	for _, a := range list {
		years[a.Year] = true
		if a.Source == "" {
			t.Errorf("%d: shipped data must cite its source", a.Year)
		}
	}
	if !years[2025] || !years[2026] {
		t.Errorf("shipped years = %v, want 2025 and 2026", years)
	}
	// Callers get their own copy.
	list[0].DaysOff[0].Name = "changed"
	again, _ := ShippedAnnouncements()
	if again[0].DaysOff[0].Name == "changed" {
		t.Error("ShippedAnnouncements shares memory between calls")
	}
}
