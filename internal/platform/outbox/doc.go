// Package outbox is congso's transactional outbox: the only way a module causes a
// side effect in another module or outside the platform (a notification, a sync to
// the national portal, a statistics feed).
//
// A module calls [Publish] inside the transaction that changes its own data, so
// the event exists if and only if that change committed. A [Dispatcher] (one per
// node, any number of nodes) delivers each event to every subscriber of its topic
// at least once:
//
//   - Publish writes the event and one delivery row per subscription known for the
//     topic, in the caller's transaction (on PostgreSQL as one deferred statement,
//     [db.Tx.Defer], sent with the transaction's other deferred writes). A subscription is known once a
//     Dispatcher that declares it has called [Dispatcher.Register] (Run does so);
//     a subscriber added later does not receive events published before that.
//     Call Register at start-up, before the node accepts requests.
//   - A worker claims due deliveries by setting a lease (claimed_until, next_at)
//     and a claim token, with FOR UPDATE SKIP LOCKED on PostgreSQL, so two nodes
//     never run the same delivery at the same time. A node that dies mid-handler
//     leaves the lease to expire; another node then retries the delivery.
//   - Success deletes the delivery row; failure schedules a retry with
//     exponential backoff and jitter; after MaxAttempts attempts (default 10) the
//     delivery becomes a dead letter that keeps its last error until an
//     administrator retries it. A worker whose lease was taken over cannot
//     overwrite the newer claim's result (every update checks the claim token).
//
// Because delivery is at least once, handlers must be idempotent, for example by
// remembering [Event.ID]. Events of one key are not guaranteed to arrive in order.
//
// Tables: outbox_events, outbox_subscriptions, outbox_deliveries (see
// [Migrations]). Delivered events are kept for Config.Retention and then purged.
package outbox
