package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/web"
)

// psMigrations is the gateway's schema (it includes the pub/sub
// administration's migration).
func psMigrations() []db.Migration { return migrations() }

// hookServer is a subscriber's webhook: it checks each delivery's signature
// with the secret it is given and records the bodies; failing makes it
// answer 500.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	failing  bool
	bodies   []string
	attempts int
}

func newHook(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		id, ts := r.Header.Get(gateway.HeaderEventID), r.Header.Get(gateway.HeaderTimestamp)
		if h.secret == "" || r.Header.Get(gateway.HeaderSignature) != gateway.Sign(h.secret, id, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h.failing {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		h.bodies = append(h.bodies, string(body))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) set(secret string, failing bool) {
	h.mu.Lock()
	h.secret, h.failing = secret, failing
	h.mu.Unlock()
}

// got returns the bodies received, sorted.
func (h *hookServer) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.bodies)
	slices.Sort(out)
	return out
}

// psSaved asserts a pub/sub form was accepted: a redirect with a flash message.
func psSaved(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.pubsub.flash.") {
		t.Fatalf("%s: %d (want 303 with a flash) %s", what, w.Code, w.Body)
	}
}

// psEnv is the gateway's pages and API with pub/sub on d, a settable clock
// and a webhook.
type psEnv struct {
	mux     *http.ServeMux
	ps      *gateway.PubSub
	d       *db.DB
	hook    *hookServer
	mu      sync.Mutex
	now     time.Time
	advance func(time.Duration)
}

func newPSEnv(t *testing.T, d *db.DB) *psEnv {
	t.Helper()
	e := &psEnv{d: d, now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), hook: newHook(t)}
	clock := func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	e.advance = func(dur time.Duration) { e.mu.Lock(); e.now = e.now.Add(dur); e.mu.Unlock() }
	e.ps = gateway.NewPubSub(d, gateway.PubSubConfig{Now: clock, MaxAttempts: 2, Backoff: time.Second})
	mgr := gateway.NewManager(gateway.NewStore(d, clock), clock)
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	must(t, err)
	shell.CSRFToken = func(*http.Request) string { return "tok" }
	shell.CurrentUser = func(r *http.Request) *web.User {
		if r.Header.Get("X-Test-User") == "" {
			return nil
		}
		admin := r.Header.Get("X-Test-Admin") == "yes"
		return &web.User{ID: r.Header.Get("X-Test-User"), Kind: "official", CanDo: func(string) bool { return admin }}
	}
	h, err := gateway.NewHandlers(gateway.HandlerConfig{Manager: mgr, DB: d, PubSub: e.ps, Authorizer: headerAuthz{}, Shell: shell, Now: clock,
		Actor: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	must(t, err)
	e.mux = http.NewServeMux()
	h.Routes(e.mux)
	return e
}

// deliver runs one delivery round and returns how many it tried.
func (e *psEnv) deliver(t *testing.T) int {
	t.Helper()
	n, err := e.ps.DeliverDue(context.Background())
	must(t, err)
	return n
}

func (e *psEnv) publish(t *testing.T, key, body string) int64 {
	t.Helper()
	id, _, err := e.ps.Publish(context.Background(), "dossier-handoff", cid(client), key, "application/json", []byte(body))
	must(t, err)
	return id
}

func (e *psEnv) subs(t *testing.T) []gateway.SubscriptionStatus {
	t.Helper()
	s, err := e.ps.Subscriptions(context.Background(), "")
	must(t, err)
	return s
}

// subscribeForm makes the topic and a subscription through the forms and
// returns the subscription's ID; the hook learns the secret from the page.
func (e *psEnv) subscribeForm(t *testing.T) int64 {
	t.Helper()
	psSaved(t, "topic", page(e.mux, "/admin/gateway/pubsub/topics", true, "", url.Values{"code": {"dossier-handoff"}, "owner": {client}, "title": {"Chuyển hồ sơ liên thông"}}))
	w := page(e.mux, "/admin/gateway/pubsub/subscriptions", true, "", url.Values{"topic": {"dossier-handoff"}, "subscriber": {provider}, "url": {e.hook.URL + "/hook"}})
	m := regexp.MustCompile(`id="secret-value" type="text" readonly value="([0-9a-f]{64})"`).FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusCreated || m == nil || !strings.Contains(w.Body.String(), "Đã tạo đăng ký số") {
		t.Fatalf("subscribe form: %d, secret shown: %v\n%s", w.Code, m != nil, w.Body)
	}
	e.hook.set(m[1], false)
	if b := page(e.mux, "/admin/gateway/pubsub", true, "", nil).Body.String(); strings.Contains(b, m[1]) {
		t.Fatal("the secret is shown again after the subscription was made")
	}
	s := e.subs(t)
	if len(s) != 1 || s[0].Subscriber != provider || s[0].Topic != "dossier-handoff" || s[0].Paused {
		t.Fatalf("subscriptions after the form: %+v", s)
	}
	return s[0].ID
}

// integration "better than X-Road": dead letters are visible to the
// operator and redelivered once the receiver works again.
func TestPubSubPageDeadLetterRedelivered(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		sub := e.subscribeForm(t)
		e.hook.set(e.hook.secret, true)
		e.publish(t, "k1", `{"ho_so":"H57-1"}`)
		for i := 0; i < 2; i++ {
			if n := e.deliver(t); n != 1 {
				t.Fatalf("attempt %d: %d tried", i+1, n)
			}
			e.advance(time.Minute)
		}
		if n := e.deliver(t); n != 0 {
			t.Fatalf("a dead letter was retried on its own: %d", n)
		}
		b := page(e.mux, "/admin/gateway/pubsub", true, "", nil).Body.String()
		dead := regexp.MustCompile(`<tr id="dead-(\d+)"><th scope="row">\d+</th><td>\d+</td><td>#(\d+) <code>dossier-handoff</code> → <code>` +
			regexp.QuoteMeta(provider) + `</code></td><td>[^<]+</td><td>2</td><td><span class="err-text">HTTP 500</span></td><td>02/03/2026 15:01:00</td>`).FindStringSubmatch(b)
		if dead == nil || dead[2] != fmt.Sprint(sub) {
			t.Fatalf("the dead letter (2 attempts, HTTP 500, last attempt 15:01 Vietnam time) is not on the page:\n%s", b)
		}
		s := e.subs(t)[0]
		if s.Dead != 1 || s.Pending != 0 || s.Delivered != 0 || s.LastError != "HTTP 500" || s.LastFailure == nil || s.LastSuccess != nil {
			t.Fatalf("counters with a dead letter: %+v", s)
		}
		if !strings.Contains(b, `<a href="/admin/gateway/pubsub?subscription=`+fmt.Sprint(sub)+`#dead-h"`) {
			t.Error("the subscription's dead count does not link to its dead letters")
		}

		// The receiver recovers; the operator redelivers the dead letter.
		e.hook.set(e.hook.secret, false)
		w := page(e.mux, "/admin/gateway/pubsub/dead-letters/"+dead[1]+"/redeliver", true, "", url.Values{})
		psSaved(t, "redeliver", w)
		if n := e.deliver(t); n != 1 {
			t.Fatalf("redelivery: %d tried", n)
		}
		if got := e.hook.got(); strings.Join(got, "|") != `{"ho_so":"H57-1"}` {
			t.Fatalf("received %v", got)
		}
		b = page(e.mux, "/admin/gateway/pubsub", true, "", nil).Body.String()
		if !strings.Contains(b, "Không có thư lỗi.") || strings.Contains(b, `<tr id="dead-`) {
			t.Fatal("the dead letter is still listed after its redelivery")
		}
		if s := e.subs(t)[0]; s.Dead != 0 || s.Delivered != 1 || s.LastSuccess == nil {
			t.Fatalf("counters after redelivery: %+v", s)
		}
		// Redelivering it again finds nothing.
		w = page(e.mux, "/admin/gateway/pubsub/dead-letters/"+dead[1]+"/redeliver", true, "", url.Values{})
		if !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.pubsub.flash.gone") {
			t.Fatalf("second redelivery: %d %v", w.Code, w.Header())
		}

		// All the dead letters of a subscription at once.
		e.hook.set(e.hook.secret, true)
		e.publish(t, "k2", `{"ho_so":"H57-2"}`)
		e.publish(t, "k3", `{"ho_so":"H57-3"}`)
		for i := 0; i < 2; i++ {
			e.deliver(t)
			e.advance(time.Minute)
		}
		if s := e.subs(t)[0]; s.Dead != 2 {
			t.Fatalf("dead letters before redelivering all: %+v", s)
		}
		e.hook.set(e.hook.secret, false)
		psSaved(t, "redeliver all", page(e.mux, fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/redeliver", sub), true, "", url.Values{}))
		if n := e.deliver(t); n != 2 {
			t.Fatalf("redeliver all: %d tried", n)
		}
		if got := e.hook.got(); strings.Join(got, "|") != `{"ho_so":"H57-1"}|{"ho_so":"H57-2"}|{"ho_so":"H57-3"}` {
			t.Fatalf("received %v", got)
		}
		// Every change is audited with who made it.
		entries, _, err := audit.List(context.Background(), d, audit.Filter{Actor: "nguyen.van.a", Limit: 100})
		must(t, err)
		var actions []string
		for _, en := range entries {
			actions = append(actions, en.Action)
		}
		for _, want := range []string{"gateway.topic.put", "gateway.subscription.create", "gateway.delivery.retry", "gateway.subscription.redeliver"} {
			if !slices.Contains(actions, want) {
				t.Errorf("no audit entry %s by the operator in %v", want, actions)
			}
		}
	})
}

// integration "better than X-Road": replay from a point in time.
func TestPubSubPageReplaySince(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		sub := e.subscribeForm(t)
		t0 := e.now
		e.publish(t, "k1", `{"ho_so":"H57-1"}`)
		e.advance(time.Hour)
		e.publish(t, "k2", `{"ho_so":"H57-2"}`)
		if n := e.deliver(t); n != 2 {
			t.Fatalf("first deliveries: %d", n)
		}
		e.advance(time.Hour)
		replay := func(subscription, since string) *httptest.ResponseRecorder {
			return page(e.mux, "/admin/gateway/pubsub/replay", true, "", url.Values{"subscription": {subscription}, "since": {since}})
		}
		// Bad input: the error next to its field, nothing queued.
		rejected(t, "since not a time", replay(fmt.Sprint(sub), "hôm qua"), "replay-since", "Nhập một thời điểm trong quá khứ")
		rejected(t, "since in the future", replay(fmt.Sprint(sub), e.now.Add(time.Hour).In(web.Location).Format("2006-01-02T15:04")), "replay-since", "Nhập một thời điểm trong quá khứ")
		rejected(t, "unknown subscription", replay("999", "2026-03-01T00:00"), "replay-subscription", "Đăng ký này không còn tồn tại")
		rejected(t, "no subscription", replay("", "2026-03-01T00:00"), "replay-subscription", "Chọn một đăng ký")
		if n := e.deliver(t); n != 0 {
			t.Fatalf("a refused replay queued %d deliveries", n)
		}
		// Since 30 minutes after the first event, typed in Vietnam time:
		// only the second one comes again.
		since := t0.Add(30 * time.Minute).In(web.Location).Format("2006-01-02T15:04")
		w := replay(fmt.Sprint(sub), since)
		psSaved(t, "replay", w)
		if !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.pubsub.flash.replayed") {
			t.Fatalf("replay flash: %v", w.Header())
		}
		if n := e.deliver(t); n != 1 {
			t.Fatalf("replay delivered %d", n)
		}
		if got := e.hook.got(); strings.Join(got, "|") != `{"ho_so":"H57-1"}|{"ho_so":"H57-2"}|{"ho_so":"H57-2"}` {
			t.Fatalf("received %v", got)
		}
		// More events than one replay may queue: refused, next to the field.
		gateway.MaxReplay = 1
		defer func() { gateway.MaxReplay = 50_000 }()
		rejected(t, "too many events", replay(fmt.Sprint(sub), "2026-03-01T00:00"), "replay-since", "Từ thời điểm đó đã có 2 sự kiện: mỗi lần chỉ phát lại tối đa 1 sự kiện")
		if w := page(e.mux, fmt.Sprintf("/api/v1/gateway/subscriptions/%d/replay?since=2026-03-01T00:00:00Z", sub), true, "", url.Values{}); w.Code != 422 || !strings.Contains(w.Body.String(), "tối đa 1 sự kiện") {
			t.Fatalf("API replay of too many: %d %s", w.Code, w.Body)
		}
		gateway.MaxReplay = 50_000
		// Nothing since a time after the last event: said so.
		w = replay(fmt.Sprint(sub), t0.Add(90*time.Minute).In(web.Location).Format("2006-01-02T15:04"))
		if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.pubsub.flash.replay_none") {
			t.Fatalf("empty replay: %d %v", w.Code, w.Header())
		}
	})
}

func TestPubSubPagePauseStopsAndResumeRestarts(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		sub := e.subscribeForm(t)
		action := func(a string) *httptest.ResponseRecorder {
			return page(e.mux, fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/%s", sub, a), true, "", url.Values{})
		}
		psSaved(t, "pause", action("pause"))
		e.publish(t, "k1", `{"ho_so":"H57-1"}`)
		for i := 0; i < 3; i++ {
			if n := e.deliver(t); n != 0 {
				t.Fatalf("a paused subscription got %d deliveries", n)
			}
			e.advance(time.Minute)
		}
		if got := e.hook.got(); len(got) != 0 {
			t.Fatalf("a paused subscription received %v", got)
		}
		s := e.subs(t)[0]
		if !s.Paused || s.Pending != 1 || s.Delivered != 0 {
			t.Fatalf("paused subscription: %+v", s)
		}
		b := page(e.mux, "/admin/gateway/pubsub", true, "", nil).Body.String()
		if !strings.Contains(b, "<strong>Tạm dừng</strong>") || !strings.Contains(b, fmt.Sprintf(`action="/admin/gateway/pubsub/subscriptions/%d/resume"`, sub)) {
			t.Fatal("the page does not show the subscription paused with a resume button")
		}
		psSaved(t, "resume", action("resume"))
		if n := e.deliver(t); n != 1 {
			t.Fatalf("resume delivered %d", n)
		}
		if got := e.hook.got(); strings.Join(got, "|") != `{"ho_so":"H57-1"}` {
			t.Fatalf("received %v", got)
		}
		e.publish(t, "k2", `{"ho_so":"H57-2"}`)
		if n := e.deliver(t); n != 1 {
			t.Fatalf("after resume, a new event: %d", n)
		}
		if s := e.subs(t)[0]; s.Paused || s.Pending != 0 || s.Delivered != 2 {
			t.Fatalf("resumed subscription: %+v", s)
		}
	})
}

func TestPubSubPagesAndAPINeedGatewayAdmin(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		ctx := context.Background()
		must(t, e.ps.PutTopic(ctx, gateway.Topic{Code: "dossier-handoff", Owner: client}))
		s, err := e.ps.Subscribe(ctx, gateway.Subscription{Topic: "dossier-handoff", Subscriber: provider, URL: e.hook.URL})
		must(t, err)
		e.hook.set(s.Secret, true)
		e.publish(t, "k1", `{}`)
		e.deliver(t)
		e.advance(time.Minute)
		e.deliver(t)
		dead, err := e.ps.DeadLetters(ctx)
		must(t, err)
		if len(dead) != 1 {
			t.Fatalf("dead letters: %+v", dead)
		}
		if w := page(e.mux, "/admin/gateway/pubsub", false, "", nil); w.Code != http.StatusForbidden {
			t.Errorf("GET the page without gateway.admin: %d", w.Code)
		}
		posts := map[string]url.Values{
			"/admin/gateway/pubsub/topics":                                                     {"code": {"other"}, "owner": {client}},
			"/admin/gateway/pubsub/subscriptions":                                              {"topic": {"dossier-handoff"}, "subscriber": {other}, "url": {e.hook.URL}},
			"/admin/gateway/pubsub/replay":                                                     {"subscription": {fmt.Sprint(s.ID)}, "since": {"2026-03-01T00:00"}},
			fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/pause", s.ID):                  {},
			fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/redeliver", s.ID):              {},
			fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/delete", s.ID):                 {"force": {"on"}},
			fmt.Sprintf("/admin/gateway/pubsub/dead-letters/%d/redeliver", dead[0].DeliveryID): {},
		}
		for target, form := range posts {
			if w := page(e.mux, target, false, "", form); w.Code != http.StatusForbidden {
				t.Errorf("POST %s without gateway.admin: %d", target, w.Code)
			}
		}
		api := []struct{ method, path string }{
			{"GET", "/api/v1/gateway/subscriptions"},
			{"POST", fmt.Sprintf("/api/v1/gateway/subscriptions/%d/pause", s.ID)},
			{"POST", fmt.Sprintf("/api/v1/gateway/subscriptions/%d/resume", s.ID)},
			{"POST", fmt.Sprintf("/api/v1/gateway/subscriptions/%d/redeliver", s.ID)},
			{"DELETE", fmt.Sprintf("/api/v1/gateway/subscriptions/%d?force=true", s.ID)},
		}
		for _, c := range api {
			w := do(e.mux, c.method, c.path, "can.bo", false, "", "")
			if w.Code != http.StatusForbidden || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s %s without gateway.admin: %d %s", c.method, c.path, w.Code, w.Header().Get("Content-Type"))
			}
			if w := do(e.mux, c.method, c.path, "", false, "", ""); w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s anonymous: %d", c.method, c.path, w.Code)
			}
		}
		// Nothing changed.
		topics, err := e.ps.Topics(ctx)
		must(t, err)
		subs := e.subs(t)
		if len(topics) != 1 || len(subs) != 1 || subs[0].Paused || subs[0].Dead != 1 || subs[0].Pending != 0 {
			t.Fatalf("refused requests changed pub/sub: %+v %+v", topics, subs)
		}
		// Topics are listed for any signed-in person, not for the anonymous.
		if w := do(e.mux, "GET", "/api/v1/gateway/topics", "can.bo", false, "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"code":"dossier-handoff"`) {
			t.Errorf("topics for a signed-in official: %d %s", w.Code, w.Body)
		}
		if w := do(e.mux, "GET", "/api/v1/gateway/topics", "", false, "", ""); w.Code != http.StatusUnauthorized {
			t.Errorf("topics for the anonymous: %d", w.Code)
		}
	})
}

func TestPubSubAPIListsPausesAndDeletesSafely(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		const js = "application/json"
		if w := do(e.mux, "POST", "/api/v1/gateway/topics", "admin", true, `{"code":"dossier-handoff","owner":"`+client+`","title":"Liên thông"}`, js); w.Code != 200 {
			t.Fatalf("topic: %d %s", w.Code, w.Body)
		}
		w := do(e.mux, "POST", "/api/v1/gateway/subscriptions", "admin", true, `{"topic":"dossier-handoff","subscriber":"`+provider+`","url":"`+e.hook.URL+`"}`, js)
		var s gateway.Subscription
		if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &s) != nil || s.Secret == "" {
			t.Fatalf("subscribe: %d %s", w.Code, w.Body)
		}
		e.hook.set(s.Secret, false)
		e.publish(t, "k1", `{"n":1}`)
		e.deliver(t)
		e.hook.set(s.Secret, true)
		e.publish(t, "k2", `{"n":2}`)
		e.deliver(t)

		w = do(e.mux, "GET", "/api/v1/gateway/subscriptions?topic=dossier-handoff", "admin", true, "", "")
		var list struct{ Items []map[string]any }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Items) != 1 {
			t.Fatalf("subscriptions: %d %s", w.Code, w.Body)
		}
		it := list.Items[0]
		if it["pending"] != 1.0 || it["delivered"] != 1.0 || it["dead"] != 0.0 || it["last_error"] != "HTTP 500" || it["last_success_at"] == nil ||
			it["last_failure_at"] == nil || it["paused"] != false || it["secret"] != nil {
			t.Fatalf("subscription counters: %v", it)
		}
		if w := do(e.mux, "GET", "/api/v1/gateway/subscriptions?topic=other", "admin", true, "", ""); !strings.Contains(w.Body.String(), `"items":[]`) {
			t.Errorf("subscriptions of another topic: %s", w.Body)
		}
		w = do(e.mux, "GET", "/api/v1/gateway/topics", "admin", true, "", "")
		if !strings.Contains(w.Body.String(), `"subscriptions":1,"events":2`) {
			t.Errorf("topics: %s", w.Body)
		}

		id := fmt.Sprint(s.ID)
		if w := do(e.mux, "POST", "/api/v1/gateway/subscriptions/"+id+"/pause", "admin", true, "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"paused":true`) {
			t.Fatalf("pause: %d %s", w.Code, w.Body)
		}
		// Deleting with an event not delivered is refused, in Vietnamese, saying how many.
		w = do(e.mux, "DELETE", "/api/v1/gateway/subscriptions/"+id, "admin", true, "", "")
		if w.Code != 409 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") || !strings.Contains(w.Body.String(), "còn 1 sự kiện chưa gửi được") {
			t.Fatalf("delete with an undelivered event: %d %s", w.Code, w.Body)
		}
		if w := do(e.mux, "DELETE", "/api/v1/gateway/subscriptions/"+id+"?force=maybe", "admin", true, "", ""); w.Code != 422 {
			t.Errorf("force=maybe: %d %s", w.Code, w.Body)
		}
		if len(e.subs(t)) != 1 {
			t.Fatal("a refused delete removed the subscription")
		}
		w = do(e.mux, "DELETE", "/api/v1/gateway/subscriptions/"+id+"?force=true", "admin", true, "", "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"dropped":1`) {
			t.Fatalf("forced delete: %d %s", w.Code, w.Body)
		}
		if len(e.subs(t)) != 0 {
			t.Fatal("the deleted subscription is still listed")
		}
		e.hook.set(s.Secret, false)
		e.advance(time.Hour)
		e.publish(t, "k3", `{"n":3}`)
		if n := e.deliver(t); n != 0 {
			t.Fatalf("a deleted subscription got %d deliveries", n)
		}
		for _, c := range []struct{ method, path string }{{"DELETE", "/api/v1/gateway/subscriptions/" + id}, {"POST", "/api/v1/gateway/subscriptions/" + id + "/resume"},
			{"POST", "/api/v1/gateway/subscriptions/" + id + "/redeliver"}, {"POST", "/api/v1/gateway/subscriptions/" + id + "/replay?since=2026-03-01T00:00:00Z"}} {
			if w := do(e.mux, c.method, c.path, "admin", true, "", ""); w.Code != 404 {
				t.Errorf("%s %s on a deleted subscription: %d %s", c.method, c.path, w.Code, w.Body)
			}
		}
		// Subscribing again revives it with a new secret; nothing old comes back.
		w = do(e.mux, "POST", "/api/v1/gateway/subscriptions", "admin", true, `{"topic":"dossier-handoff","subscriber":"`+provider+`","url":"`+e.hook.URL+`"}`, js)
		var s2 gateway.Subscription
		if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &s2) != nil || s2.ID != s.ID || s2.Secret == s.Secret {
			t.Fatalf("subscribe again: %d %s", w.Code, w.Body)
		}
		if n := e.deliver(t); n != 0 {
			t.Fatalf("dropped deliveries came back: %d", n)
		}
		if got := e.hook.got(); strings.Join(got, "|") != `{"n":1}` {
			t.Fatalf("received %v", got)
		}
	})
}

func TestPubSubFormsRejectBadInput(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		topic := func(code, owner string) *httptest.ResponseRecorder {
			return page(e.mux, "/admin/gateway/pubsub/topics", true, "", url.Values{"code": {code}, "owner": {owner}, "title": {"Liên thông"}})
		}
		rejected(t, "topic code", topic("hồ sơ", client), "topic-code", "Mã chủ đề chỉ gồm")
		rejected(t, "topic owner", topic("dossier-handoff", "VN-HUE/GOV/000.00.01.H57"), "topic-owner", "Hệ thống công bố phải có dạng")
		b := page(e.mux, "/admin/gateway/pubsub", true, "", nil).Body.String()
		if !strings.Contains(b, "Hãy tạo chủ đề trước khi đăng ký.") || strings.Contains(b, `action="/admin/gateway/pubsub/subscriptions"`) {
			t.Fatal("the subscribe form is offered without a topic")
		}
		psSaved(t, "topic", topic("dossier-handoff", client))
		if w := topic("dossier-handoff", other); !strings.Contains(w.Body.String(), "chủ đề đã có thì giữ hệ thống công bố cũ") {
			t.Error("changing a topic's owner: the reason is not given")
		} else {
			rejected(t, "topic owner change", w, "topic-owner", "Hệ thống công bố phải có dạng")
		}
		subscribe := func(topic, subscriber, u string) *httptest.ResponseRecorder {
			return page(e.mux, "/admin/gateway/pubsub/subscriptions", true, "", url.Values{"topic": {topic}, "subscriber": {subscriber}, "url": {u}})
		}
		rejected(t, "subscriber", subscribe("dossier-handoff", "VN-HUE/GOV", e.hook.URL), "subscribe-subscriber", "Hệ thống nhận phải có dạng")
		rejected(t, "url", subscribe("dossier-handoff", provider, "ftp://10.0.0.5/hook"), "subscribe-url", "Địa chỉ webhook phải là")
		// Plain http to another machine would carry personal data in clear.
		rejected(t, "plain http", subscribe("dossier-handoff", provider, "http://10.0.0.5/hook"), "subscribe-url", "Địa chỉ webhook phải dùng https")
		rejected(t, "topic", subscribe("none", provider, e.hook.URL), "subscribe-topic", "Chủ đề này chưa được tạo")
		if w := subscribe("dossier-handoff", provider, e.hook.URL); w.Code != http.StatusCreated {
			t.Fatalf("subscribe: %d", w.Code)
		}
		rejected(t, "twice", subscribe("dossier-handoff", provider, e.hook.URL), "subscribe-url", "Hệ thống này đã đăng ký chủ đề này")
		// The refused form keeps what was typed.
		if w := subscribe("dossier-handoff", other, "ftp://x"); !strings.Contains(w.Body.String(), `value="`+other+`"`) {
			t.Error("the refused form lost the values typed")
		}

		// Deleting with an undelivered event: 409, the reason next to the box.
		sub := e.subs(t)[0].ID
		e.hook.set("wrong secret", false)
		e.publish(t, "k1", `{}`)
		w := page(e.mux, fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/delete", sub), true, "", url.Values{})
		b = w.Body.String()
		idp := fmt.Sprintf("del-%d", sub)
		if w.Code != http.StatusConflict || !strings.Contains(b, `<span class="err" id="`+idp+`-err">Đăng ký số `+fmt.Sprint(sub)+` còn 1 sự kiện chưa gửi được`) ||
			!strings.Contains(b, `aria-describedby="`+idp+`-hint `+idp+`-err" aria-invalid="true"`) || !strings.Contains(b, `href="#`+idp+`-force"`) {
			t.Fatalf("delete refused: %d\n%s", w.Code, b)
		}
		if len(e.subs(t)) != 1 {
			t.Fatal("the refused delete removed the subscription")
		}
		psSaved(t, "forced delete", page(e.mux, fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/delete", sub), true, "", url.Values{"force": {"on"}}))
		if len(e.subs(t)) != 0 {
			t.Fatal("the forced delete kept the subscription")
		}
	})
}

func TestPubSubPageRendersInBothLanguages(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		e.subscribeForm(t)
		for _, l := range []struct{ accept, title, lang string }{{"vi", "Trao đổi theo sự kiện (pub/sub)", `lang="vi"`}, {"en-US,en;q=0.9", "Publish/subscribe (events and webhooks)", `lang="en"`}} {
			w := page(e.mux, "/admin/gateway/pubsub", true, l.accept, nil)
			b := w.Body.String()
			if w.Code != 200 || !strings.Contains(b, "<h1>"+l.title+"</h1>") || !strings.Contains(b, l.lang) || !strings.Contains(b, "dossier-handoff") {
				t.Fatalf("page in %s: %d", l.accept, w.Code)
			}
			for _, want := range []string{`<caption>`, `scope="col"`, `scope="row"`, `class="table-wrap" role="region"`, `name="csrf_token" value="tok"`,
				`<fieldset><legend>`, `<label for="topic-code">`, `<label for="replay-since">`, `type="datetime-local"`, `<label for="dead-filter">`} {
				if !strings.Contains(b, want) {
					t.Errorf("page in %s: no %s", l.accept, want)
				}
			}
			if i := strings.Index(b, "gateway.pubsub."); i >= 0 {
				t.Errorf("page in %s: untranslated key near %q", l.accept, b[i:min(len(b), i+60)])
			}
		}
	})
}

// A subscription's secret can be replaced: the new one is shown once and
// signs the deliveries from then on; the old one no longer does.
func TestPubSubPageRotatesSecret(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		sub := e.subscribeForm(t)
		w := page(e.mux, fmt.Sprintf("/admin/gateway/pubsub/subscriptions/%d/secret", sub), true, "", url.Values{})
		m := regexp.MustCompile(`id="secret-value" type="text" readonly value="([0-9a-f]{64})"`).FindStringSubmatch(w.Body.String())
		if w.Code != 200 || m == nil || !strings.Contains(w.Body.String(), fmt.Sprintf("Khoá bí mật mới của đăng ký %d", sub)) {
			t.Fatalf("rotate: %d\n%s", w.Code, w.Body)
		}
		e.publish(t, "k1", `{"ho_so":"H57-1"}`)
		e.deliver(t) // the receiver still checks with the old secret: refused
		if got := e.hook.got(); len(got) != 0 {
			t.Fatalf("a delivery passed the old secret's check: %v", got)
		}
		e.hook.set(m[1], false)
		e.advance(time.Minute)
		e.deliver(t)
		if got := e.hook.got(); strings.Join(got, "|") != `{"ho_so":"H57-1"}` {
			t.Fatalf("with the new secret: %v", got)
		}
		if w := page(e.mux, "/admin/gateway/pubsub/subscriptions/999/secret", true, "", url.Values{}); w.Code != http.StatusSeeOther {
			t.Fatalf("unknown subscription: %d", w.Code)
		}
	})
}

// More dead letters than one page holds: the page and the API walk them
// a page at a time, oldest first, none twice, none left out.
func TestPubSubDeadLettersPaged(t *testing.T) {
	dbtest.Each(t, psMigrations(), func(t *testing.T, d *db.DB) {
		e := newPSEnv(t, d)
		sub := e.subscribeForm(t)
		e.hook.set(e.hook.secret, true)
		const n = 205
		for i := 0; i < n; i++ {
			e.publish(t, fmt.Sprintf("k%d", i), fmt.Sprintf(`{"ho_so":"H57-%d"}`, i))
		}
		for tries := 0; tries < 100 && len(e.subs(t)) > 0 && e.subs(t)[0].Dead < n; tries++ {
			for e.deliver(t) > 0 {
			}
			e.advance(time.Minute)
		}
		if s := e.subs(t)[0]; s.Dead != n {
			t.Fatalf("dead letters: %+v", s)
		}
		rowRe := regexp.MustCompile(`<tr id="dead-(\d+)">`)
		nextRe := regexp.MustCompile(`<a href="(/admin/gateway/pubsub\?subscription=\d+&amp;after=\d+)#dead-h" rel="next">`)
		seen := map[string]bool{}
		target := fmt.Sprintf("/admin/gateway/pubsub?subscription=%d", sub)
		for pages := 1; ; pages++ {
			b := page(e.mux, target, true, "", nil).Body.String()
			rows := rowRe.FindAllStringSubmatch(b, -1)
			for _, r := range rows {
				if seen[r[1]] {
					t.Fatalf("dead letter %s on two pages", r[1])
				}
				seen[r[1]] = true
			}
			next := nextRe.FindStringSubmatch(b)
			if next == nil {
				if pages != 2 || len(rows) != n-200 || !strings.Contains(b, "Những thư lỗi đầu tiên") {
					t.Fatalf("last page %d: %d rows", pages, len(rows))
				}
				break
			}
			if len(rows) != 200 || pages > 2 {
				t.Fatalf("page %d: %d rows", pages, len(rows))
			}
			target = strings.ReplaceAll(next[1], "&amp;", "&")
		}
		if len(seen) != n {
			t.Fatalf("%d dead letters seen over the pages, want %d", len(seen), n)
		}

		// The API: pages of 100, then the rest.
		var all []int64
		after := ""
		for {
			w := do(e.mux, "GET", "/api/v1/gateway/dead-letters?limit=100"+after, "admin", true, "", "")
			var resp struct {
				Items []struct {
					DeliveryID int64 `json:"delivery_id"`
				} `json:"items"`
				NextAfter int64 `json:"next_after"`
			}
			if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil {
				t.Fatalf("API: %d %s", w.Code, w.Body)
			}
			for _, it := range resp.Items {
				all = append(all, it.DeliveryID)
			}
			if resp.NextAfter == 0 {
				break
			}
			after = fmt.Sprintf("&after=%d", resp.NextAfter)
		}
		if len(all) != n || !slices.IsSorted(all) || slices.Compact(slices.Clone(all))[n-1] != all[n-1] {
			t.Fatalf("API pages: %d ids, sorted=%v", len(all), slices.IsSorted(all))
		}
		for _, bad := range []string{"?limit=0", "?limit=6000", "?after=-1", "?subscription=x"} {
			if w := do(e.mux, "GET", "/api/v1/gateway/dead-letters"+bad, "admin", true, "", ""); w.Code != 422 {
				t.Errorf("%s: %d %s", bad, w.Code, w.Body)
			}
		}
	})
}
