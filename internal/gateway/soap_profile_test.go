package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// integration "SOAP profile": a SOAP service is called in the SOAP profile
// only. In the REST profile its envelope would reach the service unread,
// so a client holding any right on it could name another client in
// xrd:client, which SOAP providers act on.
func TestSOAPServiceIsNotCallableInTheRESTProfile(t *testing.T) {
	var mu sync.Mutex
	var clients []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, _, err := gateway.ReadSOAPHeader(bufio.NewReader(r.Body))
		io.Copy(io.Discard, r.Body)
		if err == nil {
			mu.Lock()
			clients = append(clients, h.Client.String())
			mu.Unlock()
		}
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte("<ok/>"))
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL+"/ws/lltp")
	_, err := n.mgr.Grant(context.Background(), "admin", gateway.AccessRight{Client: other, Service: sid(soapSvc), Method: "POST", Path: "/", LegalBasis: "x"})
	must(t, err)

	forged := okFields() // names client (MOTCUA); the caller is other (KHAC)
	resp := call(t, n.srv.URL, "POST", "/r1/"+soapSvc+"/v1", "tok-other", strings.NewReader(soapEnvelope(forged, soapRequestBody)),
		"Content-Type", xmlUTF8, "SOAPAction", `"urn:lltp#traCuuPhieu"`)
	b := readAll(t, resp)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(gateway.HeaderError) != gateway.FaultBadRequest || !strings.Contains(b, "SOAP profile") {
		t.Fatalf("a SOAP service called at /r1/: %d %s %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(clients) > 0 {
		t.Fatalf("the backend got envelopes of %v", clients)
	}
}
