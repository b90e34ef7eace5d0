package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// A concurrency limit holds over the whole gateway, not per node: with a
// limit of 3 and two live nodes, n1 takes 2 calls at a time and n2 one;
// when n2 stops, n1 takes all 3 once n2's heartbeat is old (integration:
// quotas enforced across nodes).
func TestConcurrencyLimitIsSharedByTheNodes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var offset atomic.Int64 // the test's clock runs ahead of the wall clock by this
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		// Calls to /hold1 wait for release1, to /hold2 for release2; done
		// lets them all go if the test stops early.
		release1, release2, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		entered := make(chan struct{}, 16)
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release := map[string]chan struct{}{"/hold1": release1, "/hold2": release2}[r.URL.Path]
			if release != nil {
				entered <- struct{}{}
				select {
				case <-release:
				case <-done:
				}
			}
		}))
		defer backend.Close()
		defer close(done)
		n1 := startNode(t, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: now})
		n2ctx, stopN2 := context.WithCancel(ctx)
		n2 := startNodeCtx(t, n2ctx, d, nodeOpts{name: "n2", poll: 20 * time.Millisecond, now: now})
		seed(t, n1.mgr, backend.URL)
		must(t, n1.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), MaxConcurrent: 3}))
		// Each node knows the other from its own heartbeat round.
		waitFor(t, "both nodes live and on the quota's revision", func() bool {
			return n1.rt.LiveNodes() == 2 && n2.rt.LiveNodes() == 2 && current(t, d, n1.rt) && current(t, d, n2.rt)
		})

		var wg sync.WaitGroup
		hold := func(n *node, path string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+path, "tok-client", nil))
			}()
			<-entered
		}
		refused := func(n *node) bool {
			r := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
			readAll(t, r)
			return r.StatusCode == http.StatusTooManyRequests && r.Header.Get(gateway.HeaderError) == gateway.FaultQuota
		}
		hold(n1, "/hold1")
		hold(n1, "/hold1")
		if !refused(n1) {
			t.Fatal("n1 took a third call although its share of 3 over 2 nodes is 2")
		}
		hold(n2, "/hold1")
		if !refused(n2) {
			t.Fatal("n2 took a second call although its share is 1: 4 calls in flight for a limit of 3")
		}
		close(release1)
		wg.Wait()

		// n2 stops; once its heartbeat is older than the live window, n1
		// has the whole limit.
		stopN2()
		offset.Store(int64(time.Minute))
		waitFor(t, "n1 alone", func() bool { return n1.rt.LiveNodes() == 1 && liveNodes(t, n1.rt) == 1 })
		for range 3 {
			hold(n1, "/hold2")
		}
		if !refused(n1) {
			t.Fatal("a fourth call passed a limit of 3")
		}
		close(release2)
		wg.Wait()

		nodes, err := n1.rt.Nodes(ctx)
		must(t, err)
		if len(nodes) != 2 || nodes[0].Node != "n1" || !nodes[0].Live || nodes[1].Node != "n2" || nodes[1].Live {
			t.Fatalf("nodes = %+v; want n1 live, then n2 not live", nodes)
		}
	})
}

func liveNodes(t *testing.T, rt *gateway.Runtime) int {
	nodes, err := rt.Nodes(context.Background())
	must(t, err)
	n := 0
	for _, x := range nodes {
		if x.Live {
			n++
		}
	}
	return n
}

// current reports whether rt serves the registry's latest revision.
func current(t *testing.T, d *db.DB, rt *gateway.Runtime) bool {
	want, _, err := gateway.NewStore(d, nil).Revision(context.Background())
	must(t, err)
	rev, _ := rt.Revision()
	return rev == want
}

// waitFor polls cond (the heartbeats and registry polls run every 20 ms).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startNodeCtx is startNode whose Run ends with ctx (to stop a node).
func startNodeCtx(t *testing.T, ctx context.Context, d *db.DB, o nodeOpts) *node {
	t.Helper()
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: o.name, Key: testKey, SignInterval: time.Hour, Now: o.now})
	must(t, err)
	rt, err := gateway.NewRuntime(context.Background(), d, gateway.Config{Instance: "VN-HUE", Node: o.name,
		Tokens: tokens{"tok-client": client}, PollInterval: o.poll, Log: ml, Now: o.now, BreakerCooldown: time.Hour})
	must(t, err)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = rt.Run(ctx) }()
	srv := serveGateway(t, rt, nil)
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return &node{rt: rt, mgr: gateway.NewManager(gateway.NewStore(d, o.now), o.now), srv: srv, log: ml}
}

// Two processes configured with one node name (say, the same
// CONGSO_GATEWAY_NODE on two hosts) are reported on the status data and
// by the doctor while both run; a node that restarts is not.
func TestTwoProcessesAsOneNodeAreReported(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		duplicate := func() bool {
			nodes, err := gateway.NewStore(d, now).Nodes(ctx, 10*time.Second)
			must(t, err)
			for _, n := range nodes {
				if n.Node == "n1" {
					return n.Duplicate
				}
			}
			return false
		}
		doctor := func() gateway.Check {
			return doctorCheck(t, gateway.DoctorConfig{DB: d, Now: now, PollInterval: 20 * time.Millisecond}, "gateway nodes")
		}
		// A restart: the first process stops, the next one takes its name.
		ctx1, stop1 := context.WithCancel(ctx)
		first := startNodeCtx(t, ctx1, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: now})
		waitFor(t, "the first process's heartbeat", func() bool { return first.rt.LiveNodes() == 1 })
		stop1()
		ctx2, stop2 := context.WithCancel(ctx)
		defer stop2()
		startNodeCtx(t, ctx2, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: now})
		time.Sleep(200 * time.Millisecond) // ten heartbeats
		if duplicate() {
			t.Fatal("a restarted node was taken for two processes")
		}
		if c := doctor(); c.Health != gateway.OK {
			t.Fatalf("doctor after a restart: %+v", c)
		}
		// Now a second process under the same name, while the other runs.
		ctx3, stop3 := context.WithCancel(ctx)
		startNodeCtx(t, ctx3, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: now})
		waitFor(t, "the clash noted", duplicate)
		if c := doctor(); c.Health != gateway.Fail || !strings.Contains(c.Detail, "two processes run as n1") {
			t.Fatalf("doctor with two processes: %+v", c)
		}
		// Once one of them stops, the report ends with the live window.
		stop3()
		time.Sleep(100 * time.Millisecond) // the other's next heartbeats note the clash a last time
		offset.Add(int64(11 * time.Second))
		waitFor(t, "the clash forgotten", func() bool { return !duplicate() })
	})
}

// A concurrency limit below the number of live nodes cannot be split into
// shares (the third of three nodes would get none of a limit of 2 and
// refuse every call, however idle the service): it is kept in the
// database's slots. Any node takes a call while fewer than 2 are in
// flight over the whole gateway, none takes a third, a finished call frees
// its slot, and a slot whose call outlived its time limit (its node died)
// is free again (integration: quotas enforced across nodes).
func TestConcurrencyLimitBelowTheNodeCount(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		backend := newHoldingBackend()
		defer backend.stop()
		var nodes []*node
		for _, name := range []string{"n1", "n2", "n3"} {
			nodes = append(nodes, startNode(t, d, nodeOpts{name: name, poll: 20 * time.Millisecond, now: now}))
		}
		n1, n2, n3 := nodes[0], nodes[1], nodes[2]
		seed(t, n1.mgr, backend.URL)
		must(t, n1.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), MaxConcurrent: 2}))
		allLive := func() bool {
			for _, n := range nodes {
				if n.rt.LiveNodes() != 3 || !current(t, d, n.rt) {
					return false
				}
			}
			return true
		}
		waitFor(t, "three nodes live and on the quota's revision", allLive)
		status := func(n *node) int {
			r := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
			readAll(t, r)
			if r.StatusCode == http.StatusTooManyRequests && r.Header.Get(gateway.HeaderError) != gateway.FaultQuota {
				t.Fatalf("429 without the quota category: %v", r.Header)
			}
			return r.StatusCode
		}
		// Idle: every node takes calls, the last in name order too.
		for _, n := range nodes {
			if got := status(n); got != http.StatusOK {
				t.Fatalf("an idle service refused a call: %d", got)
			}
		}
		var wg sync.WaitGroup
		hold := func(n *node) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+"/hold", "tok-client", nil))
			}()
			<-backend.entered
		}
		hold(n3)
		hold(n1)
		for _, n := range nodes {
			if got := status(n); got != http.StatusTooManyRequests {
				t.Fatalf("a third call at a time got %d", got)
			}
		}
		held := func() int {
			k, err := gateway.NewStore(d, now).SlotsHeld(ctx)
			must(t, err)
			return k
		}
		if k := held(); k != 2 {
			t.Fatalf("%d slots held, want 2", k)
		}
		backend.let()
		wg.Wait()
		if k := held(); k != 0 {
			t.Fatalf("%d slots held after the calls ended", k)
		}

		// A call whose node died holds its slot until the service's time
		// limit (5 min) and a minute have passed.
		hold(n2)
		hold(n2)
		if got := status(n3); got != http.StatusTooManyRequests {
			t.Fatalf("a third call at a time got %d", got)
		}
		offset.Store(int64(6*time.Minute + time.Second))
		// Each node counts the others live again once all have beaten on
		// the later clock and it has read their rows since.
		jumped := now()
		waitFor(t, "every node's heartbeat on the later clock", func() bool {
			ns, err := n1.rt.Nodes(ctx)
			must(t, err)
			fresh := 0
			for _, x := range ns {
				if x.SeenAt.After(jumped) {
					fresh++
				}
			}
			return fresh == 3
		})
		time.Sleep(200 * time.Millisecond) // ten heartbeat rounds
		waitFor(t, "the nodes live again on the later clock", allLive)
		if got := status(n3); got != http.StatusOK {
			t.Fatalf("a slot past its time limit was still held: %d", got)
		}
		backend.let()
		wg.Wait()

		// A node that restarts frees the slots its former process held.
		hold(n1)
		if k := held(); k != 1 {
			t.Fatalf("%d slots held, want 1", k)
		}
		again, err := gateway.NewRuntime(ctx, d, gateway.Config{Instance: "VN-HUE", Node: "n1", Now: now})
		must(t, err)
		if k := held(); k != 1 {
			t.Fatalf("%d slots held once a runtime named n1 is built (not run), want 1", k)
		}
		rctx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { _ = again.Run(rctx); close(ran) }()
		waitFor(t, "n1's restart to free its slots", func() bool { return held() == 0 })
		stop()
		<-ran
		backend.let()
		wg.Wait()
	})
}

// Each heartbeat measures the node's clock against the database server's:
// the nodes share quota windows, slots and the message log's times, so
// doctor warns about a node more than a second off and fails past 5 s.
func TestDoctorFindsANodeClockOff(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		var offset atomic.Int64
		startNode(t, d, nodeOpts{name: "n1", poll: 20 * time.Millisecond, now: time.Now})
		startNode(t, d, nodeOpts{name: "n2", poll: 20 * time.Millisecond, now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
		skews := func() map[string]time.Duration {
			ns, err := gateway.NewStore(d, nil).Nodes(context.Background(), time.Hour)
			must(t, err)
			out := map[string]time.Duration{}
			for _, n := range ns {
				out[n.Node] = n.ClockSkew
			}
			return out
		}
		check := func() gateway.Check {
			return doctorCheck(t, gateway.DoctorConfig{DB: d, PollInterval: 20 * time.Millisecond}, "node clocks")
		}
		near := func(got, want time.Duration) bool { return (got - want).Abs() < 500*time.Millisecond }
		waitFor(t, "both nodes' heartbeats", func() bool { s := skews(); return len(s) == 2 })
		if s := skews(); !near(s["n1"], 0) || !near(s["n2"], 0) {
			t.Fatalf("clocks in step measured as %v", s)
		}
		if c := check(); c.Health != gateway.OK {
			t.Fatalf("clocks in step: %+v", c)
		}
		offset.Store(int64(30 * time.Second))
		waitFor(t, "n2's heartbeat 30 s ahead", func() bool { return near(skews()["n2"], 30*time.Second) })
		if c := check(); c.Health != gateway.Fail || !strings.Contains(c.Detail, "n2 +30") || strings.Contains(c.Detail, "n1") {
			t.Fatalf("a node 30 s ahead: %+v", c)
		}
		offset.Store(int64(-2 * time.Second))
		waitFor(t, "n2's heartbeat 2 s behind", func() bool { return near(skews()["n2"], -2*time.Second) })
		if c := check(); c.Health != gateway.Warn || !strings.Contains(c.Detail, "n2 -2") {
			t.Fatalf("a node 2 s behind: %+v", c)
		}
	})
}

// holdingBackend answers at once every call but those to /hold, which it
// keeps until let is called (or stop); entered receives a value for each
// call it holds.
type holdingBackend struct {
	*httptest.Server
	entered chan struct{}
	mu      sync.Mutex
	gate    chan struct{} // closed by let, then made again
	done    chan struct{}
}

func newHoldingBackend() *holdingBackend {
	b := &holdingBackend{entered: make(chan struct{}, 16), gate: make(chan struct{}), done: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hold" {
			return
		}
		b.mu.Lock()
		gate := b.gate
		b.mu.Unlock()
		b.entered <- struct{}{}
		select {
		case <-gate:
		case <-b.done:
		}
	}))
	return b
}

// let answers the calls held now; later ones are held again.
func (b *holdingBackend) let() {
	b.mu.Lock()
	close(b.gate)
	b.gate = make(chan struct{})
	b.mu.Unlock()
}

// stop answers every held call and closes the server.
func (b *holdingBackend) stop() {
	close(b.done)
	b.Close()
}
