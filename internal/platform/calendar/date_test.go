package calendar

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestDateAgreesWithPackageTime(t *testing.T) {
	base := time.Date(1600, 1, 1, 12, 0, 0, 0, time.UTC)
	j0 := (Date{1600, 1, 1}).jdn()
	for i := 0; i < 800*366; i += 7 {
		tm := base.AddDate(0, 0, i)
		d := DateOf(tm)
		if d.jdn() != j0+i {
			t.Fatalf("%s: jdn %d, want %d", d, d.jdn(), j0+i)
		}
		if back := dateFromJDN(j0 + i); back != d {
			t.Fatalf("dateFromJDN(%d) = %s, want %s", j0+i, back, d)
		}
		if d.Weekday() != tm.Weekday() {
			t.Fatalf("%s: weekday %s, want %s", d, d.Weekday(), tm.Weekday())
		}
	}
}

func TestDateMethods(t *testing.T) {
	d := Date{2024, time.December, 31}
	if got := d.AddDays(1); got != (Date{2025, time.January, 1}) {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(-366); got != (Date{2023, time.December, 31}) {
		t.Errorf("AddDays(-366) = %s", got)
	}
	if !d.Before(d.AddDays(1)) || !d.After(d.AddDays(-1)) || d.Compare(d) != 0 {
		t.Error("Compare is inconsistent")
	}
	if (Date{2025, time.February, 29}).Valid() || !(Date{2024, time.February, 29}).Valid() || (Date{}).Valid() {
		t.Error("Valid is wrong about 29 February or the zero Date")
	}
	loc := time.FixedZone("+07", 7*3600)
	if got := d.In(loc); !got.Equal(time.Date(2024, 12, 30, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("In = %s", got)
	}
}

func TestParseDate(t *testing.T) {
	if d, err := ParseDate("2025-02-08"); err != nil || d != (Date{2025, time.February, 8}) {
		t.Errorf("ParseDate = %s, %v", d, err)
	}
	for _, s := range []string{"2025-02-29", "2025-2-8", "08/02/2025", ""} {
		if _, err := ParseDate(s); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("ParseDate(%q) error = %v, want ErrInvalidDate", s, err)
		}
	}
}

func TestDateJSON(t *testing.T) {
	type doc struct {
		D Date   `json:"d"`
		Z Date   `json:"z,omitzero"`
		L []Date `json:"l"`
	}
	b, err := json.Marshal(doc{D: Date{2025, 4, 26}, L: []Date{{2025, 2, 8}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"d":"2025-04-26","l":["2025-02-08"]}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back.D != (Date{2025, 4, 26}) || back.L[0] != (Date{2025, 2, 8}) {
		t.Errorf("Unmarshal = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"2025-13-01"}`), &back); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("Unmarshal of a bad date: error = %v, want ErrInvalidDate", err)
	}
	if _, err := json.Marshal(doc{D: Date{2025, 2, 30}}); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("Marshal of a bad date: error = %v, want ErrInvalidDate", err)
	}
}
