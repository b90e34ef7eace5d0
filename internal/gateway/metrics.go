package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus metrics, labelled by service and
// client (both bounded by the registry).
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg (prometheus.DefaultRegisterer
// when nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "congso_gateway_requests_total",
			Help: "Exchanges through the gateway by service, client, status class and X-Road error."}, []string{"service", "client", "code", "error"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "congso_gateway_request_duration_seconds",
			Help: "Time from request to the end of the response, by service.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"service"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "congso_gateway_bytes_total",
			Help: "Body bytes through the gateway by service and direction."}, []string{"service", "direction"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var statusClasses = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

func (m *Metrics) observe(ex *exchange, status int, d time.Duration, respBytes int64) {
	svc := ex.us
	if ex.svc == nil && !ex.peer {
		svc = "unknown" // keep label cardinality bounded by the registry
	}
	client := ex.cs
	if ex.client.Instance == "" {
		client = "unauthenticated"
	}
	class := "other"
	if c := status / 100; c >= 1 && c <= 5 {
		class = statusClasses[c]
	}
	m.requests.WithLabelValues(svc, client, class, ex.errType).Inc()
	m.duration.WithLabelValues(svc).Observe(d.Seconds())
	if ex.reqBody != nil {
		m.bytes.WithLabelValues(svc, "request").Add(float64(ex.reqBody.count()))
	}
	m.bytes.WithLabelValues(svc, "response").Add(float64(respBytes))
}
