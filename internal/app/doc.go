// Package app wires congso together: configuration → platform services
// (database, blobs, outbox, timers, audit, calendar) → modules (catalog, identity,
// …) → one HTTP handler, and runs it with background workers and graceful
// shutdown. It holds no domain rules.
package app
