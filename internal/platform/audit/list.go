package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

const columns = `seq, at, actor, action, object_type, object_id, unit, detail, ip, request_id, prev_hash, hash`

type scanner interface{ Scan(dest ...any) error }

func scanRow(s scanner) (row, error) {
	var r row
	err := s.Scan(&r.Seq, &r.At, &r.Actor, &r.Action, &r.ObjectType, &r.ObjectID, &r.Unit,
		&r.detail, &r.IP, &r.RequestID, &r.PrevHash, &r.Hash)
	r.At = r.At.UTC()
	return r, err
}

// Filter selects entries for List. Empty fields do not filter.
type Filter struct {
	Actor      string
	ObjectType string
	ObjectID   string
	// From and To bound At: From <= At < To.
	From, To time.Time
	// Limit bounds the page (default 50, at most 500).
	Limit int
	// Cursor continues a previous List (its next value).
	Cursor string
}

// List returns entries matching f, newest first, and the cursor of the next
// page ("" on the last page). Filters by actor or by object use the indexes
// audit_log_actor and audit_log_object; a time range alone uses audit_log_at.
func List(ctx context.Context, d *db.DB, f Filter) ([]Entry, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	// Entries keep microseconds; so do the bounds, alike on both engines.
	if !f.From.IsZero() {
		add("at >= ?", f.From.UTC().Truncate(time.Microsecond))
	}
	if !f.To.IsZero() {
		add("at < ?", f.To.UTC().Truncate(time.Microsecond))
	}
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, "", fmt.Errorf("%w: cursor %q", ErrInvalid, f.Cursor)
		}
		add("seq < ?", before)
	}
	q := `SELECT ` + columns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	q += ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := d.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, "", fmt.Errorf("audit: list: %w", err)
		}
		e := r.Entry
		if e.Detail, err = decodeDetail(r.detail); err != nil {
			return nil, "", fmt.Errorf("audit: list: entry %d detail: %w", r.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].Seq, 10)
	}
	return out, next, nil
}

// exportLine is one line of Export: the fields as hashed, so that a reader can
// recompute the hash from the line alone.
type exportLine struct {
	Seq        int64           `json:"seq"`
	At         string          `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Unit       string          `json:"unit"`
	Detail     json.RawMessage `json:"detail"`
	IP         string          `json:"ip"`
	RequestID  string          `json:"request_id"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Export writes the entries from sequence number from (inclusive) onwards to w,
// one JSON object per line in sequence order, and returns how many it wrote.
// "at" is written as in the hash (2006-01-02T15:04:05.000000Z) and "detail" as
// the stored JSON text, so each line's hash can be recomputed from the line
// (see the package comment). To export incrementally, continue from the last
// seq written plus one.
func Export(ctx context.Context, d *db.DB, w io.Writer, from int64) (int64, error) {
	rows, err := d.Read().QueryContext(ctx, `SELECT `+columns+` FROM audit_log WHERE seq >= $1 ORDER BY seq`, from)
	if err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var n int64
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return n, fmt.Errorf("audit: export: %w", err)
		}
		line := exportLine{r.Seq, r.At.Format(timeLayout), r.Actor, r.Action, r.ObjectType, r.ObjectID, r.Unit,
			json.RawMessage(r.detail), r.IP, r.RequestID, r.PrevHash, r.Hash}
		if err := enc.Encode(line); err != nil {
			return n, fmt.Errorf("audit: export entry %d: %w", r.Seq, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}
