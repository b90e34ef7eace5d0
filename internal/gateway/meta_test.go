package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// integration: metadata services (list clients, list services, allowed services, get the OpenAPI).
func TestMetaServices(t *testing.T) {
	backend := httptest.NewServer(http.NotFoundHandler())
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(provider + "/second"), Title: "second"}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(provider+"/second/v1"), gateway.Version{BackendURL: backend.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/second/v1"), gateway.Published, nil))

	var clients struct {
		Member []struct {
			ID struct {
				ObjectType string `json:"object_type"`
				Subsystem  string `json:"subsystem_code"`
			} `json:"id"`
		} `json:"member"`
	}
	resp := call(t, n.srv.URL, "GET", "/listClients", "tok-client", nil)
	must(t, json.NewDecoder(resp.Body).Decode(&clients))
	resp.Body.Close()
	if len(clients.Member) != 5 {
		t.Fatalf("listClients: %+v", clients)
	}
	codes := func(path, token string) []string {
		var out struct {
			Service []struct {
				Code string `json:"service_code"`
			} `json:"service"`
		}
		resp := call(t, n.srv.URL, "GET", path, token, nil)
		must(t, json.NewDecoder(resp.Body).Decode(&out))
		resp.Body.Close()
		var cs []string
		for _, s := range out.Service {
			cs = append(cs, s.Code)
		}
		return cs
	}
	if got := codes("/r1/"+provider+"/listMethods", "tok-client"); len(got) != 2 {
		t.Errorf("listMethods: %v", got)
	}
	if got := codes("/r1/"+provider+"/allowedMethods", "tok-client"); len(got) != 1 || got[0] != "phieu-lltp" {
		t.Errorf("allowedMethods for client: %v", got)
	}
	if got := codes("/r1/"+provider+"/allowedMethods", "tok-other"); len(got) != 0 {
		t.Errorf("allowedMethods for other: %v", got)
	}
	resp = call(t, n.srv.URL, "GET", "/r1/"+provider+"/getOpenAPI?serviceCode=phieu-lltp", "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 || b != `{"openapi":"3.0.0"}` {
		t.Errorf("getOpenAPI: %d %s", resp.StatusCode, b)
	}
	resp = call(t, n.srv.URL, "GET", "/listClients", "", nil)
	readAll(t, resp)
	if resp.StatusCode != 401 {
		t.Errorf("anonymous listClients: %d", resp.StatusCode)
	}
}
