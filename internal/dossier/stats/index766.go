package stats

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
)

//go:embed index766.json
var index766JSON []byte

// IndexDefinition is the service-quality index of Decision 766/QĐ-TTg as
// data: groups of indicators, each worth points and scored as the ratio of
// two named metrics. A province edits the data, not the code.
type IndexDefinition struct {
	Version int          `json:"version"`
	Name    string       `json:"name"`
	Source  string       `json:"source"`
	Groups  []IndexGroup `json:"groups"`
}

// IndexGroup is one of the index's groups (transparency, progress...).
type IndexGroup struct {
	Key        string      `json:"key"`
	Name       string      `json:"name"`
	Points     float64     `json:"points"`
	Indicators []Indicator `json:"indicators"`
}

// Indicator scores Points × Numerator/Denominator (capped at 1), or
// Points × (1 − ratio) when Inverse (a share of bad cases).
type Indicator struct {
	Key         string  `json:"key"`
	Name        string  `json:"name"`
	Points      float64 `json:"points"`
	Numerator   string  `json:"numerator"`
	Denominator string  `json:"denominator"`
	Inverse     bool    `json:"inverse,omitempty"`
}

var metricRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ParseIndexDefinition reads and checks an index definition: keys and
// metric names well formed and unique, positive points, and each group's
// points the sum of its indicators'.
func ParseIndexDefinition(b []byte) (*IndexDefinition, error) {
	var def IndexDefinition
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&def); err != nil {
		return nil, fmt.Errorf("index definition: %w", err)
	}
	var errs []error
	keys := map[string]bool{}
	for _, g := range def.Groups {
		if !metricRe.MatchString(g.Key) || keys[g.Key] {
			errs = append(errs, fmt.Errorf("group %q: key missing, malformed or repeated", g.Key))
		}
		keys[g.Key] = true
		var sum float64
		for _, in := range g.Indicators {
			if !metricRe.MatchString(in.Key) || keys[g.Key+"."+in.Key] {
				errs = append(errs, fmt.Errorf("indicator %s.%q: key missing, malformed or repeated", g.Key, in.Key))
			}
			keys[g.Key+"."+in.Key] = true
			if !metricRe.MatchString(in.Numerator) || !metricRe.MatchString(in.Denominator) {
				errs = append(errs, fmt.Errorf("indicator %s.%s: numerator and denominator must name metrics", g.Key, in.Key))
			}
			if in.Points <= 0 {
				errs = append(errs, fmt.Errorf("indicator %s.%s: points must be positive", g.Key, in.Key))
			}
			sum += in.Points
		}
		if math.Abs(sum-g.Points) > 1e-9 {
			errs = append(errs, fmt.Errorf("group %s: %g points, but its indicators add up to %g", g.Key, g.Points, sum))
		}
	}
	if len(def.Groups) == 0 {
		errs = append(errs, errors.New("no groups"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("index definition: %w", err)
	}
	return &def, nil
}

// DefaultIndexDefinition is the shipped definition.
func DefaultIndexDefinition() *IndexDefinition {
	def, err := ParseIndexDefinition(index766JSON)
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return def
}

// Metrics are named counts for a period (and an agency); sources add
// theirs to the same map.
type Metrics map[string]float64

// MetricSource gives the metrics another module counts for a period
// [from, to) and an agency ("" for all): digitization and ratings from the
// dossier module, payments from the payment module, synchronisation from
// the national-portal adapter.
type MetricSource func(ctx context.Context, agency string, from, to time.Time) (Metrics, error)

// IndexResult is the index computed for a period.
type IndexResult struct {
	From    calendar.Date `json:"from"`
	To      calendar.Date `json:"to"`
	Agency  string        `json:"agency,omitempty"`
	Version int           `json:"version"`
	Source  string        `json:"source"`
	// Score is the sum of the scored indicators' points; Max the points of
	// the indicators that could be scored (an indicator whose metrics no
	// source gives, or whose denominator is 0, is left out of both).
	Score  float64       `json:"score"`
	Max    float64       `json:"max"`
	Total  float64       `json:"total"`
	Groups []GroupResult `json:"groups"`
}

// GroupResult is one group of the index.
type GroupResult struct {
	Key        string            `json:"key"`
	Name       string            `json:"name"`
	Points     float64           `json:"points"`
	Score      float64           `json:"score"`
	Max        float64           `json:"max"`
	Indicators []IndicatorResult `json:"indicators"`
}

// IndicatorResult is one indicator: its ratio and score, or why it could
// not be scored.
type IndicatorResult struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Points      float64  `json:"points"`
	Numerator   float64  `json:"numerator"`
	Denominator float64  `json:"denominator"`
	Ratio       *float64 `json:"ratio"`
	Score       *float64 `json:"score"`
	// Missing names the metrics no source gave; NoData is set when the
	// denominator is 0.
	Missing []string `json:"missing,omitempty"`
	NoData  bool     `json:"no_data,omitempty"`
}

// Index computes the index of q's period (q.Agency narrows it) with def
// (nil: the shipped one) from the §11 report's totals and the metrics of
// the sources.
func (s *Service) Index(ctx context.Context, q Query, def *IndexDefinition, sources ...MetricSource) (*IndexResult, error) {
	if def == nil {
		def = DefaultIndexDefinition()
	}
	q.GroupBy = GroupByAgency
	rep, err := s.Report(ctx, q)
	if err != nil {
		return nil, err
	}
	t := rep.Total
	m := Metrics{
		"received": float64(t.Received), "received_online": float64(t.ReceivedOnline), "received_offline": float64(t.ReceivedOffline),
		"resolved": float64(t.Resolved), "resolved_in_time": float64(t.ResolvedEarly + t.ResolvedOnTime),
		"resolved_late": float64(t.ResolvedLate), "pending": float64(t.Pending), "pending_overdue": float64(t.PendingOverdue),
		"returned": float64(t.Returned), "withdrawn": float64(t.Withdrawn), "stopped": float64(t.Stopped),
	}
	loc := s.loc
	from, to := q.From.In(loc), q.To.In(loc)
	for _, src := range sources {
		more, err := src(ctx, q.Agency, from, to)
		if err != nil {
			return nil, fmt.Errorf("index metrics: %w", err)
		}
		for k, v := range more {
			m[k] = v
		}
	}
	return Score(def, m, rep.From, rep.To, q.Agency), nil
}

// Score scores def over the metrics m.
func Score(def *IndexDefinition, m Metrics, from, to calendar.Date, agency string) *IndexResult {
	out := &IndexResult{From: from, To: to, Agency: agency, Version: def.Version, Source: def.Source}
	for _, g := range def.Groups {
		gr := GroupResult{Key: g.Key, Name: g.Name, Points: g.Points}
		for _, in := range g.Indicators {
			ir := IndicatorResult{Key: in.Key, Name: in.Name, Points: in.Points}
			num, okN := m[in.Numerator]
			den, okD := m[in.Denominator]
			if !okN {
				ir.Missing = append(ir.Missing, in.Numerator)
			}
			if !okD {
				ir.Missing = append(ir.Missing, in.Denominator)
			}
			ir.Numerator, ir.Denominator = num, den
			switch {
			case len(ir.Missing) > 0:
			case den <= 0:
				ir.NoData = true
			default:
				ratio := min(num/den, 1)
				score := in.Points * ratio
				if in.Inverse {
					score = in.Points * (1 - ratio)
				}
				score = math.Round(score*100) / 100
				ir.Ratio, ir.Score = &ratio, &score
				gr.Score += score
				gr.Max += in.Points
			}
			gr.Indicators = append(gr.Indicators, ir)
		}
		gr.Score = math.Round(gr.Score*100) / 100
		out.Groups = append(out.Groups, gr)
		out.Score += gr.Score
		out.Max += gr.Max
		out.Total += g.Points
	}
	out.Score = math.Round(out.Score*100) / 100
	return out
}
