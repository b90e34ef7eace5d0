package app

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/postal"
)

//go:embed openapi.json
var openapiJSON []byte

// fragments are the OpenAPI fragments of the modules this app serves:
// those of external systems (payment, postal, national portal) only when
// they are configured.
func (a *App) fragments() map[string][]byte {
	f := map[string][]byte{"dossier": dossier.OpenAPIFragment(), "statistics": stats.OpenAPIFragment(),
		"datastore": datastore.OpenAPIFragment(), "notify": notify.OpenAPIFragment(), "oidc": oidc.OpenAPIFragment(), "gateway": gateway.OpenAPIFragment()}
	if a.Payment != nil {
		f["payment"] = payment.OpenAPIFragment()
	}
	if a.Postal != nil {
		f["postal"] = postal.OpenAPIFragment()
	}
	if a.National != nil {
		f["nationalportal"] = nationalportal.OpenAPIFragment()
	}
	return f
}

// openAPIDocument is the app's document with the fragments modules ship
// beside their handlers merged in: their paths, tags and schemas.
func openAPIDocument(fragments map[string][]byte) ([]byte, error) {
	var openapiMerged []byte
	var openapiErr error
	func() {
		var doc map[string]any
		if openapiErr = json.Unmarshal(openapiJSON, &doc); openapiErr != nil {
			return
		}
		names := make([]string, 0, len(fragments))
		for n := range fragments {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			frag := fragments[name]
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
	}()
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

func (a *App) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc := a.openapi
	if doc == nil {
		http.Error(w, "OpenAPI document unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(doc)
}
