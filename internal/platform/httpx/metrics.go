package httpx

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "congso",
		Name:      "http_requests_total",
		Help:      "HTTP requests served, by method, route pattern and status class.",
	}, []string{"method", "route", "status"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "congso",
		Name:      "http_request_duration_seconds",
		Help:      "Time to serve HTTP requests, by method, route pattern and status class.",
		Buckets:   prometheus.DefBuckets,
	}, []string{"method", "route", "status"})
)

func init() {
	prometheus.MustRegister(requestsTotal, requestDuration)
}

// Metrics counts requests and observes their duration in the Prometheus
// metrics congso_http_requests_total and congso_http_request_duration_seconds,
// labelled by method, route and status class ("2xx"). The route is the
// ServeMux pattern that matched ("GET /api/v1/dossiers/{code}"), or
// "unmatched", never the raw path, so that the number of series stays bounded.
//
// It reads r.Pattern after the handler returns, so it must sit outside the
// ServeMux with only middleware in between that either passes the request on
// unchanged or copies the pattern back, as all middleware of this package do.
func Metrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := strconv.Itoa(rec.Status()/100) + "xx"
		method := metricMethod(r.Method)
		requestsTotal.WithLabelValues(method, route, status).Inc()
		requestDuration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
	})
}

// metricMethod bounds the method label to the standard methods.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// MetricsHandler serves the metrics of the default Prometheus registry (these
// and the Go runtime and process metrics) in the Prometheus text format.
func MetricsHandler() http.Handler { return promhttp.Handler() }
