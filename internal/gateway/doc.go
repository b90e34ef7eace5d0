// Package gateway is the provincial integration platform (LGSP): the
// registry of members, subsystems, services and access rights; the runtime
// that proxies calls in the X-Road REST profile and the SOAP message
// protocol 4.0 (soap.go), checking client certificates' status by OCSP
// (ocsp.go); quotas shared by the nodes (limits.go, nodes.go); the signed
// and RFC 3161 time-stamped message log (msglog.go, tsa.go); metadata
// services; publish/subscribe with webhooks; federation with other
// gateways; metrics, a status page and a doctor.
//
// Main types:
//
//   - [ClientID], [ServiceID]: X-Road identifiers INSTANCE/CLASS/MEMBER[/SUBSYSTEM]
//     and …/SUBSYSTEM/SERVICE[/VERSION], parsed by [ParseClientID],
//     [ParseServiceID] and [SplitServicePath].
//   - [Member], [Subsystem], [Certificate], [Service] with [Version]s and
//     their lifecycle (draft → published → deprecated → retired), [Group],
//     [AccessRight] (per service or per method + path pattern, time-boxed,
//     with a legal basis), [Quota], [Peer]: the registry, stored by [Store]
//     and changed through [Manager], which validates and audits every change.
//   - [Runtime]: the data plane, an http.Handler built by [NewRuntime] from a
//     *db.DB and a [Config]; [Runtime.Run] follows the registry revision.
//   - [DirectTransport]: reaches plain-http backends for GET and HEAD on the
//     handler's goroutine (kept-alive connections, one retry on a
//     connection the backend closed while idle); everything else goes to
//     an http.Transport ([NewTransport]).
//   - [MessageLog]: the exchange log, written in group commits (multi-row
//     INSERTs, everything queued during the previous commit), hash-chained
//     per node and batch-signed ([Key]); [Export], [Verify], [VerifyDB], [Search].
//   - [PubSub]: topics, webhook subscriptions, at-least-once deliveries with
//     retries, dead letters, replay, idempotency keys; [ReplayGuard] for receivers.
//   - [Handlers]: the JSON API under /api/v1/gateway and the admin pages
//     (ui.go; registryui.go: members, subsystems, certificate bindings,
//     services and versions, quotas and peers, every change through [Manager]
//     whose [FieldError]s are shown next to the form fields).
//   - [Doctor], [ServiceStatus], [Metrics]: operations.
//
// Invariants:
//
//   - Every registry write bumps gateway_revision and appends an audit entry
//     in the same transaction; every node polls the revision (PollInterval,
//     1 s) and swaps in a fresh in-memory snapshot, so a revoked right is
//     refused everywhere within about a second.
//   - A call is logged only once its client is proven (certificate or token)
//     and its service identifier parsed; the handler returns only after its
//     record is committed, so no acknowledged exchange is missing from the log.
//   - Record i of a node holds the hash of record i-1; batches cover each
//     node's chain without gaps, and each batch's Merkle root is signed.
//     The writer keeps its chain head in memory and moves the head row only
//     with a guarded UPDATE (seq and hash as it knows them), so a second
//     process writing as the same node makes it re-read the head, never
//     fork the chain. The canonical JSON of a record, which its hash
//     covers, is exactly encoding/json's (appendCanonical, tested against
//     json.Marshal).
//   - Quota usage lives in SQL per window; nodes lease tokens in chunks, so
//     the sum over nodes never exceeds a limit. Concurrency limits are split
//     among the live nodes, known from their heartbeat rows (nodes.go).
//   - Bodies are streamed, never buffered (at most 64 KiB kept when a service
//     logs bodies, after redaction).
//
// The domain files (ids.go, gateway.go, xroad.go) import neither SQL nor HTTP
// handlers' packages; store.go, msglog.go, limits.go and pubsub.go hold the
// SQL; runtime.go, soap.go, direct.go, auth.go, ocsp.go and meta.go the data
// plane; api.go, ui.go, registryui.go, pubsubapi.go and pubsubui.go the
// management plane.
package gateway
