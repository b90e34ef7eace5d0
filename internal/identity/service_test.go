package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func TestCreateAndAuthenticate(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		created, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{
			Kind: identity.KindApplicant, Username: "  TranThiB ", FullName: " Trần Thị Bình ",
			Email: "binh@example.vn", Phone: "0912 345 678", PersonalID: "079123456789", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if created.Username != "tranthib" || created.FullName != "Trần Thị Bình" || created.Phone != "0912345678" ||
			created.Status != identity.StatusActive || !created.HasPassword {
			t.Fatalf("created = %+v", created)
		}
		p, token, err := f.svc.Authenticate(ctx, "TRANTHIB", goodPassword, identity.Client{IP: "198.51.100.4", UserAgent: "Firefox"})
		if err != nil {
			t.Fatalf("sign-in with upper-case username: %v", err)
		}
		if p.PersonID != created.ID || p.FullName != "Trần Thị Bình" || p.Kind != identity.KindApplicant || p.SessionID == "" {
			t.Fatalf("principal = %+v", p)
		}
		if len(token) != 43 || strings.ContainsAny(token, "+/=") {
			t.Fatalf("token %q is not 32 bytes of base64url", token)
		}
		var stored int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_sessions WHERE token_hash = $1`, token).Scan(&stored)
		if stored != 0 {
			t.Fatal("the raw token is stored in the database")
		}
		again, err := f.svc.SessionPrincipal(ctx, token)
		if err != nil || again.PersonID != created.ID || again.SessionID != p.SessionID {
			t.Fatalf("session principal = %+v, %v", again, err)
		}
		got, err := f.svc.GetPerson(ctx, created.ID)
		if err != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(f.clock.Now()) || got.PersonalID != "079123456789" {
			t.Fatalf("person after sign-in = %+v, %v", got, err)
		}
		ok := f.audit.find(identity.AuditLoginSucceeded)
		if len(ok) != 1 || ok[0].Subject != created.ID || ok[0].IP != "198.51.100.4" || ok[0].Details["method"] != "password" {
			t.Fatalf("login audit = %+v", ok)
		}
		if len(f.audit.find(identity.AuditPersonCreated)) != 1 {
			t.Fatal("person creation not audited")
		}
		for k, v := range ok[0].Details {
			if s, _ := v.(string); s == token || strings.Contains(s, goodPassword) {
				t.Fatalf("audit detail %s leaks a secret", k)
			}
		}
	})
}

func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		_, _, errWrong := f.svc.Authenticate(ctx, "nguyenvana", goodPassword+"x", identity.Client{IP: "192.0.2.1"})
		_, _, errUnknown := f.svc.Authenticate(ctx, "nobody", goodPassword, identity.Client{IP: "192.0.2.1"})
		if !errors.Is(errWrong, identity.ErrInvalidCredentials) || !errors.Is(errUnknown, identity.ErrInvalidCredentials) {
			t.Fatalf("errors = %v / %v, want ErrInvalidCredentials for both", errWrong, errUnknown)
		}
		if errWrong.Error() != errUnknown.Error() {
			t.Fatalf("messages differ: %q vs %q", errWrong, errUnknown)
		}
		failed := f.audit.find(identity.AuditLoginFailed)
		if len(failed) != 2 {
			t.Fatalf("failed sign-ins audited: %d, want 2", len(failed))
		}
		if failed[0].Subject != p.ID || failed[0].Details["reason"] != "wrong_password" || failed[0].IP != "192.0.2.1" {
			t.Fatalf("wrong password audit = %+v", failed[0])
		}
		if failed[1].Subject != "" || failed[1].Details["reason"] != "unknown_username" || failed[1].Details["username"] != "nobody" {
			t.Fatalf("unknown user audit = %+v", failed[1])
		}
		// An account without a password cannot sign in with an empty one.
		np, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "nopass", FullName: "Không Mật Khẩu"})
		if err != nil || np.HasPassword {
			t.Fatalf("create without password: %+v %v", np, err)
		}
		if _, _, err := f.svc.Authenticate(ctx, "nopass", "", identity.Client{}); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("empty password on account without one: %v", err)
		}
	})
}

func TestLockoutAndExpiry(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		wrong := func() error {
			_, _, err := f.svc.Authenticate(ctx, "nguyenvana", "sai mật khẩu rồi", identity.Client{})
			return err
		}
		for i := 1; i <= 4; i++ {
			if err := wrong(); !errors.Is(err, identity.ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
			f.clock.Advance(time.Minute)
		}
		err := wrong()
		var locked *identity.LockedError
		if !errors.As(err, &locked) || !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("5th failure: %v, want a lockout", err)
		}
		if want := f.clock.Now().Add(15 * time.Minute); !locked.Until.Equal(want) {
			t.Fatalf("locked until %v, want %v", locked.Until, want)
		}
		if n := len(f.audit.find(identity.AuditAccountLocked)); n != 1 {
			t.Fatalf("lockouts audited: %d", n)
		}
		// The right password does not help while locked.
		if _, _, err := f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{}); !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("right password while locked: %v", err)
		}
		p, _ := f.svc.PersonByUsername(ctx, "nguyenvana")
		if p.StatusAt(f.clock.Now()) != identity.StatusLocked {
			t.Fatalf("status = %s", p.StatusAt(f.clock.Now()))
		}
		f.clock.Advance(14*time.Minute + 59*time.Second)
		if _, _, err := f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{}); !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("one second before the end: %v", err)
		}
		f.clock.Advance(time.Second)
		f.login(t, "nguyenvana", goodPassword)
		p, _ = f.svc.PersonByUsername(ctx, "nguyenvana")
		if p.Status != identity.StatusActive || p.LockedUntil != nil {
			t.Fatalf("after lockout ended: %s %v", p.Status, p.LockedUntil)
		}
		// The success reset the count: four more failures do not lock.
		for i := 0; i < 4; i++ {
			if err := wrong(); !errors.Is(err, identity.ErrInvalidCredentials) {
				t.Fatalf("failure after reset: %v", err)
			}
		}
		f.login(t, "nguyenvana", goodPassword)
		// Failures spread beyond the window do not add up.
		for i := 0; i < 4; i++ {
			wrong()
		}
		f.clock.Advance(16 * time.Minute)
		for i := 0; i < 4; i++ {
			if err := wrong(); !errors.Is(err, identity.ErrInvalidCredentials) {
				t.Fatalf("failure %d of a new window: %v", i+1, err)
			}
		}
	})
}

func TestLockoutIsConfigurable(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *identity.Config) {
			c.Lockout = identity.LockoutPolicy{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}
		})
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		ctx := context.Background()
		f.svc.Authenticate(ctx, "nguyenvana", "nope nope nope", identity.Client{})
		_, _, err := f.svc.Authenticate(ctx, "nguyenvana", "nope nope nope", identity.Client{})
		var locked *identity.LockedError
		if !errors.As(err, &locked) || !locked.Until.Equal(f.clock.Now().Add(time.Hour)) {
			t.Fatalf("2nd failure with MaxFailures 2: %v", err)
		}
	})
}

func TestDisabledAccount(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		admin := f.sysadmin(t, "admin")
		ap, _ := f.login(t, "admin", goodPassword)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		_, token := f.login(t, "nguyenvana", goodPassword)
		if err := f.svc.SetStatus(ctx, ap, p.ID, identity.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SessionPrincipal(ctx, token); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("session of a disabled account: %v", err)
		}
		if _, _, err := f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{}); !errors.Is(err, identity.ErrAccountDisabled) {
			t.Fatalf("right password on disabled account: %v", err)
		}
		if _, _, err := f.svc.Authenticate(ctx, "nguyenvana", "wrong password!", identity.Client{}); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("wrong password on disabled account: %v (must not reveal the state)", err)
		}
		if _, _, err := f.svc.StartSession(ctx, p.ID, "oidc:vneid", identity.Client{}); !errors.Is(err, identity.ErrAccountDisabled) {
			t.Fatalf("federated sign-in of disabled account: %v", err)
		}
		ev := f.audit.find(identity.AuditStatusChanged)
		if len(ev) != 1 || ev[0].ActorID != admin.ID || ev[0].Details["to"] != "disabled" || ev[0].Details["sessions_revoked"] != int64(1) {
			t.Fatalf("status audit = %+v", ev)
		}
		if err := f.svc.SetStatus(ctx, ap, p.ID, identity.StatusActive); err != nil {
			t.Fatal(err)
		}
		f.login(t, "nguyenvana", goodPassword)
		// An administrator's lock has no end and needs an unlock.
		if err := f.svc.SetStatus(ctx, ap, p.ID, identity.StatusLocked); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * 24 * time.Hour)
		_, _, err := f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{})
		var locked *identity.LockedError
		if !errors.As(err, &locked) || !locked.Until.IsZero() {
			t.Fatalf("admin-locked account a month later: %v", err)
		}
		if err := f.svc.SetStatus(ctx, ap, p.ID, "gone"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("unknown status: %v", err)
		}
	})
}

func TestSessionIdleAbsoluteAndRevocation(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, func(c *identity.Config) {
			c.Sessions = identity.SessionPolicy{IdleTimeout: 30 * time.Minute, Lifetime: 2 * time.Hour}
		})
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		start := f.clock.Now()
		_, token := f.login(t, "nguyenvana", goodPassword)
		alive := func() bool {
			_, err := f.svc.SessionPrincipal(ctx, token)
			if err != nil && !errors.Is(err, identity.ErrNoSession) {
				t.Fatal(err)
			}
			return err == nil
		}
		// Activity within a minute is not written (one write a minute at most).
		f.clock.Advance(30 * time.Second)
		alive()
		sessions, _ := f.svc.ListSessions(ctx, p.ID)
		if len(sessions) != 1 || !sessions[0].LastSeenAt.Equal(start) || sessions[0].IP != "203.0.113.7" {
			t.Fatalf("sessions = %+v; last seen should still be the sign-in time", sessions)
		}
		f.clock.Advance(31 * time.Second)
		alive()
		sessions, _ = f.svc.ListSessions(ctx, p.ID)
		if !sessions[0].LastSeenAt.Equal(f.clock.Now()) {
			t.Fatalf("last seen %v, want %v", sessions[0].LastSeenAt, f.clock.Now())
		}
		// Used every 29 minutes, the session lives until its absolute end.
		for f.clock.Now().Add(29 * time.Minute).Before(start.Add(2 * time.Hour)) {
			f.clock.Advance(29 * time.Minute)
			if !alive() {
				t.Fatalf("session ended early at %v", f.clock.Now().Sub(start))
			}
		}
		f.clock.Advance(start.Add(2 * time.Hour).Sub(f.clock.Now()))
		if alive() {
			t.Fatal("session outlived its lifetime")
		}
		// Idle expiry.
		_, token = f.login(t, "nguyenvana", goodPassword)
		f.clock.Advance(29 * time.Minute)
		if !alive() {
			t.Fatal("session ended before the idle timeout")
		}
		f.clock.Advance(30 * time.Minute)
		if alive() {
			t.Fatal("idle session still valid")
		}
		// Logout and revocation.
		_, token = f.login(t, "nguyenvana", goodPassword)
		if err := f.svc.Logout(ctx, token); err != nil {
			t.Fatal(err)
		}
		if alive() {
			t.Fatal("session valid after logout")
		}
		if err := f.svc.Logout(ctx, token); err != nil {
			t.Fatalf("second logout: %v", err)
		}
		if n := len(f.audit.find(identity.AuditLogout)); n != 1 {
			t.Fatalf("logouts audited: %d, want 1", n)
		}
		_, t1 := f.login(t, "nguyenvana", goodPassword)
		p2, t2 := f.login(t, "nguyenvana", goodPassword)
		sessions, _ = f.svc.ListSessions(ctx, p.ID)
		if len(sessions) != 2 {
			t.Fatalf("active sessions = %d, want 2 (ended ones are not listed)", len(sessions))
		}
		other := f.person(t, "tranthib", "Trần Thị Bình")
		if err := f.svc.RevokeSession(ctx, nil, other.ID, p2.SessionID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("revoking someone else's session through another person: %v", err)
		}
		if err := f.svc.RevokeSession(ctx, nil, p.ID, p2.SessionID); err != nil {
			t.Fatal(err)
		}
		token = t2
		if alive() {
			t.Fatal("revoked session valid")
		}
		token = t1
		if !alive() {
			t.Fatal("revoking one session ended another")
		}
		if n, err := f.svc.RevokeAllSessions(ctx, nil, p.ID); err != nil || n != 1 {
			t.Fatalf("revoke all = %d, %v", n, err)
		}
		if alive() {
			t.Fatal("session valid after revoke all")
		}
		for _, bad := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("é", 22)} {
			if _, err := f.svc.SessionPrincipal(ctx, bad); !errors.Is(err, identity.ErrNoSession) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		f.clock.Advance(48 * time.Hour)
		_, token = f.login(t, "nguyenvana", goodPassword)
		n, err := f.svc.DeleteStaleSessions(ctx, 24*time.Hour)
		if err != nil || n != 5 {
			t.Fatalf("deleted stale sessions = %d, %v; want the 5 ended ones", n, err)
		}
		if !alive() {
			t.Fatal("cleanup deleted a session in force")
		}
	})
}

func TestGrantScoping(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		admin := f.sysadmin(t, "admin")
		ap, _ := f.login(t, "admin", goodPassword)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		g, err := f.svc.Grant(ctx, ap, p.ID, identity.RoleOfficer, "unit-A")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Grant(ctx, ap, p.ID, identity.RoleHandler, identity.ProvinceWide); err != nil {
			t.Fatal(err)
		}
		pr, _ := f.login(t, "nguyenvana", goodPassword)
		checks := []struct {
			action identity.Action
			unit   string
			want   bool
		}{
			{identity.ActionDossierReceive, "unit-A", true},
			{identity.ActionDossierReceive, "unit-B", false},
			{identity.ActionDossierReceive, identity.ProvinceWide, false}, // unit grant does not reach province-level actions
			{identity.ActionDossierProcess, "unit-A", true},               // province-wide grant reaches every unit
			{identity.ActionDossierProcess, "unit-Z", true},
			{identity.ActionDossierProcess, identity.ProvinceWide, true},
			{identity.ActionDossierSign, "unit-A", false},
			{identity.ActionCatalogEdit, identity.ProvinceWide, false},
			{identity.ActionUserManage, identity.ProvinceWide, false},
			{"no.such.action", "unit-A", false},
		}
		for _, c := range checks {
			if got := identity.Can(ctx, pr, c.action, c.unit); got != c.want {
				t.Errorf("Can(%s, %q) = %v, want %v", c.action, c.unit, got, c.want)
			}
		}
		if err := identity.Require(ctx, pr, identity.ActionDossierSign, "unit-A"); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("Require forbidden: %v", err)
		}
		if err := identity.Require(ctx, nil, identity.ActionDossierReceive, "unit-A"); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("Require anonymous: %v", err)
		}
		if identity.Can(ctx, nil, identity.ActionDossierReceive, "unit-A") {
			t.Error("anonymous allowed")
		}
		units, all := identity.UnitsFor(pr, identity.ActionDossierReceive)
		if all || fmt.Sprint(units) != "[unit-A]" {
			t.Errorf("UnitsFor receive = %v %v", units, all)
		}
		if _, all := identity.UnitsFor(pr, identity.ActionDossierProcess); !all {
			t.Error("UnitsFor process should be everywhere")
		}
		// sysadmin may do everything, even actions not in the table.
		for _, a := range []identity.Action{identity.ActionUserManage, identity.ActionCatalogEdit, "no.such.action"} {
			if !identity.Can(ctx, ap, a, "unit-Q") || !identity.Can(ctx, ap, a, identity.ProvinceWide) {
				t.Errorf("sysadmin refused %s", a)
			}
		}
		if _, err := f.svc.Grant(ctx, ap, p.ID, identity.RoleOfficer, "unit-A"); !errors.Is(err, identity.ErrGrantExists) {
			t.Fatalf("duplicate grant: %v", err)
		}
		if _, err := f.svc.Grant(ctx, ap, p.ID, identity.RoleSysadmin, "unit-A"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("unit-scoped sysadmin: %v", err)
		}
		if _, err := f.svc.Grant(ctx, ap, p.ID, "emperor", ""); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("unknown role: %v", err)
		}
		if _, err := f.svc.Grant(ctx, ap, "no-such-person", identity.RoleClerk, ""); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("grant to nobody: %v", err)
		}
		// Revoke: the next request of the same session no longer has the role.
		_, token := f.login(t, "nguyenvana", goodPassword)
		if err := f.svc.RevokeGrant(ctx, ap, p.ID, g.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RevokeGrant(ctx, ap, p.ID, g.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if err := f.svc.RevokeGrant(ctx, ap, admin.ID, g.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("revoking through the wrong person: %v", err)
		}
		pr, _ = f.svc.SessionPrincipal(ctx, token)
		if identity.Can(ctx, pr, identity.ActionDossierReceive, "unit-A") {
			t.Fatal("revoked grant still allows")
		}
		full, _ := f.svc.GetPerson(ctx, p.ID)
		if len(full.Grants) != 2 || full.Grants[0].RevokedAt == nil || full.Grants[0].RevokedBy != admin.ID || full.Grants[0].GrantedBy != admin.ID {
			t.Fatalf("grant history = %+v", full.Grants)
		}
		if len(f.audit.find(identity.AuditGrantRevoked)) != 1 || len(f.audit.find(identity.AuditGrantAdded)) != 3 {
			t.Fatal("grants not audited once each")
		}
		// The same role may be granted again after a revoke.
		if _, err := f.svc.Grant(ctx, ap, p.ID, identity.RoleOfficer, "unit-A"); err != nil {
			t.Fatalf("re-grant after revoke: %v", err)
		}
		people, err := f.svc.Grantees(ctx, identity.RoleOfficer, "unit-A")
		if err != nil || len(people) != 1 || people[0].ID != p.ID {
			t.Fatalf("grantees = %+v, %v", people, err)
		}
	})
}

func TestLastSysadminIsKept(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		a := f.sysadmin(t, "admin")
		full, _ := f.svc.GetPerson(ctx, a.ID)
		if err := f.svc.RevokeGrant(ctx, nil, a.ID, full.Grants[0].ID); !errors.Is(err, identity.ErrLastSysadmin) {
			t.Fatalf("revoke last sysadmin: %v", err)
		}
		if err := f.svc.SetStatus(ctx, nil, a.ID, identity.StatusDisabled); !errors.Is(err, identity.ErrLastSysadmin) {
			t.Fatalf("disable last sysadmin: %v", err)
		}
		b := f.sysadmin(t, "admin2")
		if err := f.svc.SetStatus(ctx, nil, a.ID, identity.StatusDisabled); err != nil {
			t.Fatalf("disable one of two sysadmins: %v", err)
		}
		full, _ = f.svc.GetPerson(ctx, b.ID)
		if err := f.svc.RevokeGrant(ctx, nil, b.ID, full.Grants[0].ID); !errors.Is(err, identity.ErrLastSysadmin) {
			t.Fatalf("revoke the last active sysadmin (the other is disabled): %v", err)
		}
	})
}

func TestPasswordPolicy(t *testing.T) {
	pol := identity.DefaultPasswordPolicy
	cases := []struct {
		pw, code string
	}{
		{"ngắn quá", "password_too_short"},
		{"123456789", "password_too_short"},
		{strings.Repeat("dài ", 40), "password_too_long"},
		{"NguyenVanA", "password_contains_username"},
		{"nguyenvana2026!", "password_contains_username"},
		{"an.nguyen.1990", "password_contains_username"}, // the email's local part
		{"Nguyễn Văn An", "password_is_name"},
		{"1234567890", "password_too_common"},
		{"matkhau123", "password_too_common"},
		{"MẬTKHẨU123", "password_too_common"},
		{"aaaaaaaaaaaa", "password_too_common"},
		{"abcdefghijk", "password_too_common"},
		{"9876543210", "password_too_common"},
		{goodPassword, ""},
		{"correct horse battery staple", ""},
		{"Đèo Hải Vân 2026", ""},
	}
	for _, c := range cases {
		errs := pol.Check(c.pw, "NguyenVanA", "Nguyễn Văn An", "an.nguyen.1990@example.vn")
		got := ""
		if len(errs) > 0 {
			got = errs[0].Code
			if !errors.Is(errs, identity.ErrInvalid) || errs[0].Field != "password" {
				t.Errorf("%q: %v is not a password validation error", c.pw, errs)
			}
		}
		if got != c.code {
			t.Errorf("Check(%q) = %q, want %q", c.pw, got, c.code)
		}
	}
	errs := pol.Check("short", "", "", "")
	if msg := errs[0].Message("vi"); msg != "Mật khẩu phải có ít nhất 10 ký tự." {
		t.Errorf("Vietnamese message = %q", msg)
	}
	if msg := errs[0].Message("en"); msg != "The password must be at least 10 characters long." {
		t.Errorf("English message = %q", msg)
	}
	if !strings.Contains(errs.Error(), "ít nhất 10 ký tự") {
		t.Errorf("Error() = %q, want the Vietnamese text", errs.Error())
	}
	strict := identity.PasswordPolicy{MinLength: 16}
	if errs := strict.Check(goodPassword[:15], "", "", ""); len(errs) == 0 || errs[0].Args[1] != 16 {
		t.Errorf("configured minimum not applied: %v", errs)
	}
}

func TestServiceValidatesInput(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		_, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: "alien", Username: "x", FullName: "", Email: "not-an-email",
			Phone: "12345", PersonalID: "12345678901", Password: "short"})
		var v identity.ValidationError
		if !errors.As(err, &v) {
			t.Fatalf("err = %v, want a ValidationError", err)
		}
		fields := map[string]string{}
		for _, fe := range v {
			fields[fe.Field] = fe.Code
		}
		want := map[string]string{"kind": "invalid_kind", "username": "username_length", "full_name": "required",
			"email": "invalid_email", "phone": "invalid_phone", "personal_id": "invalid_personal_id", "password": "password_too_short"}
		if fmt.Sprint(fields) != fmt.Sprint(want) {
			t.Fatalf("fields = %v\nwant     %v", fields, want)
		}
		for _, u := range []string{"nguyễnvăna", "-abc", "a b c", "abc;drop", "ab"} {
			_, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: u, FullName: "X"})
			if !errors.Is(err, identity.ErrInvalid) {
				t.Errorf("username %q accepted: %v", u, err)
			}
		}
		f.person(t, "NguyenVanA", "Nguyễn Văn An")
		if _, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "nguyenvana", FullName: "Khác"}); !errors.Is(err, identity.ErrUsernameTaken) {
			t.Fatalf("same username in another case: %v", err)
		}
		if _, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "c1", FullName: "C", PersonalID: "001099000001"}); err == nil {
			t.Fatal("two-letter username accepted")
		}
		if _, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "citizen1", FullName: "C", PersonalID: "001099000001"}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "citizen2", FullName: "C", PersonalID: "001099000001"})
		if !errors.Is(err, identity.ErrPersonalIDTaken) {
			t.Fatalf("duplicate personal ID: %v", err)
		}
		got, err := f.svc.PersonByPersonalID(ctx, "001099000001")
		if err != nil || got.Username != "citizen1" {
			t.Fatalf("by personal ID = %+v %v", got, err)
		}
		got, err = f.svc.PersonByUsername(ctx, "  NGUYENVANA")
		if err != nil || got.FullName != "Nguyễn Văn An" {
			t.Fatalf("by username = %+v %v", got, err)
		}
		if _, err := f.svc.GetPerson(ctx, "missing"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("missing person: %v", err)
		}
	})
}

func TestChangeAndResetPassword(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		first, firstToken := f.login(t, "nguyenvana", goodPassword)
		_, otherToken := f.login(t, "nguyenvana", goodPassword)
		const newPw = "Sông Hương núi Ngự 1945"
		if err := f.svc.ChangePassword(ctx, first, "wrong old password", newPw); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("wrong old password: %v", err)
		}
		err := f.svc.ChangePassword(ctx, first, goodPassword, goodPassword)
		var v identity.ValidationError
		if !errors.As(err, &v) || v[0].Code != "password_unchanged" || v[0].Field != "new_password" {
			t.Fatalf("unchanged password: %v", err)
		}
		if err := f.svc.ChangePassword(ctx, first, goodPassword, "tooshort"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("weak new password: %v", err)
		}
		if err := f.svc.ChangePassword(ctx, nil, goodPassword, newPw); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("anonymous change: %v", err)
		}
		if err := f.svc.ChangePassword(ctx, first, goodPassword, newPw); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SessionPrincipal(ctx, firstToken); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		if _, err := f.svc.SessionPrincipal(ctx, otherToken); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("other session survived a password change: %v", err)
		}
		if _, _, err := f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{}); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("old password still works: %v", err)
		}
		f.login(t, "nguyenvana", newPw)

		// An administrator's reset: sessions end, lockout ends, must change.
		for i := 0; i < 5; i++ {
			f.svc.Authenticate(ctx, "nguyenvana", "wrong wrong wrong", identity.Client{})
		}
		const temp = "Tạm thời 2026 đổi ngay"
		if err := f.svc.ResetPassword(ctx, nil, p.ID, temp); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SessionPrincipal(ctx, firstToken); !errors.Is(err, identity.ErrNoSession) {
			t.Fatalf("session survived a reset: %v", err)
		}
		pr, _ := f.login(t, "nguyenvana", temp)
		if !pr.MustChangePassword {
			t.Fatal("reset password does not have to be changed")
		}
		if err := f.svc.ResetPassword(ctx, nil, p.ID, "nguyenvana123"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("reset to a weak password: %v", err)
		}
		if err := f.svc.ResetPassword(ctx, nil, "missing", temp); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("reset for nobody: %v", err)
		}
		if err := f.svc.ChangePassword(ctx, pr, temp, newPw+"!"); err != nil {
			t.Fatal(err)
		}
		pr, _ = f.login(t, "nguyenvana", newPw+"!")
		if pr.MustChangePassword {
			t.Fatal("still must change after changing")
		}
		if len(f.audit.find(identity.AuditPasswordReset)) != 1 || len(f.audit.find(identity.AuditPasswordChanged)) != 2 {
			t.Fatal("password changes not audited")
		}
	})
}

func TestPasswordsAreRehashedWhenCostsChange(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		stronger := identity.PasswordParams{Time: 2, Memory: 128, Threads: 1, KeyLen: 32, SaltLen: 16}
		g := newFixture(t, d, func(c *identity.Config) { c.PasswordParams = stronger })
		g.login(t, "nguyenvana", goodPassword)
		var hash string
		d.Read().QueryRowContext(ctx, `SELECT password_hash FROM identity_people WHERE username = 'nguyenvana'`).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=128,t=2,p=1$") {
			t.Fatalf("hash not upgraded: %s", hash)
		}
		g.login(t, "nguyenvana", goodPassword)
	})
}

func TestPasswordHashFormat(t *testing.T) {
	h1, err := identity.HashPassword(goodPassword, identity.CheapPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := identity.HashPassword(goodPassword, identity.CheapPasswordParams)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	parts := strings.Split(h1, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" || parts[3] != "m=64,t=1,p=1" || len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("not a PHC argon2id string: %s", h1)
	}
	if ok, p, err := identity.VerifyPassword(goodPassword, h1); !ok || err != nil || p != identity.CheapPasswordParams {
		t.Fatalf("verify = %v %+v %v", ok, p, err)
	}
	if ok, _, _ := identity.VerifyPassword(goodPassword+" ", h1); ok {
		t.Fatal("a different password verified")
	}
	// The same letters typed precomposed or with combining marks are one password.
	nfd := "Ho\u0061\u0300 Bi\u0300nh 2026 xyz"
	nfc := "Hoà Bình 2026 xyz"
	h, _ := identity.HashPassword(nfd, identity.CheapPasswordParams)
	if ok, _, _ := identity.VerifyPassword(nfc, h); !ok {
		t.Fatal("NFC and NFD forms of a password differ")
	}
	// Made by the reference C implementation (libargon2's argon2id_hash_encoded,
	// t=2, m=64, p=1, salt "congso-salt-16by"): hashes move between tools.
	const ref = "$argon2id$v=19$m=64,t=2,p=1$Y29uZ3NvLXNhbHQtMTZieQ$OlbUfU6vG9mL6uydQiR+eR5DOzkoLa5JWWACpYjFME0"
	if ok, p, err := identity.VerifyPassword(goodPassword, ref); !ok || err != nil || p.Time != 2 {
		t.Fatalf("reference hash: ok=%v %+v %v", ok, p, err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaA", "plaintext"} {
		if _, _, err := identity.VerifyPassword("x", bad); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestConcurrentAuthentications(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		f.person(t, "tranthib", "Trần Thị Bình")
		const n = 16
		var wg sync.WaitGroup
		tokens := make([]string, n)
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, tokens[i], errs[i] = f.svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{IP: fmt.Sprint("10.0.0.", i)})
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("concurrent sign-in %d: %v", i, errs[i])
			}
			if seen[tokens[i]] {
				t.Fatal("two sessions got the same token")
			}
			seen[tokens[i]] = true
			if _, err := f.svc.SessionPrincipal(ctx, tokens[i]); err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
		}
		// Concurrent failures are all counted: exactly one lockout.
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = f.svc.Authenticate(ctx, "tranthib", "đoán bừa mật khẩu", identity.Client{})
			}()
		}
		wg.Wait()
		lockedErrs := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, identity.ErrAccountLocked):
				lockedErrs++
			case !errors.Is(err, identity.ErrInvalidCredentials):
				t.Fatalf("concurrent failure: %v", err)
			}
		}
		if lockedErrs == 0 {
			t.Fatal("16 concurrent failures did not lock the account")
		}
		if got := len(f.audit.find(identity.AuditAccountLocked)); got != 1 {
			t.Fatalf("lockouts audited: %d, want 1", got)
		}
		if got := len(f.audit.find(identity.AuditLoginFailed)); got != n {
			t.Fatalf("failures audited: %d, want %d", got, n)
		}
		if _, _, err := f.svc.Authenticate(ctx, "tranthib", goodPassword, identity.Client{}); !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("after concurrent failures: %v", err)
		}
	})
}

func TestPositionsAndTransfer(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, func(c *identity.Config) {
			c.CheckUnit = func(ctx context.Context, id string) error {
				if strings.HasPrefix(id, "unit-") || strings.HasPrefix(id, "agency-") {
					return nil
				}
				return fmt.Errorf("unit %s: %w", id, identity.ErrNotFound)
			}
		})
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		x1, err := f.svc.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: " Chuyên viên ", UnitID: "unit-A", AgencyID: "agency-1"})
		if err != nil || x1.Title != "Chuyên viên" || !x1.StartedAt.Equal(f.clock.Now()) {
			t.Fatalf("add position = %+v, %v", x1, err)
		}
		x2, _ := f.svc.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: "Tổ trưởng", UnitID: "unit-A", AgencyID: "agency-1"})
		if _, err := f.svc.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: "X", UnitID: "nowhere"}); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("unknown unit: %v", err)
		}
		if _, err := f.svc.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: "", UnitID: ""}); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("empty position: %v", err)
		}
		if _, err := f.svc.Grant(ctx, nil, p.ID, identity.RoleOfficer, "nowhere"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("grant on unknown unit: %v", err)
		}
		f.svc.Grant(ctx, nil, p.ID, identity.RoleOfficer, "unit-A")
		f.svc.Grant(ctx, nil, p.ID, identity.RoleHandler, "unit-B")
		f.svc.Grant(ctx, nil, p.ID, identity.RoleLeader, identity.ProvinceWide)
		f.clock.Advance(time.Hour)
		// Ending one of two positions in unit-A keeps the unit-A grant.
		if err := f.svc.EndPosition(ctx, nil, p.ID, x1.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := f.svc.GetPerson(ctx, p.ID)
		if got.Positions[0].EndedAt == nil || !got.Positions[0].EndedAt.Equal(f.clock.Now()) || got.Positions[1].EndedAt != nil {
			t.Fatalf("positions = %+v", got.Positions)
		}
		if activeRoles(got) != "[officer@unit-A handler@unit-B leader@province]" {
			t.Fatalf("grants after ending one of two positions = %s", activeRoles(got))
		}
		// Ending the last one (a transfer) revokes the unit-A grants only.
		if err := f.svc.EndPosition(ctx, nil, p.ID, x2.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = f.svc.GetPerson(ctx, p.ID)
		if activeRoles(got) != "[handler@unit-B leader@province]" {
			t.Fatalf("grants after transfer = %s", activeRoles(got))
		}
		revoked := f.audit.find(identity.AuditGrantRevoked)
		if len(revoked) != 1 || revoked[0].Details["reason"] != "position_ended" {
			t.Fatalf("revocation audit = %+v", revoked)
		}
		if err := f.svc.EndPosition(ctx, nil, p.ID, x2.ID); err != nil {
			t.Fatalf("ending twice: %v", err)
		}
		if err := f.svc.EndPosition(ctx, nil, "someone-else", x2.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("ending through the wrong person: %v", err)
		}
	})
}

func activeRoles(p identity.Person) string {
	var out []string
	for _, g := range p.Grants {
		if g.Active() {
			out = append(out, g.String())
		}
	}
	return fmt.Sprint(out)
}

func TestListPeopleSearch(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		an := f.person(t, "nguyenvana", "Nguyễn Văn An")
		f.person(t, "tranthib", "Trần Thị Bình")
		dung := f.person(t, "dungld", "Lê Đức Dũng")
		f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "citizen", FullName: "Nguyễn Thị Cúc", Email: "cuc@example.vn"})
		f.svc.AddPosition(ctx, nil, dung.ID, identity.NewPosition{Title: "Chuyên viên", UnitID: "unit-A"})
		f.svc.Grant(ctx, nil, an.ID, identity.RoleOfficer, "unit-A")
		names := func(filter identity.PeopleFilter) string {
			page, err := f.svc.ListPeople(ctx, filter)
			if err != nil {
				t.Fatalf("%+v: %v", filter, err)
			}
			var out []string
			for _, p := range page.People {
				out = append(out, p.Username)
			}
			more := ""
			if page.More {
				more = " more"
			}
			return fmt.Sprintf("%d %v%s", page.Total, out, more)
		}
		cases := []struct {
			filter identity.PeopleFilter
			want   string
		}{
			{identity.PeopleFilter{}, "4 [citizen dungld nguyenvana tranthib]"},
			{identity.PeopleFilter{Text: "nguyen"}, "2 [citizen nguyenvana]"},
			{identity.PeopleFilter{Text: "NGUYỄN văn"}, "1 [nguyenvana]"},
			{identity.PeopleFilter{Text: "duc dung"}, "1 [dungld]"},
			{identity.PeopleFilter{Text: "cuc@example"}, "1 [citizen]"},
			{identity.PeopleFilter{Text: "nguyen", Kind: identity.KindOfficial}, "1 [nguyenvana]"},
			{identity.PeopleFilter{UnitID: "unit-A"}, "2 [dungld nguyenvana]"},
			{identity.PeopleFilter{Role: identity.RoleOfficer}, "1 [nguyenvana]"},
			{identity.PeopleFilter{Limit: 2}, "4 [citizen dungld] more"},
			{identity.PeopleFilter{Limit: 2, After: "dungld"}, "4 [nguyenvana tranthib]"},
			{identity.PeopleFilter{Limit: 1, After: "citizen", Text: "nguyen"}, "2 [nguyenvana]"},
			{identity.PeopleFilter{Text: "'; DROP TABLE identity_people; --"}, "0 []"},
			{identity.PeopleFilter{Status: identity.StatusDisabled}, "0 []"},
		}
		for _, c := range cases {
			if got := names(c.filter); got != c.want {
				t.Errorf("ListPeople(%+v) = %s, want %s", c.filter, got, c.want)
			}
		}
	})
}

func TestAuditFailureRollsBackTheChange(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		boom := errors.New("audit log unavailable")
		failing := identity.AuditFunc(func(ctx context.Context, tx *db.Tx, e identity.AuditEvent) error { return boom })
		svc, err := identity.NewService(d, identity.Config{Audit: failing, PasswordParams: identity.CheapPasswordParams})
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "ghost", FullName: "Ma"})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if _, err := svc.PersonByUsername(ctx, "ghost"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("person created without its audit entry: %v", err)
		}
	})
}

func TestPlatformAuditLogByDefault(t *testing.T) {
	migs := append(audit.Migrations(), identity.Migrations()...)
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		svc, err := identity.NewService(d, identity.Config{PasswordParams: identity.CheapPasswordParams})
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "nguyenvana",
			FullName: "Nguyễn Văn An", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Grant(ctx, nil, p.ID, identity.RoleSysadmin, ""); err != nil {
			t.Fatal(err)
		}
		svc.Authenticate(ctx, "nguyenvana", "wrong password here", identity.Client{IP: "192.0.2.9"})
		pr, _, err := svc.Authenticate(ctx, "nguyenvana", goodPassword, identity.Client{IP: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		x, err := svc.AddPosition(ctx, pr, p.ID, identity.NewPosition{Title: "Chuyên viên", UnitID: "unit-A"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Grant(ctx, pr, p.ID, identity.RoleClerk, "unit-A"); err != nil {
			t.Fatal(err)
		}
		if err := svc.EndPosition(ctx, pr, p.ID, x.ID); err != nil {
			t.Fatal(err)
		}
		entries, _, err := audit.List(ctx, d, audit.Filter{ObjectType: "person", ObjectID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(entries) - 1; i >= 0; i-- {
			got = append(got, entries[i].Actor+" "+entries[i].Action)
		}
		want := []string{
			"system identity.person.created",
			"system identity.grant.added",
			"anonymous identity.login.failed",
			p.ID + " identity.login.succeeded",
			p.ID + " identity.position.added",
			p.ID + " identity.grant.added",
			p.ID + " identity.position.ended",
			p.ID + " identity.grant.revoked",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if entries[5].IP != "192.0.2.9" || entries[5].Detail["reason"] != "wrong_password" {
			t.Fatalf("failed sign-in entry = %+v", entries[5])
		}
		rep, err := audit.Verify(ctx, d)
		if err != nil || !rep.OK {
			t.Fatalf("chain: %v %v", rep, err)
		}
	})
}

func TestRolesHaveLabelsInBothLanguages(t *testing.T) {
	for _, r := range identity.Roles() {
		if !r.Valid() || r.Label() == string(r) {
			t.Errorf("role %s has no label", r)
		}
	}
	if identity.Role("emperor").Valid() {
		t.Error("unknown role valid")
	}
	roles, ok := identity.ActionRoles(identity.ActionCatalogEdit)
	if !ok || fmt.Sprint(roles) != "[catalog_admin]" {
		t.Errorf("catalog.edit roles = %v %v", roles, ok)
	}
	a := identity.DefineAction("test.extend", identity.RoleClerk)
	identity.DefineAction(a, identity.RoleClerk, identity.RoleLeader)
	if roles, _ := identity.ActionRoles(a); fmt.Sprint(roles) != "[clerk leader]" {
		t.Errorf("extended roles = %v", roles)
	}
	defer func() {
		if recover() == nil {
			t.Error("DefineAction accepted an unknown role")
		}
	}()
	identity.DefineAction("test.bad", "emperor")
}

func TestCreateWithPrecomputedHash(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		hash, err := identity.HashPassword(goodPassword, identity.CheapPasswordParams)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"mot", "hai"} {
			p, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: u, FullName: "Cán bộ " + u, PasswordHash: hash})
			if err != nil || !p.HasPassword {
				t.Fatalf("create %s with hash: %+v %v", u, p, err)
			}
			f.login(t, u, goodPassword)
		}
		if _, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "ba", FullName: "Ba", PasswordHash: "$argon2id$broken"}); err == nil {
			t.Fatal("malformed hash accepted")
		}
		if _, err := f.svc.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "bon", FullName: "Bốn", PasswordHash: hash, Password: goodPassword}); err == nil {
			t.Fatal("both password and hash accepted")
		}
	})
}
