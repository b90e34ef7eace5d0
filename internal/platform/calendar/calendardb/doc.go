// Package calendardb keeps the government's yearly holiday announcements
// (thông báo nghỉ lễ, Tết) as data that administrators edit, and serves the
// working-day calendar built from them.
//
// It owns:
//
//   - the table calendar_announcements (one row per year: the
//     [calendar.Announcement] as JSON, who saved it, when, and its version)
//     and the one-row table calendar_revision, bumped by every write
//     ([Migrations], [Store]);
//   - the [Provider], which holds the current *calendar.Calendar built from
//     the configured [calendar.Options], the announcements shipped in the
//     binary and the stored ones, and rebuilds it when they change;
//   - the JSON API under /api/v1/calendar and the pages /calendar and
//     /admin/calendar ([Handlers]).
//
// # Precedence
//
// For a year, a stored announcement wins over one given in
// calendar.Options.Announcements, which wins over the shipped one; a year with
// none of them follows the default rule of the Labour Code. Deleting a stored
// announcement therefore falls back to the shipped data or the default rule.
//
// # Several nodes
//
// Each node builds its own immutable Calendar. Writes made through a
// Provider rebuild that node's calendar before they return; other nodes notice
// them through [Provider.Run], which every poll interval reads the single
// revision number (one indexed row) and reloads the announcements only when
// it changed. The revision is a counter rather than max(version)/count over
// the announcements, because a delete followed by an insert can leave both of
// those unchanged.
//
// # Invariants
//
//   - Every stored announcement passed [Validate] when it was saved. A row
//     that no longer does (edited by hand) is skipped and logged at load, so
//     one bad row never takes the calendar down; a row that cannot even be
//     decoded fails the load, and the previous calendar stays.
//   - Versions and the revision only grow. Every write takes the revision
//     row's lock first, so on PostgreSQL writers are serialised and versions
//     follow commit order; a write with an expected version (optimistic
//     locking) fails with [ErrStale] instead of overwriting a newer edit.
//   - Calendar() never returns nil and never blocks on the database.
package calendardb
