package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// integration "Publish/subscribe" (idempotency keys, several nodes on one
// database): the same key published at once from many callers gives one
// event, every caller its ID; two nodes creating the same topic at their
// first start both succeed.
func TestPubSubConcurrentPublishersAndNodes(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
		for round := 0; round < 10; round++ {
			var wg sync.WaitGroup
			var firsts atomic.Int64
			ids := make([]int64, 8)
			errs := make([]error, 8)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id, dup, err := ps.Publish(ctx, "t", cid(client), fmt.Sprintf("k%d", round), "application/json", []byte(`{}`))
					ids[i], errs[i] = id, err
					if err == nil && !dup {
						firsts.Add(1)
					}
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Fatalf("round %d: caller %d got %d, %v (first %d)", round, i, ids[i], errs[i], ids[0])
				}
			}
			if firsts.Load() != 1 {
				t.Fatalf("round %d: %d callers were told they published first", round, firsts.Load())
			}
		}
		for round := 0; round < 10; round++ {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = ps.PutTopic(ctx, gateway.Topic{Code: fmt.Sprintf("dossier-events-%d", round), Owner: client})
				}()
			}
			wg.Wait()
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("two nodes creating a topic: %v, %v", errs[0], errs[1])
			}
		}
	})
}

// integration "Publish/subscribe": events published while an operator
// resumes a paused subscription are all delivered: none stays held on a
// subscription that is no longer paused.
func TestPublishRacingResumeHoldsNothing(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
		s, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: "http://127.0.0.1:1/x"})
		must(t, err)
		for round := 0; round < 60; round++ {
			must(t, ps.Pause(ctx, "op", s.ID))
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := 0; i < 4; i++ {
					if _, _, err := ps.Publish(ctx, "t", cid(client), fmt.Sprintf("r%d-%d", round, i), "text/plain", []byte("x")); err != nil {
						t.Error(err)
					}
				}
			}()
			go func() { defer wg.Done(); must(t, ps.Resume(ctx, "op", s.ID)) }()
			wg.Wait()
			var held int
			must(t, d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_deliveries WHERE state = 'paused'`).Scan(&held))
			if held > 0 {
				t.Fatalf("round %d: %d deliveries held on a resumed subscription", round, held)
			}
		}
	})
}

// integration "Publish/subscribe": a removed topic's code taken again by
// another subsystem shares nothing with the old topic: a subscription of
// the old one cannot be revived while the code is free, and a replay on
// the new topic gives none of the former owner's events.
func TestTopicCodeTakenAgainSharesNothing(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		got := map[string][]string{}
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], string(b))
			mu.Unlock()
		}))
		defer hook.Close()
		now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{Now: func() time.Time { return now }})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
		s, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: hook.URL + "/old"})
		must(t, err)
		_, _, err = ps.Publish(ctx, "t", cid(client), "a1", "text/plain", []byte("the former owner's event"))
		must(t, err)
		_, err = ps.DeliverDue(ctx)
		must(t, err)
		_, err = ps.Unsubscribe(ctx, "op", s.ID, false)
		must(t, err)
		must(t, ps.DeleteTopic(ctx, "op", "t"))
		if _, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: hook.URL + "/old"}); !errors.Is(err, gateway.ErrNotFound) {
			t.Fatalf("a subscription revived on a removed topic: %v", err)
		}
		now = now.Add(time.Hour)
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: other}))
		_, _, err = ps.Publish(ctx, "t", cid(other), "b1", "text/plain", []byte("the new owner's event"))
		must(t, err)
		s3, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: client, URL: hook.URL + "/new"})
		must(t, err)
		now = now.Add(time.Minute)
		n, err := ps.Replay(ctx, s3.ID, now.Add(-24*time.Hour))
		must(t, err)
		_, err = ps.DeliverDue(ctx)
		must(t, err)
		mu.Lock()
		defer mu.Unlock()
		if n != 1 || strings.Join(got["/new"], "|") != "the new owner's event" || strings.Join(got["/old"], "|") != "the former owner's event" {
			t.Fatalf("replay queued %d; the old subscriber got %q, the new one %q", n, got["/old"], got["/new"])
		}
	})
}

// answerThenStop answers 200 and, as it does, the node stops (its context
// ends).
type answerThenStop struct{ stop func() }

func (a answerThenStop) RoundTrip(r *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, r.Body)
	a.stop()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// integration "Publish/subscribe": a delivery the receiver accepted while
// the node was stopping is recorded as delivered (not sent again).
func TestDeliveryAcceptedWhileStoppingIsRecorded(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{Client: &http.Client{Transport: answerThenStop{stop}}})
		bg := context.Background()
		must(t, ps.PutTopic(bg, gateway.Topic{Code: "t", Owner: client}))
		_, err := ps.Subscribe(bg, gateway.Subscription{Topic: "t", Subscriber: provider, URL: "https://receiver.invalid/x"})
		must(t, err)
		_, _, err = ps.Publish(bg, "t", cid(client), "k", "text/plain", []byte("x"))
		must(t, err)
		if _, err := ps.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		subs, err := ps.Subscriptions(bg, "t")
		must(t, err)
		if subs[0].Delivered != 1 || subs[0].Pending != 0 {
			t.Fatalf("after a 200 while stopping: %+v", subs[0])
		}
	})
}

// integration "Publish/subscribe": a receiver answering with a redirect has
// not received the event (following it would send a GET without the
// event): the delivery fails and is retried.
func TestRedirectIsNotADelivery(t *testing.T) {
	var gets atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1) // would answer 200
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer hook.Close()
	d := dbtest.SQLite(t, psMigrations())
	ctx := context.Background()
	ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
	must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
	_, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: hook.URL})
	must(t, err)
	_, _, err = ps.Publish(ctx, "t", cid(client), "k", "text/plain", []byte("x"))
	must(t, err)
	_, err = ps.DeliverDue(ctx)
	must(t, err)
	subs, err := ps.Subscriptions(ctx, "t")
	must(t, err)
	if subs[0].Delivered != 0 || subs[0].Pending != 1 || subs[0].LastError != "HTTP 302" || gets.Load() != 0 {
		t.Fatalf("after a redirect: %+v, %d GETs", subs[0], gets.Load())
	}
}

// integration "Publish/subscribe": with the default settings a receiver
// that is down is retried for about a day (a night's maintenance loses
// nothing) before the event goes to the dead letters, which is logged.
func TestDefaultRetriesLastADay(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	d := dbtest.SQLite(t, psMigrations())
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	now := start
	var logs syncBuffer
	ps := gateway.NewPubSub(d, gateway.PubSubConfig{Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	must(t, ps.PutTopic(ctx, gateway.Topic{Code: "t", Owner: client}))
	_, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "t", Subscriber: provider, URL: hook.URL})
	must(t, err)
	_, _, err = ps.Publish(ctx, "t", cid(client), "k", "text/plain", []byte("x"))
	must(t, err)
	attempts := 0
	for ; attempts < 100; attempts++ {
		n, err := ps.DeliverDue(ctx)
		must(t, err)
		if n == 0 {
			break
		}
		var next time.Time
		must(t, d.Read().QueryRowContext(ctx, `SELECT next_at FROM gateway_deliveries`).Scan(&next))
		now = next // the next attempt, when it is due
	}
	dead, err := ps.DeadLetters(ctx)
	must(t, err)
	span := now.Sub(start)
	if attempts != gateway.DefaultMaxAttempts || len(dead) != 1 || span < 23*time.Hour || span > 26*time.Hour {
		t.Fatalf("%d attempts over %s, dead letters %d", attempts, span, len(dead))
	}
	if !bytes.Contains([]byte(logs.String()), []byte("dead letters")) {
		t.Fatalf("the dead letter was not logged:\n%s", logs.String())
	}
}

// integration "Publish/subscribe" (operations): events past the retention
// (90 days) whose deliveries are all made go, with those deliveries; a
// dead letter keeps its event, as do newer events.
func TestPruneKeepsWhatIsNotDelivered(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer ok.Close()
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		defer failing.Close()
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{Now: func() time.Time { return now }, MaxAttempts: 1})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "a", Owner: client}))
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "b", Owner: client}))
		_, err := ps.Subscribe(ctx, gateway.Subscription{Topic: "a", Subscriber: provider, URL: ok.URL})
		must(t, err)
		_, err = ps.Subscribe(ctx, gateway.Subscription{Topic: "b", Subscriber: provider, URL: failing.URL})
		must(t, err)
		_, _, err = ps.Publish(ctx, "a", cid(client), "a1", "text/plain", []byte("a1"))
		must(t, err)
		_, _, err = ps.Publish(ctx, "b", cid(client), "b1", "text/plain", []byte("b1"))
		must(t, err)
		_, err = ps.DeliverDue(ctx)
		must(t, err)
		now = now.Add(100 * 24 * time.Hour)
		_, _, err = ps.Publish(ctx, "a", cid(client), "a2", "text/plain", []byte("a2"))
		must(t, err)
		_, err = ps.DeliverDue(ctx)
		must(t, err)
		events, deliveries, err := ps.Prune(ctx)
		must(t, err)
		if events != 1 || deliveries != 1 {
			t.Fatalf("pruned %d events, %d deliveries", events, deliveries)
		}
		var left []string
		rows, err := d.Read().QueryContext(ctx, `SELECT idempotency_key FROM gateway_events ORDER BY id`)
		must(t, err)
		for rows.Next() {
			var k string
			must(t, rows.Scan(&k))
			left = append(left, k)
		}
		rows.Close()
		dead, err := ps.DeadLetters(ctx)
		must(t, err)
		if strings.Join(left, ",") != "b1,a2" || len(dead) != 1 {
			t.Fatalf("events left %v, dead letters %+v", left, dead)
		}
		if e, d2, err := ps.Prune(ctx); err != nil || e+d2 != 0 {
			t.Fatalf("a second prune: %d %d %v", e, d2, err)
		}
	})
}
