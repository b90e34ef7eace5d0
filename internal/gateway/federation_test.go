package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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
