package postal_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/congso/congso/internal/postal"
)

// Every route of the OpenAPI fragment is served with that method and pattern.
func TestOpenAPIFragment(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(postal.OpenAPIFragment(), &doc); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	postal.NewHandlers(nil).Routes(mux)
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			n++
			r := httptest.NewRequest(strings.ToUpper(method), strings.ReplaceAll(path, "{code}", "X"), nil)
			if _, pat := mux.Handler(r); pat != strings.ToUpper(method)+" "+path {
				t.Errorf("%s %s is served by %q", method, path, pat)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d operations documented, want 2", n)
	}
}
