package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// A running node whose clock is 30 s behind is what the clock-skew check
// exists to find: its heartbeat, judged on its own clock, looks 30 s old,
// yet doctor reports its clock (not a clean bill), the skew metric is
// exported for it, and retire refuses it as running.
func TestNodeWithItsClockBehindIsNotTakenForDead(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		behind := func() time.Time { return time.Now().Add(-30 * time.Second) }
		backend := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		defer backend.Close()
		n1 := startNode(t, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: time.Now})
		n2 := startNode(t, d, nodeOpts{name: "n2", poll: 20 * time.Millisecond, now: behind})
		seed(t, n1.mgr, backend.URL)
		waitFor(t, "n2 on the registry", func() bool { return current(t, d, n2.rt) })
		readAll(t, call(t, n2.srv.URL, "GET", "/r1/"+svcID+"/v1/x", "tok-client", nil)) // a record in n2's log
		waitFor(t, "n2's heartbeat, 30 s behind", func() bool {
			ns, err := gateway.NewStore(d, nil).Nodes(ctx, time.Hour)
			must(t, err)
			for _, n := range ns {
				if n.Node == "n2" && n.ClockSkew < -29*time.Second {
					return true
				}
			}
			return false
		})
		c := doctorCheck(t, gateway.DoctorConfig{DB: d, PollInterval: 20 * time.Millisecond}, "node clocks")
		if c.Health != gateway.Fail || !strings.Contains(c.Detail, "n2") {
			t.Errorf("doctor on a node 30 s behind: %+v", c)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(gateway.NewHealthCollector(func() gateway.Watched { return gateway.Watched{DB: d, Runtime: n1.rt} }))
		if _, ok := gathered(t, reg)["congso_gateway_node_clock_skew_seconds{node=n2}"]; !ok {
			t.Errorf("no clock skew exported for n2 (so GatewayNodeClockOff cannot fire)")
		}
		// n2 is running (it beats every 20 ms): retire must refuse it.
		if r, err := gateway.RetireNode(ctx, d, "n2", testKey, gateway.RetireOptions{LiveFor: 10 * time.Second}); !errors.Is(err, gateway.ErrNodeLive) {
			t.Errorf("a running node was retired: %+v %v", r, err)
		}
	})
}

// The concurrency limit is kept in two ways (each node's share in memory,
// or database slots), chosen per call from the live node count and the
// limit. Calls admitted in a node's share still count when the limit is
// lowered to slots: with 2 nodes, a limit of 2 (a share of 1 each) and 2
// calls in flight, the limit lowered to 1 lets no third call through.
func TestLimitLoweredWhileCallsAreInFlight(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		backend := newHoldingBackend()
		defer backend.stop()
		n1 := startNode(t, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond})
		n2 := startNode(t, d, nodeOpts{name: "n2", poll: 20 * time.Millisecond})
		seed(t, n1.mgr, backend.URL)
		must(t, n1.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), MaxConcurrent: 2}))
		ready := func() bool {
			return n1.rt.LiveNodes() == 2 && n2.rt.LiveNodes() == 2 && current(t, d, n1.rt) && current(t, d, n2.rt)
		}
		waitFor(t, "two nodes on the quota", ready)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer backend.let()
		for _, n := range []*node{n1, n2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+"/hold", "tok-client", nil))
			}()
			<-backend.entered
		}
		must(t, n1.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), MaxConcurrent: 1}))
		waitFor(t, "both nodes on the lowered limit", ready)
		r := call(t, n1.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
		readAll(t, r)
		if r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("2 calls in flight, limit 1: a third call got %d", r.StatusCode)
		}
	})
}

// A service that sends its answer's header at once and its body 300 ms
// later: those 300 ms are the service's time, not the gateway's own
// (congso_gateway_overhead_seconds, which GatewaySlow pages on).
func TestStreamedAnswerBodyIsTheServicesTime(t *testing.T) {
	const slow = 300 * time.Millisecond
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(slow)
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	reg := prometheus.NewRegistry()
	metrics, err := gateway.NewMetrics(reg)
	must(t, err)
	n := startNode(t, sqliteDB(t), nodeOpts{cfg: func(c *gateway.Config) { c.Metrics = metrics }})
	seed(t, n.mgr, backend.URL)
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1/phieu", "tok-client", nil)
	if got := readAll(t, resp); got != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, got)
	}
	svc := sid(svcID).String()
	nw, waited := histogram(t, reg, "congso_gateway_service_duration_seconds", svc)
	no, own := histogram(t, reg, "congso_gateway_overhead_seconds", svc)
	if nw != 1 || no != 1 || waited < slow.Seconds() || own >= slow.Seconds() {
		t.Errorf("gateway's own time %.3fs, service's %.3fs: the service's %v of body counted as the gateway's", own, waited, slow)
	}
}

// Doctor reports a plain http webhook written "HTTP://…" (the delivery
// goes over plain http) on both databases (LIKE is case-sensitive on
// PostgreSQL).
func TestDoctorFindsUppercasePlainWebhooks(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		lax := gateway.NewPubSub(d, gateway.PubSubConfig{AllowHTTP: true})
		must(t, lax.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
		if _, err := lax.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: other, URL: "HTTP://10.0.0.5/hook"}); err != nil {
			t.Fatal(err)
		}
		var c *gateway.Check
		for _, x := range gateway.Doctor(ctx, gateway.DoctorConfig{DB: d}) {
			if x.Name == "webhooks" {
				c = &x
			}
		}
		if c == nil || c.Health != gateway.Warn {
			t.Errorf("a plain http webhook to 10.0.0.5 not reported: %+v", c)
		}
	})
}

// A damaged journal segment is kept aside for good: it does not block
// retire (starting the node would not change it); retire names it.
func TestRetireAcceptsANodeWithDamagedJournalSegments(t *testing.T) {
	d := sqliteDB(t)
	dir := t.TempDir()
	ctx := context.Background()
	ml := journaled(t, d, dir)
	stop := run(ml)
	for i := 0; i < 3; i++ {
		must(t, ml.Append(ctx, journalRecord(i)))
	}
	waitRecords(t, d, 3)
	stop()
	must(t, ml.Close())
	// What openJournal leaves after a damaged segment (kept aside).
	must(t, os.WriteFile(filepath.Join(dir, "n1.00000000000000000009.journal.damaged"), []byte("junk"), 0o600))
	opt := gateway.RetireOptions{LiveFor: time.Nanosecond, JournalDir: dir}
	r, err := gateway.RetireNode(ctx, d, "n1", testKey, opt)
	if err != nil || len(r.DamagedSegments) != 1 || !strings.HasSuffix(r.DamagedSegments[0], ".journal.damaged") {
		t.Fatalf("retire with a damaged segment aside: %+v %v", r, err)
	}
}
