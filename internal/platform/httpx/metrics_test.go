package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// scrape returns the metrics page.
func scrape(t *testing.T) string {
	t.Helper()
	rec := serve(MetricsHandler(), httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// sample returns the value of the metric line that starts with prefix.
func sample(page, prefix string) string {
	for line := range strings.SplitSeq(page, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimPrefix(line, prefix+" ")
		}
	}
	return ""
}

func TestMetricsByRoutePattern(t *testing.T) {
	csrf, err := CSRF(CSRFConfig{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := newLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metricstest/dossiers/{code}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("code"))
	})
	mux.HandleFunc("POST /metricstest/fail", func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, Conflict(""))
	})
	// Metrics sits outside middleware that derive new requests; the pattern
	// must still reach it.
	h := Chain(AssignRequestID, AccessLog(logger), Metrics, SecurityHeaders(false), Recover, BodyLimit(1<<20), csrf)(mux)

	for _, code := range []string{"A-1", "A-2", "B-7"} {
		serve(h, httptest.NewRequest("GET", "/metricstest/dossiers/"+code, nil))
	}
	serve(h, httptest.NewRequest("POST", "/metricstest/fail", nil))
	serve(h, httptest.NewRequest("GET", "/metricstest/nowhere/42", nil))
	serve(h, httptest.NewRequest("BREW", "/metricstest/fail", nil))

	page := scrape(t)
	for prefix, want := range map[string]string{
		`congso_http_requests_total{method="GET",route="GET /metricstest/dossiers/{code}",status="2xx"}`:                 "3",
		`congso_http_requests_total{method="POST",route="POST /metricstest/fail",status="4xx"}`:                          "1",
		`congso_http_request_duration_seconds_count{method="GET",route="GET /metricstest/dossiers/{code}",status="2xx"}`: "3",
	} {
		if got := sample(page, prefix); got != want {
			t.Errorf("%s = %q, want %q", prefix, got, want)
		}
	}
	if sample(page, `congso_http_requests_total{method="GET",route="unmatched",status="4xx"}`) == "" {
		t.Error("unmatched request not counted under route=\"unmatched\"")
	}
	if strings.Contains(page, `method="BREW"`) || sample(page, `congso_http_requests_total{method="OTHER",route="unmatched",status="4xx"}`) == "" {
		t.Error("unknown method not folded into OTHER")
	}
	if strings.Contains(page, "A-1") || strings.Contains(page, "nowhere") {
		t.Error("raw paths leaked into metric labels")
	}
	if !strings.Contains(page, "go_goroutines") {
		t.Error("runtime metrics missing from MetricsHandler")
	}
}
