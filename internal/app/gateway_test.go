package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/config"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Issue 6 with issue 5: a system of another agency obtains a
// client-credentials token from the province's SSO and calls a service
// through the gateway with it (X-Road REST profile); the OAuth client is
// bound to its subsystem in the registry. An unbound client is refused
// with the X-Road error category; revoking the right takes effect.
func TestGatewayAcceptsSSOTokens(t *testing.T) {
	keyPEM, err := gateway.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	// An OTLP/HTTP collector: the gateway's traces go there.
	var traces struct {
		sync.Mutex
		bodies []string
	}
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		traces.Lock()
		traces.bodies = append(traces.bodies, r.URL.Path+" "+string(b))
		traces.Unlock()
	}))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	env := map[string]string{"CONGSO_GATEWAY_INSTANCE": "TA", "CONGSO_GATEWAY_SIGNING_KEY": string(keyPEM),
		"CONGSO_GATEWAY_ADDR": "127.0.0.1:0", "CONGSO_GATEWAY_POLL_INTERVAL": "100ms", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })

	var traceparent atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceparent.Store(r.Header.Get("Traceparent"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path": "`+r.URL.Path+`", "client": "`+r.Header.Get("X-Road-Client")+`"}`)
	}))
	t.Cleanup(backend.Close)

	a, srv := testApp(t, db.SQLite, func(c *config.Config) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serveGateway(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for a.GatewayAddr() == "" {
		time.Sleep(5 * time.Millisecond)
	}

	m := a.GatewayManager
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	id := func(s string) gateway.ClientID { c, err := gateway.ParseClientID(s); must(err); return c }
	sid := func(s string) gateway.ServiceID { c, err := gateway.ParseServiceID(s); must(err); return c }
	must(m.PutMember(ctx, "admin", gateway.Member{ID: id("TA/GOV/000.00.07.H99"), Name: "Sở Xây dựng", AgencyEID: "000.00.07.H99"}))
	must(m.PutMember(ctx, "admin", gateway.Member{ID: id("TA/GOV/000.00.13.H99"), Name: "Trung tâm Phục vụ hành chính công"}))
	must(m.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: id("TA/GOV/000.00.07.H99/CAPPHEP"), Name: "Cấp phép xây dựng"}))
	must(m.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: id("TA/GOV/000.00.13.H99/MOTCUA"), Name: "Một cửa"}))
	must(m.PutService(ctx, "admin", gateway.Service{ID: sid("TA/GOV/000.00.07.H99/CAPPHEP/giayphep"), Title: "Tra cứu giấy phép"}))
	v1 := sid("TA/GOV/000.00.07.H99/CAPPHEP/giayphep/v1")
	must(m.PutVersion(ctx, "admin", v1, gateway.Version{BackendURL: backend.URL}))
	must(m.SetStatus(ctx, "admin", v1, gateway.Published, nil))
	right, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: "TA/GOV/000.00.13.H99/MOTCUA",
		Service: sid("TA/GOV/000.00.07.H99/CAPPHEP/giayphep"), LegalBasis: "Nghị định 278/2025"})
	must(err)

	token := func(clientID, audience string) string {
		_, secret, err := a.OIDC.CreateClient(ctx, nil, oidc.ClientInput{ID: clientID, Name: clientID,
			GrantTypes: []string{"client_credentials"}, Audience: []string{audience}})
		must(err)
		req, _ := http.NewRequest("POST", srv.URL+oidc.PathToken, strings.NewReader(url.Values{"grant_type": {"client_credentials"},
			"audience": {audience}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		resp, err := http.DefaultClient.Do(req)
		must(err)
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		if resp.StatusCode != 200 || tok.AccessToken == "" {
			t.Fatalf("token for %s: %d", clientID, resp.StatusCode)
		}
		return tok.AccessToken
	}
	motcua := token("he-thong-mot-cua", DefaultGatewayAudience)
	must(m.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: OAuthBindingFingerprint("he-thong-mot-cua"),
		Owner: "TA/GOV/000.00.13.H99/MOTCUA", Subject: "OAuth client he-thong-mot-cua"}))
	unbound := token("he-thong-la", DefaultGatewayAudience)
	// A bound client's token for another resource server (integration.md
	// "systems authenticate"): not the gateway's.
	elsewhere := token("he-thong-bao-cao", "https://bao-cao.tinh.gov.vn")
	must(m.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: OAuthBindingFingerprint("he-thong-bao-cao"),
		Owner: "TA/GOV/000.00.13.H99/MOTCUA", Subject: "OAuth client he-thong-bao-cao"}))

	call := func(tok string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+a.GatewayAddr()+"/r1/TA/GOV/000.00.07.H99/CAPPHEP/giayphep/so/15-GPXD", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Road-Client", "TA/GOV/000.00.13.H99/MOTCUA")
		resp, err := http.DefaultClient.Do(req)
		must(err)
		return resp
	}
	deadline := time.Now().Add(5 * time.Second)
	var resp *http.Response
	for {
		resp = call(motcua)
		if resp.StatusCode == 200 || time.Now().After(deadline) {
			break
		}
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond) // the node picks up the registry within its poll interval
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"path": "/so/15-GPXD"`) || resp.Header.Get("X-Road-Id") == "" {
		t.Fatalf("call with a bound client's token: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	// The exchange is traced: the caller's trace continues to the backend
	// and the span reaches the collector, named after the service.
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", "http://"+a.GatewayAddr()+"/r1/TA/GOV/000.00.07.H99/CAPPHEP/giayphep/so/16-GPXD", nil)
	req.Header.Set("Authorization", "Bearer "+motcua)
	req.Header.Set("Traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("traced call: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if tp, _ := traceparent.Load().(string); !strings.Contains(tp, callerTrace) {
		t.Fatalf("the backend got traceparent %q, want the caller's trace %s", tp, callerTrace)
	}
	if err := a.tracer.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	traces.Lock()
	got := strings.Join(traces.bodies, "\n")
	traces.Unlock()
	if !strings.Contains(got, "/v1/traces") || !strings.Contains(got, "GET TA/GOV/000.00.07.H99/CAPPHEP/giayphep") {
		t.Fatalf("the collector got no span of the gateway call: %.300q", got)
	}

	resp = call(unbound)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("X-Road-Error"), "Authentication") {
		t.Fatalf("an unbound client: %d %q; want 401 with an authentication error", resp.StatusCode, resp.Header.Get("X-Road-Error"))
	}
	resp = call(elsewhere)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("X-Road-Error"), "Authentication") {
		t.Fatalf("a token for another resource server: %d %q; want 401", resp.StatusCode, resp.Header.Get("X-Road-Error"))
	}
	must(m.Revoke(ctx, "admin", right.ID))
	deadline = time.Now().Add(5 * time.Second)
	for {
		resp = call(motcua)
		resp.Body.Close()
		if resp.StatusCode == 403 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp.StatusCode != 403 || resp.Header.Get("X-Road-Error") == "" {
		t.Fatalf("after revoking the right: %d %q; want 403", resp.StatusCode, resp.Header.Get("X-Road-Error"))
	}
	// The node's metrics: the exchanges (the gateway's own time apart
	// from the service's) and its health, for the alerting rules.
	// (the log's records reach the database from its journal shortly)
	var lack []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err = http.Get(srv.URL + "/metrics")
		must(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lack = nil
		for _, want := range []string{"congso_gateway_requests_total{", "congso_gateway_overhead_seconds_bucket{", "congso_gateway_service_duration_seconds_bucket{",
			"congso_gateway_registry_age_seconds ", "congso_gateway_nodes_live 1", `congso_gateway_msglog_signed_records{node=`} {
			if !strings.Contains(string(b), want) {
				lack = append(lack, want)
			}
		}
		if len(lack) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lack) > 0 {
		t.Errorf("metrics lack %v", lack)
	}
}

// Issue 6, pub/sub used for dossier hand-offs: with a publisher set, every
// dossier event reaches the agencies' systems subscribed to the gateway
// topic as a signed webhook, once.
func TestDossierEventsPublishedToAgencies(t *testing.T) {
	keyPEM, err := gateway.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONGSO_GATEWAY_INSTANCE": "TA", "CONGSO_GATEWAY_SIGNING_KEY": string(keyPEM),
		"CONGSO_GATEWAY_ADDR": "127.0.0.1:0", "CONGSO_GATEWAY_HANDOFF_PUBLISHER": "TA/GOV/000.00.13.H99/MOTCUA"}
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })

	a, _ := testApp(t, db.SQLite)
	ctx := context.Background()
	if err := catalog.LoadDemo(ctx, a.Catalog); err != nil {
		t.Fatal(err)
	}
	var got struct {
		sync.Mutex
		bodies []string
		errs   []error
	}
	guard := &gateway.ReplayGuard{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		defer got.Unlock()
		if err := guard.Check(r.Header, b); errors.Is(err, gateway.ErrDuplicate) {
			return // accepted before: 200, not processed again
		} else if err != nil {
			got.errs = append(got.errs, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got.bodies = append(got.bodies, string(b))
	}))
	t.Cleanup(hook.Close)
	sub, err := a.GatewayPubSub.Subscribe(ctx, gateway.Subscription{Topic: HandoffTopic, Subscriber: "TA/GOV/000.00.07.H99/CAPPHEP", URL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	guard.Secret = sub.Secret

	officer := &identity.Principal{PersonID: "officer-1", Username: "officer", Kind: identity.KindOfficial,
		Grants: []identity.Grant{{ID: "g1", PersonID: "officer-1", Role: identity.RoleOfficer, UnitID: "000.01.13.H99"}}}
	p, err := a.Catalog.Procedure(ctx, "1.000775", calendar.DateOf(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var comps []dossier.ComponentInput
	for i, d := range p.Documents {
		c := dossier.ComponentInput{N: i + 1, Provided: catalog.FormCopy, Quantity: 1}
		if d.Form == catalog.FormElectronic {
			f, err := a.Dossier.PutFile(ctx, "giay-to.pdf", strings.NewReader(testPDF))
			if err != nil {
				t.Fatal(err)
			}
			c.Provided, c.Quantity, c.Files = catalog.FormElectronic, 0, []dossier.FileRef{{Name: f.Name, Hash: f.Hash}}
		}
		comps = append(comps, c)
	}
	// The e-form's required fields, filled by type.
	var schema struct {
		Required   []string
		Properties map[string]struct{ Type string }
	}
	json.Unmarshal(p.FormSchema, &schema)
	form := map[string]any{}
	for _, k := range schema.Required {
		switch schema.Properties[k].Type {
		case "number":
			form[k] = 85.5
		case "integer":
			form[k] = 3
		case "boolean":
			form[k] = true
		default:
			form[k] = "Thửa 12"
		}
	}
	fd, _ := json.Marshal(form)
	rc, err := a.Dossier.Receive(ctx, dossier.ReceiveInput{Submission: dossier.Submission{ProcedureCode: p.Code, Channel: dossier.ChannelCounter,
		Applicant: dossier.Applicant{Type: dossier.ApplicantCitizen, Name: "Nguyễn Văn An", PersonalID: "001090012345", Phone: "0912345678"},
		FormData:  fd, Components: comps}, Placement: dossier.Placement{ReceivingAgency: "000.00.13.H99", ReceivingUnit: "000.01.13.H99",
		DivisionUnit: "000.02.07.H99"}, Actor: officer})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second pass delivers nothing more
		if _, err := a.Outbox.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := a.GatewayPubSub.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got.Lock()
	defer got.Unlock()
	if len(got.errs) > 0 {
		t.Fatalf("webhook refused deliveries: %v", got.errs)
	}
	received := 0
	for _, b := range got.bodies {
		if strings.Contains(b, `"kind":"dossier.received"`) && strings.Contains(b, rc.Code) {
			received++
		}
		if strings.Contains(b, "Nguyễn Văn An") || strings.Contains(b, "0912345678") {
			t.Fatalf("a published event carries personal data: %s", b)
		}
	}
	if received != 1 {
		t.Fatalf("%d deliveries of the reception of %s (want 1); got %q", received, rc.Code, got.bodies)
	}
}

const testPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n"

// Gateway settings that cannot work are refused at start, each with its key.
func TestGatewaySettingsRefuseBadValues(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		kv   map[string]string
		want string
	}{
		{map[string]string{"CONGSO_GATEWAY_TSA_URL": "http://tsa.example"}, "CONGSO_GATEWAY_TSA_URL and CONGSO_GATEWAY_TSA_CA go together"},
		{map[string]string{"CONGSO_GATEWAY_OCSP": "sometimes"}, `CONGSO_GATEWAY_OCSP: "sometimes"`},
		{map[string]string{"CONGSO_GATEWAY_TSA_GRACE": "-1h"}, "CONGSO_GATEWAY_TSA_GRACE"},
		{map[string]string{"CONGSO_GATEWAY_WEBHOOK_HTTP": "yes"}, `CONGSO_GATEWAY_WEBHOOK_HTTP: "yes"`},
	} {
		_, err := GatewaySettingsFromEnv(env(c.kv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.kv, err, c.want)
		}
	}
	s, err := GatewaySettingsFromEnv(env(map[string]string{"CONGSO_GATEWAY_OCSP": "required", "CONGSO_GATEWAY_TSA_URL": "http://tsa", "CONGSO_GATEWAY_TSA_CA": "ca.pem", "CONGSO_GATEWAY_TSA_INTERVAL": "30s"}))
	if err != nil || s.OCSP != "required" || s.TSAInterval != 30*time.Second || s.WebhookHTTP {
		t.Fatalf("good settings: %+v %v", s, err)
	}
	if s, err := GatewaySettingsFromEnv(env(map[string]string{"CONGSO_GATEWAY_WEBHOOK_HTTP": "allow"})); err != nil || !s.WebhookHTTP {
		t.Fatalf("plain http webhooks allowed: %+v %v", s, err)
	}
}
