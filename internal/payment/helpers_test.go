package payment_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/fakes/payplatform"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/payment/paygov"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
)

const merchant = "CONGSO-H99"

var (
	secret  = []byte("shared-secret-with-the-platform-0123456789")
	linkKey = []byte("link-key-0123456789abcdef0123456789abcdef")
	ict     = time.FixedZone("ICT", 7*3600)
)

func migrations() []db.Migration {
	return append(audit.Migrations(), payment.Migrations()...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// dossiers is an in-memory dossier module: fees per code, and a count of
// MarkFeePaid calls per fee.
type dossiers struct {
	mu     sync.Mutex
	fees   map[string][]dossier.Fee
	marked map[string]int
	fail   bool
}

func newDossiers() *dossiers {
	return &dossiers{fees: map[string][]dossier.Fee{}, marked: map[string]int{}}
}

func (d *dossiers) add(code string, amounts ...int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, a := range amounts {
		d.fees[code] = append(d.fees[code], dossier.Fee{N: i + 1, Name: fmt.Sprintf("Lệ phí %d", i+1), Amount: a,
			Stage: catalog.PaidAtReception, Status: dossier.FeeUnpaid})
	}
}

func (d *dossiers) Fees(ctx context.Context, code string) ([]dossier.Fee, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.fees[code]
	if !ok {
		return nil, fmt.Errorf("dossier %s: %w", code, dossier.ErrNotFound)
	}
	return append([]dossier.Fee(nil), f...), nil
}

func (d *dossiers) MarkFeePaid(ctx context.Context, in dossier.FeePaymentInput) (dossier.Fee, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return dossier.Fee{}, fmt.Errorf("dossier module unavailable")
	}
	d.marked[fmt.Sprintf("%s#%d", in.DossierCode, in.N)]++
	f := &d.fees[in.DossierCode][in.N-1]
	f.Status, f.Reference = dossier.FeePaid, in.Reference
	return *f, nil
}

func (d *dossiers) CanView(ctx context.Context, p *identity.Principal, code string) bool {
	return p.HasRole(identity.RoleOfficer, "desk")
}

func (d *dossiers) marks(code string, n int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.marked[fmt.Sprintf("%s#%d", code, n)]
}

func (d *dossiers) fee(code string, n int) dossier.Fee {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fees[code][n-1]
}

// env is the module behind a real HTTP server with the CSRF middleware,
// and the fake platform behind another.
type env struct {
	t        *testing.T
	ctx      context.Context
	d        *db.DB
	clock    *clock
	dossiers *dossiers
	fake     *payplatform.Server
	svc      *payment.Service
	app      *httptest.Server
	pg       *httptest.Server
}

const code = "000.00.13.H99-260302-0001"

func newEnv(t *testing.T, d *db.DB, dos payment.Dossiers) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), d: d, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, ict)}}
	if dos == nil {
		e.dossiers = newDossiers()
		e.dossiers.add(code, 75000, 0)
		dos = e.dossiers
	}
	e.fake = payplatform.New(merchant, secret, e.clock.Now)
	e.pg = httptest.NewServer(e.fake.Handler())
	t.Cleanup(e.pg.Close)
	e.fake.SetBaseURL(e.pg.URL)

	var handler http.Handler
	e.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.app.Close)
	svc, err := payment.New(d, payment.Config{Dossiers: dos, MerchantCode: merchant, Secret: secret, LinkKey: linkKey,
		BaseURL: e.app.URL, Now: e.clock.Now,
		Platform: &paygov.Client{BaseURL: e.pg.URL, MerchantCode: merchant, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	mux := http.NewServeMux()
	payment.NewHandlers(svc).Routes(mux)
	csrf, err := httpx.CSRF(httpx.CSRFConfig{Key: []byte("csrf-key-0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	handler = csrf(withPrincipal(mux))
	return e
}

// withPrincipal signs the request in as the person named by the test
// header X-Test-As ("sysadmin" or "officer").
func withPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *identity.Principal
		switch r.Header.Get("X-Test-As") {
		case "sysadmin":
			p = &identity.Principal{PersonID: "admin-1", Kind: identity.KindOfficial,
				Grants: []identity.Grant{{ID: "g1", PersonID: "admin-1", Role: identity.RoleSysadmin, UnitID: identity.ProvinceWide}}}
		case "officer":
			p = &identity.Principal{PersonID: "officer-1", Kind: identity.KindOfficial,
				Grants: []identity.Grant{{ID: "g2", PersonID: "officer-1", Role: identity.RoleOfficer, UnitID: "desk"}}}
		}
		if p != nil {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// browser is a payer's browser: cookies, redirects followed.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

type page struct {
	status int
	url    string
	body   string
}

func (e *env) do(c *http.Client, method, u string, form url.Values, hdr ...string) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(e.ctx, method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(b)}
}

var (
	csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	tokRe  = regexp.MustCompile(`name="t" value="([^"]+)"`)
)

// openFees opens the applicant's fee page of the dossier and returns the
// form fields of its first pay button.
func (e *env) openFees(c *http.Client) url.Values {
	e.t.Helper()
	p := e.do(c, http.MethodGet, e.svc.Link(code), nil)
	if p.status != http.StatusOK {
		e.t.Fatalf("fee page: %d %s", p.status, p.body)
	}
	m, t := csrfRe.FindStringSubmatch(p.body), tokRe.FindStringSubmatch(p.body)
	if m == nil || t == nil {
		e.t.Fatalf("fee page has no pay form:\n%s", p.body)
	}
	return url.Values{"csrf_token": {m[1]}, "t": {t[1]}}
}

// startPayment presses "Thanh toán trực tuyến" for fee n and returns the
// platform's payment page it lands on.
func (e *env) startPayment(c *http.Client, n int) page {
	e.t.Helper()
	form := e.openFees(c)
	p := e.do(c, http.MethodPost, fmt.Sprintf("%s/payment/dossiers/%s/fees/%d/pay", e.app.URL, code, n), form)
	if p.status != http.StatusOK || !strings.HasPrefix(p.url, e.pg.URL+"/pay/") {
		e.t.Fatalf("start payment landed on %s (%d): %s", p.url, p.status, p.body)
	}
	return p
}

// press presses a button ("pay" or "cancel") on the platform's page and
// returns where the payer lands.
func (e *env) press(c *http.Client, payPage page, action string) page {
	e.t.Helper()
	if !strings.Contains(payPage.body, `value="`+action+`"`) {
		e.t.Fatalf("payment page has no %s button:\n%s", action, payPage.body)
	}
	return e.do(c, http.MethodPost, payPage.url, url.Values{"action": {action}})
}

func (e *env) payments() []payment.Payment {
	e.t.Helper()
	ps, err := e.svc.ForDossier(e.ctx, code)
	if err != nil {
		e.t.Fatal(err)
	}
	return ps
}

func (e *env) callbacks() []payment.Callback {
	e.t.Helper()
	cs, err := e.svc.Callbacks(e.ctx, "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *env) auditActions() []string {
	e.t.Helper()
	es, _, err := audit.List(e.ctx, e.d, audit.Filter{ObjectType: payment.AuditObjectType, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range es {
		out = append(out, x.Action)
	}
	return out
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
