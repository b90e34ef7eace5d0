package postal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/postal/vnpost"
)

// Config wires a Service.
type Config struct {
	// Carrier is required.
	Carrier Carrier
	// PartnerCode and Secret are the province's partner code at the carrier
	// and the shared HMAC key (CONGSO_POSTAL_PARTNER_CODE,
	// CONGSO_POSTAL_SECRET); webhooks are verified with Secret.
	PartnerCode string
	Secret      []byte
	// QueryAfter is how long a shipment may go without news before Sync
	// queries the carrier (CONGSO_POSTAL_QUERY_AFTER, default 6 hours).
	QueryAfter time.Duration
	// CanView lets officials read a dossier's shipments through the API.
	CanView CanView
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service sends dossier results by post.
type Service struct {
	db  *db.DB
	cfg Config
	log *slog.Logger
}

// New returns a Service over d.
func New(d *db.DB, cfg Config) (*Service, error) {
	if cfg.Carrier == nil || len(cfg.Secret) == 0 {
		return nil, errors.New("postal: Carrier and Secret are required")
	}
	if cfg.QueryAfter <= 0 {
		cfg.QueryAfter = 6 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{db: d, cfg: cfg, log: cfg.Logger}, nil
}

func (s *Service) now() time.Time { return ts(s.cfg.Now()) }

// ShipInput asks to send a dossier's result by post.
type ShipInput struct {
	DossierCode string
	// SenderAgency is the e-ID of the agency the carrier picks up at, and
	// Sender its name, phone and address.
	SenderAgency string
	Sender       Party
	Recipient    Party
	// CODAmount is collected on delivery (fees due at result), 0 for none.
	CODAmount int64
	Note      string
	Actor     *identity.Principal
}

func (in ShipInput) check() error {
	var bad []string
	text := func(name, v string, max int) {
		if strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > max || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") {
			bad = append(bad, name)
		}
	}
	text("dossier_code", in.DossierCode, 100)
	text("sender_agency", in.SenderAgency, 50)
	text("sender.name", in.Sender.Name, 200)
	text("sender.address", in.Sender.Address, 500)
	text("recipient.name", in.Recipient.Name, 200)
	text("recipient.phone", in.Recipient.Phone, 20)
	text("recipient.address", in.Recipient.Address, 500)
	if in.CODAmount < 0 {
		bad = append(bad, "cod_amount")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, ", "))
	}
	return nil
}

// Ship returns the dossier's open shipment, creating it at the carrier if
// needed. It is safe to retry: the shipment is recorded here first under a
// client reference, and the carrier answers the same tracking code for the
// same reference, so however often Ship (or Sync) is retried after a lost
// answer, the carrier has one shipment and the dossier one tracking code.
// On a carrier error the shipment is returned in status "requested" with
// the error; Sync retries it.
func (s *Service) Ship(ctx context.Context, in ShipInput) (Shipment, error) {
	if err := in.check(); err != nil {
		return Shipment{}, err
	}
	sh, err := s.open(ctx, in)
	if err != nil {
		return sh, err
	}
	if sh.TrackingCode != "" {
		return sh, nil
	}
	return s.request(ctx, sh, in.Note)
}

func (s *Service) open(ctx context.Context, in ShipInput) (Shipment, error) {
	for range 3 {
		sh, err := oneShipment(ctx, s.db.Read(), `dossier_code = $1 AND status NOT IN ('returned', 'cancelled')`, in.DossierCode)
		if err == nil {
			return sh, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return sh, err
		}
		now := s.now()
		sh = Shipment{DossierCode: in.DossierCode, SenderAgency: in.SenderAgency, Sender: in.Sender, Recipient: in.Recipient,
			CODAmount: in.CODAmount, Status: StatusRequested, StatusAt: now, CreatedBy: actorID(in.Actor), CreatedAt: now, UpdatedAt: now}
		err = s.db.Tx(ctx, func(tx *db.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM postal_shipments WHERE dossier_code = $1`, in.DossierCode).Scan(&n); err != nil {
				return err
			}
			sh.ClientRef = fmt.Sprintf("%s-KQ%d", in.DossierCode, n+1)
			if _, err := tx.ExecContext(ctx, `INSERT INTO postal_shipments (dossier_code, client_ref, tracking_code, sender_agency,
				sender_name, sender_phone, sender_address, recipient_name, recipient_phone, recipient_address, cod_amount, status,
				status_at, created_by, created_at, updated_at) VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $12, $12)`,
				sh.DossierCode, sh.ClientRef, sh.SenderAgency, sh.Sender.Name, sh.Sender.Phone, sh.Sender.Address, sh.Recipient.Name,
				sh.Recipient.Phone, sh.Recipient.Address, sh.CODAmount, string(sh.Status), now, sh.CreatedBy); err != nil {
				return err
			}
			return audit.Append(ctx, tx, audit.Entry{At: now, Actor: sh.CreatedBy, Action: AuditCreate, ObjectType: AuditObjectType,
				ObjectID: sh.ClientRef, Unit: sh.SenderAgency, Detail: map[string]any{"dossier": sh.DossierCode, "cod": sh.CODAmount}})
		})
		if db.IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return sh, fmt.Errorf("record shipment of %s: %w", in.DossierCode, err)
		}
		return oneShipment(ctx, s.db.Read(), `client_ref = $1`, sh.ClientRef)
	}
	return Shipment{}, fmt.Errorf("record shipment of %s: too much contention", in.DossierCode)
}

func actorID(p *identity.Principal) string {
	if p == nil || p.PersonID == "" {
		return identity.ActorSystem
	}
	return p.PersonID
}

// request asks the carrier for the shipment and stores the tracking code.
func (s *Service) request(ctx context.Context, sh Shipment, note string) (Shipment, error) {
	resp, err := s.cfg.Carrier.Create(ctx, vnpost.CreateRequest{ClientRef: sh.ClientRef, SenderCode: sh.SenderAgency, Sender: sh.Sender,
		Recipient: sh.Recipient, CODAmount: sh.CODAmount, Note: note})
	if err != nil {
		return sh, fmt.Errorf("create shipment %s: %w", sh.ClientRef, err)
	}
	st := Status(resp.Status)
	if !st.Valid() || st == StatusRequested {
		st = StatusCreated
	}
	now := s.now()
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE postal_shipments SET tracking_code = $2, status = $3, status_at = $4, updated_at = $4
		WHERE client_ref = $1 AND tracking_code = ''`, sh.ClientRef, resp.TrackingCode, string(st), now); err != nil {
		return sh, fmt.Errorf("store tracking code of %s: %w", sh.ClientRef, err)
	}
	return oneShipment(ctx, s.db.Read(), `client_ref = $1`, sh.ClientRef)
}

// ForDossier lists a dossier's shipments, newest first: the first one is
// what dossier pages show (tracking code and status).
func (s *Service) ForDossier(ctx context.Context, code string) ([]Shipment, error) {
	return listShipments(ctx, s.db.Read(), `dossier_code = $1 ORDER BY id DESC`, code)
}

// HandleWebhook acts on a status report the carrier posted (raw body).
// Every report is recorded; one that does not verify or names an unknown
// shipment is rejected (ErrRejected, audited). A report not newer than the
// shipment's status changes nothing, so repeats and reordering are harmless.
func (s *Service) HandleWebhook(ctx context.Context, raw []byte, remote string) error {
	ev := Event{ReceivedAt: s.now(), Source: "webhook", Raw: string(raw)}
	var m vnpost.StatusMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return s.reject(ctx, ev, ReasonMalformed, remote)
	}
	ev.TrackingCode, ev.Status = m.TrackingCode, m.Status
	ev.StatusAt, _ = vnpost.ParseTime(m.StatusAt)
	if vnpost.Verify(s.cfg.Secret, m.Fields()) != nil || m.PartnerCode != s.cfg.PartnerCode {
		return s.reject(ctx, ev, ReasonBadSignature, remote)
	}
	if !Status(m.Status).Valid() || Status(m.Status) == StatusRequested {
		return s.reject(ctx, ev, ReasonUnknownStatus, remote)
	}
	sh, err := oneShipment(ctx, s.db.Read(), `tracking_code = $1 AND tracking_code <> ''`, m.TrackingCode)
	if errors.Is(err, ErrNotFound) && m.ClientRef != "" && m.TrackingCode != "" {
		// The answer to our create was lost: the reference tells whose it is.
		sh, err = oneShipment(ctx, s.db.Read(), `client_ref = $1 AND tracking_code = ''`, m.ClientRef)
		sh.TrackingCode = m.TrackingCode
	}
	if errors.Is(err, ErrNotFound) {
		return s.reject(ctx, ev, ReasonUnknownTracking, remote)
	}
	if err != nil {
		return err
	}
	_, err = s.apply(ctx, sh, ev)
	return err
}

func (s *Service) reject(ctx context.Context, ev Event, reason, remote string) error {
	ev.Outcome, ev.Reason = OutcomeRejected, reason
	s.log.WarnContext(ctx, "postal webhook rejected", "reason", reason, "remote", remote)
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: ev.ReceivedAt, Actor: "postal-carrier", Action: AuditWebhookRejected,
			ObjectType: AuditObjectType, ObjectID: clean(ev.TrackingCode, 100), IP: remote, Detail: map[string]any{"reason": reason}})
	})
	if err != nil {
		return fmt.Errorf("record rejected webhook: %w", err)
	}
	return fmt.Errorf("%w: %s", ErrRejected, reason)
}

// apply moves a shipment to the event's status if the event is newer.
func (s *Service) apply(ctx context.Context, sh Shipment, ev Event) (bool, error) {
	if ev.StatusAt.IsZero() {
		ev.StatusAt = ev.ReceivedAt
	}
	changed := false
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE postal_shipments SET tracking_code = $2 WHERE id = $1 AND tracking_code = ''`,
			sh.ID, sh.TrackingCode); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE postal_shipments SET status = $2, status_at = $3, updated_at = $4
			WHERE id = $1 AND (status_at < $3 OR (status_at = $3 AND status <> $2)) AND status <> 'delivered'`,
			sh.ID, ev.Status, ts(ev.StatusAt), s.now())
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = k == 1
		ev.Outcome = OutcomeStale
		if changed {
			ev.Outcome = OutcomeApplied
		}
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return audit.Append(ctx, tx, audit.Entry{At: ev.ReceivedAt, Actor: "postal-carrier", Action: AuditStatus, ObjectType: AuditObjectType,
			ObjectID: sh.ClientRef, Unit: sh.SenderAgency, Detail: map[string]any{"dossier": sh.DossierCode, "tracking": sh.TrackingCode,
				"status": ev.Status, "source": ev.Source}})
	})
	if err != nil {
		return false, fmt.Errorf("apply postal status %s: %w", sh.TrackingCode, err)
	}
	return changed, nil
}

// SyncResult counts what Sync did.
type SyncResult struct {
	Requested int `json:"requested"`
	Queried   int `json:"queried"`
	Changed   int `json:"changed"`
	Errors    int `json:"errors"`
}

// Sync is the postal job: it asks the carrier again for shipments still
// "requested" (a create whose answer was lost or failed), then queries the
// status of open shipments without news for QueryAfter (a webhook lost).
// Run it every few minutes.
func (s *Service) Sync(ctx context.Context) (SyncResult, error) {
	var res SyncResult
	var errs []error
	req, err := listShipments(ctx, s.db.Read(), `status = 'requested' ORDER BY id LIMIT 200`)
	if err != nil {
		return res, err
	}
	for _, sh := range req {
		if _, err := s.request(ctx, sh, ""); err != nil {
			res.Errors++
			errs = append(errs, err)
			continue
		}
		res.Requested++
	}
	old, err := listShipments(ctx, s.db.Read(), `status NOT IN ('requested', 'delivered', 'returned', 'cancelled') AND updated_at <= $1
		ORDER BY updated_at LIMIT 500`, s.now().Add(-s.cfg.QueryAfter))
	if err != nil {
		return res, err
	}
	for _, sh := range old {
		res.Queried++
		m, err := s.cfg.Carrier.Query(ctx, sh.TrackingCode)
		if err != nil {
			res.Errors++
			errs = append(errs, err)
			continue
		}
		at, _ := vnpost.ParseTime(m.StatusAt)
		if !Status(m.Status).Valid() {
			res.Errors++
			errs = append(errs, fmt.Errorf("postal %s: carrier status %q", sh.TrackingCode, m.Status))
			continue
		}
		changed, err := s.apply(ctx, sh, Event{ReceivedAt: s.now(), TrackingCode: sh.TrackingCode, Status: m.Status, StatusAt: at, Source: "query"})
		if err != nil {
			res.Errors++
			errs = append(errs, err)
			continue
		}
		if changed {
			res.Changed++
		} else {
			// Nothing new: touch it so it is not queried again at once.
			_, _ = s.db.Write().ExecContext(ctx, `UPDATE postal_shipments SET updated_at = $2 WHERE id = $1`, sh.ID, s.now())
		}
	}
	return res, errors.Join(errs...)
}
