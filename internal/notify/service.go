package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// Config is the notify module's configuration. ConfigFromEnv reads the
// CONGSO_SMTP_*, CONGSO_SMS_* and CONGSO_NOTIFY_* variables.
type Config struct {
	SMTP SMTPConfig
	SMS  SMSConfig
	// BaseURL is the public URL of the portal (CONGSO_BASE_URL), for links.
	BaseURL string
	// LookupPath is the public lookup page; "?code=…" is appended
	// (CONGSO_NOTIFY_LOOKUP_PATH, default "/lookup").
	LookupPath string
	// DossierPath is where an account holder follows their dossier; the
	// in-app notification links to it + the code
	// (CONGSO_NOTIFY_DOSSIER_PATH, default "/my/dossiers/").
	DossierPath string
	// Sender signs the messages: the province's name, e.g. "UBND tỉnh Bình
	// Phước" (CONGSO_NOTIFY_SENDER, default "Cổng Dịch vụ công").
	Sender string
	// MaxAttempts is how many times an email or SMS is tried before it is
	// marked failed (CONGSO_NOTIFY_MAX_ATTEMPTS, default 8). Keep it at most
	// the outbox dispatcher's MaxAttempts (default 10), whose backoff spaces
	// the attempts.
	MaxAttempts int
	// TemplateDir holds edited templates that replace the embedded ones
	// (CONGSO_NOTIFY_TEMPLATES; see docs/notifications.md).
	TemplateDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// ConfigFromEnv reads the module's variables (see Config and docs/notifications.md).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	num := func(key string, dst *int) {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a number", key, v))
				return
			}
			*dst = n
		}
	}
	dur := func(key string, dst *time.Duration) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: not a duration", key, v))
				return
			}
			*dst = d
		}
	}
	c.SMTP.Host = getenv("CONGSO_SMTP_HOST")
	num("CONGSO_SMTP_PORT", &c.SMTP.Port)
	c.SMTP.From = getenv("CONGSO_SMTP_FROM")
	c.SMTP.FromName = getenv("CONGSO_SMTP_FROM_NAME")
	c.SMTP.Username = getenv("CONGSO_SMTP_USERNAME")
	c.SMTP.Password = getenv("CONGSO_SMTP_PASSWORD")
	c.SMTP.TLS = strings.ToLower(getenv("CONGSO_SMTP_TLS"))
	c.SMTP.Helo = getenv("CONGSO_SMTP_HELO")
	dur("CONGSO_SMTP_TIMEOUT", &c.SMTP.Timeout)
	c.SMS.URL = getenv("CONGSO_SMS_URL")
	c.SMS.Brandname = getenv("CONGSO_SMS_BRANDNAME")
	c.SMS.APIKey = getenv("CONGSO_SMS_API_KEY")
	if v := getenv("CONGSO_SMS_UNICODE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONGSO_SMS_UNICODE=%q: not a boolean", v))
		}
		c.SMS.Unicode = b
	}
	num("CONGSO_SMS_MAX_LEN", &c.SMS.MaxLen)
	dur("CONGSO_SMS_TIMEOUT", &c.SMS.Timeout)
	c.BaseURL = getenv("CONGSO_BASE_URL")
	c.LookupPath = getenv("CONGSO_NOTIFY_LOOKUP_PATH")
	c.Sender = getenv("CONGSO_NOTIFY_SENDER")
	c.DossierPath = getenv("CONGSO_NOTIFY_DOSSIER_PATH")
	num("CONGSO_NOTIFY_MAX_ATTEMPTS", &c.MaxAttempts)
	c.TemplateDir = getenv("CONGSO_NOTIFY_TEMPLATES")
	if c.SMTP.Host != "" {
		if _, err := NewSMTPSender(c.SMTP); err != nil {
			errs = append(errs, err)
		}
	}
	if c.SMS.URL != "" {
		if _, err := NewSMSGateway(c.SMS); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// Deps are the collaborators of the Service. Email and SMS default to the
// real SMTP sender and SMS gateway when their configuration is set; a nil
// sender disables its channel.
type Deps struct {
	Dossiers Dossiers
	Accounts Accounts
	Email    EmailSender
	SMS      SMSSender
}

// Service turns events into notifications, sends them through the outbox,
// and serves the in-app notifications, the delivery history and the
// preferences.
type Service struct {
	db   *db.DB
	cfg  Config
	tpl  *Templates
	deps Deps
	log  *slog.Logger
}

// New returns the Service. It loads and checks the templates (embedded,
// with cfg.TemplateDir's files over them) and does no other I/O.
func New(d *db.DB, cfg Config, deps Deps) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.LookupPath == "" {
		cfg.LookupPath = "/lookup"
	}
	if cfg.DossierPath == "" {
		cfg.DossierPath = "/my/dossiers/"
	}
	if cfg.Sender == "" {
		cfg.Sender = "Cổng Dịch vụ công"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.SMTP.FromName == "" {
		cfg.SMTP.FromName = cfg.Sender
	}
	if deps.Email == nil && cfg.SMTP.Host != "" {
		s, err := NewSMTPSender(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		deps.Email = s
	}
	if deps.SMS == nil && cfg.SMS.URL != "" {
		g, err := NewSMSGateway(cfg.SMS)
		if err != nil {
			return nil, err
		}
		deps.SMS = g
	}
	tpl, err := LoadTemplates(cfg.TemplateDir)
	if err != nil {
		return nil, err
	}
	return &Service{db: d, cfg: cfg, tpl: tpl, deps: deps, log: cfg.Logger}, nil
}

// Subscribe declares the module's outbox subscriptions on disp: the dossier
// topics, the identity sign-in topic, and its own delivery topic. Call it
// while wiring, before disp.Register or Run.
func (s *Service) Subscribe(disp *outbox.Dispatcher) {
	for _, t := range []string{TopicDossierReceived, TopicDossierTransition, TopicDossierFeePaid} {
		disp.Subscribe(t, SubscriberName, s.HandleDossierEvent)
	}
	disp.Subscribe(TopicLogin, SubscriberName, s.HandleLogin)
	disp.Subscribe(TopicDeliver, SubscriberName, s.HandleDeliver)
}

// lookupURL is the public lookup link of a dossier.
func (s *Service) lookupURL(code string) string {
	return s.cfg.BaseURL + s.cfg.LookupPath + "?code=" + url.QueryEscape(code)
}

// HandleDossierEvent is the outbox handler of the dossier topics: it decides
// the notification (if any), reads the applicant's contact through Dossiers,
// renders the templates in the applicant's language and records one
// delivery per channel the preferences allow, each unique per event,
// channel and recipient, in one transaction with the outbox events that
// send them. A redelivered event records and sends nothing new.
func (s *Service) HandleDossierEvent(ctx context.Context, ev outbox.Event) error {
	var de dossierEvent
	if err := ev.Decode(&de); err != nil {
		return fmt.Errorf("notify: decode %s event %d: %w", ev.Topic, ev.ID, err)
	}
	kind, ok := kindOf(ev.Topic, de)
	if !ok {
		return nil
	}
	if s.deps.Dossiers == nil {
		return fmt.Errorf("notify: no Dossiers configured for %s", de.Code)
	}
	f, err := s.deps.Dossiers.DossierFacts(ctx, de.Code)
	if errors.Is(err, ErrNotFound) {
		s.log.WarnContext(ctx, "notify: dossier of event not found", "code", de.Code, "event", ev.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: facts of %s: %w", de.Code, err)
	}
	d := Data{Sender: s.cfg.Sender, Name: f.Contact.Name, Code: de.Code, Procedure: f.ProcedureName,
		ReceivedAt: de.ReceivedAt, DueAt: de.DueAt, LookupURL: s.lookupURL(de.Code), Link: s.cfg.DossierPath + url.PathEscape(de.Code)}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = f.ReceivedAt
	}
	if d.DueAt.IsZero() {
		d.DueAt = f.DueAt
	}
	for _, n := range f.Notices {
		if n.CaseVersion == de.Version {
			d.Reason, d.Items = n.Reason, n.Items
			d.NewDue, d.PreviousDue = n.NewDue, n.PreviousDue
		}
	}
	switch kind {
	case KindExtended:
		if d.NewDue.IsZero() {
			d.NewDue = de.DueAt
		}
	case KindResumed:
		d.Cause = "supplement"
		if de.Action == "payment_confirmed" {
			d.Cause = "payment"
		}
		d.BeforeReception = de.ReceivedAt.IsZero()
	case KindPaymentRequested:
		for _, fee := range f.Fees {
			if !fee.Paid {
				d.Fees = append(d.Fees, fee)
				d.Total += fee.Amount
			}
		}
	case KindPaymentReceived:
		if de.FeeN >= 1 && de.FeeN <= len(f.Fees) {
			fee := f.Fees[de.FeeN-1]
			d.Fee = &fee
		}
	}
	return s.enqueue(ctx, ev, kind, f.Contact, de.Code, d)
}

// HandleLogin is the outbox handler of TopicLogin: it tells the account's
// owner about the sign-in (in-app and email, as preferences allow).
func (s *Service) HandleLogin(ctx context.Context, ev outbox.Event) error {
	var le LoginEvent
	if err := ev.Decode(&le); err != nil {
		return fmt.Errorf("notify: decode login event %d: %w", ev.ID, err)
	}
	if le.PersonID == "" || s.deps.Accounts == nil {
		return nil
	}
	c, err := s.deps.Accounts.AccountContact(ctx, le.PersonID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("notify: contact of account %s: %w", le.PersonID, err)
	}
	if c.AccountID == "" {
		c.AccountID = le.PersonID
	}
	if le.At.IsZero() {
		le.At = ev.At
	}
	if len(le.UserAgent) > 200 {
		le.UserAgent = le.UserAgent[:200]
	}
	d := Data{Sender: s.cfg.Sender, Name: c.Name, Login: &le, Link: "/account/notifications"}
	return s.enqueue(ctx, ev, KindLogin, c, "", d)
}

// deliverPayload is the payload of TopicDeliver.
type deliverPayload struct {
	ID int64 `json:"id"`
}

// enqueue records the deliveries of one event for one contact.
func (s *Service) enqueue(ctx context.Context, ev outbox.Event, kind Kind, c Contact, code string, d Data) error {
	prefs := DefaultPreferences()
	if c.AccountID != "" {
		p, err := loadPreferences(ctx, s.db.Read(), c.AccountID)
		if err != nil {
			return err
		}
		prefs = p
	}
	if s.cfg.BaseURL != "" {
		d.SettingsURL = s.cfg.BaseURL + "/account/notifications/settings"
	}
	lang := langOf(c.Lang)
	msg, err := s.tpl.Render(lang, kind, d)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	var rows []*row
	for _, ch := range channelsOf(kind) {
		if !prefs.allows(ch) {
			continue
		}
		r := &row{Delivery: Delivery{Kind: kind, Channel: ch, DossierCode: code, Topic: ev.Topic, Subject: msg.Subject,
			Status: StatusPending, CreatedAt: now}, accountID: c.AccountID, lang: lang, eventID: ev.ID, link: d.Link}
		switch ch {
		case ChannelEmail:
			if s.deps.Email == nil || strings.TrimSpace(c.Email) == "" {
				continue
			}
			r.recipient, r.body, r.html = strings.TrimSpace(c.Email), msg.Text, msg.HTML
		case ChannelSMS:
			if s.deps.SMS == nil || c.Phone == "" {
				continue
			}
			phone, ok := NormalizePhone(c.Phone)
			if !ok {
				s.log.WarnContext(ctx, "notify: not a mobile number, no SMS", "event", ev.ID, "code", code)
				continue
			}
			r.recipient, r.body = phone, smsText(s.cfg.SMS, msg.SMS)
		case ChannelInApp:
			if c.AccountID == "" {
				continue
			}
			r.recipient, r.body = c.AccountID, msg.InApp
			r.Status, r.SentAt = StatusSent, now
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		for _, r := range rows {
			key := fmt.Sprintf("%d|%s|%s", ev.ID, r.Channel, r.recipient)
			inserted, err := insertDelivery(ctx, tx, key, r)
			if err != nil {
				return err
			}
			if !inserted || r.Channel == ChannelInApp {
				continue
			}
			if err := outbox.Publish(ctx, tx, outbox.Event{Topic: TopicDeliver, Key: strconv.FormatInt(r.ID, 10),
				Payload: deliverPayload{ID: r.ID}, At: now}); err != nil {
				return fmt.Errorf("notify: publish delivery: %w", err)
			}
		}
		return nil
	})
}

// HandleDeliver is the outbox handler of TopicDeliver: it sends one email or
// SMS. Success marks the delivery sent; a failure counts an attempt and
// returns the error so that the outbox retries with backoff, until
// MaxAttempts or a permanent error marks it failed. A delivery no longer
// pending is skipped, so a redelivered event sends nothing twice.
func (s *Service) HandleDeliver(ctx context.Context, ev outbox.Event) error {
	var p deliverPayload
	if err := ev.Decode(&p); err != nil {
		return fmt.Errorf("notify: decode delivery event %d: %w", ev.ID, err)
	}
	r, err := loadRow(ctx, s.db.Read(), p.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status != StatusPending {
		return nil
	}
	var provider string
	switch {
	case r.Channel == ChannelEmail && s.deps.Email != nil:
		provider, err = s.deps.Email.SendEmail(ctx, Email{To: r.recipient, Subject: r.Subject, Text: r.body, HTML: r.html,
			MessageID: s.messageID(r), Lang: r.lang})
	case r.Channel == ChannelSMS && s.deps.SMS != nil:
		provider, err = s.deps.SMS.SendSMS(ctx, SMS{Phone: r.recipient, Text: r.body, RequestID: "congso-" + strconv.FormatInt(r.ID, 10)})
	default:
		err = fmt.Errorf("channel %s is not configured: %w", r.Channel, ErrPermanent)
	}
	w := s.db.Write()
	if err == nil {
		// Recorded even if the lease just ended: the message is out.
		return markSent(context.WithoutCancel(ctx), w, r.ID, provider, s.cfg.Now())
	}
	final := errors.Is(err, ErrPermanent) || r.Attempts+1 >= s.cfg.MaxAttempts
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	// A context ended by the lease still lets the failure be recorded.
	if merr := markAttemptFailed(context.WithoutCancel(ctx), w, r.ID, msg, final); merr != nil {
		return errors.Join(err, merr)
	}
	if final {
		s.log.WarnContext(ctx, "notify: delivery failed", "delivery", r.ID, "channel", r.Channel, "attempts", r.Attempts+1, "err", msg)
		return nil
	}
	return fmt.Errorf("notify: delivery %d attempt %d: %w", r.ID, r.Attempts+1, err)
}

// messageID is the stable Message-ID of an email delivery.
func (s *Service) messageID(r *row) string {
	return fmt.Sprintf("<notify-%d.%d@%s>", r.ID, r.eventID, domainOf(s.cfg.SMTP.From))
}

// ForDossier lists what was sent about a dossier, oldest first: when, by
// which channel, to whom (masked) and with what status, for the dossier
// timeline.
func (s *Service) ForDossier(ctx context.Context, code string) ([]Delivery, error) {
	rows, err := queryRows(ctx, s.db.Read(), `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE dossier_code = $1 ORDER BY id`, code)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Delivery)
	}
	return out, nil
}

// Failed lists failed deliveries, newest first, up to limit (default 50),
// with an ID below beforeID when beforeID > 0: the operators' view.
func (s *Service) Failed(ctx context.Context, limit int, beforeID int64) ([]Delivery, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if beforeID <= 0 {
		beforeID = 1<<62 - 1
	}
	rows, err := queryRows(ctx, s.db.Read(), `SELECT `+deliveryColumns+` FROM notify_deliveries
	WHERE status = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, string(StatusFailed), beforeID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Delivery)
	}
	return out, nil
}

// Retry makes a failed delivery pending again with a fresh count of
// attempts and sends it through the outbox. ErrNotFound when id is not a
// failed delivery.
func (s *Service) Retry(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET status = $2, attempts = 0 WHERE id = $1 AND status = $3`,
			id, string(StatusPending), string(StatusFailed))
		if err != nil {
			return fmt.Errorf("retry delivery %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("failed delivery %d: %w", id, ErrNotFound)
		}
		return outbox.Publish(ctx, tx, outbox.Event{Topic: TopicDeliver, Key: strconv.FormatInt(id, 10), Payload: deliverPayload{ID: id},
			At: s.cfg.Now()})
	})
}

// List returns an account's in-app notifications, newest first: at most
// limit (1–200, default 20) with an ID below beforeID when beforeID > 0,
// only unread ones when unreadOnly. next is the beforeID of the following
// page (0 on the last page).
func (s *Service) List(ctx context.Context, accountID string, unreadOnly bool, limit int, beforeID int64) (items []Notification, next int64, err error) {
	if accountID == "" {
		return nil, 0, fmt.Errorf("notify: no account: %w", ErrInvalid)
	}
	if limit <= 0 || limit > 200 {
		limit = 20
	}
	if beforeID <= 0 {
		beforeID = 1<<62 - 1
	}
	q := `SELECT ` + deliveryColumns + ` FROM notify_deliveries WHERE account_id = $1 AND channel = $2 AND id < $3`
	if unreadOnly {
		q += ` AND read_at IS NULL`
	}
	q += ` ORDER BY id DESC LIMIT $4`
	rows, err := queryRows(ctx, s.db.Read(), q, accountID, string(ChannelInApp), beforeID, limit+1)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	items = make([]Notification, 0, len(rows))
	for _, r := range rows {
		n := Notification{ID: r.ID, Kind: r.Kind, Title: r.Subject, Body: r.body, Link: r.link, DossierCode: r.DossierCode,
			CreatedAt: r.CreatedAt}
		if r.readAt.Valid {
			n.ReadAt = r.readAt.Time.UTC()
		}
		items = append(items, n)
	}
	return items, next, nil
}

// UnreadCount counts an account's unread in-app notifications.
func (s *Service) UnreadCount(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notify_deliveries
	WHERE account_id = $1 AND channel = $2 AND read_at IS NULL`, accountID, string(ChannelInApp)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of the account's notifications read (again: no
// change). ErrNotFound when id is not the account's in-app notification.
func (s *Service) MarkRead(ctx context.Context, accountID string, id int64) error {
	var exists int
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM notify_deliveries WHERE id = $1 AND account_id = $2 AND channel = $3`,
			id, accountID, string(ChannelInApp)).Scan(&exists); err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		if exists == 0 || accountID == "" {
			return fmt.Errorf("notification %d: %w", id, ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET read_at = $2 WHERE id = $1 AND read_at IS NULL`, id, s.cfg.Now().UTC())
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		return nil
	})
	return err
}

// MarkAllRead marks every unread notification of the account read and
// returns how many.
func (s *Service) MarkAllRead(ctx context.Context, accountID string) (int64, error) {
	if accountID == "" {
		return 0, fmt.Errorf("notify: no account: %w", ErrInvalid)
	}
	res, err := s.db.Write().ExecContext(ctx, `UPDATE notify_deliveries SET read_at = $3
	WHERE account_id = $1 AND channel = $2 AND read_at IS NULL`, accountID, string(ChannelInApp), s.cfg.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Preferences returns the account's channel choices (the defaults when it
// chose nothing).
func (s *Service) Preferences(ctx context.Context, accountID string) (Preferences, error) {
	if accountID == "" {
		return Preferences{}, fmt.Errorf("notify: no account: %w", ErrInvalid)
	}
	return loadPreferences(ctx, s.db.Read(), accountID)
}

// SetPreferences records the account's channel choices; they apply to
// events handled from then on.
func (s *Service) SetPreferences(ctx context.Context, accountID string, p Preferences) error {
	if accountID == "" {
		return fmt.Errorf("notify: no account: %w", ErrInvalid)
	}
	return savePreferences(ctx, s.db.Write(), accountID, p, s.cfg.Now())
}

// Templates returns the loaded templates (for previews).
func (s *Service) Templates() *Templates { return s.tpl }

// Purge deletes deliveries recorded before cutoff that are no longer
// pending (sent or failed, in-app ones included), in batches, and returns
// how many: the rows hold addresses and phone numbers (personal data,
// Decree 13/2023), so keep them only as long as the retention rule says.
func (s *Service) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.db.Write().ExecContext(ctx, `DELETE FROM notify_deliveries WHERE id IN (
	SELECT id FROM notify_deliveries WHERE created_at < $1 AND status <> $2 ORDER BY id LIMIT 500)`,
			cutoff.UTC(), string(StatusPending))
		if err != nil {
			return total, fmt.Errorf("purge deliveries: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 500 {
			return total, nil
		}
	}
}
