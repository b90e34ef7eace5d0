package payment_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/fakes/payplatform"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/payment/paygov"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// one-stop §8: the applicant pays online; the platform's signed callback
// records the fee; the return page shows the receipt.
func TestPayHappyPath(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		c := e.browser()
		payPage := e.startPayment(c, 1)
		if !strings.Contains(payPage.body, "75000 VND") {
			t.Fatalf("platform page does not show the amount:\n%s", payPage.body)
		}
		back := e.press(c, payPage, "pay")
		if !strings.HasPrefix(back.url, e.app.URL+"/payment/return/") || !strings.Contains(back.body, "Biên lai thanh toán điện tử") {
			t.Fatalf("payer landed on %s without a receipt:\n%s", back.url, back.body)
		}
		ps := e.payments()
		if len(ps) != 1 || ps[0].Status != payment.StatusPaid || !ps[0].FeeRecorded || ps[0].Source != "ipn" {
			t.Fatalf("payments = %+v", ps)
		}
		if f := e.dossiers.fee(code, 1); f.Reference != ps[0].Receipt() || !strings.HasPrefix(f.Reference, "PayGov PG") {
			t.Fatalf("fee reference %q, payment receipt %q", f.Reference, ps[0].Receipt())
		}
		if n := e.dossiers.marks(code, 1); n != 1 {
			t.Fatalf("MarkFeePaid called %d times, want 1", n)
		}
		// The receipt page, for the applicant's link and for an officer.
		r := e.do(c, http.MethodGet, e.app.URL+"/payment/receipts/"+ps[0].OrderID+"?t="+e.svc.Token(code), nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, ps[0].Receipt()) || !strings.Contains(r.body, "75.000") {
			t.Fatalf("receipt page %d:\n%s", r.status, r.body)
		}
		r = e.do(e.browser(), http.MethodGet, e.app.URL+"/payment/receipts/"+ps[0].OrderID, nil, "X-Test-As", "officer")
		if r.status != http.StatusOK {
			t.Fatalf("officer receipt %d", r.status)
		}
		// Without the token or a right, nothing is shown.
		r = e.do(e.browser(), http.MethodGet, e.app.URL+"/payment/receipts/"+ps[0].OrderID+"?t=forged", nil)
		if r.status != http.StatusNotFound || strings.Contains(r.body, "75.000") {
			t.Fatalf("receipt without a valid token: %d", r.status)
		}
		// The fee page now shows it paid with no pay button; paying again is refused.
		fp := e.do(c, http.MethodGet, e.svc.Link(code), nil)
		if strings.Count(fp.body, "Thanh toán trực tuyến</button>") != 0 || !strings.Contains(fp.body, "Xem biên lai") {
			t.Fatalf("fee page after payment:\n%s", fp.body)
		}
		if _, err := e.svc.Start(e.ctx, payment.StartInput{DossierCode: code, FeeN: 1}); !errors.Is(err, payment.ErrAlreadyPaid) {
			t.Fatalf("paying a paid fee: %v", err)
		}
		// A fee of 0 VND is not paid online.
		if _, err := e.svc.Start(e.ctx, payment.StartInput{DossierCode: code, FeeN: 2}); !errors.Is(err, payment.ErrNoFee) {
			t.Fatalf("paying a free fee: %v", err)
		}
		if got := e.auditActions(); !slices.Contains(got, payment.AuditStart) || !slices.Contains(got, payment.AuditPaid) {
			t.Fatalf("audit = %v", got)
		}
		// The JSON list for an officer.
		j := e.do(e.browser(), http.MethodGet, e.app.URL+"/api/v1/payments/dossiers/"+code+"/payments", nil, "X-Test-As", "officer")
		if j.status != http.StatusOK || !strings.Contains(j.body, `"status":"paid"`) {
			t.Fatalf("payments API %d %s", j.status, j.body)
		}
	})
}

// A double click on "pay" (two posts at once) opens one payment at the
// platform, and both answers send the payer to the same page.
func TestStartIsIdempotent(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		c := e.browser()
		form := e.openFees(c)
		noFollow := *c
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		var wg sync.WaitGroup
		locs := make([]string, 4)
		for i := range locs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/payment/dossiers/"+code+"/fees/1/pay", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := noFollow.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					t.Errorf("post %d: %d", i, resp.StatusCode)
				}
				locs[i] = resp.Header.Get("Location")
			}()
		}
		wg.Wait()
		for _, l := range locs {
			if l == "" || l != locs[0] {
				t.Fatalf("double click sent the payer to %q", locs)
			}
		}
		if ps := e.payments(); len(ps) != 1 {
			t.Fatalf("%d payments, want 1", len(ps))
		}
		if n := e.fake.Transactions(); n != 1 {
			t.Fatalf("platform has %d transactions, want 1", n)
		}
		// Without the CSRF token the post is refused.
		bad := e.do(c, http.MethodPost, e.app.URL+"/payment/dossiers/"+code+"/fees/1/pay", map[string][]string{"t": form["t"]})
		if bad.status != http.StatusForbidden {
			t.Fatalf("post without CSRF token: %d", bad.status)
		}
	})
}

// The platform sends the same callback twice: one payment, one fee record.
func TestDoubleCallback(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		e.fake.SetMode(payplatform.Mode{Twice: true})
		c := e.browser()
		back := e.press(c, e.startPayment(c, 1), "pay")
		if !strings.Contains(back.body, "Biên lai") {
			t.Fatalf("no receipt:\n%s", back.body)
		}
		if e.fake.Sent() != 2 {
			t.Fatalf("platform sent %d callbacks, want 2", e.fake.Sent())
		}
		if n := e.dossiers.marks(code, 1); n != 1 {
			t.Fatalf("MarkFeePaid called %d times, want 1", n)
		}
		var outcomes []string
		for _, cb := range e.callbacks() {
			outcomes = append(outcomes, cb.Outcome)
		}
		if !slices.Equal(outcomes, []string{payment.OutcomeAccepted, payment.OutcomeDuplicate}) {
			t.Fatalf("callback outcomes %v", outcomes)
		}
		if ps := e.payments(); len(ps) != 1 || ps[0].Status != payment.StatusPaid {
			t.Fatalf("payments %+v", ps)
		}
	})
}

// A callback with a wrong signature is rejected, recorded with its reason
// and audited; the payer sees "đang xác nhận", not a receipt.
func TestForgedCallbackRejected(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		e.fake.SetMode(payplatform.Mode{WrongSignature: true})
		c := e.browser()
		back := e.press(c, e.startPayment(c, 1), "pay")
		if !strings.Contains(back.body, "Đang xác nhận thanh toán") || strings.Contains(back.body, "Biên lai") {
			t.Fatalf("forged callback showed:\n%s", back.body)
		}
		ps := e.payments()
		if ps[0].Status != payment.StatusPending || e.dossiers.marks(code, 1) != 0 {
			t.Fatalf("forged callback changed the payment: %+v", ps[0])
		}
		// A hand-made callback claiming success with the right order but
		// signed by someone else, posted straight to the IPN URL.
		n := paygov.Notification{MerchantCode: merchant, OrderID: ps[0].OrderID, TransactionID: "PGFAKE", Amount: 75000,
			Status: paygov.StatusSuccess, PaidAt: paygov.Time(e.clock.Now())}
		n.Signature = paygov.Sign([]byte("guessed"), n.Fields())
		body, _ := json.Marshal(n)
		resp, err := http.Post(e.app.URL+"/payment/ipn", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var ack paygov.Ack
		_ = json.NewDecoder(resp.Body).Decode(&ack)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || ack.Code != paygov.CodeBadSignature {
			t.Fatalf("forged IPN answered %d %+v", resp.StatusCode, ack)
		}
		// A correctly signed callback with another amount is rejected too.
		n.Amount, n.Signature = 1000, ""
		n.Signature = paygov.Sign(secret, n.Fields())
		if _, err := e.svc.HandleNotification(e.ctx, mustJSON(t, n), "203.0.113.9"); !errors.Is(err, payment.ErrRejected) {
			t.Fatalf("wrong amount: %v", err)
		}
		cbs := e.callbacks()
		var reasons []string
		for _, cb := range cbs {
			if cb.Outcome != payment.OutcomeRejected || cb.Raw == "" {
				t.Fatalf("callback %+v", cb)
			}
			reasons = append(reasons, cb.Reason)
		}
		if !slices.Equal(reasons, []string{payment.ReasonBadSignature, payment.ReasonBadSignature, payment.ReasonAmountDiffers}) {
			t.Fatalf("reasons %v", reasons)
		}
		rejected := 0
		for _, a := range e.auditActions() {
			if a == payment.AuditCallbackRejected {
				rejected++
			}
		}
		if rejected != 3 {
			t.Fatalf("%d rejected callbacks audited, want 3", rejected)
		}
		if got := e.payments()[0]; got.Status != payment.StatusPending || e.dossiers.marks(code, 1) != 0 {
			t.Fatalf("payment after forgeries: %+v", got)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The callback never arrives: the status-query job asks the platform and
// records the fee; a late callback afterwards changes nothing.
func TestCallbackNeverArrivesQueryFixes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		e.fake.SetMode(payplatform.Mode{Delay: true})
		c := e.browser()
		back := e.press(c, e.startPayment(c, 1), "pay")
		if !strings.Contains(back.body, "Đang xác nhận thanh toán") || !strings.Contains(back.body, `id="payment-recheck"`) ||
			strings.Contains(back.body, `http-equiv="refresh"`) {
			t.Fatalf("return page before the callback:\n%s", back.body)
		}
		// Too early: the job leaves young payments alone.
		res, err := e.svc.SyncPending(e.ctx)
		if err != nil || res.Checked != 0 {
			t.Fatalf("sync too early: %+v %v", res, err)
		}
		e.clock.Add(6 * time.Minute)
		res, err = e.svc.SyncPending(e.ctx)
		if err != nil || res.Checked != 1 || res.Paid != 1 {
			t.Fatalf("sync: %+v %v", res, err)
		}
		p := e.payments()[0]
		if p.Status != payment.StatusPaid || p.Source != "query" || !p.FeeRecorded || e.dossiers.marks(code, 1) != 1 {
			t.Fatalf("after the job: %+v, marks %d", p, e.dossiers.marks(code, 1))
		}
		again := e.do(c, http.MethodGet, back.url, nil)
		if !strings.Contains(again.body, "Biên lai thanh toán điện tử") {
			t.Fatalf("return page after the job:\n%s", again.body)
		}
		// The held callback finally arrives.
		if err := e.fake.Release(e.ctx); err != nil {
			t.Fatal(err)
		}
		if e.dossiers.marks(code, 1) != 1 {
			t.Fatalf("late callback recorded the fee again")
		}
		cbs := e.callbacks()
		if len(cbs) != 1 || cbs[0].Outcome != payment.OutcomeDuplicate {
			t.Fatalf("late callback %+v", cbs)
		}
	})
}

// The dossier module is down when the callback comes: the payment is paid,
// and the job records the fee later, once.
func TestFeeRecordRetried(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		e.dossiers.fail = true
		c := e.browser()
		e.press(c, e.startPayment(c, 1), "pay")
		if p := e.payments()[0]; p.Status != payment.StatusPaid || p.FeeRecorded {
			t.Fatalf("payment %+v", p)
		}
		e.dossiers.mu.Lock()
		e.dossiers.fail = false
		e.dossiers.mu.Unlock()
		res, err := e.svc.SyncPending(e.ctx)
		if err != nil || res.FeesRecorded != 1 {
			t.Fatalf("sync %+v %v", res, err)
		}
		if res, _ := e.svc.SyncPending(e.ctx); res.FeesRecorded != 0 || e.dossiers.marks(code, 1) != 1 {
			t.Fatalf("second sync %+v, marks %d", res, e.dossiers.marks(code, 1))
		}
	})
}

// A cancelled payment is closed by its callback; the applicant may start
// again, which opens a new order.
func TestCancelThenPayAgain(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		c := e.browser()
		back := e.press(c, e.startPayment(c, 1), "cancel")
		if !strings.Contains(back.body, "Đã hủy") {
			t.Fatalf("after cancel:\n%s", back.body)
		}
		e.press(c, e.startPayment(c, 1), "pay")
		ps := e.payments()
		if len(ps) != 2 || ps[0].Status != payment.StatusCancelled || ps[1].Status != payment.StatusPaid ||
			!strings.HasSuffix(ps[1].OrderID, "-1-2") {
			t.Fatalf("payments %+v", ps)
		}
	})
}

// one-stop §8 reconciliation: the day's settlement list against our
// records, each kind of mismatch listed.
func TestReconciliation(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		codes := []string{"000.00.13.H99-260302-0002", "000.00.13.H99-260302-0003", "000.00.13.H99-260302-0004",
			"000.00.13.H99-260302-0005", "000.00.13.H99-260302-0006"}
		orders := map[string]string{}
		for i, c := range codes {
			e.dossiers.add(c, int64(10000*(i+1)))
			p, err := e.svc.Start(e.ctx, payment.StartInput{DossierCode: c, FeeN: 1})
			if err != nil {
				t.Fatal(err)
			}
			orders[c] = p.OrderID
			if i == 4 {
				e.fake.SetMode(payplatform.Mode{Never: true}) // we never hear of the last one
			}
			if _, err := e.fake.Pay(e.ctx, p.OrderID); err != nil {
				t.Fatal(err)
			}
		}
		e.fake.Tamper(orders[codes[1]], 99000, "")                           // amount differs
		e.fake.Forget(orders[codes[2]])                                      // missing at the platform
		e.fake.Tamper(orders[codes[3]], 0, "refunded")                       // status differs
		e.fake.AddForeign("UNKNOWN-1", 5000, e.clock.Now())                  // missing here
		e.fake.AddForeign("OTHER-DAY", 5000, e.clock.Now().AddDate(0, 0, 1)) // another day: not listed
		// codes[4]: the platform settled it; we still think it pending → status differs.

		// The JSON API needs payment.reconcile.
		if r := e.do(e.browser(), http.MethodPost, e.app.URL+"/api/v1/payments/reconciliation?date=2026-03-02", nil,
			"Authorization", "Bearer x", "X-Test-As", "officer"); r.status != http.StatusForbidden ||
			!strings.Contains(r.body, "Bạn không có quyền đối soát thanh toán") {
			t.Fatalf("officer reconciles: %d %s", r.status, r.body)
		}
		r := e.do(e.browser(), http.MethodPost, e.app.URL+"/api/v1/payments/reconciliation?date=2026-03-02", nil,
			"Authorization", "Bearer x", "X-Test-As", "sysadmin")
		if r.status != http.StatusOK {
			t.Fatalf("reconcile API %d %s", r.status, r.body)
		}
		var rep payment.Report
		if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range rep.Mismatches {
			got[m.OrderID] = m.Kind
		}
		want := map[string]string{
			orders[codes[1]]: payment.MismatchAmountDiffers,
			orders[codes[2]]: payment.MismatchMissingThere,
			orders[codes[3]]: payment.MismatchStatusDiffers,
			orders[codes[4]]: payment.MismatchStatusDiffers,
			"UNKNOWN-1":      payment.MismatchMissingHere,
		}
		if len(got) != len(want) || len(rep.Mismatches) != len(want) {
			t.Fatalf("mismatches %+v", rep.Mismatches)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("order %s: %q, want %q (all: %+v)", k, got[k], v, rep.Mismatches)
			}
		}
		if rep.Matched != 1 || rep.Ours != 4 || rep.Theirs != 5 {
			t.Fatalf("report counts %+v", rep)
		}
		// The admin page shows the stored report; others are refused.
		pg := e.do(e.browser(), http.MethodGet, e.app.URL+"/payment/admin/reconciliation?date=2026-03-02", nil, "X-Test-As", "sysadmin")
		if pg.status != http.StatusOK || !strings.Contains(pg.body, "UNKNOWN-1") || !strings.Contains(pg.body, "Lệch số tiền") {
			t.Fatalf("admin page %d:\n%s", pg.status, pg.body)
		}
		if pg := e.do(e.browser(), http.MethodGet, e.app.URL+"/payment/admin/reconciliation", nil); pg.status != http.StatusForbidden {
			t.Fatalf("anonymous admin page: %d", pg.status)
		}
		// After the job learns of the pending one, that mismatch is gone.
		e.clock.Add(10 * time.Minute)
		if _, err := e.svc.SyncPending(e.ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.Reconcile(e.ctx, "2026-03-02")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Mismatches) != 4 || rep.Matched != 2 {
			t.Fatalf("after sync: %+v", rep)
		}
	})
}

// The fee page's pay forms end in a redirect to the platform, another
// origin, and browsers check form-action on the redirects after a form
// post: its policy leaves form-action out and keeps the other directives.
func TestFeePagePolicyAllowsRedirectToPlatform(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, nil)
		resp, err := e.browser().Get(e.svc.Link(code))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != http.StatusOK || strings.Contains(csp, "form-action") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("fee page: %d, Content-Security-Policy %q", resp.StatusCode, csp)
		}
	})
}
