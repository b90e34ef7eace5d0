package gateway

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// The message log's records are stored a page at a time: one row holds the
// consecutive records of a node that one transaction wrote (at most
// maxPageRecords, or about maxPageBytes), encoded compactly. A record
// stored a row at a time cost the writer about 40 µs in the embedded
// SQLite (23 bound values, four B-trees); a page costs one row for
// hundreds of records. Beside the pages, two small tables answer what the
// pages cannot answer quickly:
//
//   - gateway_msglog_issues: the pages holding records of each issue
//     (dossier code), once per page, for the search by dossier;
//   - gateway_msglog_minutes: calls, errors and latency per service, node
//     and minute, for the status page.
//
// Searches by client, service and time walk the pages newest first (the
// at_max index) and stop once a full page of results is found, as the
// search by row walked the at index before.
//
// A page's encoding (version 1):
//
//	byte 1 | uvarint count | string prev_hash | count × (uvarint len | record | string hash)
//
// where record is appendJournalRecord's encoding and string is a uvarint
// length and the bytes. Seq and node come from the row: the records of a
// page are consecutive, and each one's prev_hash is the hash before it.
const (
	pageVersion    = 1
	maxPageRecords = 512
	maxPageBytes   = 1 << 20
)

func pageMigrations() []db.Migration {
	up := `
CREATE TABLE gateway_msglog_pages (
	node TEXT NOT NULL,
	first_seq BIGINT NOT NULL,
	last_seq BIGINT NOT NULL,
	at_min BIGINT NOT NULL,
	at_max BIGINT NOT NULL,
	records {{bytes}} NOT NULL,
	PRIMARY KEY (node, first_seq)
);
CREATE INDEX gateway_msglog_pages_at ON gateway_msglog_pages (at_max);
CREATE TABLE gateway_msglog_issues (
	issue TEXT NOT NULL,
	node TEXT NOT NULL,
	first_seq BIGINT NOT NULL,
	PRIMARY KEY (issue, node, first_seq)
)/*norowid*/;
CREATE TABLE gateway_msglog_minutes (
	service TEXT NOT NULL,
	minute BIGINT NOT NULL,
	node TEXT NOT NULL,
	calls BIGINT NOT NULL,
	errors BIGINT NOT NULL,
	duration_us BIGINT NOT NULL,
	max_duration_us BIGINT NOT NULL,
	last_ok BIGINT NOT NULL,
	last_call BIGINT NOT NULL,
	PRIMARY KEY (service, minute, node)
)/*norowid*/;
`
	// Times in these tables are Unix microseconds (comparable on both
	// engines; SQLite's text timestamps do not sort below a second).
	return []db.Migration{{Module: "gateway", Version: 9, Name: "message log pages",
		SQLite:   strings.ReplaceAll(up, "/*norowid*/", " WITHOUT ROWID"),
		Postgres: strings.ReplaceAll(up, "/*norowid*/", ""),
		Func:     moveRowsToPages}}
}

// moveRowsToPages moves the records a row at a time (migration 2) into
// pages, keeping any break in a chain (a missing seq, a prev_hash that is
// not the hash before) as a page boundary, so that verification finds
// after the move exactly what it found before.
func moveRowsToPages(ctx context.Context, tx *db.Tx) error {
	node, seq := "", int64(-1)
	var page []*Record
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		err := writePages(ctx, tx, page, nil)
		page = page[:0]
		return err
	}
	for {
		rows, err := tx.QueryContext(ctx, `SELECT node, seq, at, done_at, client, service, message_id, request_id, user_id, issue, method, path, status, error_type,
	request_bytes, response_bytes, request_hash, response_hash, request_body, response_body, prev_hash, hash FROM gateway_msglog
WHERE node > $1 OR (node = $1 AND seq > $2) ORDER BY node, seq LIMIT 1000`, node, seq)
		if err != nil {
			return err
		}
		// Read the chunk whole first: PostgreSQL runs nothing else on a
		// connection while a result is open.
		var chunk []*Record
		for rows.Next() {
			r := new(Record)
			if err := rows.Scan(&r.Node, &r.Seq, &r.At, &r.DoneAt, &r.Client, &r.Service, &r.MessageID, &r.RequestID, &r.UserID, &r.Issue,
				&r.Method, &r.Path, &r.Status, &r.ErrorType, &r.RequestBytes, &r.ResponseBytes, &r.RequestHash, &r.ResponseHash,
				&r.RequestBody, &r.ResponseBody, &r.PrevHash, &r.Hash); err != nil {
				rows.Close()
				return err
			}
			r.At, r.DoneAt = r.At.UTC(), r.DoneAt.UTC()
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n := len(chunk)
		for _, r := range chunk {
			node, seq = r.Node, r.Seq
			if k := len(page); k > 0 && (page[k-1].Node != r.Node || page[k-1].Seq+1 != r.Seq || page[k-1].Hash != r.PrevHash || k == maxPageRecords) {
				if err := flush(); err != nil {
					return err
				}
			}
			page = append(page, r)
		}
		if n == 0 {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE gateway_msglog`)
	return err
}

// pageWriter holds what the writer goroutine reuses from batch to batch.
type pageWriter struct {
	buf, rec []byte
	args     []any
	seen     map[string]bool
}

// writePages stores consecutive records of one node (chained: each one's
// PrevHash is the hash before) as pages, with their issue and per-minute
// rows. pw may be nil.
func writePages(ctx context.Context, tx *db.Tx, recs []*Record, pw *pageWriter) error {
	if pw == nil {
		pw = &pageWriter{}
	}
	for rest := recs; len(rest) > 0; {
		n, size := 0, 0
		for n < len(rest) && n < maxPageRecords {
			size += 256 + len(rest[n].RequestBody) + len(rest[n].ResponseBody) + len(rest[n].Path)
			if n > 0 && size > maxPageBytes {
				break
			}
			n++
		}
		page := rest[:n]
		b, scratch := appendPage(pw.buf[:0], pw.rec, page)
		pw.rec = scratch
		atMin, atMax := page[0].At.UnixMicro(), page[0].At.UnixMicro()
		for _, r := range page {
			at := r.At.UnixMicro()
			atMin, atMax = min(atMin, at), max(atMax, at)
		}
		pw.buf = b
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_msglog_pages (node, first_seq, last_seq, at_min, at_max, records) VALUES ($1, $2, $3, $4, $5, $6)`,
			page[0].Node, page[0].Seq, page[n-1].Seq, atMin, atMax, b); err != nil {
			return fmt.Errorf("message log page %d–%d: %w", page[0].Seq, page[n-1].Seq, err)
		}
		if err := writeIssues(ctx, tx, page, pw); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return writeMinutes(ctx, tx, recs)
}

// appendPage appends the encoding of page (consecutive records of a node)
// to b, using scratch for each record's encoding.
func appendPage(b, scratch []byte, page []*Record) ([]byte, []byte) {
	b = append(b, pageVersion)
	b = binary.AppendUvarint(b, uint64(len(page)))
	b = appendPageString(b, page[0].PrevHash)
	for _, r := range page {
		scratch = appendJournalRecord(scratch[:0], r)
		b = binary.AppendUvarint(b, uint64(len(scratch)))
		b = append(b, scratch...)
		b = appendPageString(b, r.Hash)
	}
	return b, scratch
}

func appendPageString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBadPage = errors.New("message log page is malformed")

// readPage decodes a page of node starting at first, calling fn with each
// record in order until it returns false.
func readPage(node string, first int64, b []byte, fn func(*Record) bool) error {
	if len(b) == 0 || b[0] != pageVersion {
		return fmt.Errorf("%w (%s from %d)", errBadPage, node, first)
	}
	b = b[1:]
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("%w (%s from %d)", errBadPage, node, first)
	}
	b = b[n:]
	str := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return "", false
		}
		s := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return s, true
	}
	prev, ok := str()
	if !ok {
		return fmt.Errorf("%w (%s from %d)", errBadPage, node, first)
	}
	for i := range int64(count) {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return fmt.Errorf("%w (%s %d)", errBadPage, node, first+i)
		}
		r, err := readJournalRecord(b[n : n+int(l)])
		if err != nil {
			return fmt.Errorf("%w (%s %d)", errBadPage, node, first+i)
		}
		b = b[n+int(l):]
		if r.Hash, ok = str(); !ok {
			return fmt.Errorf("%w (%s %d)", errBadPage, node, first+i)
		}
		r.Node, r.Seq, r.PrevHash = node, first+i, prev
		prev = r.Hash
		if !fn(&r) {
			return nil
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w (%s from %d: %d bytes after the records)", errBadPage, node, first, len(b))
	}
	return nil
}

// Issue rows go in multi-row INSERTs of these sizes: each size's statement
// is prepared once. The SQLite driver matches each bound parameter
// against every argument, so its statements stay small.
var issueSizes = map[db.Dialect][]int{db.SQLite: {16, 4, 1}, db.Postgres: {64, 16, 4, 1}}

var insertIssues = func() map[db.Dialect]map[int]string {
	out := map[db.Dialect]map[int]string{}
	for dialect, sizes := range issueSizes {
		m := map[int]string{}
		for _, n := range sizes {
			var b strings.Builder
			b.WriteString(`INSERT INTO gateway_msglog_issues (issue, node, first_seq) VALUES `)
			for i := range n {
				if i > 0 {
					b.WriteString(", ")
				}
				if dialect == db.SQLite {
					b.WriteString("(?, ?, ?)")
				} else {
					fmt.Fprintf(&b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
				}
			}
			m[n] = b.String()
		}
		out[dialect] = m
	}
	return out
}()

// writeIssues indexes a page under each issue its records name.
func writeIssues(ctx context.Context, tx *db.Tx, page []*Record, pw *pageWriter) error {
	clear(pw.seen)
	if pw.seen == nil {
		pw.seen = map[string]bool{}
	}
	args := pw.args[:0]
	flush := func(n int) error {
		_, err := tx.ExecContext(ctx, insertIssues[tx.Dialect][n], args[:3*n]...)
		args = append(args[:0], args[3*n:]...)
		return err
	}
	sizes := issueSizes[tx.Dialect]
	node, first := page[0].Node, page[0].Seq
	for _, r := range page {
		if r.Issue == "" || pw.seen[r.Issue] {
			continue
		}
		pw.seen[r.Issue] = true
		args = append(args, r.Issue, node, first)
		if len(args) == 3*sizes[0] {
			if err := flush(sizes[0]); err != nil {
				return fmt.Errorf("message log issues: %w", err)
			}
		}
	}
	for _, s := range sizes {
		for len(args) >= 3*s {
			if err := flush(s); err != nil {
				return fmt.Errorf("message log issues: %w", err)
			}
		}
	}
	clear(args[:cap(args)])
	clear(pw.seen)
	pw.args = args[:0]
	return nil
}

// minuteKey and minuteStat aggregate a batch per service and minute.
type minuteKey struct {
	service string
	minute  int64
}

type minuteStat struct {
	calls, errors, dur, maxDur, lastOK, lastCall int64
}

// failed reports whether the exchange counts as an error on the status
// page: a gateway fault or a server error of the provider.
func (r *Record) failed() bool { return r.Status >= 500 || r.ErrorType != "" }

func (r *Record) succeeded() bool { return r.Status < 400 && r.ErrorType == "" }

func writeMinutes(ctx context.Context, tx *db.Tx, recs []*Record) error {
	agg := map[minuteKey]*minuteStat{}
	for _, r := range recs {
		at := r.At.UnixMicro()
		k := minuteKey{r.Service, unixMinute(r.At)}
		s := agg[k]
		if s == nil {
			s = &minuteStat{}
			agg[k] = s
		}
		d := r.DoneAt.Sub(r.At).Microseconds()
		s.calls++
		s.dur += d
		s.maxDur = max(s.maxDur, d)
		s.lastCall = max(s.lastCall, at)
		if r.failed() {
			s.errors++
		}
		if r.succeeded() {
			s.lastOK = max(s.lastOK, at)
		}
	}
	node := recs[0].Node
	keys := make([]minuteKey, 0, len(agg))
	for k := range agg {
		keys = append(keys, k)
	}
	// The same order in every transaction: two writers never wait on each
	// other's rows in opposite orders.
	slices.SortFunc(keys, func(a, b minuteKey) int {
		if c := strings.Compare(a.service, b.service); c != 0 {
			return c
		}
		return int(a.minute - b.minute)
	})
	for _, k := range keys {
		s := agg[k]
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_msglog_minutes (service, minute, node, calls, errors, duration_us, max_duration_us, last_ok, last_call)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (service, minute, node) DO UPDATE SET calls = gateway_msglog_minutes.calls + excluded.calls,
	errors = gateway_msglog_minutes.errors + excluded.errors,
	duration_us = gateway_msglog_minutes.duration_us + excluded.duration_us,
	max_duration_us = CASE WHEN excluded.max_duration_us > gateway_msglog_minutes.max_duration_us THEN excluded.max_duration_us ELSE gateway_msglog_minutes.max_duration_us END,
	last_ok = CASE WHEN excluded.last_ok > gateway_msglog_minutes.last_ok THEN excluded.last_ok ELSE gateway_msglog_minutes.last_ok END,
	last_call = CASE WHEN excluded.last_call > gateway_msglog_minutes.last_call THEN excluded.last_call ELSE gateway_msglog_minutes.last_call END`,
			k.service, k.minute, node, s.calls, s.errors, s.dur, s.maxDur, s.lastOK, s.lastCall); err != nil {
			return fmt.Errorf("message log minutes: %w", err)
		}
	}
	return nil
}

// minutesKept is how long the per-minute totals are kept (the status page
// reads the last hour; the records themselves stay in the pages).
const minutesKept = 8 * 24 * time.Hour

// PruneMinutes deletes the per-minute totals from before a time (the
// writer of each node does it hourly, for every node's rows).
func PruneMinutes(ctx context.Context, d *db.DB, before time.Time) error {
	return d.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM gateway_msglog_minutes WHERE minute < $1`, unixMinute(before))
		return err
	})
}

// unixMinute numbers the minute holding t (minutes since 1970, rounded down).
func unixMinute(t time.Time) int64 {
	s := t.Unix()
	m := s / 60
	if s < 0 && s%60 != 0 {
		m--
	}
	return m
}

// ServiceStatus aggregates the message log per service over the whole
// minutes since a time (calls, errors: status ≥ 500 or a gateway fault,
// latency and last success), from the per-minute table of every node.
func ServiceStatus(ctx context.Context, d *db.DB, since time.Time) ([]Stat, error) {
	minute := unixMinute(since)
	rows, err := d.Read().QueryContext(ctx, `SELECT service, CAST(SUM(calls) AS BIGINT), CAST(SUM(errors) AS BIGINT), CAST(SUM(duration_us) AS BIGINT),
	MAX(max_duration_us), MAX(last_ok), MAX(last_call)
FROM gateway_msglog_minutes WHERE minute >= $1 GROUP BY service ORDER BY service`, minute)
	if err != nil {
		return nil, fmt.Errorf("gateway status: %w", err)
	}
	defer rows.Close()
	var out []Stat
	for rows.Next() {
		var s Stat
		var dur, mx, lastOK, last int64
		if err := rows.Scan(&s.Service, &s.Calls, &s.Errors, &dur, &mx, &lastOK, &last); err != nil {
			return nil, fmt.Errorf("gateway status: %w", err)
		}
		if s.Calls > 0 {
			s.ErrorRate = float64(s.Errors) / float64(s.Calls)
			s.AvgMillis = float64(dur) / float64(s.Calls) / 1000
		}
		s.MaxMillis = float64(mx) / 1000
		if lastOK > 0 {
			t := time.UnixMicro(lastOK).UTC()
			s.LastSuccess = &t
		}
		s.LastCall = time.UnixMicro(last).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// Filter selects records of the message log.
type Filter struct {
	Issue   string
	Client  string
	Service string // the service identifier, or a prefix of it ending before a "/"
	From    time.Time
	To      time.Time
	Limit   int
}

func (f *Filter) match(r *Record) bool {
	at := r.At.UnixMicro()
	return (f.Issue == "" || r.Issue == f.Issue) &&
		(f.Client == "" || r.Client == f.Client) &&
		(f.Service == "" || r.Service == f.Service || strings.HasPrefix(r.Service, f.Service) && strings.HasPrefix(r.Service[len(f.Service):], "/")) &&
		(f.From.IsZero() || at >= f.From.UnixMicro()) &&
		(f.To.IsZero() || at < f.To.UnixMicro())
}

// newer orders records newest first (then by node, and seq descending).
func newer(a, b *Record) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	if c := strings.Compare(a.Node, b.Node); c != 0 {
		return c
	}
	return int(b.Seq - a.Seq)
}

// maxIssuePages bounds the pages of one issue a search considers (the
// newest).
const maxIssuePages = 100_000

// Search lists records, newest first. A search by issue (dossier code)
// walks the pages its table names, the others all pages, from the newest,
// and stops once the page of results is complete.
func Search(ctx context.Context, d *db.DB, f Filter) ([]Record, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []*Record
	var err error
	if f.Issue != "" {
		out, err = searchIssue(ctx, d, f)
	} else {
		out, err = searchPages(ctx, d, f)
	}
	if err != nil {
		return nil, fmt.Errorf("search message log: %w", err)
	}
	slices.SortFunc(out, newer)
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	recs := make([]Record, len(out))
	for i, r := range out {
		recs[i] = *r
	}
	return recs, nil
}

func searchIssue(ctx context.Context, d *db.DB, f Filter) ([]*Record, error) {
	// The issue's pages, newest first (their references only: a page is
	// read when its turn comes, and the walk stops as searchPages does).
	q, args := `SELECT p.node, p.first_seq, p.at_max FROM gateway_msglog_issues i
JOIN gateway_msglog_pages p ON p.node = i.node AND p.first_seq = i.first_seq WHERE i.issue = $1`, []any{f.Issue}
	if !f.From.IsZero() {
		args = append(args, f.From.UnixMicro())
		q += " AND p.at_max >= $" + strconv.Itoa(len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UnixMicro())
		q += " AND p.at_min < $" + strconv.Itoa(len(args))
	}
	rows, err := d.Read().QueryContext(ctx, q+" ORDER BY p.at_max DESC LIMIT "+strconv.Itoa(maxIssuePages), args...)
	if err != nil {
		return nil, err
	}
	type ref struct {
		node         string
		first, atMax int64
	}
	var refs []ref
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.node, &r.first, &r.atMax); err != nil {
			rows.Close()
			return nil, err
		}
		refs = append(refs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*Record
	for _, r := range refs {
		if complete(&out, f.Limit, r.atMax) {
			break
		}
		var data []byte
		err := d.Read().QueryRowContext(ctx, `SELECT records FROM gateway_msglog_pages WHERE node = $1 AND first_seq = $2`, r.node, r.first).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			continue // removed since
		}
		if err != nil {
			return nil, err
		}
		if err := readPage(r.node, r.first, data, func(rec *Record) bool {
			if f.match(rec) {
				x := *rec
				out = append(out, &x)
			}
			return true
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// complete reports whether out, sorted and cut to limit, already holds
// every record that pages from atMax down could add: limit records all
// later than atMax.
func complete(out *[]*Record, limit int, atMax int64) bool {
	if len(*out) < limit {
		return false
	}
	slices.SortFunc(*out, newer)
	*out = (*out)[:limit]
	return (*out)[limit-1].At.UnixMicro() > atMax
}

func searchPages(ctx context.Context, d *db.DB, f Filter) ([]*Record, error) {
	q, args := `SELECT node, first_seq, at_max, records FROM gateway_msglog_pages`, []any{}
	var where []string
	if !f.From.IsZero() {
		args = append(args, f.From.UnixMicro())
		where = append(where, "at_max >= $"+strconv.Itoa(len(args)))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UnixMicro())
		where = append(where, "at_min < $"+strconv.Itoa(len(args)))
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := d.Read().QueryContext(ctx, q+" ORDER BY at_max DESC", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		var node string
		var first, atMax int64
		var data []byte
		if err := rows.Scan(&node, &first, &atMax, &data); err != nil {
			return nil, err
		}
		// Every record still to come is at or before atMax.
		if complete(&out, f.Limit, atMax) {
			break
		}
		if err := readPage(node, first, data, func(r *Record) bool {
			if f.match(r) {
				x := *r
				out = append(out, &x)
			}
			return true
		}); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// pageLeaves returns the hashes of node's records first..last, in order,
// for signing.
func pageLeaves(ctx context.Context, tx *db.Tx, node string, first, last int64) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT first_seq, records FROM gateway_msglog_pages WHERE node = $1 AND last_seq >= $2 AND first_seq <= $3 ORDER BY first_seq`,
		node, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var leaves []string
	for rows.Next() {
		var start int64
		var data []byte
		if err := rows.Scan(&start, &data); err != nil {
			return nil, err
		}
		if err := readPage(node, start, data, func(r *Record) bool {
			if r.Seq >= first && r.Seq <= last {
				leaves = append(leaves, r.Hash)
			}
			return r.Seq < last
		}); err != nil {
			return nil, err
		}
	}
	return leaves, rows.Err()
}

// eachRecord calls fn with every record of the log, by node and seq.
func eachRecord(ctx context.Context, d *db.DB, fn func(*Record) error) error {
	// Keyset pagination: a long export does not hold one read open.
	node, next := "", int64(-1)
	for {
		rows, err := d.Read().QueryContext(ctx, `SELECT node, first_seq, records FROM gateway_msglog_pages
WHERE node > $1 OR (node = $1 AND first_seq > $2) ORDER BY node, first_seq LIMIT 64`, node, next)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var data []byte
			if err := rows.Scan(&node, &next, &data); err != nil {
				rows.Close()
				return err
			}
			n++
			var ferr error
			if err := readPage(node, next, data, func(r *Record) bool {
				ferr = fn(r)
				return ferr == nil
			}); err != nil || ferr != nil {
				rows.Close()
				return errors.Join(err, ferr)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
