package app

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
)

//go:embed openapi.json
var openapiJSON []byte

var (
	openapiOnce   sync.Once
	openapiMerged []byte
	openapiErr    error
)

// openAPIDocument is the app's document with the fragments modules ship
// beside their handlers (dossier) merged in: their paths, tags and schemas.
func openAPIDocument() ([]byte, error) {
	openapiOnce.Do(func() {
		var doc map[string]any
		if openapiErr = json.Unmarshal(openapiJSON, &doc); openapiErr != nil {
			return
		}
		for name, frag := range map[string][]byte{"dossier": dossier.OpenAPIFragment(), "statistics": stats.OpenAPIFragment()} {
			var f map[string]any
			if err := json.Unmarshal(frag, &f); err != nil {
				openapiErr = fmt.Errorf("openapi fragment %s: %w", name, err)
				return
			}
			if err := mergeInto(doc, f, "paths"); err != nil {
				openapiErr = fmt.Errorf("openapi fragment %s: %w", name, err)
				return
			}
			if fc, ok := f["components"].(map[string]any); ok {
				dc, _ := doc["components"].(map[string]any)
				if err := mergeInto(dc, fc, "schemas"); err != nil {
					openapiErr = fmt.Errorf("openapi fragment %s: %w", name, err)
					return
				}
			}
			if tags, ok := f["tags"].([]any); ok {
				doc["tags"] = append(doc["tags"].([]any), tags...)
			}
		}
		openapiMerged, openapiErr = json.MarshalIndent(doc, "", "  ")
	})
	return openapiMerged, openapiErr
}

// mergeInto copies src[key]'s entries into dst[key], refusing duplicates.
func mergeInto(dst, src map[string]any, key string) error {
	s, ok := src[key].(map[string]any)
	if !ok {
		return nil
	}
	d, ok := dst[key].(map[string]any)
	if !ok {
		d = map[string]any{}
		dst[key] = d
	}
	for k, v := range s {
		if _, dup := d[k]; dup {
			return fmt.Errorf("%s %q defined twice", key, k)
		}
		d[k] = v
	}
	return nil
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := openAPIDocument()
	if err != nil {
		http.Error(w, "OpenAPI document unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(doc)
}
