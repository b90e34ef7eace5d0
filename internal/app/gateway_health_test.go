package app

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/congso/congso/internal/config"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
)

// A worker node that publishes the dossier hand-offs has the gateway's
// settings and builds a gateway runtime, which it never runs: it exports
// none of a serving node's health (a registry age growing for ever would
// page, GatewayRegistryStale).
func TestWorkerExportsNoGatewayNodeHealth(t *testing.T) {
	keyPEM, err := gateway.GenerateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONGSO_GATEWAY_INSTANCE": "TA", "CONGSO_GATEWAY_SIGNING_KEY": string(keyPEM),
		"CONGSO_GATEWAY_POLL_INTERVAL": "100ms", "CONGSO_GATEWAY_HANDOFF_PUBLISHER": "TA/GOV/000.00.13.H99/MOTCUA"}
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })
	_, srv := testApp(t, db.SQLite, func(c *config.Config) { c.Role = "worker" })
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !regexp.MustCompile(`(?m)^congso_outbox_deliveries_pending\{`).Match(b) {
		t.Fatalf("metrics: %d, without the worker's own figures", resp.StatusCode)
	}
	for _, name := range []string{"congso_gateway_registry_age_seconds", "congso_gateway_nodes_live", "congso_gateway_circuit_open"} {
		if regexp.MustCompile(`(?m)^` + name + `[ {]`).Match(b) {
			t.Errorf("a worker node (no gateway runs on it) exports %s", name)
		}
	}
}
