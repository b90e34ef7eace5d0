package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/congso/congso/internal/gateway"
)

// histogram returns the count and sum of the histogram name{service=svc}.
func histogram(t *testing.T, reg *prometheus.Registry, name, svc string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "service") == svc {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// integration "operational monitoring": the metrics tell the service's
// time from the gateway's own, on both of the gateway's ways to a backend
// (a plain GET on the direct relay, a POST with a body through the reverse
// proxy), so that an operator sees which of the two is slow.
func TestMetricsSplitServiceTimeFromGatewayTime(t *testing.T) {
	const slow = 120 * time.Millisecond
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(slow)
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	reg := prometheus.NewRegistry()
	metrics, err := gateway.NewMetrics(reg)
	must(t, err)
	n := startNode(t, sqliteDB(t), nodeOpts{cfg: func(c *gateway.Config) { c.Metrics = metrics }})
	seed(t, n.mgr, backend.URL)
	svc := sid(svcID).String()
	relayed := gateway.Relayed()
	for i, body := range []io.Reader{nil, strings.NewReader(`{"so_dinh_danh":"001"}`)} {
		method := "GET"
		if body != nil {
			method = "POST"
		}
		resp := call(t, n.srv.URL, method, "/r1/"+svcID+"/v1/phieu", "tok-client", body)
		if got := readAll(t, resp); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("%s: %d %q", method, resp.StatusCode, got)
		}
		want := uint64(i + 1)
		total, totalSum := histogram(t, reg, "congso_gateway_request_duration_seconds", svc)
		waited, waitedSum := histogram(t, reg, "congso_gateway_service_duration_seconds", svc)
		own, ownSum := histogram(t, reg, "congso_gateway_overhead_seconds", svc)
		if total != want || waited != want || own != want {
			t.Fatalf("%s: %d, %d, %d observations, want %d each", method, total, waited, own, want)
		}
		if waitedSum < slow.Seconds()*float64(want) {
			t.Fatalf("%s: the service's time %.3fs is less than its %v per call", method, waitedSum, slow)
		}
		// The gateway's own time does not hold the service's, and the two
		// make up the whole.
		if ownSum >= slow.Seconds() || ownSum <= 0 {
			t.Fatalf("%s: the gateway's own time is %.3fs (the service took %v per call)", method, ownSum, slow)
		}
		if d := totalSum - waitedSum - ownSum; d > 1e-6 || d < -1e-6 {
			t.Fatalf("%s: whole %.6fs ≠ service %.6fs + own %.6fs", method, totalSum, waitedSum, ownSum)
		}
	}
	if gateway.Relayed() == relayed {
		t.Fatal("no call took the direct relay")
	}

	// A call the service never answers has no service time to tell
	// apart: it counts in the whole only.
	backend.Close()
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1/phieu", "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("backend down: %d", resp.StatusCode)
	}
	total, _ := histogram(t, reg, "congso_gateway_request_duration_seconds", svc)
	own, _ := histogram(t, reg, "congso_gateway_overhead_seconds", svc)
	if total != 3 || own != 2 {
		t.Fatalf("after a failed call: %d in the whole, %d in the gateway's own time; want 3 and 2", total, own)
	}
}
