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
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/platform/audit"
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

// Delivery headers. The signature (v1) is
// "v1=" + hex(HMAC-SHA256(secret, id + "." + timestamp + "." + body));
// it does not cover the topic or the content type. The v2 signature, in
// its own header so that receivers comparing v1 as a whole string keep
// working, covers them too:
// "v2=" + hex(HMAC-SHA256(secret, "v2\n" + id + "\n" + timestamp + "\n" +
// topic + "\n" + content type + "\n" + body)) (see [SignV2]).
const (
	HeaderEventID     = "Congso-Event-Id"
	HeaderTopic       = "Congso-Topic"
	HeaderTimestamp   = "Congso-Timestamp"
	HeaderSignature   = "Congso-Signature"
	HeaderSignatureV2 = "Congso-Signature-V2"
)

// Errors of pub/sub.
var (
	// ErrBadSignature: a delivery's signature does not match its content.
	ErrBadSignature = errors.New("gateway: delivery signature invalid")
	// ErrReplay: a delivery is too old or from the future: refuse it.
	ErrReplay = errors.New("gateway: delivery replayed or outside the time window")
	// ErrDuplicate: a delivery of an event already accepted: the
	// gateway's retry after an answer it did not get. Answer it 2xx
	// without processing it again.
	ErrDuplicate = errors.New("gateway: delivery of an event already accepted")
	// ErrUndelivered: a subscription still has events not delivered
	// (pending, paused or dead); [UndeliveredError] says how many.
	ErrUndelivered = errors.New("gateway: subscription has undelivered events")
)

// UndeliveredError refuses to delete a subscription whose events are not
// all delivered, unless forced; errors.Is(err, ErrUndelivered) holds.
type UndeliveredError struct{ Count int64 }

// Error reads like the other gateway errors.
func (e *UndeliveredError) Error() string {
	return fmt.Sprintf("%s: %d", ErrUndelivered.Error(), e.Count)
}

// Unwrap makes errors.Is(err, ErrUndelivered) hold.
func (e *UndeliveredError) Unwrap() error { return ErrUndelivered }

// Delivery states. A delivery is pending until it succeeds (delivered) or
// exhausts its attempts (dead); paused while its subscription is paused
// (resuming makes it pending again, attempts kept); dropped when its
// subscription was deleted with force. Dead and dropped deliveries stay as
// records; Retry and RedeliverDead put dead ones back in the queue.
const (
	StatePending   = "pending"
	StatePaused    = "paused"
	StateDelivered = "delivered"
	StateDead      = "dead"
	StateDropped   = "dropped"
)

// pubsubMigrations adds what the pub/sub administration needs to the
// schema of [Migrations] (module "gateway", version 6): subscriptions that
// are paused or deleted (kept, so no delivery loses its subscription), the
// time of each delivery's last failed attempt, and the indexes of the
// per-subscription counters.
func pubsubMigrations() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 6, Name: "pubsub administration", Up: `
ALTER TABLE gateway_subscriptions ADD COLUMN paused_at {{time}};
ALTER TABLE gateway_subscriptions ADD COLUMN deleted_at {{time}};
ALTER TABLE gateway_deliveries ADD COLUMN failed_at {{time}};
CREATE INDEX gateway_deliveries_sub_state ON gateway_deliveries (subscription_id, state);
CREATE INDEX gateway_deliveries_sub_ok ON gateway_deliveries (subscription_id, delivered_at);
CREATE INDEX gateway_deliveries_sub_failed ON gateway_deliveries (subscription_id, failed_at);
`}, {Module: "gateway", Version: 7, Name: "pubsub topic removal", Up: `
ALTER TABLE gateway_topics ADD COLUMN deleted_at {{time}};
`}}
}

func pubsubRetentionMigration() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 11, Name: "pub/sub retention", Up: `
CREATE INDEX gateway_events_published ON gateway_events (published_at);
CREATE INDEX gateway_deliveries_event ON gateway_deliveries (event_id);`}}
}

// DefaultRetention is PubSubConfig.Retention's default.
const DefaultRetention = 90 * 24 * time.Hour

// DefaultMaxAttempts is PubSubConfig.MaxAttempts's default.
const DefaultMaxAttempts = 34

// PubSubConfig configures [PubSub].
type PubSubConfig struct {
	// Client posts deliveries (default: 10 s timeout).
	Client *http.Client
	// MaxAttempts before an event goes to the dead letters (34: with the
	// default backoff, about a day of retries, so that a receiver down for
	// a night's maintenance loses nothing).
	MaxAttempts int
	// Backoff after attempt n is Backoff × 2^(n-1), at most an hour (5 s).
	Backoff time.Duration
	// Poll is how often Run looks for due deliveries (500 ms).
	Poll time.Duration
	// Retention is how long events are kept once every delivery of them
	// is made or dropped (DefaultRetention, 90 days): Run prunes older
	// ones hourly. Events with a delivery pending, held or dead stay.
	Retention time.Duration
	// AllowHTTP lets subscriptions name plain http webhooks on other
	// machines (CONGSO_GATEWAY_WEBHOOK_HTTP=allow). Without it a webhook
	// must be https, or http on this machine (loopback): deliveries may carry
	// dossiers' personal data, which the signature does not hide.
	AllowHTTP bool
	Now       func() time.Time
	Logger    *slog.Logger
}

// loopbackHost reports whether host (no port) is this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
	// A redirect is not followed: it would turn the POST into a GET
	// without the event, whose 2xx would count as delivered.
	client := *cfg.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &client
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
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

// change runs fn in a transaction that ends with an audit entry, as the
// registry's changes do (pub/sub is not part of the registry snapshot, so
// the revision is not bumped). fn may add to detail.
// objID is read after fn, which may set it.
func (ps *PubSub) change(ctx context.Context, actor, action, objType string, objID *string, detail map[string]any, fn func(tx *db.Tx, now time.Time) error) error {
	if actor == "" {
		actor = "system"
	}
	now := ps.now()
	err := ps.db.Tx(ctx, func(tx *db.Tx) error {
		if err := fn(tx, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actor, Action: action, ObjectType: objType, ObjectID: *objID, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, *objID, err)
	}
	return nil
}

// PutTopic is PutTopicBy with the actor "system".
func (ps *PubSub) PutTopic(ctx context.Context, t Topic) error {
	return ps.PutTopicBy(ctx, "system", t)
}

// PutTopicBy creates a topic owned by a subsystem, or retitles it (its
// owner cannot change), and audits the change as actor.
func (ps *PubSub) PutTopicBy(ctx context.Context, actor string, t Topic) error {
	t.Code, t.Owner, t.Title = strings.TrimSpace(t.Code), strings.TrimSpace(t.Owner), strings.TrimSpace(t.Title)
	if !ValidIDPart(t.Code) || len(t.Code) > 100 {
		return invalidField("code", "topic code %q", t.Code)
	}
	if _, err := ParseSubsystemID(t.Owner); err != nil {
		return invalidField("owner", "topic owner must be a subsystem")
	}
	if len(t.Title) > 500 {
		return invalidField("title", "topic title is at most 500 bytes")
	}
	put := func() error {
		return ps.putTopic(ctx, actor, t)
	}
	err := put()
	if db.IsUniqueViolation(err) || errors.Is(err, ErrExists) {
		err = put() // another node created it meanwhile (two first starts): now an update
	}
	return err
}

func (ps *PubSub) putTopic(ctx context.Context, actor string, t Topic) error {
	return ps.change(ctx, actor, "gateway.topic.put", "gateway_topic", &t.Code, map[string]any{"owner": t.Owner, "title": t.Title}, func(tx *db.Tx, now time.Time) error {
		var owner string
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT owner, deleted_at IS NOT NULL FROM gateway_topics WHERE code = $1`, t.Code).Scan(&owner, &deleted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return exec(ctx, tx, false, `INSERT INTO gateway_topics (code, owner, title, created_at) VALUES ($1, $2, $3, $4)`, t.Code, t.Owner, t.Title, now)
		case err != nil:
			return err
		case deleted:
			// A removed topic's code is taken again, by any subsystem;
			// its past events stay as they were.
			return exec(ctx, tx, true, `UPDATE gateway_topics SET owner = $1, title = $2, created_at = $3, deleted_at = NULL WHERE code = $4`, t.Owner, t.Title, now, t.Code)
		case owner != t.Owner:
			return invalidField("owner", "topic %s belongs to %s", t.Code, owner)
		}
		return exec(ctx, tx, true, `UPDATE gateway_topics SET title = $1 WHERE code = $2`, t.Title, t.Code)
	})
}

// Subscribe is SubscribeBy with the actor "system".
func (ps *PubSub) Subscribe(ctx context.Context, s Subscription) (Subscription, error) {
	return ps.SubscribeBy(ctx, "system", s)
}

// SubscribeBy adds a webhook subscription and returns it with its secret,
// audited as actor. Subscribing again what was deleted revives the
// subscription (same ID) with a new secret; events published meanwhile are
// not delivered (replay them).
func (ps *PubSub) SubscribeBy(ctx context.Context, actor string, s Subscription) (Subscription, error) {
	s.Topic, s.Subscriber, s.URL = strings.TrimSpace(s.Topic), strings.TrimSpace(s.Subscriber), strings.TrimSpace(s.URL)
	if s.Topic == "" {
		return s, invalidField("topic", "topic is required")
	}
	if _, err := ParseSubsystemID(s.Subscriber); err != nil {
		return s, invalidField("subscriber", "subscriber must be a subsystem")
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.URL) > 2000 {
		return s, invalidField("url", "webhook url must be http(s)")
	}
	if u.Scheme == "http" && !ps.cfg.AllowHTTP && !loopbackHost(u.Hostname()) {
		return s, &FieldError{Field: "url", Reason: "https", Msg: "webhook url must be https: deliveries may carry personal data " +
			"(plain http only to this machine, or with CONGSO_GATEWAY_WEBHOOK_HTTP=allow)"}
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	s.Secret = hex.EncodeToString(b[:])
	detail := map[string]any{"topic": s.Topic, "subscriber": s.Subscriber, "url": s.URL}
	var objID string
	err = ps.change(ctx, actor, "gateway.subscription.create", "gateway_subscription", &objID, detail, func(tx *db.Tx, now time.Time) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_topics WHERE code = $1 AND deleted_at IS NULL`, s.Topic).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("topic %s: %w", s.Topic, ErrNotFound)
		}
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT id, deleted_at IS NOT NULL FROM gateway_subscriptions WHERE topic = $1 AND subscriber = $2 AND url = $3`,
			s.Topic, s.Subscriber, s.URL).Scan(&s.ID, &deleted)
		switch {
		case err == nil && !deleted:
			return fmt.Errorf("subscription %d: %w", s.ID, ErrExists)
		case err == nil:
			detail["revived"] = true
			objID = strconv.FormatInt(s.ID, 10)
			_, err = tx.ExecContext(ctx, `UPDATE gateway_subscriptions SET secret = $1, created_at = $2, paused_at = NULL, deleted_at = NULL WHERE id = $3`, s.Secret, now, s.ID)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO gateway_subscriptions (topic, subscriber, url, secret, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			s.Topic, s.Subscriber, s.URL, s.Secret, now).Scan(&s.ID)
		if db.IsUniqueViolation(err) {
			return ErrExists
		}
		objID = strconv.FormatInt(s.ID, 10)
		return err
	})
	if err != nil {
		s.ID, s.Secret = 0, ""
	}
	return s, err
}

// Publish records an event and one pending delivery per live subscription
// (paused for a paused one), in one transaction. A second publication with the same idempotency key by
// the same publisher on the same topic returns the first event's ID and
// duplicate = true, and delivers nothing more.
func (ps *PubSub) Publish(ctx context.Context, topic string, publisher ClientID, key, contentType string, payload []byte) (id int64, duplicate bool, err error) {
	if key == "" || len(key) > 255 || !ValidHeaderValue(key) {
		return 0, false, invalid("an Idempotency-Key of 1 to 255 printable characters is required")
	}
	now := ps.now()
	err = ps.db.Tx(ctx, func(tx *db.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT owner FROM gateway_topics WHERE code = $1 AND deleted_at IS NULL`, topic).Scan(&owner)
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
		if tx.Dialect == db.Postgres {
			// Pause, Resume and Unsubscribe lock the subscription's row
			// (FOR UPDATE): one of them running now either ends before the
			// deliveries below read the subscription's state, or starts
			// after they are committed and so sees them.
			if _, err := tx.ExecContext(ctx, `SELECT id FROM gateway_subscriptions WHERE topic = $1 AND deleted_at IS NULL FOR SHARE`, topic); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO gateway_deliveries (event_id, subscription_id, state, attempts, next_at, last_error)
SELECT $1, id, CASE WHEN paused_at IS NULL THEN 'pending' ELSE 'paused' END, 0, $2, '' FROM gateway_subscriptions WHERE topic = $3 AND deleted_at IS NULL`, id, now, topic)
		if err == nil {
			tx.AfterCommit(ps.Wake)
		}
		return err
	})
	if db.IsUniqueViolation(err) {
		// The same key published at the same time by another call (on
		// PostgreSQL both can pass the check above): that one's event.
		if e := ps.db.Read().QueryRowContext(ctx, `SELECT id FROM gateway_events WHERE topic = $1 AND publisher = $2 AND idempotency_key = $3`,
			topic, publisher.String(), key).Scan(&id); e == nil {
			return id, true, nil
		}
	}
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

// Replay is ReplayBy with the actor "system".
func (ps *PubSub) Replay(ctx context.Context, subscription int64, since time.Time) (int64, error) {
	return ps.ReplayBy(ctx, "system", subscription, since)
}

// MaxReplay bounds the events one replay queues.
var MaxReplay int64 = 50_000

// ReplayTooLargeError refuses a replay of more than MaxReplay events.
type ReplayTooLargeError struct{ Count, Max int64 }

func (e *ReplayTooLargeError) Error() string {
	return fmt.Sprintf("gateway: %d events were published since then; replay at most %d at a time (choose a later time)", e.Count, e.Max)
}

// ReplayBy delivers again, to one subscription, every event of its topic
// published at or after since (not in the future), and returns how many it
// queued; audited as actor. A paused subscription gets them on resume. More
// than MaxReplay events is refused (replay in steps, from later times).
func (ps *PubSub) ReplayBy(ctx context.Context, actor string, subscription int64, since time.Time) (int64, error) {
	since = since.UTC()
	if since.IsZero() || since.After(ps.now()) {
		return 0, invalidField("since", "replay from a time in the past")
	}
	var n int64
	id := strconv.FormatInt(subscription, 10)
	detail := map[string]any{"since": since.Format(time.RFC3339)}
	err := ps.change(ctx, actor, "gateway.subscription.replay", "gateway_subscription", &id, detail, func(tx *db.Tx, now time.Time) error {
		state, err := ps.lockSubscription(ctx, tx, subscription)
		if err != nil {
			return err
		}
		// One replay queues at most MaxReplay events: a longer one would
		// hold the writer and flood the receiver; replay in steps.
		var count int64
		// The events of the topic as it is now: a code taken again after
		// a removal does not replay the former owner's events.
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_subscriptions s JOIN gateway_topics t ON t.code = s.topic
JOIN gateway_events e ON e.topic = s.topic AND e.publisher = t.owner AND e.published_at >= t.created_at
WHERE s.id = $1 AND e.published_at >= $2`, subscription, since).Scan(&count); err != nil {
			return err
		}
		if count > MaxReplay {
			return &ReplayTooLargeError{Count: count, Max: MaxReplay}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO gateway_deliveries (event_id, subscription_id, state, attempts, next_at, last_error)
SELECT e.id, s.id, $1, 0, $2, '' FROM gateway_subscriptions s JOIN gateway_topics t ON t.code = s.topic
JOIN gateway_events e ON e.topic = s.topic AND e.publisher = t.owner AND e.published_at >= t.created_at
WHERE s.id = $3 AND e.published_at >= $4`, state, now, subscription, since)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		detail["queued"] = n
		tx.AfterCommit(ps.Wake)
		return nil
	})
	return n, err
}

// lockSubscription returns the state new deliveries of a live subscription
// take (pending, or paused), locking its row on PostgreSQL; ErrNotFound if
// there is no such subscription or it was deleted.
func (ps *PubSub) lockSubscription(ctx context.Context, tx *db.Tx, id int64) (string, error) {
	lock := ""
	if tx.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var paused bool
	err := tx.QueryRowContext(ctx, `SELECT paused_at IS NOT NULL FROM gateway_subscriptions WHERE id = $1 AND deleted_at IS NULL`+lock, id).Scan(&paused)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("subscription %d: %w", id, ErrNotFound)
	case err != nil:
		return "", err
	case paused:
		return StatePaused, nil
	}
	return StatePending, nil
}

// RotateSecret gives a subscription a new signing secret, returned once
// (audited as actor): deliveries sent from now on are signed with it, so the
// receiving system must accept the new secret (for a while, both) before the
// operator rotates.
func (ps *PubSub) RotateSecret(ctx context.Context, actor string, subscription int64) (Subscription, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	s := Subscription{ID: subscription, Secret: hex.EncodeToString(b[:])}
	id := strconv.FormatInt(subscription, 10)
	err := ps.change(ctx, actor, "gateway.subscription.rotate_secret", "gateway_subscription", &id, map[string]any{}, func(tx *db.Tx, now time.Time) error {
		if _, err := ps.lockSubscription(ctx, tx, subscription); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT topic, subscriber, url FROM gateway_subscriptions WHERE id = $1`, subscription).Scan(&s.Topic, &s.Subscriber, &s.URL); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE gateway_subscriptions SET secret = $1 WHERE id = $2`, s.Secret, subscription)
		return err
	})
	if err != nil {
		return Subscription{}, err
	}
	return s, nil
}

// Pause holds a subscription's deliveries: events keep being recorded for
// it, and are delivered when it is resumed. Pausing a paused subscription
// changes nothing.
func (ps *PubSub) Pause(ctx context.Context, actor string, subscription int64) error {
	id := strconv.FormatInt(subscription, 10)
	detail := map[string]any{}
	return ps.change(ctx, actor, "gateway.subscription.pause", "gateway_subscription", &id, detail, func(tx *db.Tx, now time.Time) error {
		if _, err := ps.lockSubscription(ctx, tx, subscription); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_subscriptions SET paused_at = COALESCE(paused_at, $1) WHERE id = $2`, now, subscription); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = 'paused' WHERE subscription_id = $1 AND state = 'pending'`, subscription)
		if err == nil {
			detail["held"], _ = res.RowsAffected()
		}
		return err
	})
}

// Resume delivers a paused subscription's held events (at once, their
// attempts kept) and those that come next.
func (ps *PubSub) Resume(ctx context.Context, actor string, subscription int64) error {
	id := strconv.FormatInt(subscription, 10)
	detail := map[string]any{}
	return ps.change(ctx, actor, "gateway.subscription.resume", "gateway_subscription", &id, detail, func(tx *db.Tx, now time.Time) error {
		if _, err := ps.lockSubscription(ctx, tx, subscription); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_subscriptions SET paused_at = NULL WHERE id = $1`, subscription); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = 'pending', next_at = $1 WHERE subscription_id = $2 AND state = 'paused'`, now, subscription)
		if err == nil {
			detail["released"], _ = res.RowsAffected()
			tx.AfterCommit(ps.Wake)
		}
		return err
	})
}

// Unsubscribe deletes a subscription: no more events are recorded for it.
// While some of its events are not delivered (pending, paused or dead) it
// refuses with an [UndeliveredError] unless force, which drops them (they
// stay as records in state dropped, and the audit entry counts them).
// It returns how many deliveries it dropped.
func (ps *PubSub) Unsubscribe(ctx context.Context, actor string, subscription int64, force bool) (int64, error) {
	id := strconv.FormatInt(subscription, 10)
	detail := map[string]any{"force": force}
	var dropped int64
	err := ps.change(ctx, actor, "gateway.subscription.delete", "gateway_subscription", &id, detail, func(tx *db.Tx, now time.Time) error {
		if _, err := ps.lockSubscription(ctx, tx, subscription); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_deliveries WHERE subscription_id = $1 AND state IN ('pending', 'paused', 'dead')`, subscription).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !force {
			return &UndeliveredError{Count: n}
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = 'dropped' WHERE subscription_id = $1 AND state IN ('pending', 'paused', 'dead')`, subscription)
		if err != nil {
			return err
		}
		dropped, _ = res.RowsAffected()
		detail["dropped"] = dropped
		_, err = tx.ExecContext(ctx, `UPDATE gateway_subscriptions SET deleted_at = $1, paused_at = NULL WHERE id = $2`, now, subscription)
		return err
	})
	return dropped, err
}

// TopicInfo is a topic with its figures.
type TopicInfo struct {
	Topic
	CreatedAt time.Time `json:"created_at"`
	// Subscriptions counts the live (not deleted) subscriptions.
	Subscriptions int64      `json:"subscriptions"`
	Events        int64      `json:"events"`
	LastEvent     *time.Time `json:"last_event_at,omitempty"`
}

// Topics lists the topics by code.
func (ps *PubSub) Topics(ctx context.Context) ([]TopicInfo, error) {
	rows, err := ps.db.Read().QueryContext(ctx, `SELECT t.code, t.owner, t.title, t.created_at,
	(SELECT COUNT(*) FROM gateway_subscriptions s WHERE s.topic = t.code AND s.deleted_at IS NULL),
	(SELECT COUNT(*) FROM gateway_events e WHERE e.topic = t.code),
	(SELECT MAX(e.published_at) FROM gateway_events e WHERE e.topic = t.code)
FROM gateway_topics t WHERE t.deleted_at IS NULL ORDER BY t.code`)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	defer rows.Close()
	var out []TopicInfo
	for rows.Next() {
		var t TopicInfo
		var last any
		if err := rows.Scan(&t.Code, &t.Owner, &t.Title, &t.CreatedAt, &t.Subscriptions, &t.Events, &last); err != nil {
			return nil, fmt.Errorf("list topics: %w", err)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		if at, ok := asTime(last); ok {
			t.LastEvent = &at
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTopic removes a topic that no live subscription follows (an
// [*InUseError] otherwise), audited as actor: nothing can be published on
// it any more, and its owner can then be removed from the registry. Its
// past events and deliveries stay; the code can be taken again with
// PutTopicBy.
func (ps *PubSub) DeleteTopic(ctx context.Context, actor, code string) error {
	return ps.change(ctx, actor, "gateway.topic.delete", "gateway_topic", &code, map[string]any{}, func(tx *db.Tx, now time.Time) error {
		var n int64
		err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM gateway_subscriptions s WHERE s.topic = t.code AND s.deleted_at IS NULL)
FROM gateway_topics t WHERE t.code = $1 AND t.deleted_at IS NULL`, code).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("topic %s: %w", code, ErrNotFound)
		} else if err != nil {
			return err
		}
		if n > 0 {
			return &InUseError{Kind: EntryTopic, ID: code, Refs: []Ref{{Kind: RefSubscriptions, Count: int(n)}}}
		}
		_, err = tx.ExecContext(ctx, `UPDATE gateway_topics SET deleted_at = $1 WHERE code = $2 AND deleted_at IS NULL`, now, code)
		return err
	})
}

// SubscriptionStatus is a live subscription (without its secret) and its
// deliveries' figures.
type SubscriptionStatus struct {
	Subscription
	CreatedAt time.Time  `json:"created_at"`
	Paused    bool       `json:"paused"`
	PausedAt  *time.Time `json:"paused_at,omitempty"`
	// Pending counts the deliveries not yet made nor given up, held ones
	// (paused) included.
	Pending   int64 `json:"pending"`
	Delivered int64 `json:"delivered"`
	Dead      int64 `json:"dead"`
	// LastSuccess is the last delivery made; LastFailure the last failed
	// attempt, whose error is LastError.
	LastSuccess *time.Time `json:"last_success_at,omitempty"`
	LastFailure *time.Time `json:"last_failure_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

// Undelivered counts the events not delivered: pending, paused or dead.
func (s SubscriptionStatus) Undelivered() int64 { return s.Pending + s.Dead }

// Subscriptions lists the live subscriptions of a topic ("" for all), by
// topic, subscriber and ID.
func (ps *PubSub) Subscriptions(ctx context.Context, topic string) ([]SubscriptionStatus, error) {
	rows, err := ps.db.Read().QueryContext(ctx, `SELECT s.id, s.topic, s.subscriber, s.url, s.created_at, s.paused_at,
	(SELECT COUNT(*) FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.state IN ('pending', 'paused')),
	(SELECT COUNT(*) FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.state = 'delivered'),
	(SELECT COUNT(*) FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.state = 'dead'),
	(SELECT MAX(d.delivered_at) FROM gateway_deliveries d WHERE d.subscription_id = s.id),
	(SELECT MAX(d.failed_at) FROM gateway_deliveries d WHERE d.subscription_id = s.id),
	COALESCE((SELECT d.last_error FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.failed_at IS NOT NULL ORDER BY d.failed_at DESC, d.id DESC LIMIT 1), '')
FROM gateway_subscriptions s WHERE s.deleted_at IS NULL AND ($1 = '' OR s.topic = $1) ORDER BY s.topic, s.subscriber, s.id`, topic)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []SubscriptionStatus
	for rows.Next() {
		var s SubscriptionStatus
		var paused sql.NullTime
		var ok, failed any
		if err := rows.Scan(&s.ID, &s.Topic, &s.Subscriber, &s.URL, &s.CreatedAt, &paused, &s.Pending, &s.Delivered, &s.Dead, &ok, &failed, &s.LastError); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		s.CreatedAt = s.CreatedAt.UTC()
		if paused.Valid {
			at := paused.Time.UTC()
			s.Paused, s.PausedAt = true, &at
		}
		if at, ok := asTime(ok); ok {
			s.LastSuccess = &at
		}
		if at, ok := asTime(failed); ok {
			s.LastFailure = &at
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeadLetter is a delivery that exhausted its attempts.
type DeadLetter struct {
	DeliveryID   int64      `json:"delivery_id"`
	EventID      int64      `json:"event_id"`
	Subscription int64      `json:"subscription_id"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"last_error"`
	Topic        string     `json:"topic"`
	Subscriber   string     `json:"subscriber"`
	PublishedAt  time.Time  `json:"published_at"`
	FailedAt     *time.Time `json:"failed_at,omitempty"`
}

// DeadLetters lists the deliveries that gave up.
func (ps *PubSub) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	return ps.DeadLettersOf(ctx, 0, 0)
}

// DeadLettersOf lists the dead letters of one subscription (0: of all), the
// oldest first, at most limit of them (0: all).
func (ps *PubSub) DeadLettersOf(ctx context.Context, subscription int64, limit int) ([]DeadLetter, error) {
	return ps.DeadLettersAfter(ctx, subscription, 0, limit)
}

// DeadLettersAfter is DeadLettersOf from the dead letter after delivery
// after on (a page: pass the last DeliveryID of the previous one).
func (ps *PubSub) DeadLettersAfter(ctx context.Context, subscription, after int64, limit int) ([]DeadLetter, error) {
	q := `SELECT d.id, d.event_id, d.subscription_id, d.attempts, d.last_error, s.topic, s.subscriber, e.published_at, d.failed_at
FROM gateway_deliveries d JOIN gateway_subscriptions s ON s.id = d.subscription_id JOIN gateway_events e ON e.id = d.event_id
WHERE d.state = 'dead' AND ($1 = 0 OR d.subscription_id = $1) AND d.id > $2 ORDER BY d.id`
	args := []any{subscription, after}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	rows, err := ps.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		var failed sql.NullTime
		if err := rows.Scan(&d.DeliveryID, &d.EventID, &d.Subscription, &d.Attempts, &d.LastError, &d.Topic, &d.Subscriber, &d.PublishedAt, &failed); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		d.PublishedAt = d.PublishedAt.UTC()
		if failed.Valid {
			at := failed.Time.UTC()
			d.FailedAt = &at
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Retry is RetryBy with the actor "system".
func (ps *PubSub) Retry(ctx context.Context, delivery int64) error {
	return ps.RetryBy(ctx, "system", delivery)
}

// RetryBy puts a dead letter back in the queue with fresh attempts (held
// if its subscription is paused), audited as actor; ErrNotFound if it is
// not a dead letter of a live subscription.
func (ps *PubSub) RetryBy(ctx context.Context, actor string, delivery int64) error {
	id := strconv.FormatInt(delivery, 10)
	detail := map[string]any{}
	return ps.change(ctx, actor, "gateway.delivery.retry", "gateway_delivery", &id, detail, func(tx *db.Tx, now time.Time) error {
		var sub int64
		err := tx.QueryRowContext(ctx, `SELECT subscription_id FROM gateway_deliveries WHERE id = $1 AND state = 'dead'`, delivery).Scan(&sub)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("dead letter %d: %w", delivery, ErrNotFound)
		} else if err != nil {
			return err
		}
		detail["subscription"] = sub
		state, err := ps.lockSubscription(ctx, tx, sub)
		if err != nil {
			return err
		}
		tx.AfterCommit(ps.Wake)
		return exec(ctx, tx, true, `UPDATE gateway_deliveries SET state = $1, attempts = 0, next_at = $2 WHERE id = $3 AND state = 'dead'`, state, now, delivery)
	})
}

// RedeliverDead puts every dead letter of a subscription back in the queue,
// as RetryBy does for one, and returns how many.
func (ps *PubSub) RedeliverDead(ctx context.Context, actor string, subscription int64) (int64, error) {
	id := strconv.FormatInt(subscription, 10)
	detail := map[string]any{}
	var n int64
	err := ps.change(ctx, actor, "gateway.subscription.redeliver", "gateway_subscription", &id, detail, func(tx *db.Tx, now time.Time) error {
		state, err := ps.lockSubscription(ctx, tx, subscription)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = $1, attempts = 0, next_at = $2 WHERE subscription_id = $3 AND state = 'dead'`, state, now, subscription)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		detail["queued"] = n
		tx.AfterCommit(ps.Wake)
		return nil
	})
	return n, err
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
			var hold string
			if err := tx.QueryRowContext(ctx, `SELECT d.id, d.event_id, d.subscription_id, d.attempts, s.url, s.secret, e.topic, e.content_type, e.payload,
	CASE WHEN s.deleted_at IS NOT NULL THEN 'dropped' WHEN s.paused_at IS NOT NULL THEN 'paused' ELSE '' END
FROM gateway_deliveries d JOIN gateway_subscriptions s ON s.id = d.subscription_id JOIN gateway_events e ON e.id = d.event_id WHERE d.id = $1`, id).Scan(
				&d.id, &d.event, &d.sub, &d.attempts, &d.url, &d.secret, &d.topic, &d.ctype, &d.payload, &hold); err != nil {
				return err
			}
			if hold != "" {
				// Recorded by a Publish that raced with Pause or Unsubscribe.
				if _, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = $1 WHERE id = $2`, hold, id); err != nil {
					return err
				}
				continue
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

// Sign returns the v1 signature header value of a delivery.
func Sign(secret, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// SignV2 returns the v2 signature header value of a delivery: its id,
// timestamp, topic, content type (the Content-Type header as sent) and
// body, separated by line feeds (which none of them but the body holds).
func SignV2(secret, id, timestamp, topic, contentType string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v2\n" + id + "\n" + timestamp + "\n" + topic + "\n" + contentType + "\n"))
	m.Write(body)
	return "v2=" + hex.EncodeToString(m.Sum(nil))
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
		req.Header.Set(HeaderSignatureV2, SignV2(d.secret, id, ts, d.topic, d.ctype, d.payload))
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
	// The outcome is recorded even when the node is stopping: a 2xx not
	// recorded would be delivered again.
	ctx = context.WithoutCancel(ctx)
	dead := false
	err = ps.db.Tx(ctx, func(tx *db.Tx) error {
		if fail == "" {
			// last_error stays: the history of a delivery that recovered.
			_, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1, lease_until = NULL WHERE id = $2`, now, d.id)
			return err
		}
		attempts := d.attempts + 1
		state := "pending"
		if attempts >= ps.cfg.MaxAttempts {
			state, dead = "dead", true
		}
		backoff := ps.cfg.Backoff
		for i := 1; i < attempts && backoff < time.Hour; i++ {
			backoff *= 2
		}
		backoff = min(backoff, time.Hour)
		// A delivery paused or dropped while in flight stays so.
		_, err := tx.ExecContext(ctx, `UPDATE gateway_deliveries SET state = CASE WHEN state = 'pending' THEN $1 ELSE state END,
	attempts = $2, next_at = $3, lease_until = NULL, last_error = $4, failed_at = $5 WHERE id = $6`,
			state, attempts, now.Add(backoff), fail, now, d.id)
		return err
	})
	switch {
	case err != nil:
		ps.cfg.Logger.Error("gateway: record delivery", "delivery", d.id, "err", err)
	case dead:
		ps.cfg.Logger.Warn("gateway: event put in the dead letters", "subscription", d.sub, "event", d.event,
			"topic", d.topic, "attempts", d.attempts+1, "err", fail)
	}
}

// Run delivers due events until ctx ends, and prunes old ones hourly.
func (ps *PubSub) Run(ctx context.Context) error {
	t := time.NewTicker(ps.cfg.Poll)
	defer t.Stop()
	var pruned time.Time
	for {
		if _, err := ps.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			ps.cfg.Logger.Warn("gateway: deliver events", "err", err)
		}
		if now := ps.cfg.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if ev, dl, err := ps.Prune(ctx); err != nil && ctx.Err() == nil {
				ps.cfg.Logger.Warn("gateway: prune events", "err", err)
			} else if ev > 0 {
				ps.cfg.Logger.Info("gateway: events past their retention pruned", "events", ev, "deliveries", dl)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-ps.wake:
		}
	}
}

// Prune deletes the events published more than Retention ago whose
// deliveries are all made or dropped, with those deliveries, a thousand
// at a time; events with a delivery pending, held or dead stay (the dead
// letters keep their event). Several nodes may prune at once.
func (ps *PubSub) Prune(ctx context.Context) (events, deliveries int64, err error) {
	cutoff := ps.now().Add(-ps.cfg.Retention)
	for {
		var ne, nd int64
		err := ps.db.Tx(ctx, func(tx *db.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT e.id FROM gateway_events e WHERE e.published_at < $1
AND NOT EXISTS (SELECT 1 FROM gateway_deliveries d WHERE d.event_id = e.id AND d.state NOT IN ('delivered', 'dropped'))
ORDER BY e.id LIMIT 1000`, cutoff)
			if err != nil {
				return err
			}
			var ids []any
			var marks []string
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
				marks = append(marks, "$"+strconv.Itoa(len(ids)))
			}
			rows.Close()
			if err := rows.Err(); err != nil || len(ids) == 0 {
				return err
			}
			in := strings.Join(marks, ", ")
			// A delivery queued meanwhile (a replay) keeps its event: only
			// made or dropped ones go, and an event only with none left.
			res, err := tx.ExecContext(ctx, `DELETE FROM gateway_deliveries WHERE state IN ('delivered', 'dropped') AND event_id IN (`+in+`)`, ids...)
			if err != nil {
				return err
			}
			nd, _ = res.RowsAffected()
			res, err = tx.ExecContext(ctx, `DELETE FROM gateway_events WHERE id IN (`+in+`)
AND NOT EXISTS (SELECT 1 FROM gateway_deliveries d WHERE d.event_id = gateway_events.id)`, ids...)
			if err != nil {
				return err
			}
			ne, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return events, deliveries, fmt.Errorf("prune events: %w", err)
		}
		events, deliveries = events+ne, deliveries+nd
		if ne+nd == 0 {
			return events, deliveries, nil
		}
	}
}

// ReplayGuard is what a webhook receiver uses to accept each delivery
// once: it checks the signature (ErrBadSignature), refuses timestamps more
// than Window away from now (ErrReplay), and remembers in memory the event
// IDs it accepted within twice the window (ErrDuplicate: the gateway's
// retry after an answer it did not get; answer it 2xx and do not process
// it again). The gateway retries for about a day: a receiver keeps the
// IDs of the events it processed in its own store too.
//
// A delivery carrying the v2 signature is checked by it (its topic and
// content type included); one without it by v1, unless RequireV2 (a
// receiver whose gateway signs v2, as every congso since this one does,
// sets it, so that stripping the v2 header does not fall back to v1).
type ReplayGuard struct {
	Secret    string
	Window    time.Duration // default 5 minutes
	RequireV2 bool
	Now       func() time.Time
	mu        sync.Mutex
	seen      map[string]time.Time
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
	if v2 := h.Values(HeaderSignatureV2); len(v2) > 0 {
		want := SignV2(g.Secret, id, ts, h.Get(HeaderTopic), h.Get("Content-Type"), body)
		if len(v2) != 1 || len(h.Values(HeaderTopic)) > 1 || len(h.Values("Content-Type")) > 1 || !hmac.Equal([]byte(want), []byte(v2[0])) {
			return ErrBadSignature
		}
	} else if g.RequireV2 || !hmac.Equal([]byte(Sign(g.Secret, id, ts, body)), []byte(h.Get(HeaderSignature))) {
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
		return ErrDuplicate
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
	var ex exchange
	client, f := rt.authenticate(r, snap, r.Header.Get(HeaderClient), &ex)
	if f != nil {
		return f
	}
	if ex.certUnchecked {
		return certStatusFault() // no service, so no fail-open policy
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
