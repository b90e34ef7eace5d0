package dossier_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
)

// The OpenAPI fragment documents exactly the routes served, and its
// references resolve (in the fragment, or to the application's shared
// components).
func TestOpenAPIFragment(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	raw := dossier.OpenAPIFragment()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	served := dossier.RoutePatterns()
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("documented %v\nserved     %v", documented, served)
	}
	shared := []string{"Problem", "Limit", "Cursor", "CSRFToken", "TooManyRequests", "ServerError", "UnsupportedMediaType"}
	for _, m := range regexp.MustCompile(`"#/components/(\w+)/(\w+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[m[2]]; !(ok && m[1] == "schemas") && !slices.Contains(shared, m[2]) {
			t.Errorf("unresolved reference %s/%s", m[1], m[2])
		}
	}
}
