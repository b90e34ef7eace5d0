package gateway

import (
	"os"
	"runtime/debug"
	"testing"
)

// A gateway-only node collects less often, unless the operator set GOGC.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	if got := TuneGC(); got != NodeGCPercent || debug.SetGCPercent(NodeGCPercent) != NodeGCPercent {
		t.Fatalf("without GOGC: %d", got)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150) // as the runtime read it at start
	if got := TuneGC(); got != 150 || debug.SetGCPercent(150) != 150 {
		t.Fatalf("with GOGC=150: %d", got)
	}
}
