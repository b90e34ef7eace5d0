package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

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

// ServiceStatus aggregates the message log since a time, per service:
// calls, errors (status ≥ 500 or a gateway fault), latency and last success.
// It reads the at index.
func ServiceStatus(ctx context.Context, d *db.DB, since time.Time) ([]Stat, error) {
	rows, err := d.Read().QueryContext(ctx, `SELECT service, COUNT(*),
	SUM(CASE WHEN status >= 500 OR error_type <> '' THEN 1 ELSE 0 END),
	AVG(duration_us), MAX(duration_us),
	MAX(CASE WHEN status < 400 AND error_type = '' THEN at END), MAX(at)
FROM gateway_msglog WHERE at >= $1 GROUP BY service ORDER BY service`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("gateway status: %w", err)
	}
	defer rows.Close()
	var out []Stat
	for rows.Next() {
		var s Stat
		var avg sql.NullFloat64
		var mx sql.NullInt64
		var lastOK, last any
		if err := rows.Scan(&s.Service, &s.Calls, &s.Errors, &avg, &mx, &lastOK, &last); err != nil {
			return nil, fmt.Errorf("gateway status: %w", err)
		}
		if s.Calls > 0 {
			s.ErrorRate = float64(s.Errors) / float64(s.Calls)
		}
		s.AvgMillis, s.MaxMillis = avg.Float64/1000, float64(mx.Int64)/1000
		if t, ok := asTime(lastOK); ok {
			s.LastSuccess = &t
		}
		s.LastCall, _ = asTime(last)
		out = append(out, s)
	}
	return out, rows.Err()
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
