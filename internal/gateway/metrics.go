package gateway

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gateway's Prometheus metrics, labelled by service and
// client (both bounded by the registry).
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	service  *prometheus.HistogramVec
	own      *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	// The series already resolved, so that an exchange does not hash its
	// labels once per metric (1.2 µs an exchange, a few hundred ns so).
	mu    sync.RWMutex
	bySvc map[string]*svcSeries
	calls map[callKey]prometheus.Counter
}

type svcSeries struct {
	duration, service, own prometheus.Observer
	reqBytes, respBytes    prometheus.Counter
}

type callKey struct{ svc, client, class, err string }

func (m *Metrics) series(svc string) *svcSeries {
	m.mu.RLock()
	s := m.bySvc[svc]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	s = &svcSeries{duration: m.duration.WithLabelValues(svc), service: m.service.WithLabelValues(svc), own: m.own.WithLabelValues(svc),
		reqBytes: m.bytes.WithLabelValues(svc, "request"), respBytes: m.bytes.WithLabelValues(svc, "response")}
	m.mu.Lock()
	m.bySvc[svc] = s
	m.mu.Unlock()
	return s
}

func (m *Metrics) callCounter(k callKey) prometheus.Counter {
	m.mu.RLock()
	c := m.calls[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	c = m.requests.WithLabelValues(k.svc, k.client, k.class, k.err)
	m.mu.Lock()
	m.calls[k] = c
	m.mu.Unlock()
	return c
}

// NewMetrics registers the metrics with reg (prometheus.DefaultRegisterer
// when nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m := &Metrics{bySvc: map[string]*svcSeries{}, calls: map[callKey]prometheus.Counter{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "congso_gateway_requests_total",
			Help: "Exchanges through the gateway by service, client, status class and X-Road error."}, []string{"service", "client", "code", "error"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "congso_gateway_request_duration_seconds",
			Help: "Time from the request's header read to the answer written and the exchange in the message log, by service.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"service"}),
		service: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "congso_gateway_service_duration_seconds",
			Help:    "The service's (or peer gateway's) part of an exchange: from the call leaving the gateway (request header, then its body) to the answer's header, plus the time spent waiting for the answer's body, by service.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"service"}),
		own: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "congso_gateway_overhead_seconds",
			Help:    "The gateway's own time in an answered exchange: its whole time less the service's (checking the request, then passing the answer on to the client and logging the exchange), by service.",
			Buckets: []float64{.00005, .0001, .0002, .0003, .0005, .00075, .001, .0015, .002, .003, .005, .01, .025, .1, 1, 10}}, []string{"service"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "congso_gateway_bytes_total",
			Help: "Body bytes through the gateway by service and direction."}, []string{"service", "direction"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.service, m.own, m.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var statusClasses = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

func (m *Metrics) observe(ex *exchange, status int, d time.Duration, respBytes int64) {
	// Label cardinality bounded by the registry: another instance's
	// services, which clients name freely, go under their peer.
	svc := ex.us
	switch {
	case ex.peer:
		svc = PeerPrefix + ex.service.Provider.Instance
	case ex.svc == nil:
		svc = "unknown"
	}
	client := ex.cs
	if ex.client.Instance == "" {
		client = "unauthenticated"
	}
	class := "other"
	if c := status / 100; c >= 1 && c <= 5 {
		class = statusClasses[c]
	}
	m.callCounter(callKey{svc, client, class, ex.errType}).Inc()
	s := m.series(svc)
	s.duration.Observe(d.Seconds())
	if !ex.sent.IsZero() && !ex.answer.IsZero() {
		// The service's: until its answer's header, then its body's
		// arrival (the time the answer's reads waited on it).
		waited := ex.answer.Sub(ex.sent)
		if ex.respHash != nil {
			waited += ex.respHash.readWaited()
		}
		waited = min(waited, d)
		s.service.Observe(waited.Seconds())
		s.own.Observe((d - waited).Seconds())
	}
	if ex.reqBody != nil {
		s.reqBytes.Add(float64(ex.reqBody.count()))
	}
	s.respBytes.Add(float64(respBytes))
}
