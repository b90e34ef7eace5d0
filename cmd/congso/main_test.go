package main

import (
	"bytes"
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// runCLI runs the command in-process against the data folder dir.
func runCLI(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("CONGSO_DATA", dir)
	t.Setenv("CONGSO_LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionAndUsage(t *testing.T) {
	dir := t.TempDir()
	if code, out, _ := runCLI(t, dir, "", "version"); code != 0 || !strings.HasPrefix(out, "congso ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, dir, "", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, dir, ""); code != 2 {
		t.Fatalf("no command: %d", code)
	}
}

func TestMigrateStatus(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, dir, "", "migrate", "--status")
	if code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("status on empty db: %d %q %q", code, out, errs)
	}
	if code, out, _ = runCLI(t, dir, "", "migrate"); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate: %d %q", code, out)
	}
	if code, out, _ = runCLI(t, dir, "", "migrate", "--status"); code != 0 || strings.TrimSpace(out) != "up to date" {
		t.Fatalf("status after migrate: %d %q", code, out)
	}
}

func TestUserCommandsAndAuditVerify(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, dir, "", "user", "create", "-username", "tranb", "-name", "Trần Thị B")
	if code != 0 || !strings.Contains(out, "temporary password") {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	if code, _, errs = runCLI(t, dir, "", "user", "create", "-username", "tranb", "-name", "Trùng tên"); code != 1 || errs == "" {
		t.Fatalf("duplicate username: %d %q", code, errs)
	}
	if code, out, errs = runCLI(t, dir, "", "user", "grant", "-username", "tranb", "-role", "sysadmin"); code != 0 || !strings.Contains(out, "province-wide") {
		t.Fatalf("grant: %d %q %q", code, out, errs)
	}
	if code, _, errs = runCLI(t, dir, "", "user", "grant", "-username", "tranb", "-role", "emperor"); code == 0 {
		t.Fatalf("unknown role accepted: %q", errs)
	}
	if code, _, errs = runCLI(t, dir, "short\n", "user", "reset-password", "-username", "tranb", "-password-stdin"); code == 0 {
		t.Fatalf("weak password accepted: %q", errs)
	}
	if code, out, errs = runCLI(t, dir, "mot-mat-khau-that-dai-2026\n", "user", "reset-password", "-username", "tranb", "-password-stdin"); code != 0 {
		t.Fatalf("reset: %d %q %q", code, out, errs)
	}
	if code, out, _ = runCLI(t, dir, "", "user", "list", "-q", "tran"); code != 0 || !strings.Contains(out, "Trần Thị B") {
		t.Fatalf("list: %d %q", code, out)
	}
	// The only system administrator cannot be revoked.
	if code, out, errs = runCLI(t, dir, "", "user", "revoke", "-username", "tranb", "-role", "sysadmin"); code != 1 || !strings.Contains(errs, "last system administrator") {
		t.Fatalf("revoking the last sysadmin: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, dir, "", "audit", "verify")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %q", code, out)
	}
	code, out, _ = runCLI(t, dir, "", "audit", "export")
	if code != 0 || strings.Count(out, "\n") < 3 || !strings.Contains(out, `"actor"`) {
		t.Fatalf("export: %d %q", code, out)
	}

	// Tampering with an entry (bypassing the append-only triggers) is reported.
	d, err := sql.Open("sqlite", dir+"/congso.db")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`DROP TRIGGER IF EXISTS audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	var trig string
	rows, _ := d.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`)
	for rows.Next() {
		rows.Scan(&trig)
		d.Exec(`DROP TRIGGER ` + trig)
	}
	rows.Close()
	if _, err := d.Exec(`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	code, out, _ = runCLI(t, dir, "", "audit", "verify")
	if code != 1 || !strings.Contains(out, "2") {
		t.Fatalf("tampered log: %d %q", code, out)
	}
}

// congso gateway: a key, a binding of an OAuth client, an intact (empty)
// log, the doctor; bad arguments are usage errors.
func TestGatewayCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, dir, "", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	code, keyPEM, _ := runCLI(t, dir, "", "gateway", "keygen")
	if code != 0 || !strings.HasPrefix(keyPEM, "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("keygen: %d %q", code, keyPEM)
	}
	if code, out, errs := runCLI(t, dir, "", "gateway", "bind-client", "he-thong-a", "TA/GOV/000.00.13.H99/MOTCUA"); code != 0 || !strings.Contains(out, "he-thong-a") {
		t.Fatalf("bind-client: %d %q %q", code, out, errs)
	}
	if code, _, _ := runCLI(t, dir, "", "gateway", "bind-client", "he-thong-a", "not/a/subsystem/id/at/all/x"); code == 0 {
		t.Fatal("a malformed subsystem was accepted")
	}
	if code, _, _ := runCLI(t, dir, "", "gateway", "bind-client", "only-one-arg"); code != 2 {
		t.Fatalf("missing argument: %d, want 2", code)
	}
	if code, out, _ := runCLI(t, dir, "", "gateway", "verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %q", code, out)
	}
	if code, out, _ := runCLI(t, dir, "", "gateway", "doctor"); code != 0 || !strings.Contains(out, "database") {
		t.Fatalf("doctor: %d %q", code, out)
	}
	// retire: it signs, so it needs the key; a node it never heard of is
	// refused.
	if code, _, errs := runCLI(t, dir, "", "gateway", "retire", "n9"); code != 1 || !strings.Contains(errs, "CONGSO_GATEWAY_SIGNING_KEY") {
		t.Fatalf("retire without a key: %d %q", code, errs)
	}
	t.Setenv("CONGSO_GATEWAY_SIGNING_KEY", keyPEM)
	if code, _, errs := runCLI(t, dir, "", "gateway", "retire", "n9"); code != 1 || !strings.Contains(errs, "no node n9") {
		t.Fatalf("retire an unknown node: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, dir, "", "gateway", "retire"); code != 2 {
		t.Fatalf("retire without a node: %d, want 2", code)
	}
	if code, _, _ := runCLI(t, dir, "", "gateway", "frobnicate"); code != 2 {
		t.Fatalf("unknown action: %d, want 2", code)
	}
}
