package nationalportal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// Dossiers is what the adapter needs from the dossier module;
// *dossier.Service implements it.
type Dossiers interface {
	Get(ctx context.Context, code string, actor *identity.Principal) (*dossier.Dossier, error)
	List(ctx context.Context, q dossier.ListQuery) (dossier.ListPage, error)
	Submit(ctx context.Context, in dossier.SubmitInput) (dossier.Receipt, error)
	SubmittedWithKey(ctx context.Context, key string) (dossier.Receipt, bool, error)
	PutFile(ctx context.Context, name string, r io.Reader) (dossier.File, error)
}

var _ Dossiers = (*dossier.Service)(nil)

// SubscriptionName is the outbox subscriber name of the outbound sync.
const SubscriptionName = "nationalportal.sync"

// Topics are the dossier topics the outbound sync follows.
var Topics = []string{dossier.TopicSubmitted, dossier.TopicReceived, dossier.TopicTransition,
	dossier.TopicResultAdded, dossier.TopicFeePaid}

// ErrBusy reports that another worker is syncing the same dossier; the
// outbox retries the event later.
var ErrBusy = errors.New("nationalportal: dossier sync in progress elsewhere")

// ReaderID is the person ID under which the adapter reads dossiers.
const ReaderID = "system:nationalportal"

// reader is the adapter's in-process identity for reading dossiers: a
// province-wide follower (leader role), which may view every dossier and
// act on none. The dossier module has no trusted read accessor (Get needs a
// principal), so the adapter carries its own.
var reader = &identity.Principal{PersonID: ReaderID, Username: "nationalportal", FullName: "Đồng bộ Cổng DVCQG",
	Kind: identity.KindOfficial, Grants: []identity.Grant{{ID: "nationalportal-reader", PersonID: ReaderID,
		Role: identity.RoleLeader, UnitID: identity.ProvinceWide, GrantedBy: identity.ActorSystem}}}

// Config wires a Service.
type Config struct {
	// Dossiers and Portal are required.
	Dossiers Dossiers
	Portal   Portal
	// InboundAgency and InboundUnit place dossiers submitted on the national
	// portal (receiving agency e-ID and its desk) when InboundDesks has no
	// desk for the agency the portal names.
	InboundAgency, InboundUnit string
	InboundDesks               map[string]string
	// InboundBatch is how many inbound dossiers one pull asks for (default 20).
	InboundBatch int
	// InboundGiveUp is how long one inbound dossier may fail to be taken
	// in for a reason that may pass (a file that does not download) before
	// it is set aside as rejected, so that the dossiers after it are not
	// held up (default 1 h).
	InboundGiveUp time.Duration
	// Lease bounds how long one worker owns a dossier's sync (default 5m);
	// keep it above a few portal timeouts.
	Lease time.Duration
	// People names officials in progress entries (NguoiXuLy);
	// *identity.Service implements it. Nil: person IDs are sent.
	People dossier.People
	// Queue reports the outbox's deliveries ((*outbox.Dispatcher).Stats):
	// the backfill waits while its previous page is queued and shows what
	// is pending and failed. Nil: the backfill only pauses between pages.
	Queue QueueStats
	// BackfillPage is how many dossiers one backfill step enqueues (default
	// 100, at most 200); BackfillPause the wait between steps (default 2s).
	BackfillPage  int
	BackfillPause time.Duration
	// ReconcileInterval is the time between scheduled reconciliations
	// (default 24h; negative: no scheduled reconciliation).
	ReconcileInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives failures (default slog.Default()).
	Logger *slog.Logger
}

// Service links the province's dossiers with the national portal: the
// outbound sync (Sync, HandleEvent), the inbound feed (Pull) and the
// reconciliation (Reconcile).
type Service struct {
	db  *db.DB
	cfg Config
	// blocked is the inbound dossier the feed stopped at, and since when.
	blockedMu sync.Mutex
	blocked   struct {
		id    string
		since time.Time
	}
}

// New returns a Service over d, whose schema must include Migrations. It
// does no I/O.
func New(d *db.DB, cfg Config) (*Service, error) {
	if cfg.Dossiers == nil || cfg.Portal == nil {
		return nil, errors.New("nationalportal: Dossiers and Portal are required")
	}
	if cfg.InboundGiveUp <= 0 {
		cfg.InboundGiveUp = time.Hour
	}
	if cfg.InboundBatch <= 0 || cfg.InboundBatch > 100 {
		cfg.InboundBatch = 20
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.BackfillPage <= 0 || cfg.BackfillPage > 200 {
		cfg.BackfillPage = 100
	}
	if cfg.BackfillPause <= 0 {
		cfg.BackfillPause = 2 * time.Second
	}
	if cfg.ReconcileInterval == 0 {
		cfg.ReconcileInterval = 24 * time.Hour
	}
	if cfg.ReconcileInterval > 0 && cfg.ReconcileInterval < time.Minute {
		cfg.ReconcileInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{db: d, cfg: cfg}, nil
}

// Subscribe declares the outbound sync on the dispatcher for every dossier
// topic and for the backfill's requests (TopicBackfill); call while wiring,
// before Register or Run.
func (s *Service) Subscribe(d *outbox.Dispatcher) {
	for _, t := range append(Topics[:len(Topics):len(Topics)], TopicBackfill) {
		d.Subscribe(t, SubscriptionName, s.HandleEvent)
	}
}

// HandleEvent is the outbox handler: it syncs the dossier the event names
// (a dossier event, or a backfill request, whose failures are also noted on
// the backfill).
// A failure that may pass returns an error (the outbox retries with
// backoff, then dead-letters); a rejection by the portal is recorded for
// operators and acknowledged.
func (s *Service) HandleEvent(ctx context.Context, ev outbox.Event) error {
	code := ev.Key
	if code == "" {
		var e dossier.Event
		if err := ev.Decode(&e); err != nil {
			return err
		}
		code = e.Code
	}
	err := s.sync(ctx, code, false)
	if err != nil && ev.Topic == TopicBackfill {
		s.noteBackfillEvent(ctx, ev, err)
	}
	return err
}

// Sync pushes a dossier's current state to the portal unless the portal
// already holds it: the dossier (DongBoHoSoMC) and the progress entries of
// the steps after the last synced version (CapNhatTienDoHoSoMC).
func (s *Service) Sync(ctx context.Context, code string) error { return s.sync(ctx, code, false) }

// Resync pushes a dossier again with all its progress entries, even if the
// portal should already hold it (for operators repairing a mismatch). The
// request is audited as by, whether or not the portal then accepts it.
func (s *Service) Resync(ctx context.Context, code, by string) error {
	if by == "" {
		by = "system"
	}
	if err := s.db.Tx(ctx, func(tx *db.Tx) error {
		return audit.Append(ctx, tx, audit.Entry{Actor: by, Action: "nationalportal.resync", ObjectType: "dossier", ObjectID: code})
	}); err != nil {
		return fmt.Errorf("nationalportal: resync %s: %w", code, err)
	}
	return s.sync(ctx, code, true)
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func payloadHash(h HoSo) string {
	b, _ := json.Marshal(h)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sync holds the dossier's lease while it reads the dossier and pushes it,
// so two workers never push the same dossier at once: the state pushed is
// always read after the previous push ended, and the portal never goes
// back to an older status.
func (s *Service) sync(ctx context.Context, code string, force bool) error {
	token := newToken()
	ok, st, err := claim(ctx, s.db, code, token, s.cfg.Now(), s.cfg.Lease)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrBusy, code)
	}
	d, err := s.cfg.Dossiers.Get(ctx, code, reader)
	if err != nil {
		if errors.Is(err, dossier.ErrNotFound) {
			rerr := release(ctx, s.db, code, token, s.cfg.Now(), outcome{})
			if force {
				return errors.Join(fmt.Errorf("nationalportal: resync %s: %w", code, err), rerr)
			}
			s.cfg.Logger.WarnContext(ctx, "nationalportal: event for an unknown dossier", "code", code)
			return rerr
		}
		rerr := release(ctx, s.db, code, token, s.cfg.Now(), outcome{Error: err.Error()})
		return errors.Join(fmt.Errorf("nationalportal: read %s: %w", code, err), rerr)
	}
	h := ToHoSo(d)
	hash := payloadHash(h)
	if !force && (d.Version < st.Version || (d.Version == st.Version && hash == st.Hash)) {
		// Redelivered or out-of-order event: the portal holds this or newer.
		return release(ctx, s.db, code, token, s.cfg.Now(), outcome{})
	}
	since := st.Version
	if force {
		since = 0
	}
	err = s.cfg.Portal.Upsert(ctx, []HoSo{h})
	if p := ToProgress(d, since, s.personName(ctx)); err == nil && len(p) > 0 {
		err = s.cfg.Portal.UpdateProgress(ctx, p)
	}
	o := outcome{Version: d.Version, Status: h.TrangThaiHoSo, Hash: hash}
	if err != nil {
		o.Error = err.Error()
		var rej *RejectedError
		if errors.As(err, &rej) {
			o.Rejection = rej
			s.cfg.Logger.WarnContext(ctx, "nationalportal: dossier rejected by the portal", "code", code, "version", d.Version, "err", err)
			if rerr := release(ctx, s.db, code, token, s.cfg.Now(), o); rerr != nil || !force {
				// The outbox is done with it (a retry would be refused
				// again); the rejection is kept for operators.
				return rerr
			}
			// An operator asked for this sync: the refusal is the answer.
			return fmt.Errorf("nationalportal: sync %s: %w", code, err)
		}
		rerr := release(ctx, s.db, code, token, s.cfg.Now(), o)
		return errors.Join(fmt.Errorf("nationalportal: sync %s: %w", code, err), rerr)
	}
	o.Synced = true
	return release(ctx, s.db, code, token, s.cfg.Now(), o)
}

// personName returns a lookup of officials' names, remembered for one sync.
func (s *Service) personName(ctx context.Context) func(string) string {
	if s.cfg.People == nil {
		return nil
	}
	names := map[string]string{}
	return func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		p, err := s.cfg.People.GetPerson(ctx, id)
		if err != nil {
			names[id] = ""
			return ""
		}
		names[id] = p.FullName
		return p.FullName
	}
}
