package gateway_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/fakes/tsa"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func newTSA(t *testing.T) (*tsa.TSA, *httptest.Server, *x509.CertPool) {
	t.Helper()
	a, err := tsa.New()
	must(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(a.Root)
	return a, srv, roots
}

// appendAndSign appends n records through a running log and signs them.
func appendAndSign(t *testing.T, ml *gateway.MessageLog, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		now := time.Now()
		must(t, ml.Append(context.Background(), gateway.Record{At: now, DoneAt: now, Client: client, Service: svcID, Method: "GET",
			Status: 200, Issue: fmt.Sprintf("H57-%03d", i), RequestID: fmt.Sprint(i)}))
	}
	must(t, ml.Sign(context.Background()))
}

// integration "better than X-Road": the message log is batch-signed and
// time-stamped by an RFC 3161 authority; the export proves when the
// records existed, and a forged or foreign stamp is found.
func TestMessageLogTimeStamps(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		authority, srv, roots := newTSA(t)
		ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: time.Hour,
			TSA: &gateway.TSAConfig{URL: srv.URL, Roots: roots, Interval: time.Hour}})
		must(t, err)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { ml.Run(runCtx); close(done) }()
		defer func() { cancel(); <-done }()

		appendAndSign(t, ml, 0, 20)
		appendAndSign(t, ml, 20, 10)
		must(t, ml.Stamp(ctx)) // stamps the newest batch only: it covers all 30
		must(t, ml.Stamp(ctx)) // nothing new: no second token
		if authority.Issued() != 1 {
			t.Fatalf("tokens issued = %d, want 1", authority.Issued())
		}
		appendAndSign(t, ml, 30, 5) // signed, not stamped yet

		rep, err := gateway.VerifyDBWith(ctx, d, gateway.VerifyOptions{TSARoots: roots})
		must(t, err)
		if !rep.OK() || rep.Records != 35 || rep.Batches != 3 || rep.Stamps != 1 || rep.Stamped != 30 || rep.LastStamp == nil {
			t.Fatalf("report = %+v; want 35 records, 3 batches, 30 of them stamped by 1 token", rep)
		}
		if st := ml.StampStatus(); !st.Enabled || st.Failing || st.LastToken.IsZero() {
			t.Fatalf("stamp status = %+v", st)
		}

		// The stamp is checked against the TSA the verifier trusts.
		_, _, otherRoots := newTSA(t)
		rep, err = gateway.VerifyDBWith(ctx, d, gateway.VerifyOptions{TSARoots: otherRoots})
		must(t, err)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "not trusted") {
			t.Fatalf("a stamp from an untrusted TSA passed: %+v", rep)
		}

		// A token moved onto another batch does not stamp it.
		_, err = d.Write().ExecContext(ctx, `UPDATE gateway_msglog_batches SET tsa_token = (SELECT tsa_token FROM gateway_msglog_batches WHERE tsa_token IS NOT NULL) WHERE first_seq = 1`)
		must(t, err)
		rep, err = gateway.VerifyDBWith(ctx, d, gateway.VerifyOptions{TSARoots: roots})
		must(t, err)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "batch n1 1–20: time-stamp: the token does not stamp this batch") {
			t.Fatalf("a token copied onto another batch passed: %+v", rep)
		}
	})
}

// integration: per-service policy when the time-stamp authority is
// unreachable: fail-closed services are refused once stamping has failed
// for longer than the grace period, fail-open ones go on; both recover
// with the next stamp.
func TestTimeStampFailurePolicy(t *testing.T) {
	authority, tsaSrv, roots := newTSA(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	d := sqliteDB(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: time.Hour, Now: now,
		TSA: &gateway.TSAConfig{URL: tsaSrv.URL, Roots: roots, Interval: time.Hour, Grace: time.Hour}})
	must(t, err)
	n := startNode(t, d, nodeOpts{now: now, cfg: func(c *gateway.Config) { c.Log = ml }})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	open := sid(provider + "/tra-cuu")
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: open, Title: "Tra cứu", FailPolicy: gateway.FailOpen}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(open.String()+"/v1"), gateway.Version{BackendURL: backend.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(open.String()+"/v1"), gateway.Published, nil))
	_, err = n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: open, LegalBasis: "test"})
	must(t, err)
	get := func(svc string) *http.Response {
		r := call(t, n.srv.URL, "GET", "/r1/"+svc+"/x", "tok-client", nil)
		readAll(t, r)
		return r
	}
	if r := get(svcID); r.StatusCode != 200 {
		t.Fatalf("before any failure: %d", r.StatusCode)
	}
	must(t, ml.Sign(ctx))

	authority.Fail(-1)
	if err := ml.Stamp(ctx); err == nil {
		t.Fatal("stamping succeeded while the TSA fails")
	}
	if r := get(svcID); r.StatusCode != 200 {
		t.Fatalf("within the grace period: %d", r.StatusCode)
	}
	offset.Store(int64(2 * time.Hour))
	if r := get(svcID); r.StatusCode != http.StatusServiceUnavailable || r.Header.Get(gateway.HeaderError) != gateway.FaultTimestamp {
		t.Fatalf("fail-closed service after the grace period: %d %q", r.StatusCode, r.Header.Get(gateway.HeaderError))
	}
	if r := get(open.String()); r.StatusCode != 200 {
		t.Fatalf("fail-open service after the grace period: %d", r.StatusCode)
	}
	if st := ml.StampStatus(); !st.Failing || st.LastError == "" {
		t.Fatalf("stamp status = %+v; want failing with the error", st)
	}

	authority.Recover()
	must(t, ml.Sign(ctx))
	must(t, ml.Stamp(ctx))
	if r := get(svcID); r.StatusCode != 200 {
		t.Fatalf("after the TSA recovered: %d", r.StatusCode)
	}
}

// The doctor asks the TSA for a test stamp and reports when it cannot.
func TestDoctorChecksTheTSA(t *testing.T) {
	authority, srv, roots := newTSA(t)
	find := func() gateway.Check {
		return doctorCheck(t, gateway.DoctorConfig{TSA: &gateway.TSAConfig{URL: srv.URL, Roots: roots}}, "time-stamp authority")
	}
	if c := find(); c.Health != gateway.OK {
		t.Fatalf("reachable TSA: %+v", c)
	}
	authority.Fail(1)
	if c := find(); c.Health != gateway.Fail || !strings.Contains(c.Detail, "503") {
		t.Fatalf("failing TSA: %+v", c)
	}
	_, _, other := newTSA(t)
	c := func() gateway.Check {
		for _, c := range gateway.Doctor(context.Background(), gateway.DoctorConfig{TSA: &gateway.TSAConfig{URL: srv.URL, Roots: other}}) {
			if c.Name == "time-stamp authority" {
				return c
			}
		}
		return gateway.Check{}
	}()
	if c.Health != gateway.Fail || !strings.Contains(c.Detail, "not trusted") {
		t.Fatalf("TSA outside the trusted roots: %+v", c)
	}
}
