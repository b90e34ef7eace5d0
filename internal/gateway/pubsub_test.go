package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// integration "better than X-Road": pub/sub and webhooks, at-least-once, retries, dead letters,
// idempotency keys, replay, signed deliveries.
func TestPubSubDeliversRetriesAndReplays(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		var clockMu sync.Mutex
		clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
		advance := func(dur time.Duration) { clockMu.Lock(); now = now.Add(dur); clockMu.Unlock() }

		var mu sync.Mutex
		var received []string
		failing := true
		guard := &gateway.ReplayGuard{Now: clock, RequireV2: true} // every delivery is signed v2
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if err := guard.Check(r.Header, body); errors.Is(err, gateway.ErrDuplicate) {
				return // accepted before: 200, not processed again
			} else if err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if failing {
				guard.Forget(r.Header.Get(gateway.HeaderEventID))
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			received = append(received, string(body))
		}))
		defer hook.Close()

		ps := gateway.NewPubSub(d, gateway.PubSubConfig{Now: clock, MaxAttempts: 3, Backoff: time.Second})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "dossier-handoff", Owner: client, Title: "Chuyển hồ sơ liên thông"}))
		sub, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "dossier-handoff", Subscriber: provider, URL: hook.URL})
		must(t, err)
		guard.Secret = sub.Secret

		id1, dup, err := ps.Publish(ctx, "dossier-handoff", cid(client), "k1", "application/json", []byte(`{"ho_so":"H57-1"}`))
		must(t, err)
		id2, dup2, err := ps.Publish(ctx, "dossier-handoff", cid(client), "k1", "application/json", []byte(`{"ho_so":"H57-1"}`))
		must(t, err)
		if dup || !dup2 || id1 != id2 {
			t.Fatalf("idempotency: %d %v %d %v", id1, dup, id2, dup2)
		}
		if _, _, err := ps.Publish(ctx, "dossier-handoff", cid(other), "k2", "application/json", []byte(`{}`)); !errors.Is(err, gateway.ErrInvalid) {
			t.Fatalf("publish by a non-owner: %v", err)
		}
		// The receiver fails: retried with backoff, then dead-lettered after 3 attempts.
		for i := 0; i < 3; i++ {
			n, err := ps.DeliverDue(ctx)
			must(t, err)
			if n != 1 {
				t.Fatalf("attempt %d: %d due", i+1, n)
			}
			if n, _ := ps.DeliverDue(ctx); n != 0 {
				t.Fatalf("retried before the backoff: %d", n)
			}
			advance(time.Duration(1<<i) * time.Second)
		}
		dead, err := ps.DeadLetters(ctx)
		must(t, err)
		if len(dead) != 1 || dead[0].Attempts != 3 || dead[0].LastError != "HTTP 500" {
			t.Fatalf("dead letters %+v", dead)
		}
		// The receiver recovers: the dead letter is retried and delivered once.
		mu.Lock()
		failing = false
		mu.Unlock()
		must(t, ps.Retry(ctx, dead[0].DeliveryID))
		if n, _ := ps.DeliverDue(ctx); n != 1 {
			t.Fatal("retry not delivered")
		}
		// Replay from a point in time delivers again; the receiver's guard
		// knows the event as already processed: answered 200, not processed
		// again (at-least-once, idempotent receiver).
		advance(time.Minute)
		_, _, err = ps.Publish(ctx, "dossier-handoff", cid(client), "k3", "application/json", []byte(`{"ho_so":"H57-2"}`))
		must(t, err)
		ps.DeliverDue(ctx)
		n, err := ps.Replay(ctx, sub.ID, now.Add(-30*time.Second))
		must(t, err)
		if n != 1 {
			t.Fatalf("replay queued %d", n)
		}
		ps.DeliverDue(ctx)
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(received, "|") != `{"ho_so":"H57-1"}|{"ho_so":"H57-2"}` {
			t.Fatalf("received %v", received)
		}
	})
}

func TestReplayGuardRejectsTamperedAndOld(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	g := &gateway.ReplayGuard{Secret: "s", Now: func() time.Time { return now }}
	h := func(id string, ts time.Time, body string) http.Header {
		x := http.Header{}
		t := strconv.FormatInt(ts.Unix(), 10)
		x.Set(gateway.HeaderEventID, id)
		x.Set(gateway.HeaderTimestamp, t)
		x.Set(gateway.HeaderSignature, gateway.Sign("s", id, t, []byte(body)))
		return x
	}
	if err := g.Check(h("1", now, "a"), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(h("1", now, "a"), []byte("a")); !errors.Is(err, gateway.ErrDuplicate) {
		t.Errorf("the same event again: %v", err)
	}
	if err := g.Check(h("2", now, "a"), []byte("b")); !errors.Is(err, gateway.ErrBadSignature) {
		t.Errorf("tampered: %v", err)
	}
	if err := g.Check(h("3", now.Add(-10*time.Minute), "a"), []byte("a")); !errors.Is(err, gateway.ErrReplay) {
		t.Errorf("old: %v", err)
	}
}

// integration "signed deliveries": the v2 signature covers the topic and
// the content type, which v1 does not: a delivery moved to another topic
// or retyped on its way is refused, and a receiver that requires v2 does
// not fall back to v1 when the v2 header is stripped.
func TestReplayGuardV2CoversTopicAndContentType(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"ho_so":"H57-1"}`)
	delivery := func(id string) http.Header {
		x := http.Header{}
		x.Set(gateway.HeaderEventID, id)
		x.Set(gateway.HeaderTimestamp, ts)
		x.Set(gateway.HeaderTopic, "dossier-handoff")
		x.Set("Content-Type", "application/json")
		x.Set(gateway.HeaderSignature, gateway.Sign("s", id, ts, body))
		x.Set(gateway.HeaderSignatureV2, gateway.SignV2("s", id, ts, "dossier-handoff", "application/json", body))
		return x
	}
	g := &gateway.ReplayGuard{Secret: "s", Now: func() time.Time { return now }}
	if err := g.Check(delivery("1"), body); err != nil {
		t.Fatal(err)
	}
	for i, tamper := range []func(http.Header){
		func(x http.Header) { x.Set(gateway.HeaderTopic, "dossier-returned") }, // v1 still matches
		func(x http.Header) { x.Set("Content-Type", "application/xml") },
		func(x http.Header) { x.Add(gateway.HeaderTopic, "dossier-returned") },
		func(x http.Header) { x.Set(gateway.HeaderSignatureV2, "v2=00") },
	} {
		x := delivery(strconv.Itoa(10 + i))
		tamper(x)
		if err := g.Check(x, body); !errors.Is(err, gateway.ErrBadSignature) {
			t.Errorf("tampering %d passed: %v", i, err)
		}
	}
	// Without v2 (a gateway before it, or stripped): v1 decides, unless
	// the receiver requires v2.
	x := delivery("20")
	x.Del(gateway.HeaderSignatureV2)
	if err := g.Check(x, body); err != nil {
		t.Errorf("v1 only: %v", err)
	}
	strict := &gateway.ReplayGuard{Secret: "s", RequireV2: true, Now: func() time.Time { return now }}
	x = delivery("21")
	x.Del(gateway.HeaderSignatureV2)
	if err := strict.Check(x, body); !errors.Is(err, gateway.ErrBadSignature) {
		t.Errorf("v2 required, v1 only passed: %v", err)
	}
	if err := strict.Check(delivery("22"), body); err != nil {
		t.Errorf("v2 required: %v", err)
	}
}

func TestPublishThroughGateway(t *testing.T) {
	d := dbtest.SQLite(t, psMigrations())
	ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.PubSub = ps }})
	seed(t, n.mgr, "http://127.0.0.1:1")
	must(t, ps.PutTopic(context.Background(), gateway.Topic{Code: "docs", Owner: client}))
	for i, want := range []int{202, 200} {
		resp := call(t, n.srv.URL, "POST", "/pubsub/docs", "tok-client", strings.NewReader(`{"x":1}`), "Idempotency-Key", "abc", "Content-Type", "application/json")
		if b := readAll(t, resp); resp.StatusCode != want {
			t.Fatalf("publish %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp := call(t, n.srv.URL, "POST", "/pubsub/docs", "tok-client", strings.NewReader(`{}`))
	readAll(t, resp)
	if resp.StatusCode != 400 || resp.Header.Get(gateway.HeaderError) != gateway.FaultBadRequest {
		t.Fatalf("without idempotency key: %d", resp.StatusCode)
	}
	resp = call(t, n.srv.URL, "POST", "/pubsub/docs", "", strings.NewReader(`{}`), "Idempotency-Key", "x")
	readAll(t, resp)
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous publish: %d", resp.StatusCode)
	}
}

// integration "Publish/subscribe", security: a webhook on another machine
// must be https (deliveries may carry dossiers' personal data, which the
// signature does not hide); plain http is for this machine, or allowed by
// the operator.
func TestWebhooksMustBeHTTPSOffThisMachine(t *testing.T) {
	d := dbtest.SQLite(t, psMigrations())
	ctx := context.Background()
	strict := gateway.NewPubSub(d, gateway.PubSubConfig{})
	must(t, strict.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
	for u, ok := range map[string]bool{
		"http://10.0.0.5/hook":        false,
		"http://motcua.hue.gov.vn/x":  false,
		"http://[::ffff:10.0.0.5]/x":  false,
		"https://motcua.hue.gov.vn/x": true,
		"http://127.0.0.1:8080/x":     true,
		"http://[::1]:8080/x":         true,
		"http://localhost/x":          true,
	} {
		_, err := strict.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: u})
		var fe *gateway.FieldError
		if ok != (err == nil) || !ok && (!errors.As(err, &fe) || fe.Field != "url" || fe.Reason != "https") {
			t.Errorf("%s: %v", u, err)
		}
	}
	lax := gateway.NewPubSub(d, gateway.PubSubConfig{AllowHTTP: true})
	plain, err := lax.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: other, URL: "http://10.0.0.5/hook"})
	if err != nil {
		t.Fatalf("http allowed by the operator: %v", err)
	}
	// Doctor names such a subscription unless the operator allows them
	// (one made before the rule, or while it was allowed).
	if c := doctorCheck(t, gateway.DoctorConfig{DB: d}, "webhooks"); c.Health != gateway.Warn || !strings.Contains(c.Detail, fmt.Sprintf("subscriptions %d deliver", plain.ID)) {
		t.Fatalf("doctor: %+v", c)
	}
	for _, c := range gateway.Doctor(ctx, gateway.DoctorConfig{DB: d, WebhookHTTP: true}) {
		if c.Name == "webhooks" {
			t.Fatalf("doctor with plain http allowed: %+v", c)
		}
	}
}
