package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// soapSvc is a SOAP service of the provider (seedSOAP registers it).
const soapSvc = provider + "/tra-cuu-lltp"

// soapFields are the X-Road header fields of a test envelope; Proto "-"
// leaves protocolVersion out.
type soapFields struct {
	Client, Service, ID, UserID, Issue, Proto string
	Extra                                     string // more header blocks, as XML
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// xroadID writes an identifier element: client (3 or 4 parts) or service (5 or 6).
func xroadID(tag, id string) string {
	p := strings.Split(id, "/")
	names := []string{"xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"}
	typ := "MEMBER"
	switch {
	case tag == "service":
		typ = "SERVICE"
	case len(p) == 4:
		typ = "SUBSYSTEM"
	}
	var b strings.Builder
	b.WriteString(`<xrd:` + tag + ` id:objectType="` + typ + `">`)
	for i, v := range p {
		b.WriteString("<id:" + names[i] + ">" + xmlText(v) + "</id:" + names[i] + ">")
	}
	b.WriteString(`</xrd:` + tag + `>`)
	return b.String()
}

// soapHead writes the envelope up to and including the start of its Body.
func soapHead(f soapFields) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">` + "\n")
	b.WriteString("<SOAP-ENV:Header>\n")
	if f.Client != "" {
		b.WriteString(xroadID("client", f.Client) + "\n")
	}
	if f.Service != "" {
		b.WriteString(xroadID("service", f.Service) + "\n")
	}
	for _, x := range [][2]string{{"id", f.ID}, {"userId", f.UserID}, {"issue", f.Issue}} {
		if x[1] != "" {
			b.WriteString("<xrd:" + x[0] + ">" + xmlText(x[1]) + "</xrd:" + x[0] + ">\n")
		}
	}
	switch f.Proto {
	case "":
		b.WriteString("<xrd:protocolVersion>4.0</xrd:protocolVersion>\n")
	case "-":
	default:
		b.WriteString("<xrd:protocolVersion>" + xmlText(f.Proto) + "</xrd:protocolVersion>\n")
	}
	b.WriteString(f.Extra)
	b.WriteString("</SOAP-ENV:Header>\n<SOAP-ENV:Body>")
	return b.String()
}

const soapTail = "</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n"

func soapEnvelope(f soapFields, body string) string { return soapHead(f) + body + soapTail }

// soapRequestBody is the Body of a call of soapSvc: as X-Road requires,
// its one child is named after the service code (tra-cuu-lltp).
const soapRequestBody = `<ns1:tra-cuu-lltp xmlns:ns1="urn:lltp"><soDinhDanh>001099001234</soDinhDanh></ns1:tra-cuu-lltp>`

// soapBodyFor is soapRequestBody for a call of another service (an
// X-Road service id, version optional): its child is named after the
// service code.
func soapBodyFor(service string) string {
	p := strings.Split(service, "/")
	code := p[len(p)-1]
	if len(p) > 5 {
		code = p[4]
	}
	return strings.ReplaceAll(soapRequestBody, "tra-cuu-lltp", code)
}

// soapPost sends a SOAP request to path on base with the bearer token.
func soapPost(t testing.TB, base, path, token string, body io.Reader, contentType string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, body)
	must(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("SOAPAction", `"urn:lltp#traCuuPhieu"`)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	return resp
}

const xmlUTF8 = "text/xml; charset=utf-8"

// soapFault reads a SOAP 1.1 Fault.
type soapFault struct {
	Code, String, Detail string
}

func parseFault(t testing.TB, body string) soapFault {
	t.Helper()
	var env struct {
		Body struct {
			Fault struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
				Detail struct {
					FaultDetail string `xml:"faultDetail"`
				} `xml:"detail"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("not a SOAP envelope: %v: %s", err, body)
	}
	f := env.Body.Fault
	return soapFault{f.Code, f.String, f.Detail.FaultDetail}
}

// b64sum is the request hash the gateway sends: SHA-256, base64.
func b64sum(msg string) string {
	sum := sha256.Sum256([]byte(msg))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// requestHashElement is the element the gateway puts at the end of a SOAP
// answer's Header for the request msg.
func requestHashElement(msg string) string {
	return `<xrd:requestHash xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" algorithmId="http://www.w3.org/2001/04/xmlenc#sha256">` + b64sum(msg) + `</xrd:requestHash>`
}

// answerRequestHash parses a SOAP answer and returns its Header's
// requestHash (failing if the answer is not well-formed, or the algorithm
// is not SHA-256).
func answerRequestHash(t testing.TB, answer string) string {
	t.Helper()
	var env struct {
		Header struct {
			Hashes []struct {
				Alg   string `xml:"algorithmId,attr"`
				Value string `xml:",chardata"`
			} `xml:"http://x-road.eu/xsd/xroad.xsd requestHash"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	}
	if err := xml.Unmarshal([]byte(answer), &env); err != nil {
		t.Fatalf("the answer is not well-formed: %v\n%s", err, answer)
	}
	switch h := env.Header.Hashes; {
	case len(h) == 0:
		return ""
	case len(h) > 1 || h[0].Alg != gateway.HashAlgorithmSHA256:
		t.Fatalf("requestHash elements %+v", h)
	}
	return env.Header.Hashes[0].Value
}

// seedSOAP registers what seed does, plus the SOAP service soapSvc v1 at
// backend with a WSDL, and a right for client on it.
func seedSOAP(t testing.TB, m *gateway.Manager, backend string) {
	seed(t, m, backend)
	ctx := context.Background()
	must(t, m.PutService(ctx, "admin", gateway.Service{ID: sid(soapSvc), Kind: gateway.SOAP, Title: "Tra cứu phiếu LLTP (SOAP)"}))
	must(t, m.PutVersion(ctx, "admin", sid(soapSvc+"/v1"), gateway.Version{BackendURL: backend,
		Spec: `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" name="lltp"/>`}))
	must(t, m.SetStatus(ctx, "admin", sid(soapSvc+"/v1"), gateway.Published, nil))
	_, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(soapSvc), LegalBasis: "Nghị định 278/2025"})
	must(t, err)
}

func okFields() soapFields {
	return soapFields{Client: client, Service: soapSvc + "/v1", ID: "soap-msg-1", UserID: "VN001", Issue: "000.00.01.H57-260101-0042"}
}

func recordByRequestID(t testing.TB, d *db.DB, id string) (gateway.Record, bool) {
	t.Helper()
	recs, err := gateway.Search(context.Background(), d, gateway.Filter{Limit: 1000})
	must(t, err)
	for _, r := range recs {
		if r.RequestID == id {
			return r, true
		}
	}
	return gateway.Record{}, false
}

// waitRecord finds the exchange's record, waiting up to 5 s for it: the
// gateway logs an exchange once its answer is sent, and a client can have
// read a long answer by then.
func waitRecord(t testing.TB, d *db.DB, id string) (gateway.Record, bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r, ok := recordByRequestID(t, d, id); ok || time.Now().After(deadline) {
			return r, ok
		}
	}
}

// integration "Wire and identity model": SOAP profile for legacy partners.
// A SOAP client calls a SOAP backend through the gateway; the envelope and
// the answer pass unchanged, and the exchange is in the message log.
func TestSOAPCallPassesThroughAndIsLogged(t *testing.T) {
	const answer = `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><ketQua>có phiếu số 7</ketQua></SOAP-ENV:Body></SOAP-ENV:Envelope>`
	var mu sync.Mutex
	var got struct {
		method, path, ct, action, client, auth, service, issue string
		body                                                   []byte
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got.method, got.path, got.ct, got.action = r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("SOAPAction")
		got.client, got.auth, got.service, got.issue = r.Header.Get(gateway.HeaderClient), r.Header.Get("Authorization"), r.Header.Get(gateway.HeaderService), r.Header.Get(gateway.HeaderIssue)
		got.body = b
		mu.Unlock()
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte(answer))
	}))
	defer backend.Close()
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		n := startNode(t, d, nodeOpts{})
		seedSOAP(t, n.mgr, backend.URL+"/ws/lltp?wsdl=0")
		env := soapEnvelope(okFields(), soapRequestBody)
		// The answer gains a Header with the request's hash, as X-Road's
		// provider side adds it.
		want := strings.Replace(answer, "<SOAP-ENV:Body>", `<SOAP-ENV:Header xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">`+requestHashElement(env)+`</SOAP-ENV:Header><SOAP-ENV:Body>`, 1)
		for _, path := range []string{"/", "/soap"} {
			resp := soapPost(t, n.srv.URL, path, "tok-client", strings.NewReader(env), xmlUTF8)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || body != want || resp.Header.Get("Content-Type") != xmlUTF8 || answerRequestHash(t, body) != b64sum(env) {
				t.Fatalf("POST %s: %d %q: %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			mu.Lock()
			g := got
			mu.Unlock()
			if string(g.body) != env {
				t.Fatalf("the backend got another envelope:\n%s", g.body)
			}
			if g.method != "POST" || g.path != "/ws/lltp?wsdl=0" || g.ct != xmlUTF8 || g.action != `"urn:lltp#traCuuPhieu"` ||
				g.client != client || g.auth != "" || g.service != soapSvc || g.issue != okFields().Issue {
				t.Fatalf("backend request %+v", g)
			}
			rec, ok := recordByRequestID(t, d, resp.Header.Get(gateway.HeaderRequestID))
			if !ok {
				t.Fatal("no record")
			}
			sum := sha256.Sum256([]byte(env))
			ans := sha256.Sum256([]byte(want)) // the answer as the client got it
			if rec.Client != client || rec.Service != soapSvc+"/v1" || rec.MessageID != "soap-msg-1" || rec.UserID != "VN001" ||
				rec.Issue != okFields().Issue || rec.Method != "POST" || rec.Status != 200 || rec.ErrorType != "" ||
				rec.RequestBytes != int64(len(env)) || rec.RequestHash != hex.EncodeToString(sum[:]) ||
				rec.ResponseBytes != int64(len(want)) || rec.ResponseHash != hex.EncodeToString(ans[:]) {
				t.Fatalf("record %+v", rec)
			}
		}
		recs, err := gateway.Search(context.Background(), d, gateway.Filter{Issue: okFields().Issue})
		must(t, err)
		if len(recs) != 2 {
			t.Fatalf("records by dossier code: %d", len(recs))
		}
	})
}

// Every problem is a SOAP Fault with the REST profile's X-Road category.
func TestSOAPFaultsCarryXRoadCategories(t *testing.T) {
	slow := make(chan struct{})
	defer close(slow)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the gateway hanging up
		if strings.Contains(r.URL.Path, "slow") {
			select {
			case <-slow:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte("<ok/>"))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL)
	ctx := context.Background()
	for _, code := range []string{"retired", "slowsvc", "small"} {
		s := gateway.Service{ID: sid(provider + "/" + code), Kind: gateway.SOAP, Title: code}
		switch code {
		case "slowsvc":
			s.Timeout = 200 * time.Millisecond
		case "small":
			s.MaxBodyBytes = 1500
		}
		must(t, n.mgr.PutService(ctx, "admin", s))
		must(t, n.mgr.PutVersion(ctx, "admin", sid(provider+"/"+code+"/v1"), gateway.Version{BackendURL: backend.URL + "/" + code}))
		must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/"+code+"/v1"), gateway.Published, nil))
		_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(provider + "/" + code)})
		must(t, err)
	}
	must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/retired/v1"), gateway.Retired, nil))

	with := func(change func(*soapFields)) string {
		f := okFields()
		change(&f)
		return soapEnvelope(f, soapBodyFor(f.Service))
	}
	valid := soapEnvelope(okFields(), soapRequestBody)
	cases := []struct {
		name, token, body, ct string
		fault                 string
		logged                bool
	}{
		{"unknown service", "tok-client", with(func(f *soapFields) { f.Service = provider + "/nothing" }), "", gateway.FaultUnknownService, true},
		{"unknown version", "tok-client", with(func(f *soapFields) { f.Service = soapSvc + "/v9" }), "", gateway.FaultUnknownService, true},
		{"metadata service", "tok-client", with(func(f *soapFields) { f.Service = provider + "/listMethods" }), "", gateway.FaultUnknownService, true},
		{"no access right", "tok-other", with(func(f *soapFields) { f.Client = other }), "", gateway.FaultAccessDenied, true},
		{"token of another client", "tok-other", valid, "", gateway.FaultAuthentication, false},
		{"no credentials", "", valid, "", gateway.FaultAuthentication, false},
		{"member as client", "tok-client", with(func(f *soapFields) { f.Client = "VN-HUE/GOV/000.00.01.H57" }), "", gateway.FaultBadRequest, false},
		{"malformed XML", "tok-client", strings.Replace(valid, "</xrd:id>", "</xrd:idd>", 1), "", gateway.FaultBadRequest, false},
		{"not XML", "tok-client", "hello", "", gateway.FaultBadRequest, false},
		{"truncated", "tok-client", valid[:200], "", gateway.FaultBadRequest, false},
		{"missing protocolVersion", "tok-client", with(func(f *soapFields) { f.Proto = "-" }), "", gateway.FaultBadRequest, false},
		{"unsupported protocolVersion", "tok-client", with(func(f *soapFields) { f.Proto = "3.1" }), "", gateway.FaultBadRequest, false},
		{"missing id", "tok-client", with(func(f *soapFields) { f.ID = "" }), "", gateway.FaultBadRequest, false},
		{"missing service", "tok-client", with(func(f *soapFields) { f.Service = "" }), "", gateway.FaultBadRequest, false},
		{"bad serviceVersion", "tok-client", strings.Replace(valid, ">v1<", ">1.0<", 1), "", gateway.FaultBadRequest, false},
		{"duplicate client", "tok-client", with(func(f *soapFields) { f.Extra = xroadID("client", client) }), "", gateway.FaultBadRequest, false},
		{"no Header", "tok-client", `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body/></SOAP-ENV:Envelope>`, "", gateway.FaultBadRequest, false},
		{"SOAP 1.2 envelope", "tok-client", strings.Replace(valid, "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope", 1), "", gateway.FaultBadRequest, false},
		{"SOAP 1.2 content type", "tok-client", valid, "application/soap+xml", gateway.FaultBadRequest, false},
		{"multipart without its boundary", "tok-client", valid, `multipart/related; type="text/xml"; boundary=x`, gateway.FaultBadRequest, false},
		{"DTD", "tok-client", `<!DOCTYPE x [<!ENTITY e "e">]>` + valid[strings.Index(valid, "<SOAP-ENV:Envelope"):], "", gateway.FaultBadRequest, false},
		{"header over 64 KiB", "tok-client", with(func(f *soapFields) { f.Extra = "<pad>" + strings.Repeat("x", 70<<10) + "</pad>" }), "", gateway.FaultBodyTooLarge, false},
		{"REST service", "tok-client", with(func(f *soapFields) { f.Service = svcID + "/v1" }), "", gateway.FaultBadRequest, true},
		{"retired", "tok-client", with(func(f *soapFields) { f.Service = provider + "/retired/v1" }), "", gateway.FaultServiceDisabled, true},
		{"body over the service's limit", "tok-client", with(func(f *soapFields) { f.Service = provider + "/small" }) + strings.Repeat(" ", 2000), "", gateway.FaultBodyTooLarge, true},
		{"backend slow", "tok-client", with(func(f *soapFields) { f.Service = provider + "/slowsvc" }), "", gateway.FaultServiceTimeout, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := c.ct
			if ct == "" {
				ct = xmlUTF8
			}
			resp := soapPost(t, n.srv.URL, "/", c.token, strings.NewReader(c.body), ct)
			b := readAll(t, resp)
			f := parseFault(t, b)
			if resp.StatusCode != 500 || f.Code != c.fault || resp.Header.Get(gateway.HeaderError) != c.fault || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Fatalf("got %d %q %q, want 500 %q: %s", resp.StatusCode, f.Code, resp.Header.Get("Content-Type"), c.fault, b)
			}
			if f.String == "" || f.Detail == "" || f.Detail != resp.Header.Get(gateway.HeaderRequestID) {
				t.Errorf("fault %+v, request id %q", f, resp.Header.Get(gateway.HeaderRequestID))
			}
			t.Logf("%s: %s", f.Code, f.String)
			rec, found := recordByRequestID(t, d, f.Detail)
			if found != c.logged {
				t.Fatalf("logged = %v, want %v", found, c.logged)
			}
			if found && (rec.ErrorType != c.fault || rec.Status != 500) {
				t.Errorf("logged %q %d", rec.ErrorType, rec.Status)
			}
		})
	}

	// Denied, then granted: the same call passes.
	denied := with(func(f *soapFields) { f.Client = other })
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: other, Service: sid(soapSvc)})
	must(t, err)
	resp := soapPost(t, n.srv.URL, "/", "tok-other", strings.NewReader(denied), xmlUTF8)
	if b := readAll(t, resp); resp.StatusCode != 200 || b != "<ok/>" {
		t.Fatalf("after the grant: %d %s", resp.StatusCode, b)
	}
	// A REST call to / is still the REST profile's 404.
	resp = call(t, n.srv.URL, "GET", "/", "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != 404 || resp.Header.Get(gateway.HeaderError) != gateway.FaultBadRequest || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /: %d %v", resp.StatusCode, resp.Header)
	}
}

// A client that sends part of its SOAP Header and stalls gets Client.RequestTimeout.
func TestSOAPSlowHeaderTimesOut(t *testing.T) {
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BodyTimeout = 300 * time.Millisecond }})
	seedSOAP(t, n.mgr, "http://127.0.0.1:1")
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { pw.Write([]byte(soapEnvelope(okFields(), "")[:300])) }() // and never more
	resp := soapPost(t, n.srv.URL, "/", "tok-client", pr, xmlUTF8)
	b := readAll(t, resp)
	if f := parseFault(t, b); f.Code != gateway.FaultBodyTimeout {
		t.Fatalf("slow header: %d %s", resp.StatusCode, b)
	}
}

// A backend that is down gives Server.ServerProxy.ServiceFailed and opens
// the circuit; a client's own faults and the backend's SOAP Faults do not.
func TestSOAPBackendDownOpensBreaker(t *testing.T) {
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", xmlUTF8)
		w.WriteHeader(500) // an application fault: SOAP 1.1 sends it with 500
		w.Write([]byte(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>không có phiếu</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`))
	}))
	defer backend.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 2 }})
	seedSOAP(t, n.mgr, backend.URL)
	ctx := context.Background()
	const downSvc = provider + "/down"
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(downSvc), Kind: gateway.SOAP, Title: "down"}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(downSvc+"/v1"), gateway.Version{BackendURL: down.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(downSvc+"/v1"), gateway.Published, nil))
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(downSvc)})
	must(t, err)

	send := func(f soapFields, body string) (*http.Response, soapFault, string) {
		// Sent chunked: the body limit is found while streaming it.
		resp := soapPost(t, n.srv.URL, "/", "tok-client", struct{ io.Reader }{strings.NewReader(soapEnvelope(f, body))}, xmlUTF8)
		b := readAll(t, resp)
		return resp, parseFault(t, b), b
	}
	toDown := okFields()
	toDown.Service = downSvc
	for i := 0; i < 2; i++ {
		if resp, f, b := send(toDown, soapBodyFor(downSvc)); resp.StatusCode != 500 || f.Code != gateway.FaultServiceFailed {
			t.Fatalf("call %d to a backend that is down: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, f, b := send(toDown, soapBodyFor(downSvc))
	if f.Code != gateway.FaultCircuitOpen || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 2 failures: %s %v", b, resp.Header)
	}

	// The backend's own SOAP Faults are answers: they pass unchanged and
	// the circuit stays closed.
	for i := 0; i < 3; i++ {
		resp, f, b := send(okFields(), soapRequestBody)
		if resp.StatusCode != 500 || f.Code != "SOAP-ENV:Client" || resp.Header.Get(gateway.HeaderError) != "" {
			t.Fatalf("backend fault %d: %d %v %s", i, resp.StatusCode, resp.Header, b)
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("backend reached %d times, want 3", hits.Load())
	}
	// Bodies over the limit are the client's fault (HTTP 500 in SOAP, 413
	// in meaning), found while streaming to the backend: the circuit stays
	// closed.
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(soapSvc), Kind: gateway.SOAP, Title: "LLTP", MaxBodyBytes: 2000}))
	for i := 0; i < 3; i++ {
		if _, f, b := send(okFields(), "<tra-cuu-lltp>"+strings.Repeat("x", 3000)+"</tra-cuu-lltp>"); f.Code != gateway.FaultBodyTooLarge {
			t.Fatalf("large body %d: %s", i, b)
		}
	}
	if _, f, b := send(okFields(), soapRequestBody); f.Code != "SOAP-ENV:Client" {
		t.Fatalf("after client faults: %s", b)
	}
}

// Quotas apply to SOAP calls: Client.QuotaExceeded (429 in the REST
// profile) comes as a Fault with HTTP 500 and Retry-After.
func TestSOAPQuota(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<ok/>")) }))
	defer backend.Close()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{now: func() time.Time { return now }})
	seedSOAP(t, n.mgr, backend.URL)
	must(t, n.mgr.PutQuota(context.Background(), "admin", gateway.Quota{Client: cid(client), Service: sid(soapSvc), RatePerSecond: 2}))
	env := soapEnvelope(okFields(), soapRequestBody)
	var codes []string
	var retry string
	for i := 0; i < 3; i++ {
		resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
		b := readAll(t, resp)
		if resp.StatusCode == 200 {
			codes = append(codes, "ok")
			continue
		}
		codes = append(codes, parseFault(t, b).Code)
		retry = resp.Header.Get("Retry-After")
	}
	if strings.Join(codes, " ") != "ok ok "+gateway.FaultQuota || retry != "1" {
		t.Fatalf("calls: %v, Retry-After %q", codes, retry)
	}
}

// letters is an endless, allocation-free body of lower-case letters.
type letters struct{ n int64 }

func (l *letters) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a' + byte(l.n%26)
		l.n++
	}
	return len(b), nil
}

// A 20 MB SOAP message streams through: the gateway reads only its Header.
func TestSOAPTwentyMegabytesStream(t *testing.T) {
	const size = 20 << 20
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("X-Got", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Len", strconv.FormatInt(n, 10))
		w.Write([]byte("<ok/>"))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL)
	f := okFields()
	f.Issue = "SOAP-BIG-1"
	head := soapHead(f) + "<tra-cuu-lltp>"
	tail := "</tra-cuu-lltp>" + soapTail
	message := func() io.Reader {
		return io.MultiReader(strings.NewReader(head), io.LimitReader(&letters{}, size), strings.NewReader(tail))
	}
	want := sha256.New()
	total, _ := io.Copy(want, message())
	sum := hex.EncodeToString(want.Sum(nil))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp := soapPost(t, n.srv.URL, "/", "tok-client", message(), xmlUTF8)
	b := readAll(t, resp)
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 200 || b != "<ok/>" || resp.Header.Get("X-Len") != strconv.FormatInt(total, 10) || resp.Header.Get("X-Got") != sum {
		t.Fatalf("status %d, backend got %s bytes (want %d), hash ok %v: %s", resp.StatusCode, resp.Header.Get("X-Len"), total, resp.Header.Get("X-Got") == sum, b)
	}
	// Client, gateway and backend share this process; 20 MB went through.
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("allocated %d MiB while moving a %d MiB SOAP message", alloc, total>>20)
	if alloc > 6 {
		t.Fatalf("allocated %d MiB: the message was buffered", alloc)
	}
	recs, err := gateway.Search(context.Background(), d, gateway.Filter{Issue: "SOAP-BIG-1"})
	must(t, err)
	if len(recs) != 1 || recs[0].RequestBytes != total || recs[0].RequestHash != sum {
		t.Fatalf("log %+v", recs)
	}
}

// integration: SOAP through federation (client → gateway A → gateway B →
// backend); B's faults come back as they are and do not open A's circuit
// toward B.
func TestSOAPFederationBetweenTwoGateways(t *testing.T) {
	const answer = "<ok>from Da Nang</ok>"
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte(answer))
	}))
	defer backend.Close()
	ctx := context.Background()
	const dngSvc = "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc-soap"
	fed := federate(t, backend.URL, dngSvc, gateway.SOAP, gateway.AccessRight{}, func(c *gateway.Config) { c.BreakerFailures = 1 })
	a, dbA, dbB := fed.a, fed.dbA, fed.dbB

	f := okFields()
	f.Service, f.ID, f.Issue = dngSvc+"/v2", "fed-soap-1", "H57-FED-SOAP"
	env := soapEnvelope(f, soapBodyFor(f.Service))
	resp := soapPost(t, a.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
	if body := readAll(t, resp); resp.StatusCode != 200 || body != answer {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for name, d := range map[string]*db.DB{"A": dbA, "B": dbB} {
		recs, err := gateway.Search(ctx, d, gateway.Filter{Issue: "H57-FED-SOAP"})
		must(t, err)
		if len(recs) != 1 || recs[0].MessageID != "fed-soap-1" || recs[0].Client != client || recs[0].Status != 200 || recs[0].RequestBytes != int64(len(env)) {
			t.Errorf("gateway %s log: %+v", name, recs)
		}
	}
	// B refuses a client without a right; its fault reaches the caller, and
	// A (breaker after 1 failure) does not count it against B.
	for i := 0; i < 2; i++ {
		g := f
		g.Client = other
		resp = soapPost(t, a.srv.URL, "/", "tok-other", strings.NewReader(soapEnvelope(g, soapBodyFor(g.Service))), xmlUTF8)
		body := readAll(t, resp)
		if ft := parseFault(t, body); resp.StatusCode != 500 || ft.Code != gateway.FaultAccessDenied {
			t.Fatalf("denied through federation: %d %s", resp.StatusCode, body)
		}
	}
	resp = soapPost(t, a.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
	if body := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("after B's faults: %d %s", resp.StatusCode, body)
	}
}

// soapSeeds are inputs for the fuzzers.
func soapSeeds() []string {
	valid := soapEnvelope(okFields(), soapRequestBody)
	return []string{
		valid,
		soapEnvelope(soapFields{Client: "VN/COM/123", Service: "VN/GOV/M/S/svc", ID: "1"}, ""),
		strings.Replace(valid, "<SOAP-ENV:Header>", "<SOAP-ENV:Header><!-- c --><wsse:Security xmlns:wsse=\"urn:x\"><xrd:id>x</xrd:id></wsse:Security>", 1),
		strings.Replace(valid, "4.0", "4.1", 1),
		`<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header/></SOAP-ENV:Envelope>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		"",
		"<",
	}
}

// FuzzReadSOAPHeader: the parser reads a prefix of the message, never more
// than MaxSOAPHeaderBytes, and what it accepts is made of valid identifiers
// and values, the same once written again.
func FuzzReadSOAPHeader(f *testing.F) {
	for _, s := range soapSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, head, err := gateway.ReadSOAPHeader(bufio.NewReader(strings.NewReader(s)))
		if !strings.HasPrefix(s, string(head)) || len(head) > gateway.MaxSOAPHeaderBytes {
			t.Fatalf("head is not a prefix of the message (%d bytes)", len(head))
		}
		if err != nil {
			if !errors.Is(err, gateway.ErrBadSOAP) && !errors.Is(err, gateway.ErrSOAPHeaderTooLarge) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if c, err := gateway.ParseClientID(h.Client.String()); err != nil || c != h.Client {
			t.Fatalf("client %q does not reparse: %v", h.Client, err)
		}
		if sv, err := gateway.ParseServiceID(h.Service.String()); err != nil || sv != h.Service {
			t.Fatalf("service %q does not reparse: %v", h.Service, err)
		}
		if h.ID == "" || h.ProtocolVersion != gateway.SOAPProtocolVersion || !gateway.ValidHeaderValue(h.ID) || !gateway.ValidHeaderValue(h.UserID) || !gateway.ValidHeaderValue(h.Issue) {
			t.Fatalf("accepted %+v", h)
		}
		again := soapFields{Client: h.Client.String(), Service: h.Service.String(), ID: h.ID, UserID: h.UserID, Issue: h.Issue}
		h2, _, err := gateway.ReadSOAPHeader(bufio.NewReader(strings.NewReader(soapEnvelope(again, ""))))
		if err != nil || h2 != h {
			t.Fatalf("written again: %+v %v, want %+v", h2, err, h)
		}
	})
}

// xmlSafe reports whether s can be carried in XML text as it is.
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// FuzzSOAPHeaderFields: an envelope built from field values is accepted
// exactly when every value is valid, and gives those values back.
func FuzzSOAPHeaderFields(f *testing.F) {
	f.Add("VN-HUE", "000.00.01.H57", "MOTCUA", "phieu", "v1", "msg-1", "H57-0001")
	f.Add("VN HUE", "a/b", "", "..", "1.0", "", "\x00")
	f.Add("VN", "<&>", "\"'", "svc", "", "x", strings.Repeat("y", 256))
	f.Fuzz(func(t *testing.T, inst, member, sub, code, version, id, issue string) {
		for _, s := range []string{inst, member, sub, code, version, id, issue} {
			if !xmlSafe(s) || strings.TrimSpace(s) != s {
				return // XML cannot carry it, or the parser trims it
			}
		}
		fields := soapFields{Client: inst + "/GOV/" + member + "/" + sub, Service: inst + "/GOV/" + member + "/" + sub + "/" + code, ID: id, Issue: issue}
		if version != "" {
			fields.Service += "/" + version
		}
		if strings.Contains(inst+member+sub+code+version, "/") {
			return // the builder splits on slashes
		}
		h, _, err := gateway.ReadSOAPHeader(bufio.NewReader(strings.NewReader(soapEnvelope(fields, ""))))
		valid := gateway.ValidIDPart(inst) && gateway.ValidIDPart(member) && gateway.ValidIDPart(sub) && gateway.ValidIDPart(code) &&
			(version == "" || gateway.IsVersion(version)) && id != "" && gateway.ValidHeaderValue(id) && gateway.ValidHeaderValue(issue)
		if valid != (err == nil) {
			t.Fatalf("valid=%v but err=%v for %+v", valid, err, fields)
		}
		if err != nil {
			if !errors.Is(err, gateway.ErrBadSOAP) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if h.Client.String() != fields.Client || h.Service.String() != fields.Service || h.ID != id || h.Issue != issue || h.UserID != "" {
			t.Fatalf("got %+v from %+v", h, fields)
		}
	})
}

// The parser stops at the end of the Header: the Body is not read.
func TestReadSOAPHeaderStopsAtHeaderEnd(t *testing.T) {
	head := soapHead(okFields())
	r := bufio.NewReader(io.MultiReader(strings.NewReader(head), errReader{}))
	h, got, err := gateway.ReadSOAPHeader(r)
	if err != nil || h.Service.String() != soapSvc+"/v1" || h.Issue != okFields().Issue {
		t.Fatalf("%+v %v", h, err)
	}
	if !bytes.HasPrefix([]byte(head), got) || len(head)-len(got) > len("\n<SOAP-ENV:Body>") {
		t.Fatalf("read %d of %d bytes of the head", len(got), len(head))
	}
}

// errReader fails: reading past the Header would reach it.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read past the header") }

// integration "Wire and identity model": SOAP with attachments (a scanned
// document beside the envelope) and MTOM pass through unchanged, byte for
// byte, with their boundary; the X-Road header is read from the first part.
func TestSOAPWithAttachmentsPassesThrough(t *testing.T) {
	var mu sync.Mutex
	var gotCT string
	var gotBody []byte
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		gotCT, gotBody = r.Header.Get("Content-Type"), b
		mu.Unlock()
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte(`<ok/>`))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL+"/ws/lltp")
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 0xff, '\r', '\n', '-', '-'}, 50000)...) // 300 KB, boundary-like bytes inside
	env := soapEnvelope(okFields(), soapRequestBody)
	multipart := func(rootType string) string {
		return "preamble is ignored\r\n--MIME_b0und4ry\r\nContent-Type: " + rootType + "\r\nContent-ID: <root@congso>\r\n\r\n" + env +
			"\r\n--MIME_b0und4ry\r\nContent-Type: application/pdf\r\nContent-ID: <giay-to-1>\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			string(pdf) + "\r\n--MIME_b0und4ry--\r\n"
	}
	cases := []struct{ name, ct, root string }{
		{"attachments", `multipart/related; type="text/xml"; boundary=MIME_b0und4ry`, "text/xml; charset=UTF-8"},
		{"MTOM", `multipart/related; type="application/xop+xml"; start-info="text/xml"; boundary=MIME_b0und4ry`, `application/xop+xml; charset=UTF-8; type="text/xml"`},
		{"MTOM with start (as Apache CXF sends it)", `multipart/related; type="application/xop+xml"; boundary="MIME_b0und4ry"; start="<root@congso>"; start-info="text/xml"`, `application/xop+xml; charset=UTF-8; type="text/xml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := multipart(c.root)
			resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(msg), c.ct)
			body := readAll(t, resp)
			if resp.StatusCode != 200 || body != "<ok/>" {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), body)
			}
			mu.Lock()
			ct, got := gotCT, gotBody
			mu.Unlock()
			if ct != c.ct || !bytes.Equal(got, []byte(msg)) {
				t.Fatalf("backend got %q and %d bytes (want %d, equal=%v)", ct, len(got), len(msg), bytes.Equal(got, []byte(msg)))
			}
			rec, ok := recordByRequestID(t, d, resp.Header.Get(gateway.HeaderRequestID))
			sum := sha256.Sum256([]byte(msg))
			if !ok || rec.MessageID != "soap-msg-1" || rec.Issue != okFields().Issue || rec.RequestBytes != int64(len(msg)) || rec.RequestHash != hex.EncodeToString(sum[:]) {
				t.Fatalf("record %+v", rec)
			}
		})
	}

	refused := []struct{ name, ct, msg, want string }{
		{"no boundary", `multipart/related; type="text/xml"`, multipart("text/xml"), "boundary"},
		{"other root type", `multipart/related; type="application/json"; boundary=MIME_b0und4ry`, multipart("text/xml"), "type text/xml"},
		{"start names another part", `multipart/related; type="text/xml"; start="<giay-to-1>"; boundary=MIME_b0und4ry`, multipart("text/xml"), "not the start part"},
		{"first part not the envelope", `multipart/related; type="text/xml"; boundary=MIME_b0und4ry`, multipart("application/pdf"), "first part must be the SOAP envelope"},
		{"no part", `multipart/related; type="text/xml"; boundary=MIME_b0und4ry`, "--MIME_b0und4ry--\r\n", "no part"},
		{"ends early", `multipart/related; type="text/xml"; boundary=MIME_b0und4ry`, "--MIME_b0und4ry\r\nContent-Type: text/xml\r\n", "ends before"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(c.msg), c.ct)
			body := readAll(t, resp)
			if resp.StatusCode != 500 || resp.Header.Get(gateway.HeaderError) != gateway.FaultBadRequest || !strings.Contains(body, c.want) {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), body)
			}
		})
	}
}

// integration "Wire and identity model" (X-Road SOAP profile): the
// provider side puts the request's hash in the answer's SOAP Header
// (xrd:requestHash, replacing one the service forged), keeping the rest of
// the answer byte for byte and its length right; answers it cannot read
// as an envelope pass unchanged; an answer cut short before its Header
// ends is a ServiceFailed fault, not half an answer.
func TestSOAPAnswerCarriesRequestHash(t *testing.T) {
	const envNS = `xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"`
	var mu sync.Mutex
	var answer func(w http.ResponseWriter, r *http.Request)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		a := answer
		mu.Unlock()
		a(w, r)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL+"/ws/lltp")
	env := soapEnvelope(okFields(), soapRequestBody)
	hash := requestHashElement(env)
	send := func(ct string, status int, chunks ...string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			if len(chunks) == 1 {
				w.Header().Set("Content-Length", strconv.Itoa(len(chunks[0])))
			}
			w.WriteHeader(status)
			for _, c := range chunks {
				w.Write([]byte(c))
				w.(http.Flusher).Flush()
			}
		}
	}
	withHeader := `<?xml version="1.0"?>` + "\n" + `<soap:Envelope ` + envNS + ` xmlns:xrd="http://x-road.eu/xsd/xroad.xsd">` +
		`<soap:Header>` + "\n" + `<xrd:id>m1</xrd:id><xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">Zm9yZ2Vk</xrd:requestHash>` +
		`<o:x xmlns:o="urn:o"><xrd:requestHash>nested: another block's business</xrd:requestHash></o:x>` + "\n" + `</soap:Header>` +
		`<soap:Body><kq>đã có</kq></soap:Body></soap:Envelope>`
	withHeaderWant := strings.Replace(strings.Replace(withHeader,
		`<xrd:requestHash algorithmId="http://www.w3.org/2001/04/xmlenc#sha512">Zm9yZ2Vk</xrd:requestHash>`, "", 1),
		"\n</soap:Header>", "\n"+hash+"</soap:Header>", 1)
	noHeader := `<soap:Envelope ` + envNS + `>` + "\n" + `<soap:Body><kq>đã có</kq></soap:Body></soap:Envelope>`
	noHeaderWant := strings.Replace(noHeader, "\n<soap:Body>",
		`<SOAP-ENV:Header xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">`+hash+"</SOAP-ENV:Header>\n<soap:Body>", 1)
	emptyHeader := `<soap:Envelope ` + envNS + `><soap:Header/><soap:Body><kq/></soap:Body></soap:Envelope>`
	emptyHeader2 := `<soap:Envelope ` + envNS + `><soap:Header a="x/>" ` + "\n" + `/><soap:Body><kq/></soap:Body></soap:Envelope>`
	fault := `<soap:Envelope ` + envNS + `><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>không có phiếu</faultstring></soap:Fault></soap:Body></soap:Envelope>`
	pdf := "%PDF-1.7\n" + strings.Repeat("\x00\xff\r\n--b\r\n", 3000)
	part := func(e string) string {
		return "--b\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-ID: <root>\r\n\r\n" + e +
			"\r\n--b\r\nContent-Type: application/pdf\r\n\r\n" + pdf + "\r\n--b--\r\n"
	}
	bigHeader := `<soap:Envelope ` + envNS + `><soap:Header><o:x xmlns:o="urn:o">` + strings.Repeat("x", gateway.MaxSOAPHeaderBytes) +
		`</o:x></soap:Header><soap:Body/></soap:Envelope>`
	notClosed := `<soap:Envelope ` + envNS + `><soap:Header>`
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		status int
		want   string
	}{
		{"a Header: the service's hash replaced", send(xmlUTF8, 200, withHeader), 200, withHeaderWant},
		{"no Header: one is made", send(xmlUTF8, 200, noHeader), 200, noHeaderWant},
		{"an empty Header", send(xmlUTF8, 200, emptyHeader), 200, strings.Replace(emptyHeader, `<soap:Header/>`, `<soap:Header>`+hash+`</soap:Header>`, 1)},
		{"an empty Header with attributes", send(xmlUTF8, 200, emptyHeader2), 200,
			strings.Replace(emptyHeader2, `<soap:Header a="x/>" `+"\n"+`/>`, `<soap:Header a="x/>" `+"\n"+`>`+hash+`</soap:Header>`, 1)},
		{"streamed in pieces", send(xmlUTF8, 200, noHeader[:20], noHeader[20:45], noHeader[45:]), 200, noHeaderWant},
		{"the service's SOAP Fault", send(xmlUTF8, 500, fault), 500, strings.Replace(fault, "<soap:Body>",
			`<SOAP-ENV:Header xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">`+hash+"</SOAP-ENV:Header><soap:Body>", 1)},
		{"with an attachment", send(`multipart/related; type="text/xml"; boundary=b`, 200, part(withHeader)), 200, part(withHeaderWant)},
		{"not an envelope", send(xmlUTF8, 200, "<ok/>"), 200, "<ok/>"},
		{"JSON", send("application/json", 200, `{"soap:Envelope":1}`), 200, `{"soap:Envelope":1}`},
		{"not UTF-8", send("text/xml; charset=iso-8859-1", 200, noHeader), 200, noHeader},
		{"a Header over 64 KiB", send(xmlUTF8, 200, bigHeader), 200, bigHeader},
		{"ends inside its Header", send(xmlUTF8, 200, notClosed), 200, notClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			answer = c.answer
			mu.Unlock()
			resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
			body := readAll(t, resp) // fails if Content-Length says more than came
			if resp.StatusCode != c.status || body != c.want {
				t.Fatalf("%d %s:\n%q\nwant\n%q", resp.StatusCode, resp.Header.Get(gateway.HeaderError), body, c.want)
			}
			if resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) {
				t.Fatalf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			if resp.Header.Get(gateway.HeaderRequestHash) != b64sum(env) {
				t.Fatalf("%s: %q", gateway.HeaderRequestHash, resp.Header.Get(gateway.HeaderRequestHash))
			}
			rec, ok := waitRecord(t, d, resp.Header.Get(gateway.HeaderRequestID))
			sum := sha256.Sum256([]byte(body))
			if !ok || rec.ErrorType != "" || rec.Status != c.status || rec.ResponseBytes != int64(len(body)) || rec.ResponseHash != hex.EncodeToString(sum[:]) {
				t.Fatalf("record %+v", rec)
			}
		})
	}

	// Cut short before the Header ends: the gateway has sent nothing yet,
	// so the client gets a fault instead of half an answer.
	// Or stalled there past the service's time limit: a ServiceTimeout.
	ctx := t.Context()
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(soapSvc), Kind: gateway.SOAP, Title: "Tra cứu phiếu LLTP (SOAP)", Timeout: 300 * time.Millisecond}))
	must(t, n.rt.Reload(ctx))
	for _, c := range []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request)
		fault  string
	}{
		{"cut short", func(w http.ResponseWriter, r *http.Request) {
			conn, bw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 900\r\n\r\n" + notClosed)
			bw.Flush()
			conn.Close()
		}, gateway.FaultServiceFailed},
		{"stalled", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", xmlUTF8)
			w.Write([]byte(notClosed))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the rest never comes
		}, gateway.FaultServiceTimeout},
	} {
		mu.Lock()
		answer = c.answer
		mu.Unlock()
		resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
		body := readAll(t, resp)
		if f := parseFault(t, body); resp.StatusCode != 500 || f.Code != c.fault {
			t.Fatalf("%s: %d %s", c.name, resp.StatusCode, body)
		}
		if rec, ok := waitRecord(t, d, resp.Header.Get(gateway.HeaderRequestID)); !ok || rec.ErrorType != c.fault {
			t.Fatalf("%s: record %+v", c.name, rec)
		}
	}
}
