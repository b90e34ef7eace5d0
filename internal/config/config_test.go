package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsGiveEmbeddedSetup(t *testing.T) {
	dir := t.TempDir()
	c, err := FromEnv(env(map[string]string{"CONGSO_DATA": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.DatabaseURL != filepath.Join(dir, "congso.db") || !strings.HasPrefix(c.BlobURL, "file://") {
		t.Fatalf("not the embedded default: %+v", c)
	}
	if len(c.Secret()) != 32 {
		t.Fatal("no secret key generated")
	}
	// The key survives a restart.
	c2, _ := FromEnv(env(map[string]string{"CONGSO_DATA": dir}))
	if err := c2.Finish(); err != nil || c2.SecretKey != c.SecretKey {
		t.Fatalf("secret changed across restarts: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "secret.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file mode %v", st.Mode())
	}
}

func TestBadValuesAreReported(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"CONGSO_RATE_LIMIT": "lots", "CONGSO_SECURE_COOKIES": "maybe", "CONGSO_SHUTDOWN_TIMEOUT": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "CONGSO_RATE_LIMIT") || !strings.Contains(err.Error(), "CONGSO_SECURE_COOKIES") || !strings.Contains(err.Error(), "CONGSO_SHUTDOWN_TIMEOUT") {
		t.Fatalf("err = %v", err)
	}
	c := Default()
	c.DataDir = t.TempDir()
	c.Role = "everything"
	if err := c.Finish(); err == nil {
		t.Fatal("bad role accepted")
	}
	c = Default()
	c.DatabaseURL = "postgres://x@127.0.0.1/db"
	c.DataDir = t.TempDir()
	if err := c.Finish(); err == nil || !strings.Contains(err.Error(), "CONGSO_SECRET_KEY") {
		t.Fatalf("PostgreSQL without a shared secret: %v", err)
	}
	c = Default()
	c.DataDir = t.TempDir()
	c.SecretKey = "abcd"
	if err := c.Finish(); err == nil {
		t.Fatal("short secret accepted")
	}
}
