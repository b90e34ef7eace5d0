package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Topic is a stream of events a subsystem publishes (dossier hand-offs,
// document exchange).
type Topic struct {
	Code  string `json:"code"`
	Owner string `json:"owner"`
	Title string `json:"title"`
}

// Subscription delivers a topic's events to a subsystem's webhook.
type Subscription struct {
	ID         int64  `json:"id"`
	Topic      string `json:"topic"`
	Subscriber string `json:"subscriber"`
	URL        string `json:"url"`
	// Secret is the HMAC-SHA256 key of the deliveries' signatures; shown
	// once, when the subscription is made.
	Secret string `json:"secret,omitempty"`
}

// Delivery headers. The signature is
// "v1=" + hex(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
const (
	HeaderEventID   = "Congso-Event-Id"
	HeaderTopic     = "Congso-Topic"
	HeaderTimestamp = "Congso-Timestamp"
	HeaderSignature = "Congso-Signature"
)

// Errors of pub/sub.
var (
	// ErrBadSignature: a delivery's signature does not match its content.
	ErrBadSignature = errors.New("gateway: delivery signature invalid")
	// ErrReplay: a delivery is too old, from the future, or already seen.
	ErrReplay = errors.New("gateway: delivery replayed or outside the time window")
)

// PubSubConfig configures [PubSub].
type PubSubConfig struct {
	// Client posts deliveries (default: 10 s timeout).
	Client *http.Client
	// MaxAttempts before an event goes to the dead letters (10).
	MaxAttempts int
	// Backoff after attempt n is Backoff × 2^(n-1), at most an hour (5 s).
	Backoff time.Duration
	// Poll is how often Run looks for due deliveries (500 ms).
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// PubSub stores topics, subscriptions and events, and delivers events to
// webhooks at least once, with retries, backoff and dead letters.
type PubSub struct {
	db  *db.DB
	cfg PubSubConfig
	// node names this deliverer in leases.
	wake chan struct{}
}

// NewPubSub returns the pub/sub service on d.
func NewPubSub(d *db.DB, cfg PubSubConfig) *PubSub {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &PubSub{db: d, cfg: cfg, wake: make(chan struct{}, 1)}
}

func (ps *PubSub) now() time.Time { return ps.cfg.Now().UTC().Truncate(time.Microsecond) }

// PutTopic creates or renames a topic owned by a subsystem.
func (ps *PubSub) PutTopic(ctx context.Context, t Topic) error {
	if !ValidIDPart(t.Code) {
		return invalid("topic code %q", t.Code)
	}
	if _, err := ParseSubsystemID(t.Owner); err != nil {
		return invalid("topic owner must be a subsystem")
	}
	return ps.db.Tx(ctx, func(tx *db.Tx) error {
		return exec(ctx, tx, false, `INSERT INTO gateway_topics (code, owner, title, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO UPDATE SET title = excluded.title`, t.Code, t.Owner, t.Title, ps.now())
	})
}

// Subscribe adds a webhook subscription and returns it with its secret.
func (ps *PubSub) Subscribe(ctx context.Context, s Subscription) (Subscription, error) {
	if _, err := ParseSubsystemID(s.Subscriber); err != nil {
		return s, invalid("subscriber must be a subsystem")
	}
	if len(s.URL) < 8 || (s.URL[:7] != "http://" && s.URL[:8] != "https://") {
		return s, invalid("webhook url must be http(s)")
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	s.Secret = hex.EncodeToString(b[:])
	err := ps.db.Tx(ctx, func(tx *db.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO gateway_subscriptions (topic, subscriber, url, secret, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			s.Topic, s.Subscriber, s.URL, s.Secret, ps.now()).Scan(&s.ID)
		switch {
		case db.IsForeignKeyViolation(err):
			return fmt.Errorf("topic %s: %w", s.Topic, ErrNotFound)
		case db.IsUniqueViolation(err):
			return ErrExists
		}
		return err
	})
	return s, err
}

// Publish records an event and one pending delivery per subscription, in
// one transaction. A second publication with the same idempotency key by
// the same publisher on the same topic returns the first event's ID and
// duplicate = true, and delivers nothing more.
func (ps *PubSub) Publish(ctx context.Context, topic string, publisher ClientID, key, contentType string, payload []byte) (id int64, duplicate bool, err error) {
	if key == "" || len(key) > 255 || !ValidHeaderValue(key) {
		return 0, false, invalid("an Idempotency-Key of 1 to 255 printable characters is required")
	}
	now := ps.now()
	err = ps.db.Tx(ctx, func(tx *db.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT owner FROM gateway_topics WHERE code = $1`, topic).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("topic %s: %w", topic, ErrNotFound)
		} else if err != nil {
			return err
		}
		if owner != publisher.String() {
			return fmt.Errorf("%w: %s may not publish on %s", ErrInvalid, publisher, topic)
		}
		err = tx.QueryRowContext(ctx, `SELECT id FROM gateway_events WHERE topic = $1 AND publisher = $2 AND idempotency_key = $3`, topic, publisher.String(), key).Scan(&id)
		if err == nil {
			duplicate = true
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO gateway_events (topic, publisher, idempotency_key, content_type, payload, published_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			topic, publisher.String(), key, contentType, payload, now).Scan(&id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO gateway_deliveries (event_id, subscription_id, state, attempts, next_at, last_error)
SELECT $1, id, 'pending', 0, $2, '' FROM gateway_subscriptions WHERE topic = $3`, id, now, topic)
		if err == nil {
			tx.AfterCommit(ps.Wake)
		}
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("publish on %s: %w", topic, err)
	}
	return id, duplicate, nil
}

// Wake makes Run look for due deliveries now.
func (ps *PubSub) Wake() {
	select {
	case ps.wake <- struct{}{}:
	default:
	}
}

// Replay delivers again, to one subscription, every event of its topic
// published at or after since.
func (ps *PubSub) Replay(ctx context.Context, subscription int64, since time.Time) (int64, error) {
	var n int64
	err := ps.db.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO gateway_deliveries (event_id, subscription_id, state, attempts, next_at, last_error)
SELECT e.id, s.id, 'pending', 0, $1, '' FROM gateway_subscriptions s JOIN gateway_events e ON e.topic = s.topic
WHERE s.id = $2 AND e.published_at >= $3`, ps.now(), subscription, since.UTC())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	if err == nil {
		ps.Wake()
	}
	return n, err
}

// DeadLetter is a delivery that exhausted its attempts.
type DeadLetter struct {
	DeliveryID   int64  `json:"delivery_id"`
	EventID      int64  `json:"event_id"`
	Subscription int64  `json:"subscription_id"`
	Attempts     int    `json:"attempts"`
	LastError    string `json:"last_error"`
}

// DeadLetters lists the deliveries that gave up.
func (ps *PubSub) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	rows, err := ps.db.Read().QueryContext(ctx, `SELECT id, event_id, subscription_id, attempts, last_error FROM gateway_deliveries WHERE state = 'dead' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		if err := rows.Scan(&d.DeliveryID, &d.EventID, &d.Subscription, &d.Attempts, &d.LastError); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Retry puts a dead letter back in the queue.
func (ps *PubSub) Retry(ctx context.Context, delivery int64) error {
	return ps.db.Tx(ctx, func(tx *db.Tx) error {
		return exec(ctx, tx, true, `UPDATE gateway_deliveries SET state = 'pending', attempts = 0, next_at = $1 WHERE id = $2 AND state = 'dead'`, ps.now(), delivery)
	})
}

type due struct {
	id, event, sub int64
	attempts       int
	url, secret    string
	topic, ctype   string
	payload        []byte
}

// DeliverDue claims the deliveries due now (a lease keeps other nodes off
// them), posts them, and records the outcomes. It returns how many it tried.
func (ps *PubSub) DeliverDue(ctx context.Context) (int, error) {
	now := ps.now()
	var batch []due
	err := ps.db.Tx(ctx, func(tx *db.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT d.id FROM gateway_deliveries d WHERE d.state = 'pending' AND d.next_at <= $1
AND (d.lease_until IS NULL OR d.lease_until < $1) ORDER BY d.next_at LIMIT 64`+ps.db.ForUpdateSkipLocked(), now)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			var d due
			if err := tx.QueryRowContext(ctx, `SELECT d.id, d.event_id, d.subscription_id, d.attempts, s.url, s.secret, e.topic, e.content_type, e.payload
FROM gateway_deliveries d JOIN gateway_subscriptions s ON s.id = d.subscription_id JOIN gateway_events e ON e.id = d.event_id WHERE d.id = $1`, id).Scan(
				&d.id, &d.event, &d.sub, &d.attempts, &d.url, &d.secret, &d.topic, &d.ctype, &d.payload); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET lease_until = $1 WHERE id = $2`, now.Add(time.Minute), id); err != nil {
				return err
			}
			batch = append(batch, d)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("claim deliveries: %w", err)
	}
	var wg sync.WaitGroup
	for i := range batch {
		wg.Add(1)
		go func(d *due) {
			defer wg.Done()
			ps.deliver(ctx, d)
		}(&batch[i])
	}
	wg.Wait()
	return len(batch), nil
}

// Sign returns the signature header value of a delivery.
func Sign(secret, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func (ps *PubSub) deliver(ctx context.Context, d *due) {
	id := strconv.FormatInt(d.event, 10)
	ts := strconv.FormatInt(ps.cfg.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.payload))
	var fail string
	if err == nil {
		req.Header.Set("Content-Type", d.ctype)
		req.Header.Set(HeaderEventID, id)
		req.Header.Set(HeaderTopic, d.topic)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(d.secret, id, ts, d.payload))
		resp, err := ps.cfg.Client.Do(req)
		if err != nil {
			fail = err.Error()
		} else {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				fail = "HTTP " + strconv.Itoa(resp.StatusCode)
			}
		}
	} else {
		fail = err.Error()
	}
	now := ps.now()
	err = ps.db.Tx(context.WithoutCancel(ctx), func(tx *db.Tx) error {
		if fail == "" {
			_, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, lease_until = NULL, last_error = '' WHERE id = $2`, now, d.id)
			return err
		}
		attempts := d.attempts + 1
		state := "pending"
		if attempts >= ps.cfg.MaxAttempts {
			state = "dead"
		}
		backoff := ps.cfg.Backoff << min(attempts-1, 20)
		backoff = min(backoff, time.Hour)
		_, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = $1, attempts = $2, next_at = $3, lease_until = NULL, last_error = $4 WHERE id = $5`,
			state, attempts, now.Add(backoff), fail, d.id)
		return err
	})
	if err != nil {
		ps.cfg.Logger.Error("gateway: record delivery", "delivery", d.id, "err", err)
	}
}

// Run delivers due events until ctx ends.
func (ps *PubSub) Run(ctx context.Context) error {
	t := time.NewTicker(ps.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := ps.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			ps.cfg.Logger.Warn("gateway: deliver events", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-ps.wake:
		}
	}
}

// ReplayGuard is what a webhook receiver uses to accept each delivery
// once: it checks the signature, rejects timestamps more than Window away
// from now, and remembers the event IDs seen within the window.
type ReplayGuard struct {
	Secret string
	Window time.Duration // default 5 minutes
	Now    func() time.Time
	mu     sync.Mutex
	seen   map[string]time.Time
}

// Check verifies a delivery's headers and body.
func (g *ReplayGuard) Check(h http.Header, body []byte) error {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	window := g.Window
	if window <= 0 {
		window = 5 * time.Minute
	}
	id, ts := h.Get(HeaderEventID), h.Get(HeaderTimestamp)
	want := Sign(g.Secret, id, ts, body)
	if !hmac.Equal([]byte(want), []byte(h.Get(HeaderSignature))) {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	at := time.Unix(sec, 0)
	if at.Before(now.Add(-window)) || at.After(now.Add(window)) {
		return ErrReplay
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	for k, t := range g.seen {
		if t.Before(now.Add(-2 * window)) {
			delete(g.seen, k)
		}
	}
	if _, ok := g.seen[id]; ok {
		return ErrReplay
	}
	g.seen[id] = now
	return nil
}

// Forget lets an event ID be accepted again: call it when processing a
// checked delivery failed, so that the gateway's retry is not taken for a
// replay.
func (g *ReplayGuard) Forget(id string) {
	g.mu.Lock()
	delete(g.seen, id)
	g.mu.Unlock()
}

// maxEventBytes bounds an event's payload.
const maxEventBytes = 1 << 20

// publish serves POST /pubsub/{topic}: an authenticated subsystem publishes
// the body as an event; Idempotency-Key is required.
func (rt *Runtime) publish(w http.ResponseWriter, r *http.Request, snap *snapshot, topic string) *Fault {
	if rt.cfg.PubSub == nil {
		return fault(http.StatusNotFound, FaultUnknownService, "publish/subscribe is not enabled on this gateway")
	}
	if r.Method != http.MethodPost {
		return fault(http.StatusMethodNotAllowed, FaultBadRequest, "publish with POST")
	}
	client, f := rt.authenticate(r, snap, r.Header.Get(HeaderClient))
	if f != nil {
		return f
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBytes))
	if err != nil {
		return fault(http.StatusRequestEntityTooLarge, FaultBodyTooLarge, "events are at most 1 MiB")
	}
	id, dup, err := rt.cfg.PubSub.Publish(r.Context(), topic, client, r.Header.Get("Idempotency-Key"), r.Header.Get("Content-Type"), body)
	switch {
	case errors.Is(err, ErrNotFound):
		return fault(http.StatusNotFound, FaultUnknownService, "no topic "+topic)
	case errors.Is(err, ErrInvalid):
		return fault(http.StatusBadRequest, FaultBadRequest, err.Error())
	case err != nil:
		rt.cfg.Logger.Error("gateway: publish", "topic", topic, "err", err)
		return fault(http.StatusServiceUnavailable, FaultDatabase, "the event could not be stored")
	}
	status := http.StatusAccepted
	if dup {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"event_id":%d,"duplicate":%v}`+"\n", id, dup)
	return nil
}
