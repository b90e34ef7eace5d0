package calendardb_test

import (
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
)

// testMigrations is the calendar's schema and the audit log it writes to.
func testMigrations() []db.Migration {
	return append(audit.Migrations(), calendardb.Migrations()...)
}
