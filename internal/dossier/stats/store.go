package stats

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// The levels of the flow tables. Each holds the same counters per (period,
// agency, field); a period is a day (yyyymmdd), a dekad (yyyymmk, k = 0 for
// days 1–10, 1 for 11–20, 2 for 21 to the end of the month), a month
// (yyyymm), a quarter (yyyyq) or a year (yyyy) in Asia/Ho_Chi_Minh. Every
// change is written to all levels in the same transaction, so a row of a
// level is always the sum of the rows it covers at the level below.
const (
	tableDaily     = "dossier_stats_daily"
	tableDekadly   = "dossier_stats_dekadly"
	tableMonthly   = "dossier_stats_monthly"
	tableQuarterly = "dossier_stats_quarterly"
	tableYearly    = "dossier_stats_yearly"
)

var levels = []struct {
	table  string
	period func(day int32) int32
}{
	{tableDaily, func(d int32) int32 { return d }},
	{tableDekadly, func(d int32) int32 { return d/100*10 + min((d%100-1)/10, 2) }},
	{tableMonthly, func(d int32) int32 { return d / 100 }},
	{tableQuarterly, func(d int32) int32 { return d/10000*10 + (d/100%100-1)/3 + 1 }},
	{tableYearly, func(d int32) int32 { return d / 10000 }},
}

func flowTable(name, suffix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n\tperiod INTEGER NOT NULL,\n\tagency TEXT NOT NULL,\n\tfield TEXT NOT NULL,\n", name)
	for _, c := range colNames {
		fmt.Fprintf(&b, "\t%s INTEGER NOT NULL DEFAULT 0,\n", c)
	}
	b.WriteString("\tPRIMARY KEY (period, agency, field)\n)" + suffix + ";\n")
	return b.String()
}

// Migrations returns the schema of the statistics (module "dossier_stats").
// It depends on no other module's tables.
func Migrations() []db.Migration {
	flows := func(suffix string) string {
		var b strings.Builder
		for _, lv := range levels {
			b.WriteString(flowTable(lv.table, suffix))
		}
		return b.String()
	}
	return []db.Migration{{Module: "dossier_stats", Version: 1, Name: "daily, dekadly, monthly, quarterly and yearly flows; per-dossier state",
		// On SQLite the flow tables are clustered on their key (WITHOUT
		// ROWID): a report reads ranges of periods straight from the B-tree.
		SQLite:   flows(" WITHOUT ROWID") + dossiersTable,
		Postgres: flows("") + dossiersTable}}
}

const dossiersTable = `
CREATE TABLE dossier_stats_dossiers (
	code TEXT PRIMARY KEY,
	version BIGINT NOT NULL,
	seen BIGINT NOT NULL,
	agency TEXT NOT NULL,
	field TEXT NOT NULL,
	channel INTEGER NOT NULL,
	status TEXT NOT NULL,
	received_at {{time}},
	due_at {{time}},
	closed_at {{time}},
	closed TEXT NOT NULL,
	pause TEXT NOT NULL,
	seg_start {{time}},
	overdue_from {{time}},
	returned {{bool}} NOT NULL,
	not_received {{bool}} NOT NULL,
	updated_at {{time}} NOT NULL
);
CREATE INDEX dossier_stats_dossiers_overdue ON dossier_stats_dossiers (overdue_from) WHERE overdue_from IS NOT NULL;
`

const stateColumns = `version, seen, agency, field, channel, status, received_at, due_at, closed_at, closed, pause, seg_start,
	returned, not_received`

// lockState returns the state of a dossier locked for the transaction
// (FOR UPDATE on PostgreSQL; SQLite has a single writer), creating an
// empty one first so that two nodes applying events of a new dossier at
// once wait for each other instead of both counting its reception.
func lockState(ctx context.Context, tx *db.Tx, code string, now time.Time) (*dossierState, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO dossier_stats_dossiers (code, version, seen, agency, field, channel, status,
	closed, pause, returned, not_received, updated_at) VALUES ($1, 0, 0, '', '', 0, '', '', '', FALSE, FALSE, $2)
ON CONFLICT (code) DO NOTHING`, code, now); err != nil {
		return nil, fmt.Errorf("state of %s: %w", code, err)
	}
	lock := ""
	if tx.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var st dossierState
	var seen int64
	var received, due, closedAt, seg sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT `+stateColumns+` FROM dossier_stats_dossiers WHERE code = $1`+lock, code).Scan(
		&st.Version, &seen, &st.Agency, &st.Field, &st.Channel, &st.Status, &received, &due, &closedAt, &st.Closed, &st.Pause, &seg,
		&st.Returned, &st.NotReceived)
	if err != nil {
		return nil, fmt.Errorf("state of %s: %w", code, err)
	}
	st.Seen = uint64(seen)
	st.ReceivedAt, st.DueAt, st.ClosedAt, st.SegStart = fromNull(received), fromNull(due), fromNull(closedAt), fromNull(seg)
	return &st, nil
}

func saveState(ctx context.Context, tx *db.Tx, code string, st *dossierState, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE dossier_stats_dossiers SET version = $2, seen = $3, agency = $4, field = $5, channel = $6,
	status = $7, received_at = $8, due_at = $9, closed_at = $10, closed = $11, pause = $12, seg_start = $13, overdue_from = $14,
	returned = $15, not_received = $16, updated_at = $17 WHERE code = $1`,
		code, st.Version, int64(st.Seen), st.Agency, st.Field, st.Channel, st.Status, nullTime(st.ReceivedAt), nullTime(st.DueAt),
		nullTime(st.ClosedAt), st.Closed, st.Pause, nullTime(st.SegStart), nullTime(st.overdueFrom()), st.Returned, st.NotReceived, now)
	if err != nil {
		return fmt.Errorf("save state of %s: %w", code, err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// flowRow is the change of the counters of one (period, agency, field).
type flowRow struct {
	period        int32
	agency, field string
	c             counts
}

// upsertSQL returns the statement adding n rows of counters to table.
func upsertSQL(table string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (period, agency, field")
	for _, c := range colNames {
		b.WriteString(", " + c)
	}
	b.WriteString(") VALUES ")
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for j := range 3 + nCols {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", p)
			p++
		}
		b.WriteString(")")
	}
	b.WriteString(" ON CONFLICT (period, agency, field) DO UPDATE SET ")
	for i, c := range colNames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s.%s + excluded.%s", c, table, c, c)
	}
	return b.String()
}

// maxPeriods is the most rows one statement adds (an event touches a few
// days: its own, the reception's, the due day's).
const maxPeriods = 8

// upsertSQLs holds, per table, the statements adding 1 to maxPeriods rows.
var upsertSQLs = map[string][]string{}

func init() {
	for _, lv := range levels {
		for n := 1; n <= maxPeriods; n++ {
			upsertSQLs[lv.table] = append(upsertSQLs[lv.table], upsertSQL(lv.table, n))
		}
	}
}

// addFlows adds the entries of one dossier to every level, in a fixed
// order (level, period) so that concurrent transactions lock rows in the
// same order and cannot deadlock.
func addFlows(ctx context.Context, tx *db.Tx, agency, field string, entries []entry) error {
	if len(entries) == 0 {
		return nil
	}
	// One statement per level on PostgreSQL (fewer round trips); one per
	// row on SQLite, whose driver binds parameters in time quadratic in
	// their number.
	per := maxPeriods
	if tx.Dialect == db.SQLite {
		per = 1
	}
	for _, lv := range levels {
		byPeriod := map[int32]*counts{}
		for _, e := range entries {
			p := lv.period(e.day)
			c := byPeriod[p]
			if c == nil {
				c = &counts{}
				byPeriod[p] = c
			}
			c[e.col] += int64(e.n)
		}
		periods := make([]int32, 0, len(byPeriod))
		for p, c := range byPeriod {
			if *c != (counts{}) {
				periods = append(periods, p)
			}
		}
		if len(periods) == 0 {
			continue
		}
		slices.Sort(periods)
		for chunk := range slices.Chunk(periods, per) {
			args := make([]any, 0, len(chunk)*(3+nCols))
			for _, p := range chunk {
				args = append(args, p, agency, field)
				for _, v := range byPeriod[p] {
					args = append(args, v)
				}
			}
			if _, err := tx.ExecContext(ctx, upsertSQLs[lv.table][len(chunk)-1], args...); err != nil {
				return fmt.Errorf("add flows to %s %v: %w", lv.table, chunk, err)
			}
		}
	}
	return nil
}

// insertRows adds rows to table, many per statement (fewer on SQLite,
// whose driver binds parameters in time quadratic in their number).
func insertRows(ctx context.Context, tx *db.Tx, table string, rows []flowRow) error {
	per := 500
	if tx.Dialect == db.SQLite {
		per = sqliteRowsPerInsert
	}
	for len(rows) > 0 {
		n := min(per, len(rows))
		args := make([]any, 0, n*(3+nCols))
		for _, r := range rows[:n] {
			args = append(args, r.period, r.agency, r.field)
			for _, v := range r.c {
				args = append(args, v)
			}
		}
		if _, err := tx.ExecContext(ctx, upsertSQL(table, n), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

const sqliteRowsPerInsert = 8

// span is a range [lo, hi) of periods of one level, added with sign.
type span struct {
	table  string
	lo, hi int32
	sign   int64
}

// group is a row of a report: its key and its counters.
type group struct {
	agency, field string
}

// sumSpan returns the signed counters of a span per group. PostgreSQL sums
// per group; on SQLite summing the rows in Go is about twice as fast as
// the engine's GROUP BY (a temporary B-tree).
func sumSpan(ctx context.Context, d *db.DB, s span, f filter) (map[group]*counts, error) {
	acc := map[group]*counts{}
	if s.lo >= s.hi {
		return acc, nil
	}
	inGo := d.Dialect() == db.SQLite
	query, args := spanSQL(s, f, inGo)
	rows, err := d.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sum %s [%d, %d): %w", s.table, s.lo, s.hi, err)
	}
	defer rows.Close()
	var v [nCols]sql.NullInt64
	dest := make([]any, 0, 2+nCols)
	var g group
	dest = append(dest, &g.agency, &g.field)
	for i := range v {
		dest = append(dest, &v[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sum %s [%d, %d): %w", s.table, s.lo, s.hi, err)
		}
		switch f.by {
		case GroupByAgency:
			g.field = ""
		case GroupByField:
			g.agency = ""
		}
		c := acc[g]
		if c == nil {
			c = &counts{}
			acc[g] = c
		}
		for i := range v {
			c[i] += s.sign * v[i].Int64
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum %s [%d, %d): %w", s.table, s.lo, s.hi, err)
	}
	return acc, nil
}

// filter narrows a report and says how to group it.
type filter struct {
	agency, field string
	by            GroupBy
}

func (f filter) keyColumns() (sel, groupBy string) {
	switch f.by {
	case GroupByAgency:
		return "agency, CAST('' AS TEXT)", "agency"
	case GroupByField:
		return "CAST('' AS TEXT), field", "field"
	}
	return "agency, field", "agency, field"
}

// spanSQL reads a span: the rows themselves (raw), or their sums per group.
func spanSQL(s span, f filter, raw bool) (string, []any) {
	sel, gb := f.keyColumns()
	var b strings.Builder
	if raw {
		b.WriteString("SELECT agency, field")
	} else {
		b.WriteString("SELECT " + sel)
	}
	for _, c := range colNames {
		if raw {
			fmt.Fprintf(&b, ", %s", c)
		} else {
			fmt.Fprintf(&b, ", SUM(%s)", c)
		}
	}
	b.WriteString(" FROM " + s.table + " WHERE period >= $1 AND period < $2")
	args := []any{s.lo, s.hi}
	if f.agency != "" {
		args = append(args, f.agency)
		fmt.Fprintf(&b, " AND agency = $%d", len(args))
	}
	if f.field != "" {
		args = append(args, f.field)
		fmt.Fprintf(&b, " AND field = $%d", len(args))
	}
	if !raw {
		b.WriteString(" GROUP BY " + gb)
	}
	return b.String(), args
}

// notYetOverdue counts, per group, the running dossiers that become
// overdue in [from, to): the part of today's overdue entries that has not
// happened yet. It reads the partial index on overdue_from, so it touches
// only the dossiers due in that range.
func notYetOverdue(ctx context.Context, q db.Querier, from, to time.Time, f filter, acc map[group]int64) error {
	sel, gb := f.keyColumns()
	query := "SELECT " + sel + ", COUNT(*) FROM dossier_stats_dossiers WHERE overdue_from >= $1 AND overdue_from < $2"
	args := []any{from.UTC(), to.UTC()}
	if f.agency != "" {
		args = append(args, f.agency)
		query += fmt.Sprintf(" AND agency = $%d", len(args))
	}
	if f.field != "" {
		args = append(args, f.field)
		query += fmt.Sprintf(" AND field = $%d", len(args))
	}
	rows, err := q.QueryContext(ctx, query+" GROUP BY "+gb, args...)
	if err != nil {
		return fmt.Errorf("dossiers becoming overdue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g group
		var n int64
		if err := rows.Scan(&g.agency, &g.field, &n); err != nil {
			return fmt.Errorf("dossiers becoming overdue: %w", err)
		}
		acc[g] += n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("dossiers becoming overdue: %w", err)
	}
	return nil
}

// reset empties every statistics table.
func reset(ctx context.Context, tx *db.Tx) error {
	tables := []string{"dossier_stats_dossiers"}
	for _, lv := range levels {
		tables = append(tables, lv.table)
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("reset %s: %w", t, err)
		}
	}
	return nil
}
