package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// gathered is every sample of reg as name{label="value",…} → value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// integration "operational monitoring": what doctor checks by hand is
// exported at every scrape, so that alerts fire without it: the nodes and
// their clocks, records waiting for their signature, open circuits, and
// each webhook subscription's backlog.
func TestHealthMetrics(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		down := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		down.Close() // a backend that refuses connections
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
		defer hook.Close()
		n := startNode(t, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond})
		seed(t, n.mgr, down.URL)
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{MaxAttempts: 1})
		reg := prometheus.NewRegistry()
		reg.MustRegister(gateway.NewHealthCollector(func() gateway.Watched { return gateway.Watched{DB: d, Runtime: n.rt, PubSub: ps} }))
		waitFor(t, "n1's heartbeat", func() bool { return gathered(t, reg)["congso_gateway_nodes_live{}"] == 1 })

		for i := 0; i < 5; i++ { // the breaker's threshold
			if r := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1/x", "tok-client", nil); r.StatusCode != http.StatusBadGateway {
				t.Fatalf("call %d to a backend down: %d", i, r.StatusCode)
			}
		}
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
		sub, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: hook.URL})
		must(t, err)
		for _, k := range []string{"a", "b"} {
			_, _, err := ps.Publish(ctx, "t", cid(client), k, "text/plain", []byte(k))
			must(t, err)
		}
		if _, err := ps.DeliverDue(ctx); err != nil { // both fail: one attempt each, dead
			t.Fatal(err)
		}
		_, _, err = ps.Publish(ctx, "t", cid(client), "c", "text/plain", []byte("c")) // pending
		must(t, err)

		got := gathered(t, reg)
		subLabels := "{subscriber=" + provider + ",subscription=" + itoa(sub.ID) + ",topic=t}"
		for k, want := range map[string]float64{
			"congso_gateway_nodes_live{}":                                         1,
			"congso_gateway_circuit_open{circuit=" + sid(svcID).String() + "/v1}": 1,
			"congso_gateway_msglog_unsigned_records{node=n1}":                     5, // signed hourly in the tests
			"congso_gateway_pubsub_dead_letters" + subLabels:                      2,
			"congso_gateway_pubsub_pending_deliveries" + subLabels:                1,
		} {
			if v, ok := got[k]; !ok || v != want {
				t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
			}
		}
		if v := got["congso_gateway_node_clock_skew_seconds{node=n1}"]; v < -0.5 || v > 0.5 {
			t.Errorf("n1's clock against the database: %v s", v)
		}
		if v, ok := got["congso_gateway_registry_age_seconds{}"]; !ok || v > 5 {
			t.Errorf("registry age %v (present %v)", v, ok)
		}
		if v, ok := got["congso_gateway_node_heartbeat_age_seconds{node=n1}"]; !ok || v > 5 {
			t.Errorf("heartbeat age %v (present %v)", v, ok)
		}
		must(t, n.log.Sign(ctx))
		if g := gathered(t, reg); g["congso_gateway_msglog_unsigned_records{node=n1}"] != 0 || g["congso_gateway_msglog_signed_records{node=n1}"] != 5 {
			t.Errorf("after signing: %v unsigned, %v signed", g["congso_gateway_msglog_unsigned_records{node=n1}"], g["congso_gateway_msglog_signed_records{node=n1}"])
		}
		// Not a gateway node (no runtime): the node-wide figures are left
		// to the gateway nodes; the subscriptions' backlog stays.
		other := prometheus.NewRegistry()
		other.MustRegister(gateway.NewHealthCollector(func() gateway.Watched { return gateway.Watched{DB: d, PubSub: ps} }))
		for k := range gathered(t, other) {
			if !strings.HasPrefix(k, "congso_gateway_pubsub_") {
				t.Errorf("a node without the gateway exports %s", k)
			}
		}
	})
}

// The alerting rules shipped in docs/alerts use only metrics the gateway
// exports, and each rule has a name of its own and an expression.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../docs/alerts/gateway.rules.yml")
	must(t, err)
	names := &describedNames{names: map[string]bool{}}
	_, err = gateway.NewMetrics(names)
	must(t, err)
	must(t, names.Register(gateway.NewHealthCollector(func() gateway.Watched { return gateway.Watched{} })))
	known := names.names
	text := string(b)
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)$`).FindAllStringSubmatch(text, -1)
	if len(alerts) < 10 || strings.Count(text, "expr:") != len(alerts) {
		t.Fatalf("%d alerts, %d expressions", len(alerts), strings.Count(text, "expr:"))
	}
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a[1]] {
			t.Errorf("alert %s twice", a[1])
		}
		seen[a[1]] = true
	}
	used := regexp.MustCompile(`congso_[a-z0-9_]+`).FindAllString(text, -1)
	if len(used) == 0 {
		t.Fatal("no metric in the rules")
	}
	for _, m := range used {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
		if !known[m] && !known[base] {
			t.Errorf("the rules use %s, which the gateway does not export", m)
		}
	}
}

// describedNames is a Registerer that keeps the names of the metrics
// registered with it.
type describedNames struct{ names map[string]bool }

func (r *describedNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	name := regexp.MustCompile(`fqName: "([a-z0-9_]+)"`)
	for d := range ch {
		r.names[name.FindStringSubmatch(d.String())[1]] = true
	}
	return nil
}

func (r *describedNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *describedNames) Unregister(prometheus.Collector) bool { return false }
