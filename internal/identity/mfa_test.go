package identity_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
)

var secretOnPage = regexp.MustCompile(`<code>([A-Z2-7]{16,})</code>`)
var recoveryOnPage = regexp.MustCompile(`<code>([A-Z2-7]{5}-[A-Z2-7]{5})</code>`)

// Identity: MFA (TOTP) for officials, required for the roles the
// administrator chooses; recovery codes single use; lockout applies to codes.
func TestMFASignIn(t *testing.T) {
	migs := append(identity.Migrations(), outbox.Migrations()...)
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *identity.Config) {
			c.SecretKey = []byte(strings.Repeat("m", 32))
			c.LoginEvents = true
		})
		ctx := context.Background()
		p := f.person(t, "canbo.an", "Nguyễn Văn An")
		if _, err := f.svc.Grant(ctx, nil, p.ID, identity.RoleHandler, "unit-1"); err != nil {
			t.Fatal(err)
		}
		admin := f.sysadmin(t, "quantri")
		srv := newSite(t, f)

		// The administrator requires MFA for handlers.
		av := newVisitor(t, srv)
		av.signIn("quantri", goodPassword)
		if st, _, _ := av.post("/admin/security", "/admin/security", url.Values{"mfa_roles": {"handler"}}); st != 303 {
			t.Fatalf("save setting: %d", st)
		}
		if roles, _ := f.svc.MFARequiredRoles(ctx); len(roles) != 1 || roles[0] != identity.RoleHandler {
			t.Fatalf("required roles: %v", roles)
		}
		_ = admin

		// First sign-in: password, then enrolment.
		v := newVisitor(t, srv)
		st, body, hdr := v.post("/login", "/login", url.Values{"username": {"canbo.an"}, "password": {goodPassword}, "next": {"/admin/people"}})
		if st != 303 || hdr.Get("Location") != "/login/mfa?next=%2Fadmin%2Fpeople" {
			t.Fatalf("after password: %d %s\n%s", st, hdr.Get("Location"), body)
		}
		if st, _, _ := v.get("/api/v1/me"); st != 401 {
			t.Fatalf("pending session is signed in: %d", st)
		}
		_, body, _ = v.get("/login/mfa?next=/admin/people")
		m := secretOnPage.FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
			t.Fatalf("no enrolment QR:\n%s", body)
		}
		secret := m[1]
		code, _ := totp.GenerateCode(secret, f.clock.Now())
		st, body, _ = v.post("/login/mfa?next=/admin/people", "/login/mfa", url.Values{"code": {code}, "next": {"/admin/people"}})
		recovery := recoveryOnPage.FindAllStringSubmatch(body, -1)
		if st != 200 || len(recovery) != identity.RecoveryCodes {
			t.Fatalf("enrolment: %d, %d recovery codes\n%s", st, len(recovery), body)
		}
		if st, _, _ := v.get("/api/v1/me"); st != 200 {
			t.Fatalf("signed in after MFA: %d", st)
		}

		// Next sign-in asks for a code; a code cannot be used twice.
		v2 := newVisitor(t, srv)
		v2.post("/login", "/login", url.Values{"username": {"canbo.an"}, "password": {goodPassword}})
		_, body, _ = v2.get("/login/mfa")
		if strings.Contains(body, "data:image/png") {
			t.Fatal("enrolled person shown a new QR code")
		}
		if st, _, _ := v2.post("/login/mfa", "/login/mfa", url.Values{"code": {code}}); st != 422 {
			t.Fatalf("replayed code: %d", st)
		}
		f.clock.Advance(30 * time.Second)
		code, _ = totp.GenerateCode(secret, f.clock.Now())
		if st, _, hdr := v2.post("/login/mfa", "/login/mfa", url.Values{"code": {code}}); st != 303 || hdr.Get("Location") != "/" {
			t.Fatalf("fresh code: %d", st)
		}

		// A recovery code works once.
		rc := recovery[0][1]
		v3 := newVisitor(t, srv)
		v3.post("/login", "/login", url.Values{"username": {"canbo.an"}, "password": {goodPassword}})
		if st, _, _ := v3.post("/login/mfa", "/login/mfa", url.Values{"code": {strings.ToLower(rc)}}); st != 303 {
			t.Fatalf("recovery code: %d", st)
		}
		v4 := newVisitor(t, srv)
		v4.post("/login", "/login", url.Values{"username": {"canbo.an"}, "password": {goodPassword}})
		if st, _, _ := v4.post("/login/mfa", "/login/mfa", url.Values{"code": {rc}}); st != 422 {
			t.Fatalf("recovery code reused: %d", st)
		}
		// Wrong codes lock the account like wrong passwords.
		var last int
		var page string
		// (one failure so far since the last right password: the reused
		// recovery code)
		for i := 0; i < 4; i++ {
			last, page, _ = v4.post("/login/mfa", "/login/mfa", url.Values{"code": {"000000"}})
		}
		if last != 403 || !strings.Contains(page, "Tài khoản tạm khóa") {
			t.Fatalf("lockout after wrong codes: %d\n%s", last, page)
		}

		if n := len(f.audit.find(identity.AuditMFASucceeded)); n != 3 {
			t.Fatalf("%d MFA sign-ins audited", n)
		}
		if len(f.audit.find(identity.AuditMFAEnabled)) != 1 || len(f.audit.find(identity.AuditMFARecovery)) != 1 {
			t.Fatal("enrolment or recovery not audited")
		}
		// Login notifications: one per completed sign-in, none for pending ones.
		var n int
		if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox_events WHERE topic = $1`, identity.TopicLogin).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 { // the administrator and three completed MFA sign-ins
			t.Fatalf("%d login events", n)
		}
		// The TOTP secret is encrypted at rest.
		var stored string
		d.Read().QueryRowContext(ctx, `SELECT secret FROM identity_mfa WHERE person_id = $1`, p.ID).Scan(&stored)
		if strings.Contains(stored, secret) || !strings.HasPrefix(stored, "v1:") {
			t.Fatalf("secret stored as %q", stored)
		}
	})
}

// Identity: sessions revocable by their owner.
func TestSessionsPage(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person(t, "canbo.an", "Nguyễn Văn An")
		srv := newSite(t, f)
		a, b := newVisitor(t, srv), newVisitor(t, srv)
		a.signIn("canbo.an", goodPassword)
		b.signIn("canbo.an", goodPassword)
		_, page, _ := a.get("/account/sessions")
		m := regexp.MustCompile(`/account/sessions/([^/]+)/revoke`).FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, "Phiên hiện tại") {
			t.Fatalf("sessions page:\n%s", page)
		}
		if st, _, _ := a.post("/account/sessions", "/account/sessions/"+m[1]+"/revoke", url.Values{}); st != 303 {
			t.Fatalf("revoke: %d", st)
		}
		if st, _, _ := b.get("/api/v1/me"); st != 401 {
			t.Fatalf("revoked session still works: %d", st)
		}
		if st, _, _ := a.get("/api/v1/me"); st != 200 {
			t.Fatalf("own session ended: %d", st)
		}
	})
}
