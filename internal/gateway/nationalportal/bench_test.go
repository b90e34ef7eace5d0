package nationalportal_test

import (
	"testing"

	"github.com/congso/congso/internal/platform/db/dbtest"
)

// BenchmarkSync measures one outbound sync of a received dossier over
// loopback (read the dossier, lease, upsert, progress, record), SQLite.
func BenchmarkSync(b *testing.B) {
	d := dbtest.SQLite(b, migrations())
	e := newEnv(b, d)
	codes := make([]string, b.N)
	for i := range codes {
		codes[i] = e.receive("Bench").Code
	}
	b.ResetTimer()
	for _, c := range codes {
		if err := e.np.Sync(e.ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
