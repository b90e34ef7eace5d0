package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/payment/paygov"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
)

// Config wires a Service.
type Config struct {
	// Dossiers and Platform are required.
	Dossiers Dossiers
	Platform Platform
	// MerchantCode and Secret are the province's merchant code and the
	// HMAC key shared with the platform (CONGSO_PAYMENT_MERCHANT_CODE,
	// CONGSO_PAYMENT_SECRET); notifications are verified with Secret.
	MerchantCode string
	Secret       []byte
	// LinkKey signs the applicant's links to a dossier's payment pages
	// (CONGSO_PAYMENT_LINK_KEY, at least 32 bytes).
	LinkKey []byte
	// BaseURL is the site's public address (CONGSO_BASE_URL); the return and
	// IPN URLs are built from it.
	BaseURL string
	// IPNURL overrides BaseURL+"/payment/ipn" (CONGSO_PAYMENT_IPN_URL).
	IPNURL string
	// Expiry is how long a payment may be paid (CONGSO_PAYMENT_EXPIRY,
	// default 15 minutes).
	Expiry time.Duration
	// QueryAfter is how old a pending payment must be before SyncPending
	// asks the platform about it (CONGSO_PAYMENT_QUERY_AFTER, default 5
	// minutes).
	QueryAfter time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Service takes fee payments through the payment platform.
type Service struct {
	db  *db.DB
	cfg Config
	log *slog.Logger
}

// New returns a Service over d.
func New(d *db.DB, cfg Config) (*Service, error) {
	if cfg.Dossiers == nil || cfg.Platform == nil {
		return nil, errors.New("payment: Dossiers and Platform are required")
	}
	if len(cfg.Secret) == 0 {
		return nil, errors.New("payment: the shared secret is required")
	}
	if len(cfg.LinkKey) < 32 {
		return nil, errors.New("payment: the link key must be at least 32 bytes")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.IPNURL == "" {
		cfg.IPNURL = cfg.BaseURL + "/payment/ipn"
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = 15 * time.Minute
	}
	if cfg.QueryAfter <= 0 {
		cfg.QueryAfter = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: d, cfg: cfg, log: log}, nil
}

func (s *Service) now() time.Time { return ts(s.cfg.Now()) }

// Token returns the capability that opens a dossier's payment pages
// without signing in: an HMAC of the code under LinkKey. Pages that already
// verified the applicant (the dossier page, the public lookup) link with it.
func (s *Service) Token(code string) string {
	m := hmac.New(sha256.New, s.cfg.LinkKey)
	m.Write([]byte("payment|" + code))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// CheckToken tells whether t is the code's token (constant time).
func (s *Service) CheckToken(code, t string) bool {
	return hmac.Equal([]byte(s.Token(code)), []byte(t))
}

// Link is the applicant's page for a dossier's fees and receipts.
func (s *Service) Link(code string) string {
	return s.cfg.BaseURL + "/payment/dossiers/" + url.PathEscape(code) + "?t=" + s.Token(code)
}

// StartInput asks to pay one fee of a dossier.
type StartInput struct {
	DossierCode string
	FeeN        int
	// Actor is who asked (for the record); nil for an applicant using a link.
	Actor *identity.Principal
}

// Start returns the pending payment of the fee, creating it at the platform
// if there is none. Calling it again while a payment is pending (a double
// click, a reload) returns that same payment, so the platform sees one
// order. A fee already paid gives ErrAlreadyPaid.
func (s *Service) Start(ctx context.Context, in StartInput) (Payment, error) {
	fees, err := s.cfg.Dossiers.Fees(ctx, in.DossierCode)
	if err != nil {
		if errors.Is(err, dossier.ErrNotFound) {
			return Payment{}, fmt.Errorf("dossier %s: %w", in.DossierCode, ErrNotFound)
		}
		return Payment{}, fmt.Errorf("start payment: %w", err)
	}
	if in.FeeN < 1 || in.FeeN > len(fees) {
		return Payment{}, fmt.Errorf("dossier %s fee %d: %w", in.DossierCode, in.FeeN, ErrNotFound)
	}
	fee := fees[in.FeeN-1]
	if fee.Status == dossier.FeePaid {
		return Payment{}, fmt.Errorf("dossier %s fee %d: %w", in.DossierCode, in.FeeN, ErrAlreadyPaid)
	}
	if fee.Amount <= 0 {
		return Payment{}, fmt.Errorf("dossier %s fee %d: %w", in.DossierCode, in.FeeN, ErrNoFee)
	}
	p, err := s.openPayment(ctx, in, fee)
	if err != nil {
		return p, err
	}
	if p.PayURL != "" {
		return p, nil
	}
	// The platform answers the same transaction for the same order, so two
	// requests that both reach here get the same URL.
	resp, err := s.cfg.Platform.Create(ctx, paygov.CreateRequest{OrderID: p.OrderID, Amount: p.Amount, Description: p.Description,
		ReturnURL: s.returnURL(p), IPNURL: s.cfg.IPNURL, ExpireAt: paygov.Time(p.ExpiresAt)})
	if err != nil {
		return p, fmt.Errorf("start payment: %w", err)
	}
	p.PayURL, p.TransactionID = resp.PaymentURL, resp.TransactionID
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE payment_payments SET pay_url = $2, transaction_id = $3, updated_at = $4
		WHERE order_id = $1`, p.OrderID, p.PayURL, p.TransactionID, s.now()); err != nil {
		return p, fmt.Errorf("start payment: %w", err)
	}
	return p, nil
}

func (s *Service) returnURL(p Payment) string {
	return s.cfg.BaseURL + "/payment/return/" + url.PathEscape(p.OrderID) + "?t=" + s.Token(p.DossierCode)
}

// openPayment returns the fee's pending payment or records a new one.
func (s *Service) openPayment(ctx context.Context, in StartInput, fee dossier.Fee) (Payment, error) {
	for attempt := 0; attempt < 3; attempt++ {
		open, err := listPayments(ctx, s.db.Read(), `dossier_code = $1 AND fee_n = $2 AND status = $3`,
			in.DossierCode, in.FeeN, string(StatusPending))
		if err != nil {
			return Payment{}, err
		}
		if len(open) > 0 {
			p := open[0]
			if s.now().Before(p.ExpiresAt) {
				return p, nil
			}
			// Expired here: ask the platform before giving up on it.
			if _, err := s.check(ctx, p); err != nil {
				return Payment{}, err
			}
			continue
		}
		now := s.now()
		var p Payment
		err = s.db.Tx(ctx, func(tx *db.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_payments WHERE dossier_code = $1 AND fee_n = $2`,
				in.DossierCode, in.FeeN).Scan(&n); err != nil {
				return err
			}
			p = Payment{OrderID: fmt.Sprintf("%s-%d-%d", in.DossierCode, in.FeeN, n+1), DossierCode: in.DossierCode, FeeN: in.FeeN,
				FeeName: fee.Name, Amount: fee.Amount, Description: fmt.Sprintf("Le phi ho so %s khoan %d", in.DossierCode, in.FeeN),
				Status: StatusPending, CreatedBy: actorID(in.Actor), CreatedAt: now, ExpiresAt: now.Add(s.cfg.Expiry), UpdatedAt: now}
			if err := insertPayment(ctx, tx, p); err != nil {
				return err
			}
			return audit.Append(ctx, tx, audit.Entry{At: now, Actor: p.CreatedBy, Action: AuditStart, ObjectType: AuditObjectType,
				ObjectID: p.OrderID, Detail: map[string]any{"dossier": p.DossierCode, "fee": p.FeeN, "amount": p.Amount}})
		})
		if db.IsUniqueViolation(err) {
			continue // a concurrent request opened it: read it
		}
		if err != nil {
			return Payment{}, fmt.Errorf("start payment: %w", err)
		}
		return p, nil
	}
	return Payment{}, fmt.Errorf("start payment %s fee %d: too much contention", in.DossierCode, in.FeeN)
}

func actorID(p *identity.Principal) string {
	if p == nil || p.PersonID == "" {
		return "applicant"
	}
	return p.PersonID
}

// Get returns a payment by order ID.
func (s *Service) Get(ctx context.Context, orderID string) (Payment, error) {
	return getPayment(ctx, s.db.Read(), orderID)
}

// ForDossier lists a dossier's payments, oldest first: the receipts are the
// paid ones.
func (s *Service) ForDossier(ctx context.Context, code string) ([]Payment, error) {
	return listPayments(ctx, s.db.Read(), `dossier_code = $1 ORDER BY created_at, order_id`, code)
}

// Fees lists a dossier's fees as the dossier module has them.
func (s *Service) Fees(ctx context.Context, code string) ([]dossier.Fee, error) {
	fees, err := s.cfg.Dossiers.Fees(ctx, code)
	if errors.Is(err, dossier.ErrNotFound) {
		return nil, fmt.Errorf("dossier %s: %w", code, ErrNotFound)
	}
	return fees, err
}

// CanView tells whether an official may see a dossier's payments.
func (s *Service) CanView(ctx context.Context, p *identity.Principal, code string) bool {
	return p.Authenticated() && s.cfg.Dossiers.CanView(ctx, p, code)
}

// outcome is what the platform says about an order.
type outcome struct {
	status Status
	txn    string
	amount int64
	paidAt time.Time
	source string
}

// HandleNotification acts on a notification posted to the IPN URL (raw is
// the request body, remote the caller's address) and returns the answer for
// the platform. Every notification is recorded; one that does not verify,
// names an unknown order or another amount is rejected (ErrRejected, with
// an audit entry) and changes nothing. A notification for a payment that
// already has that outcome changes nothing either, so the same callback
// twice gives one payment and one fee record.
func (s *Service) HandleNotification(ctx context.Context, raw []byte, remote string) (paygov.Ack, error) {
	now := s.now()
	cb := Callback{ReceivedAt: now, Remote: remote, Raw: string(raw)}
	var n paygov.Notification
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&n); err != nil {
		return s.reject(ctx, cb, ReasonMalformed, paygov.CodeBadRequest)
	}
	cb.OrderID, cb.TransactionID, cb.Status, cb.Amount = n.OrderID, n.TransactionID, n.Status, n.Amount
	if err := paygov.Verify(s.cfg.Secret, n.Fields()); err != nil {
		return s.reject(ctx, cb, ReasonBadSignature, paygov.CodeBadSignature)
	}
	if n.MerchantCode != s.cfg.MerchantCode {
		return s.reject(ctx, cb, ReasonWrongMerchant, paygov.CodeBadRequest)
	}
	p, err := getPayment(ctx, s.db.Read(), n.OrderID)
	if errors.Is(err, ErrNotFound) {
		return s.reject(ctx, cb, ReasonUnknownOrder, paygov.CodeNotFound)
	}
	if err != nil {
		return paygov.Ack{Code: paygov.CodeBadRequest, Message: "temporary error"}, err
	}
	if n.Amount != p.Amount {
		return s.reject(ctx, cb, ReasonAmountDiffers, paygov.CodeBadAmount)
	}
	st, ok := fromPlatform(n.Status)
	if !ok {
		return s.reject(ctx, cb, ReasonUnknownStatus, paygov.CodeBadRequest)
	}
	paidAt, _ := paygov.ParseTime(n.PaidAt)
	if _, err := s.apply(ctx, p, outcome{status: st, txn: n.TransactionID, amount: n.Amount, paidAt: paidAt, source: "ipn"}, &cb); err != nil {
		return paygov.Ack{Code: paygov.CodeBadRequest, Message: "temporary error"}, err
	}
	return paygov.Ack{Code: paygov.CodeOK, Message: "ok"}, nil
}

func (s *Service) reject(ctx context.Context, cb Callback, reason, code string) (paygov.Ack, error) {
	cb.Outcome, cb.Reason = OutcomeRejected, reason
	s.log.WarnContext(ctx, "payment callback rejected", "reason", reason, "order", clean(cb.OrderID, 200), "remote", cb.Remote)
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := insertCallback(ctx, tx, cb); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: cb.ReceivedAt, Actor: "payment-platform", Action: AuditCallbackRejected,
			ObjectType: AuditObjectType, ObjectID: clean(cb.OrderID, 200), IP: cb.Remote,
			Detail: map[string]any{"reason": reason, "transaction": clean(cb.TransactionID, 200), "amount": cb.Amount}})
	})
	if err != nil {
		return paygov.Ack{Code: paygov.CodeBadRequest, Message: "temporary error"}, fmt.Errorf("record rejected callback: %w", err)
	}
	return paygov.Ack{Code: code, Message: reason}, fmt.Errorf("%w: %s", ErrRejected, reason)
}

// apply records an outcome of a payment (and the callback that told it,
// if any) and, when it newly became paid, records the fee. It returns
// whether the payment changed.
func (s *Service) apply(ctx context.Context, p Payment, o outcome, cb *Callback) (bool, error) {
	now := s.now()
	if o.paidAt.IsZero() {
		o.paidAt = now
	}
	changed := false
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		changed = false
		switch o.status {
		case StatusPaid:
			res, err := tx.ExecContext(ctx, `UPDATE payment_payments SET status = $2, transaction_id = $3, paid_at = $4, source = $5,
				updated_at = $6 WHERE order_id = $1 AND status <> $2`, p.OrderID, string(StatusPaid), o.txn, ts(o.paidAt), o.source, now)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			changed = k == 1
		case StatusFailed, StatusCancelled, StatusExpired:
			res, err := tx.ExecContext(ctx, `UPDATE payment_payments SET status = $2, transaction_id = $3, source = $4, updated_at = $5
				WHERE order_id = $1 AND status = $6`, p.OrderID, string(o.status), o.txn, o.source, now, string(StatusPending))
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			changed = k == 1
		}
		if cb != nil {
			cb.Outcome = OutcomeDuplicate
			if changed {
				cb.Outcome = OutcomeAccepted
			}
			if err := insertCallback(ctx, tx, *cb); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		action := AuditClosed
		if o.status == StatusPaid {
			action = AuditPaid
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: "payment-platform", Action: action, ObjectType: AuditObjectType,
			ObjectID: p.OrderID, Detail: map[string]any{"dossier": p.DossierCode, "fee": p.FeeN, "amount": o.amount,
				"status": string(o.status), "transaction": o.txn, "source": o.source}})
	})
	if err != nil {
		return false, fmt.Errorf("apply payment outcome %s: %w", p.OrderID, err)
	}
	if o.status == StatusPaid {
		// Newly paid, or paid earlier but the fee is not recorded yet.
		cur, err := getPayment(ctx, s.db.Read(), p.OrderID)
		if err != nil {
			return changed, err
		}
		if !cur.FeeRecorded && (changed || cb == nil) {
			if err := s.recordFee(ctx, cur); err != nil {
				return changed, err
			}
		}
	}
	return changed, nil
}

// recordFee tells the dossier module the fee is paid, then remembers it did.
func (s *Service) recordFee(ctx context.Context, p Payment) error {
	if _, err := s.cfg.Dossiers.MarkFeePaid(ctx, dossier.FeePaymentInput{DossierCode: p.DossierCode, N: p.FeeN,
		Reference: p.Receipt()}); err != nil {
		return fmt.Errorf("record fee of %s: %w", p.OrderID, err)
	}
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE payment_payments SET fee_recorded = $2 WHERE order_id = $1`,
		p.OrderID, true); err != nil {
		return fmt.Errorf("record fee of %s: %w", p.OrderID, err)
	}
	return nil
}

// check asks the platform about one payment and applies the answer.
func (s *Service) check(ctx context.Context, p Payment) (bool, error) {
	q, err := s.cfg.Platform.Query(ctx, p.OrderID)
	if errors.Is(err, paygov.ErrRefused) && q.Code == paygov.CodeNotFound {
		// The platform never heard of it (creation failed): close it.
		q = paygov.QueryResponse{Status: paygov.StatusFailed}
	} else if err != nil {
		return false, err
	}
	st, ok := fromPlatform(q.Status)
	if !ok {
		return false, fmt.Errorf("payment %s: platform status %q", p.OrderID, q.Status)
	}
	if st == StatusPending {
		if s.now().Before(p.ExpiresAt) {
			return false, nil
		}
		st = StatusExpired
	}
	if st == StatusPaid && q.Amount != p.Amount {
		return false, fmt.Errorf("payment %s: platform amount %d, ours %d", p.OrderID, q.Amount, p.Amount)
	}
	paidAt, _ := paygov.ParseTime(q.PaidAt)
	return s.apply(ctx, p, outcome{status: st, txn: q.TransactionID, amount: q.Amount, paidAt: paidAt, source: "query"}, nil)
}

// SyncPending is the status-query job: it asks the platform about every
// payment pending for longer than QueryAfter (a notification that never
// came), applies the answers, and records fees of paid payments the dossier
// module has not recorded yet. Run it every few minutes.
func (s *Service) SyncPending(ctx context.Context) (SyncResult, error) {
	var res SyncResult
	pend, err := listPayments(ctx, s.db.Read(), `status = $1 AND created_at <= $2 ORDER BY created_at LIMIT 500`,
		string(StatusPending), s.now().Add(-s.cfg.QueryAfter))
	if err != nil {
		return res, err
	}
	var errs []error
	for _, p := range pend {
		res.Checked++
		changed, err := s.check(ctx, p)
		if err != nil {
			res.Errors++
			errs = append(errs, err)
			continue
		}
		if changed {
			cur, err := getPayment(ctx, s.db.Read(), p.OrderID)
			if err == nil && cur.Status == StatusPaid {
				res.Paid++
			} else {
				res.Closed++
			}
		}
	}
	unrec, err := listPayments(ctx, s.db.Read(), `status = $1 AND fee_recorded = $2 ORDER BY paid_at LIMIT 500`,
		string(StatusPaid), false)
	if err != nil {
		return res, err
	}
	for _, p := range unrec {
		if err := s.recordFee(ctx, p); err != nil {
			res.Errors++
			errs = append(errs, err)
			continue
		}
		res.FeesRecorded++
	}
	return res, errors.Join(errs...)
}

// Vietnam's time zone: settlement days are days in Vietnam.
var ict = time.FixedZone("ICT", 7*3600)

// Reconcile compares the platform's settlement list of a day (YYYY-MM-DD,
// in Vietnam) with the payments we recorded paid that day, stores the
// report and returns it.
func (s *Service) Reconcile(ctx context.Context, date string) (Report, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, ict)
	if err != nil {
		return Report{}, fmt.Errorf("reconcile: date %q: %w", date, err)
	}
	st, err := s.cfg.Platform.Settlements(ctx, date)
	if err != nil {
		return Report{}, fmt.Errorf("reconcile %s: %w", date, err)
	}
	ours, err := listPayments(ctx, s.db.Read(), `status = $1 AND paid_at >= $2 AND paid_at < $3 ORDER BY order_id`,
		string(StatusPaid), ts(day), ts(day.AddDate(0, 0, 1)))
	if err != nil {
		return Report{}, err
	}
	rep := Report{Date: date, RunAt: s.now(), Ours: len(ours), Theirs: len(st.Items), Mismatches: []Mismatch{}}
	byOrder := map[string]Payment{}
	for _, p := range ours {
		byOrder[p.OrderID] = p
		rep.OurTotal += p.Amount
	}
	for _, it := range st.Items {
		if it.Status == paygov.StatusSuccess {
			rep.TheirTotal += it.Amount
		}
		p, ok := byOrder[it.OrderID]
		if ok {
			delete(byOrder, it.OrderID)
		} else {
			p, err = getPayment(ctx, s.db.Read(), it.OrderID)
			if errors.Is(err, ErrNotFound) {
				rep.Mismatches = append(rep.Mismatches, Mismatch{Kind: MismatchMissingHere, OrderID: it.OrderID,
					TransactionID: it.TransactionID, TheirAmount: it.Amount, TheirStatus: it.Status})
				continue
			}
			if err != nil {
				return Report{}, err
			}
		}
		m := Mismatch{OrderID: it.OrderID, TransactionID: it.TransactionID, DossierCode: p.DossierCode, OurAmount: p.Amount,
			TheirAmount: it.Amount, OurStatus: string(p.Status), TheirStatus: it.Status}
		switch {
		case (p.Status == StatusPaid) != (it.Status == paygov.StatusSuccess):
			m.Kind = MismatchStatusDiffers
		case p.Amount != it.Amount:
			m.Kind = MismatchAmountDiffers
		default:
			rep.Matched++
			continue
		}
		rep.Mismatches = append(rep.Mismatches, m)
	}
	left := make([]string, 0, len(byOrder))
	for id := range byOrder {
		left = append(left, id)
	}
	sort.Strings(left)
	for _, id := range left {
		p := byOrder[id]
		rep.Mismatches = append(rep.Mismatches, Mismatch{Kind: MismatchMissingThere, OrderID: id, TransactionID: p.TransactionID,
			DossierCode: p.DossierCode, OurAmount: p.Amount, OurStatus: string(p.Status)})
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return Report{}, err
	}
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_reconciliations (day, run_at, mismatches, report) VALUES ($1, $2, $3, $4)`,
			date, rep.RunAt, len(rep.Mismatches), string(body)); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: rep.RunAt, Actor: "payment-reconcile", Action: AuditReconcile,
			ObjectType: AuditObjectType, ObjectID: date, Detail: map[string]any{"ours": rep.Ours, "theirs": rep.Theirs,
				"matched": rep.Matched, "mismatches": len(rep.Mismatches)}})
	})
	if err != nil {
		return Report{}, fmt.Errorf("store reconciliation %s: %w", date, err)
	}
	return rep, nil
}

// LastReport returns the latest stored reconciliation of a day, or
// ErrNotFound.
func (s *Service) LastReport(ctx context.Context, date string) (Report, error) {
	var body string
	err := s.db.Read().QueryRowContext(ctx, `SELECT report FROM payment_reconciliations WHERE day = $1 ORDER BY id DESC LIMIT 1`,
		date).Scan(&body)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Report{}, fmt.Errorf("reconciliation %s: %w", date, ErrNotFound)
		}
		return Report{}, fmt.Errorf("reconciliation %s: %w", date, err)
	}
	var r Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return Report{}, fmt.Errorf("reconciliation %s: %w", date, err)
	}
	return r, nil
}

// DossierAdapter implements Dossiers over the dossier module's Service.
// Until the dossier module offers a trusted read of fees, Fees reads the
// dossier as a province-wide system principal.
type DossierAdapter struct{ Service *dossier.Service }

var systemPrincipal = &identity.Principal{PersonID: "system:payment", Username: "system:payment", FullName: "payment",
	Kind: identity.KindOfficial, Grants: []identity.Grant{{ID: "system:payment", PersonID: "system:payment",
		Role: identity.RoleSysadmin, UnitID: identity.ProvinceWide, GrantedBy: identity.ActorSystem}}}

// Fees reads a dossier's fees.
func (a DossierAdapter) Fees(ctx context.Context, code string) ([]dossier.Fee, error) {
	d, err := a.Service.Get(ctx, code, systemPrincipal)
	if err != nil {
		return nil, err
	}
	return d.Fees, nil
}

// MarkFeePaid records a fee as paid, as a trusted in-process caller.
func (a DossierAdapter) MarkFeePaid(ctx context.Context, in dossier.FeePaymentInput) (dossier.Fee, error) {
	return a.Service.MarkFeePaid(ctx, in)
}

// CanView tells whether p may view the dossier.
func (a DossierAdapter) CanView(ctx context.Context, p *identity.Principal, code string) bool {
	_, err := a.Service.Get(ctx, code, p)
	return err == nil
}
