package postal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	fake "github.com/congso/congso/internal/fakes/postal"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/postal"
	"github.com/congso/congso/internal/postal/vnpost"
)

const (
	partner = "CONGSO-H99"
	code    = "000.00.13.H99-260302-0001"
)

var secret = []byte("postal-shared-secret-0123456789abcdef")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	ctx   context.Context
	d     *db.DB
	clock *clock
	fake  *fake.Server
	svc   *postal.Service
	app   *httptest.Server
}

func newEnv(t *testing.T, d *db.DB) *env {
	e := &env{t: t, ctx: context.Background(), d: d, clock: &clock{t: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}}
	e.fake = fake.New(partner, secret, e.clock.Now)
	carrier := httptest.NewServer(e.fake.Handler())
	t.Cleanup(carrier.Close)
	svc, err := postal.New(d, postal.Config{PartnerCode: partner, Secret: secret, Now: e.clock.Now,
		Carrier: &vnpost.Client{BaseURL: carrier.URL, PartnerCode: partner, Secret: secret},
		CanView: func(ctx context.Context, p *identity.Principal, c string) bool { return p.PersonID == "officer-1" }})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	mux := http.NewServeMux()
	postal.NewHandlers(svc).Routes(mux)
	e.app = httptest.NewServer(mux)
	t.Cleanup(e.app.Close)
	e.fake.SetWebhookURL(e.app.URL + "/postal/webhook")
	return e
}

func migrations() []db.Migration { return append(audit.Migrations(), postal.Migrations()...) }

func input() postal.ShipInput {
	return postal.ShipInput{DossierCode: code, SenderAgency: "000.00.13.H99",
		Sender:    postal.Party{Name: "Trung tâm Phục vụ hành chính công tỉnh", Phone: "02713888888", Address: "Số 1 Trần Hưng Đạo"},
		Recipient: postal.Party{Name: "Nguyễn Văn An", Phone: "0912345678", Address: "12 Lê Lợi, phường Tân Phú"}, CODAmount: 25000}
}

func (e *env) current() postal.Shipment {
	e.t.Helper()
	l, err := e.svc.ForDossier(e.ctx, code)
	if err != nil || len(l) == 0 {
		e.t.Fatalf("ForDossier: %v %v", l, err)
	}
	return l[0]
}

// one-stop §9: the result goes by post; the dossier shows the tracking
// code and the carrier's status as its webhooks arrive.
func TestShipAndTrack(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sh, err := e.svc.Ship(e.ctx, input())
		if err != nil {
			t.Fatal(err)
		}
		if sh.TrackingCode == "" || sh.Status != postal.StatusCreated || sh.CODAmount != 25000 {
			t.Fatalf("shipment %+v", sh)
		}
		for _, st := range []string{vnpost.StatusPickedUp, vnpost.StatusInTransit, vnpost.StatusDelivered} {
			e.clock.Add(time.Hour)
			if err := e.fake.Advance(e.ctx, sh.TrackingCode, st); err != nil {
				t.Fatal(err)
			}
			if got := e.current(); string(got.Status) != st || got.TrackingCode != sh.TrackingCode {
				t.Fatalf("after %s: %+v", st, got)
			}
		}
		// A late, older report does not move it back.
		old := vnpost.StatusMessage{Code: "00", PartnerCode: partner, ClientRef: sh.ClientRef, TrackingCode: sh.TrackingCode,
			Status: vnpost.StatusInTransit, StatusAt: vnpost.Time(e.clock.Now().Add(-2 * time.Hour))}
		old.Signature = vnpost.Sign(secret, old.Fields())
		b, _ := json.Marshal(old)
		if err := e.svc.HandleWebhook(e.ctx, b, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if got := e.current(); got.Status != postal.StatusDelivered {
			t.Fatalf("stale report moved it to %s", got.Status)
		}
		// Shipping again is the same shipment.
		again, err := e.svc.Ship(e.ctx, input())
		if err != nil || again.ID != sh.ID || e.fake.Shipments() != 1 {
			t.Fatalf("ship again: %+v %v (%d at carrier)", again, err, e.fake.Shipments())
		}
		// Officials read it through the API; others do not.
		req := httptest.NewRequest(http.MethodGet, "/api/v1/postal/dossiers/"+code+"/shipments", nil)
		rec := httptest.NewRecorder()
		mux := http.NewServeMux()
		postal.NewHandlers(e.svc).Routes(mux)
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Fatalf("anonymous API: %d", rec.Code)
		}
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req.WithContext(identity.WithPrincipal(e.ctx, &identity.Principal{PersonID: "officer-1"})))
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(sh.TrackingCode)) {
			t.Fatalf("officer API: %d %s", rec.Code, rec.Body)
		}
	})
}

// The carrier creates the shipment but its answer is lost, or it is down:
// retries (by the officer or the job) give one shipment at the carrier and
// one tracking code on the dossier.
func TestShipCreatedOnceUnderRetry(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.fake.SetMode(fake.Mode{LoseAnswers: 1, FailCreates: 0})
		sh, err := e.svc.Ship(e.ctx, input())
		if err == nil || sh.Status != postal.StatusRequested || sh.TrackingCode != "" {
			t.Fatalf("lost answer: %+v %v", sh, err)
		}
		if e.fake.Shipments() != 1 {
			t.Fatalf("carrier has %d shipments", e.fake.Shipments())
		}
		// Concurrent retries.
		var wg sync.WaitGroup
		tracks := make([]string, 3)
		for i := range tracks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := e.svc.Ship(e.ctx, input())
				if err != nil {
					t.Error(err)
				}
				tracks[i] = s.TrackingCode
			}()
		}
		wg.Wait()
		if tracks[0] == "" || tracks[1] != tracks[0] || tracks[2] != tracks[0] {
			t.Fatalf("tracking codes %v", tracks)
		}
		if e.fake.Shipments() != 1 || e.fake.CreateRequests() < 2 {
			t.Fatalf("carrier: %d shipments from %d requests", e.fake.Shipments(), e.fake.CreateRequests())
		}
		if l, _ := e.svc.ForDossier(e.ctx, code); len(l) != 1 {
			t.Fatalf("%d shipments recorded", len(l))
		}

		// Another dossier while the carrier is down: the job retries it.
		in := input()
		in.DossierCode = "000.00.13.H99-260302-0002"
		e.fake.SetMode(fake.Mode{FailCreates: 1})
		if _, err := e.svc.Ship(e.ctx, in); err == nil {
			t.Fatal("carrier down: no error")
		}
		res, err := e.svc.Sync(e.ctx)
		if err != nil || res.Requested != 1 {
			t.Fatalf("sync %+v %v", res, err)
		}
		l, _ := e.svc.ForDossier(e.ctx, in.DossierCode)
		if len(l) != 1 || l[0].TrackingCode == "" || e.fake.Shipments() != 2 {
			t.Fatalf("after sync: %+v, %d at carrier", l, e.fake.Shipments())
		}
	})
}

// A webhook with a wrong signature is rejected, recorded and audited.
func TestForgedWebhookRejected(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sh, err := e.svc.Ship(e.ctx, input())
		if err != nil {
			t.Fatal(err)
		}
		e.fake.SetMode(fake.Mode{WrongSignature: true})
		e.clock.Add(time.Hour)
		if err := e.fake.Advance(e.ctx, sh.TrackingCode, vnpost.StatusDelivered); err != nil {
			t.Fatal(err)
		}
		if got := e.current(); got.Status != postal.StatusCreated {
			t.Fatalf("forged webhook moved it to %s", got.Status)
		}
		evs, err := e.svc.Events(e.ctx, sh.TrackingCode)
		if err != nil || len(evs) != 1 || evs[0].Outcome != postal.OutcomeRejected || evs[0].Reason != postal.ReasonBadSignature {
			t.Fatalf("events %+v %v", evs, err)
		}
		resp, err := http.Post(e.app.URL+"/postal/webhook", "application/json", bytes.NewReader([]byte(`{"tracking_code":"x"`)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("malformed webhook: %d", resp.StatusCode)
		}
		es, _, err := audit.List(e.ctx, e.d, audit.Filter{ObjectType: postal.AuditObjectType})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, x := range es {
			acts = append(acts, x.Action)
		}
		n := 0
		for _, a := range acts {
			if a == postal.AuditWebhookRejected {
				n++
			}
		}
		if n != 2 || !slices.Contains(acts, postal.AuditCreate) {
			t.Fatalf("audit %v", acts)
		}
	})
}

// Webhooks lost: the job queries the carrier after QueryAfter.
func TestWebhookLostQueryFixes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sh, err := e.svc.Ship(e.ctx, input())
		if err != nil {
			t.Fatal(err)
		}
		e.fake.SetMode(fake.Mode{NoWebhooks: true})
		e.clock.Add(time.Hour)
		if err := e.fake.Advance(e.ctx, sh.TrackingCode, vnpost.StatusDelivered); err != nil {
			t.Fatal(err)
		}
		if res, err := e.svc.Sync(e.ctx); err != nil || res.Queried != 0 {
			t.Fatalf("early sync %+v %v", res, err)
		}
		e.clock.Add(6 * time.Hour)
		res, err := e.svc.Sync(e.ctx)
		if err != nil || res.Queried != 1 || res.Changed != 1 {
			t.Fatalf("sync %+v %v", res, err)
		}
		if got := e.current(); got.Status != postal.StatusDelivered {
			t.Fatalf("status %s", got.Status)
		}
	})
}

func TestShipRefusesBadInput(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		in := input()
		in.Recipient.Phone = ""
		if _, err := e.svc.Ship(e.ctx, in); !errors.Is(err, postal.ErrInvalid) {
			t.Fatalf("no phone: %v", err)
		}
		if e.fake.CreateRequests() != 0 {
			t.Fatal("bad input reached the carrier")
		}
	})
}

// The answer to the create was lost, and the carrier's first webhook comes
// before any retry: its client reference ties it to the shipment, which
// gets its tracking code from it.
func TestWebhookBeforeRetryFillsTrackingCode(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.fake.SetMode(fake.Mode{LoseAnswers: 1})
		sh, err := e.svc.Ship(e.ctx, input())
		if err == nil {
			t.Fatal("lost answer: no error")
		}
		track := e.fake.TrackingOf(sh.ClientRef)
		e.clock.Add(time.Hour)
		if err := e.fake.Advance(e.ctx, track, vnpost.StatusPickedUp); err != nil {
			t.Fatal(err)
		}
		got := e.current()
		if got.TrackingCode != track || got.Status != postal.StatusPickedUp {
			t.Fatalf("after webhook: %+v", got)
		}
		if again, err := e.svc.Ship(e.ctx, input()); err != nil || again.TrackingCode != track || e.fake.Shipments() != 1 {
			t.Fatalf("retry: %+v %v", again, err)
		}
	})
}

type deliveries map[string]postal.ShipInput

func (d deliveries) PostalDelivery(ctx context.Context, code string) (postal.ShipInput, bool, error) {
	in, ok := d[code]
	return in, ok, nil
}

// The result-ready event ships by post only when the applicant chose it,
// once however often the event is delivered.
func TestResultReadyHandler(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		h := e.svc.ResultReadyHandler(deliveries{code: input()})
		for range 2 {
			if err := h(e.ctx, outbox.Event{Topic: "dossier.result_ready", Key: code}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h(e.ctx, outbox.Event{Topic: "dossier.result_ready", Key: "000.00.13.H99-260302-0009"}); err != nil {
			t.Fatal(err)
		}
		if e.fake.Shipments() != 1 || e.current().TrackingCode == "" {
			t.Fatalf("%d shipments at the carrier", e.fake.Shipments())
		}
		if l, _ := e.svc.ForDossier(e.ctx, "000.00.13.H99-260302-0009"); len(l) != 0 {
			t.Fatalf("shipped a counter result: %+v", l)
		}
	})
}
