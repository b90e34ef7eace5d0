package pdf

import (
	"testing"
	"time"
)

func TestFormatDate(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{vn(2026, time.February, 17, 14, 30), "ngày 17 tháng 02 năm 2026"},
		{vn(2026, time.January, 5, 0, 0), "ngày 05 tháng 01 năm 2026"},
		{vn(2026, time.March, 5, 0, 0), "ngày 05 tháng 3 năm 2026"},
		{vn(2026, time.December, 31, 0, 0), "ngày 31 tháng 12 năm 2026"},
		// 20:00 UTC is already the next day in Vietnam.
		{time.Date(2026, time.February, 16, 20, 0, 0, 0, time.UTC), "ngày 17 tháng 02 năm 2026"},
		{time.Time{}, "ngày ..... tháng ..... năm ........"},
	}
	for _, tt := range tests {
		if got := FormatDate(tt.in); got != tt.want {
			t.Errorf("FormatDate(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatTimes(t *testing.T) {
	at := time.Date(2026, time.February, 17, 7, 30, 0, 0, time.UTC) // 14:30 in Vietnam
	for _, tt := range []struct{ got, want string }{
		{FormatTime(at), "14 giờ 30"},
		{FormatTime(vn(2026, time.February, 17, 8, 5)), "08 giờ 05"},
		{FormatDateTime(at), "14 giờ 30, ngày 17 tháng 02 năm 2026"},
		{FormatDateShort(at), "17/02/2026"},
		{FormatDateTimeShort(at), "14:30 17/02/2026"},
		{FormatTime(time.Time{}), "..... giờ ....."},
		{FormatDateShort(time.Time{}), ""},
		{FormatDateTimeShort(time.Time{}), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "0 đồng"}, {500, "500 đồng"}, {75000, "75.000 đồng"}, {1250000, "1.250.000 đồng"},
		{-5000, "-5.000 đồng"}, {100000, "100.000 đồng"},
	} {
		if got := FormatMoney(tt.in); got != tt.want {
			t.Errorf("FormatMoney(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimelinessOf(t *testing.T) {
	due := vn(2026, time.February, 24, 17, 0)
	tests := []struct {
		name      string
		due, done time.Time
		want      Timeliness
		label     string
	}{
		{"day before", due, vn(2026, time.February, 23, 23, 30), Early, "Trước hạn"},
		{"due day, morning", due, vn(2026, time.February, 24, 8, 0), OnTime, "Đúng hạn"},
		{"at the due time", due, due, OnTime, "Đúng hạn"},
		{"a minute late", due, vn(2026, time.February, 24, 17, 1), Late, "Quá hạn"},
		{"next day", due, vn(2026, time.February, 25, 8, 0), Late, "Quá hạn"},
		// 16:30 UTC on 23 February is 23:30 that day in Vietnam: early,
		// though in UTC it is the day before the due day too.
		{"UTC input", due, time.Date(2026, time.February, 23, 16, 30, 0, 0, time.UTC), Early, "Trước hạn"},
		// 01:00 UTC on 24 February is 08:00 in Vietnam, the due day.
		{"UTC input on due day", due.UTC(), time.Date(2026, time.February, 24, 1, 0, 0, 0, time.UTC), OnTime, "Đúng hạn"},
		{"not done", due, time.Time{}, Pending, "Đang xử lý"},
		{"no deadline", time.Time{}, due, NoDeadline, ""},
	}
	for _, tt := range tests {
		got := TimelinessOf(tt.due, tt.done)
		if got != tt.want || got.String() != tt.label {
			t.Errorf("%s: TimelinessOf = %v (%q), want %v (%q)", tt.name, int(got), got, int(tt.want), tt.label)
		}
	}
	h := Handoff{DueAt: due, DoneAt: vn(2026, time.February, 20, 9, 0)}
	if h.Status() != Early {
		t.Errorf("Handoff.Status = %v, want Early", h.Status())
	}
}

func TestDataHelpers(t *testing.T) {
	d := Dossier{Fees: []Fee{{Amount: 8000}, {Amount: 50000}}}
	if d.FeeTotal() != 58000 {
		t.Errorf("FeeTotal = %d", d.FeeTotal())
	}
	for _, tt := range []struct{ got, want string }{
		{Party{Name: "Y Blốk", Unit: "Bộ phận Một cửa"}.String(), "Y Blốk (Bộ phận Một cửa)"},
		{Party{Unit: "Phòng Kinh tế"}.String(), "Phòng Kinh tế"},
		{Party{Name: "A Thuột"}.String(), "A Thuột"},
		{DocOriginal.String(), "Bản chính"},
		{DocCertifiedCopy.String(), "Bản sao có chứng thực"},
		{DocUnspecified.String(), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
