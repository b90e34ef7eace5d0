package calendar

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAddWorkingHours(t *testing.T) {
	c := Default()
	h := time.Hour
	m := time.Minute
	// March 2025 has no holidays; 3 March is a Monday.
	tests := []struct {
		name string
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"inside the morning", at(2025, 3, 3, 8, 0), 2 * h, at(2025, 3, 3, 10, 0)},
		{"ends exactly at lunch", at(2025, 3, 3, 10, 30), h, at(2025, 3, 3, 11, 30)},
		{"crosses lunch", at(2025, 3, 3, 10, 30), 2 * h, at(2025, 3, 3, 14, 30)},
		{"starts at lunch", at(2025, 3, 3, 12, 0), 30 * m, at(2025, 3, 3, 14, 0)},
		{"starts at 11:30", at(2025, 3, 3, 11, 30), 30 * m, at(2025, 3, 3, 14, 0)},
		{"starts before opening", at(2025, 3, 3, 6, 0), h, at(2025, 3, 3, 8, 30)},
		{"crosses the night", at(2025, 3, 3, 16, 0), 2 * h, at(2025, 3, 4, 8, 30)},
		{"starts at night", at(2025, 3, 3, 20, 0), 30 * m, at(2025, 3, 4, 8, 0)},
		{"starts at closing", at(2025, 3, 3, 17, 0), 30 * m, at(2025, 3, 4, 8, 0)},
		{"a full day ends at closing", at(2025, 3, 3, 7, 30), 7*h + 30*m, at(2025, 3, 3, 17, 0)},
		{"crosses the weekend", at(2025, 3, 7, 16, 0), 2 * h, at(2025, 3, 10, 8, 30)},
		{"starts on Sunday", at(2025, 3, 9, 10, 0), h, at(2025, 3, 10, 8, 30)},
		{"ten full days", at(2025, 3, 3, 7, 30), 75 * h, at(2025, 3, 14, 17, 0)},
		{"ten days and a bit", at(2025, 3, 3, 7, 30), 75*h + 4*h + 30*m, at(2025, 3, 17, 14, 0)},
		{"crosses Tết 2025", at(2025, 1, 24, 16, 0), 2 * h, at(2025, 2, 3, 8, 30)},
		{"onto the make-up Saturday", at(2025, 2, 7, 16, 0), 2 * h, at(2025, 2, 8, 8, 30)},
		{"seconds count", at(2025, 3, 3, 11, 29).Add(59 * time.Second), 2 * time.Second, at(2025, 3, 3, 13, 30).Add(time.Second)},
		{"zero", at(2025, 3, 8, 3, 0), 0, at(2025, 3, 8, 3, 0)},
		{"back inside the afternoon", at(2025, 3, 3, 15, 0), -h, at(2025, 3, 3, 14, 0)},
		{"back exactly to 13:30", at(2025, 3, 3, 14, 0), -30 * m, at(2025, 3, 3, 13, 30)},
		{"back across lunch", at(2025, 3, 3, 14, 0), -h, at(2025, 3, 3, 11, 0)},
		{"back from lunch", at(2025, 3, 3, 12, 0), -30 * m, at(2025, 3, 3, 11, 0)},
		{"back across the weekend", at(2025, 3, 10, 8, 0), -h, at(2025, 3, 7, 16, 30)},
		{"back a full day to opening", at(2025, 3, 11, 7, 30), -(7*h + 30*m), at(2025, 3, 10, 7, 30)},
		{"back across Tết 2025", at(2025, 2, 3, 8, 0), -h, at(2025, 1, 24, 16, 30)},
		{"back from the night", at(2025, 3, 4, 2, 0), -30 * m, at(2025, 3, 3, 16, 30)},
	}
	for _, tc := range tests {
		got := c.AddWorkingHours(tc.from, tc.d)
		if !got.Equal(tc.want) {
			t.Errorf("%s: AddWorkingHours(%s, %s) = %s, want %s", tc.name, tc.from, tc.d, got, tc.want)
		}
		if tc.d != 0 {
			if back := c.WorkingTimeBetween(tc.from, got); back != tc.d {
				t.Errorf("%s: WorkingTimeBetween(from, result) = %s, want %s", tc.name, back, tc.d)
			}
		}
	}
}

func TestWorkingTimeBetween(t *testing.T) {
	c := Default()
	h := time.Hour
	m := time.Minute
	tests := []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"same instant", at(2025, 3, 3, 9, 0), at(2025, 3, 3, 9, 0), 0},
		{"lunch only", at(2025, 3, 3, 11, 30), at(2025, 3, 3, 13, 30), 0},
		{"across lunch", at(2025, 3, 3, 10, 0), at(2025, 3, 3, 14, 0), 2 * h},
		{"overnight", at(2025, 3, 3, 10, 0), at(2025, 3, 4, 9, 0), 6*h + 30*m},
		{"reversed", at(2025, 3, 4, 9, 0), at(2025, 3, 3, 10, 0), -(6*h + 30*m)},
		{"a whole week", at(2025, 3, 3, 0, 0), at(2025, 3, 10, 0, 0), 5 * (7*h + 30*m)},
		{"weekend only", at(2025, 3, 8, 8, 0), at(2025, 3, 9, 16, 0), 0},
		{"over Tết 2025", at(2025, 1, 24, 16, 0), at(2025, 2, 3, 8, 30), 2 * h},
		{"including the make-up Saturday", at(2025, 2, 7, 0, 0), at(2025, 2, 9, 0, 0), 2 * (7*h + 30*m)},
		{"a year of 2025", at(2025, 1, 1, 0, 0), at(2026, 1, 1, 0, 0), 251 * (7*h + 30*m)},
		{"across time zones", time.Date(2025, 3, 3, 1, 0, 0, 0, time.UTC), time.Date(2025, 3, 3, 3, 0, 0, 0, time.UTC), 2 * h},
	}
	for _, tc := range tests {
		if got := c.WorkingTimeBetween(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: WorkingTimeBetween(%s, %s) = %s, want %s", tc.name, tc.a, tc.b, got, tc.want)
		}
	}
}

// TestWorkingHoursProperties checks, on random instants and durations, that
// AddWorkingHours and WorkingTimeBetween agree and that the result is the
// earliest (forward) or latest (backward) such instant.
func TestWorkingHoursProperties(t *testing.T) {
	c := Default()
	rng := rand.New(rand.NewPCG(3, 4))
	base := at(2024, 1, 1, 0, 0)
	for range 5000 {
		from := base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		d := time.Duration(rng.Int64N(int64(200*time.Hour))) - 100*time.Hour
		d = d.Truncate(time.Second)
		got := c.AddWorkingHours(from, d)
		if between := c.WorkingTimeBetween(from, got); between != d {
			t.Fatalf("AddWorkingHours(%s, %s) = %s, but WorkingTimeBetween = %s", from, d, got, between)
		}
		switch {
		case d > 0:
			if !c.InOfficeHours(got.Add(-time.Nanosecond)) {
				t.Fatalf("AddWorkingHours(%s, %s) = %s, not the earliest instant", from, d, got)
			}
		case d < 0:
			if !c.InOfficeHours(got) {
				t.Fatalf("AddWorkingHours(%s, %s) = %s, not the latest instant", from, d, got)
			}
		}
	}
}

func TestInOfficeHours(t *testing.T) {
	c := Default()
	tests := []struct {
		t    time.Time
		want bool
	}{
		{at(2025, 3, 3, 7, 29), false},
		{at(2025, 3, 3, 7, 30), true},
		{at(2025, 3, 3, 11, 29), true},
		{at(2025, 3, 3, 11, 30), false},
		{at(2025, 3, 3, 16, 59), true},
		{at(2025, 3, 3, 17, 0), false},
		{at(2025, 3, 8, 9, 0), false},  // Saturday
		{at(2025, 2, 8, 9, 0), true},   // make-up Saturday
		{at(2025, 1, 29, 9, 0), false}, // Tết
	}
	for _, tc := range tests {
		if got := c.InOfficeHours(tc.t); got != tc.want {
			t.Errorf("InOfficeHours(%s) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestCustomOfficeHours(t *testing.T) {
	hours, err := ParseOfficeHours("08:00-12:00,13:00-17:30")
	if err != nil {
		t.Fatal(err)
	}
	c := newCal(t, Options{OfficeHours: hours})
	if got, want := c.AddWorkingHours(at(2025, 3, 3, 8, 0), 8*time.Hour+30*time.Minute), at(2025, 3, 3, 17, 30); !got.Equal(want) {
		t.Errorf("AddWorkingHours = %s, want %s", got, want)
	}
	if got, want := c.AddWorkingDays(at(2025, 3, 3, 8, 0), 1), at(2025, 3, 4, 17, 30); !got.Equal(want) {
		t.Errorf("AddWorkingDays = %s, want %s", got, want)
	}
	if got, want := c.NextWorkingDay(at(2025, 3, 7, 8, 0)), at(2025, 3, 10, 8, 0); !got.Equal(want) {
		t.Errorf("NextWorkingDay = %s, want %s", got, want)
	}
}
