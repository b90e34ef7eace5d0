package pdf

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// vnZone is Vietnam's civil time (UTC+7, no daylight saving time). Dates on
// the forms are always read in it, whatever the location of a time.Time.
var vnZone = time.FixedZone("ICT", 7*60*60)

// Placeholders printed for a zero time in prose, so that a blank form can be
// filled in by hand.
const (
	blankDate = "ngày ..... tháng ..... năm ........"
	blankTime = "..... giờ ....."
)

// FormatDate writes t as administrative documents do under Decree 30/2020
// (Annex I): "ngày 17 tháng 02 năm 2026", with a leading zero for days
// below 10 and for months 1 and 2 only ("ngày 05 tháng 3 năm 2026"). The
// date is read in Vietnam's time zone. A zero t gives a dotted blank.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return blankDate
	}
	t = t.In(vnZone)
	month := strconv.Itoa(int(t.Month()))
	if t.Month() <= time.February {
		month = "0" + month
	}
	return fmt.Sprintf("ngày %02d tháng %s năm %d", t.Day(), month, t.Year())
}

// FormatTime writes the time of day of t in Vietnam's time zone as
// "14 giờ 30". A zero t gives a dotted blank.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return blankTime
	}
	t = t.In(vnZone)
	return fmt.Sprintf("%02d giờ %02d", t.Hour(), t.Minute())
}

// FormatDateTime writes "14 giờ 30, ngày 17 tháng 02 năm 2026". A zero t
// gives a dotted blank.
func FormatDateTime(t time.Time) string {
	return FormatTime(t) + ", " + FormatDate(t)
}

// FormatDateShort writes "17/02/2026" (Vietnam's time zone), for tables.
// A zero t gives "".
func FormatDateShort(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vnZone).Format("02/01/2006")
}

// FormatDateTimeShort writes "14:30 17/02/2026" (Vietnam's time zone), for
// tables. A zero t gives "".
func FormatDateTimeShort(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vnZone).Format("15:04 02/01/2006")
}

// FormatMoney writes an amount of Vietnamese đồng with dots between groups
// of thousands: "1.250.000 đồng".
func FormatMoney(amount int64) string {
	neg := amount < 0
	if neg {
		amount = -amount
	}
	s := strconv.FormatInt(amount, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	b.WriteString(" đồng")
	return b.String()
}

// funcs are the functions templates may call, besides text/template's
// built-ins (and, or, not, len, index, printf, eq, ...).
var funcs = template.FuncMap{
	"date":          FormatDate,
	"clock":         FormatTime,
	"dateTime":      FormatDateTime,
	"dateShort":     FormatDateShort,
	"dateTimeShort": FormatDateTimeShort,
	"money":         FormatMoney,
	"upper":         strings.ToUpper,
	"lower":         strings.ToLower,
	"join":          strings.Join,
}
