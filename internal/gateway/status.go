package gateway

import "time"

// Stat is the health of one connected service over a period, from the
// message log of every node.
type Stat struct {
	Service     string     `json:"service"`
	Calls       int64      `json:"calls"`
	Errors      int64      `json:"errors"`
	ErrorRate   float64    `json:"error_rate"`
	AvgMillis   float64    `json:"avg_ms"`
	MaxMillis   float64    `json:"max_ms"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastCall    time.Time  `json:"last_call"`
}

// asTime reads a MAX() of a time column: a time on PostgreSQL, text on SQLite.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), true
	case string:
		for _, l := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(l, x); err == nil {
				return t.UTC(), true
			}
		}
	case []byte:
		return asTime(string(x))
	}
	return time.Time{}, false
}
