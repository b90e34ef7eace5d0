package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// integration: two provinces' gateways federated over mTLS in the X-Road REST
// profile (client → gateway A → gateway B → backend), each logging its side.
func TestFederationBetweenTwoGateways(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("from Da Nang to " + r.Header.Get(gateway.HeaderClient) + " path " + r.URL.Path))
	}))
	defer backend.Close()
	ctx := context.Background()
	// Province B serves a service (GET only) and trusts A's gateway
	// certificate for VN-HUE clients; province A routes VN-DNG to B,
	// presenting its own certificate.
	const dngSvc = "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc"
	f := federate(t, backend.URL, dngSvc, gateway.REST, gateway.AccessRight{Method: "GET"}, nil)
	a, dbA, dbB, ca, certA, srvB := f.a, f.dbA, f.dbB, f.ca, f.certA, f.srvB

	resp := call(t, a.srv.URL, "GET", "/r1/"+dngSvc+"/v2/records/7", "tok-client", nil, gateway.HeaderID, "fed-1", gateway.HeaderIssue, "H57-FED")
	body := readAll(t, resp)
	if resp.StatusCode != 200 || body != "from Da Nang to "+client+" path /records/7" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for name, d := range map[string]*gatewayDB{"A": {dbA}, "B": {dbB}} {
		recs, err := gateway.Search(ctx, d.DB, gateway.Filter{Issue: "H57-FED"})
		must(t, err)
		if len(recs) != 1 || recs[0].MessageID != "fed-1" || recs[0].Client != client || recs[0].Status != 200 {
			t.Errorf("gateway %s log: %+v", name, recs)
		}
	}
	// B enforces its access rights for federated clients: POST is not granted.
	resp = call(t, a.srv.URL, "POST", "/r1/"+dngSvc+"/v2/records/7", "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != 403 || resp.Header.Get(gateway.HeaderError) != gateway.FaultAccessDenied {
		t.Fatalf("denied call through federation: %d %q", resp.StatusCode, resp.Header.Get(gateway.HeaderError))
	}
	// A peer certificate cannot speak for another instance's clients.
	direct := tlsClient(ca, &certA)
	req, _ := http.NewRequest("GET", srvB.URL+"/r1/"+dngSvc+"/v2/records/7", nil)
	req.Header.Set(gateway.HeaderClient, "VN-DNG/GOV/000.00.00.G07/HOTICH")
	r2, err := direct.Do(req)
	must(t, err)
	readAll(t, r2)
	if r2.StatusCode != 401 {
		t.Fatalf("peer spoke for a foreign client: %d", r2.StatusCode)
	}
	// An unknown instance has no route.
	resp = call(t, a.srv.URL, "GET", "/r1/VN-XXX/GOV/1/S/svc", "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != 404 || resp.Header.Get(gateway.HeaderError) != gateway.FaultUnknownService {
		t.Fatalf("unknown instance: %d", resp.StatusCode)
	}
}

// tamperingPeer stands between gateway A and its peer B: it swaps the
// request hash in B's answers for another request's, as a peer answering
// the wrong call would: in the X-Road-Request-Hash header (header) and in
// the body, the xrd:requestHash element of a SOAP answer (body).
type tamperingPeer struct {
	next         http.RoundTripper
	header, body atomic.Bool
}

func (p *tamperingPeer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	real, other := "", b64sum("another request")
	if err == nil {
		real = resp.Header.Get(gateway.HeaderRequestHash)
	}
	if real == "" {
		return resp, err
	}
	if p.header.Load() {
		resp.Header.Set(gateway.HeaderRequestHash, other)
	}
	if p.body.Load() {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(strings.NewReader(strings.ReplaceAll(string(b), real, other))) // same length
	}
	return resp, nil
}

// integration "Federation": the client side checks that a peer's answer
// is for the request it sent (the request hash, X-Road's consistency
// check), in both profiles; an answer to another request is refused as
// Server.ClientProxy.ServiceFailed.InconsistentResponse and logged so.
func TestPeerAnswerForAnotherRequestIsRefused(t *testing.T) {
	const soapAnswer = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><kq>trích lục số 9</kq></soap:Body></soap:Envelope>`
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Header.Get("SOAPAction") != "" {
			w.Header().Set("Content-Type", xmlUTF8)
			w.Write([]byte(soapAnswer))
			return
		}
		w.Write([]byte("đã nhận"))
	}))
	defer backend.Close()
	for _, kind := range []gateway.Kind{gateway.REST, gateway.SOAP} {
		t.Run(string(kind), func(t *testing.T) {
			svc := "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc-" + string(kind)
			tp := &tamperingPeer{}
			f := federate(t, backend.URL, svc, kind, gateway.AccessRight{}, func(c *gateway.Config) {
				tp.next, c.PeerTransport = c.PeerTransport, tp
			})
			fields := okFields()
			fields.Service, fields.ID = svc+"/v2", "fed-hash"
			msg := soapEnvelope(fields, soapBodyFor(fields.Service))
			send := func() *http.Response {
				if kind == gateway.SOAP {
					return soapPost(t, f.a.srv.URL, "/", "tok-client", strings.NewReader(msg), xmlUTF8)
				}
				return call(t, f.a.srv.URL, "POST", "/r1/"+svc+"/v2/records", "tok-client", strings.NewReader(msg), gateway.HeaderID, "fed-hash")
			}
			resp := send()
			body := readAll(t, resp)
			if resp.StatusCode != 200 || resp.Header.Get(gateway.HeaderRequestHash) != b64sum(msg) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get(gateway.HeaderRequestHash), body)
			}
			if kind == gateway.SOAP && answerRequestHash(t, body) != b64sum(msg) {
				t.Fatalf("the SOAP answer does not carry B's request hash: %s", body)
			}

			tampered := []*atomic.Bool{&tp.header}
			if kind == gateway.SOAP {
				tampered = append(tampered, &tp.body) // the envelope's element alone
			}
			for _, where := range tampered {
				tp.header.Store(false)
				tp.body.Store(false)
				where.Store(true)
				resp = send()
				body = readAll(t, resp)
				want := 502
				if kind == gateway.SOAP {
					want = 500
					if ft := parseFault(t, body); ft.Code != gateway.FaultInconsistentResponse {
						t.Fatalf("fault %+v", ft)
					}
				}
				if resp.StatusCode != want || resp.Header.Get(gateway.HeaderError) != gateway.FaultInconsistentResponse || strings.Contains(body, "trích lục") || strings.Contains(body, "đã nhận") {
					t.Fatalf("an answer to another request: %d %q %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), body)
				}
				rec, ok := waitRecord(t, f.dbA, resp.Header.Get(gateway.HeaderRequestID))
				if !ok || rec.ErrorType != gateway.FaultInconsistentResponse || rec.Status != want {
					t.Fatalf("A's record %+v", rec)
				}
			}
		})
	}
}
