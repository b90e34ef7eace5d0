package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/congso/congso/internal/platform/db"
)

// Reason says how the chain was found broken.
type Reason string

// Reasons reported by Verify.
const (
	// ReasonModified: the entry's content or hash was changed after it was
	// written (the content no longer hashes to the stored hash).
	ReasonModified Reason = "modified"
	// ReasonDeleted: the entry is missing (a gap in the sequence, or fewer
	// entries than the chain head records).
	ReasonDeleted Reason = "deleted"
	// ReasonInserted: the entry was not appended through the chain (it is beyond
	// the chain head, or is self-consistent but does not link to its
	// predecessor).
	ReasonInserted Reason = "inserted"
	// ReasonReordered: the entry holds the content of an entry written at
	// another position.
	ReasonReordered Reason = "reordered"
)

// Report is the result of Verify.
type Report struct {
	// OK is true when the whole chain is intact.
	OK bool
	// Entries counts the entries found intact (before the first broken one).
	Entries int64
	// HeadSeq and HeadHash are what the chain head records as the last entry.
	HeadSeq  int64
	HeadHash string
	// Seq, Reason and Message describe the first broken entry when !OK.
	Seq     int64
	Reason  Reason
	Message string
}

// String summarises the report in one line, for logs and the command line.
func (r Report) String() string {
	if r.OK {
		return fmt.Sprintf("audit log intact: %d entries, head %d %s", r.Entries, r.HeadSeq, r.HeadHash)
	}
	return fmt.Sprintf("audit log broken at entry %d (%s): %s", r.Seq, r.Reason, r.Message)
}

// Verify walks the whole log in sequence order, recomputing every hash, and
// reports the first entry that was modified, deleted, inserted or reordered. A
// broken chain is a Report with OK false, not an error; the error is for failing
// to read. It reads one consistent snapshot, so appends during the walk are
// harmless.
func Verify(ctx context.Context, d *db.DB) (Report, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Dialect() == db.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.Read().BeginTx(ctx, opts)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx.Rollback()
	var rep Report
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&rep.HeadSeq, &rep.HeadHash); err != nil {
		return Report{}, fmt.Errorf("audit: verify: read chain head: %w", err)
	}
	bad, lastHash, err := walk(ctx, tx, &rep)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	if bad != nil {
		if err := classify(ctx, tx, &rep, bad); err != nil {
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		return rep, nil
	}
	// Every stored entry is consistent; compare the end with the head.
	switch last := rep.Entries; {
	case last < rep.HeadSeq:
		rep.Seq, rep.Reason = last+1, ReasonDeleted
		rep.Message = fmt.Sprintf("the chain head records %d entries, the log ends at %d", rep.HeadSeq, last)
	case rep.HeadSeq > 0 && rep.HeadHash != lastHash:
		rep.Seq, rep.Reason = rep.HeadSeq, ReasonModified
		rep.Message = "the last entry's hash differs from the one the chain head recorded"
	default:
		rep.OK = true
	}
	return rep, nil
}

// suspect is the first entry that did not fit the chain, with what was
// expected there.
type suspect struct {
	r            row
	wantSeq      int64
	wantPrevHash string
}

// walk streams the log, counting good entries in rep.Entries, and stops at the
// first entry that breaks the chain. It returns the hash of the last good entry.
func walk(ctx context.Context, tx *sql.Tx, rep *Report) (*suspect, string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	prev := genesis
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, "", err
		}
		want := rep.Entries + 1
		if r.Seq != want || r.Seq > rep.HeadSeq || r.PrevHash != prev || hashOf(r) != r.Hash {
			return &suspect{r: r, wantSeq: want, wantPrevHash: prev}, prev, nil
		}
		rep.Entries++
		prev = r.Hash
	}
	return nil, prev, rows.Err()
}

// classify explains a suspect entry. It runs after walk closed its rows, as it
// may query again.
func classify(ctx context.Context, tx *sql.Tx, rep *Report, s *suspect) error {
	r := s.r
	switch {
	case r.Seq != s.wantSeq:
		rep.Seq, rep.Reason = s.wantSeq, ReasonDeleted
		rep.Message = fmt.Sprintf("entry %d is missing; the next entry is %d", s.wantSeq, r.Seq)
	case r.Seq > rep.HeadSeq:
		rep.Seq, rep.Reason = r.Seq, ReasonInserted
		rep.Message = fmt.Sprintf("entry %d is beyond the chain head (%d)", r.Seq, rep.HeadSeq)
	case r.PrevHash == s.wantPrevHash:
		rep.Seq, rep.Reason = r.Seq, ReasonModified
		rep.Message = "the entry's content does not match its hash"
	case hashOf(r) == r.Hash:
		rep.Seq, rep.Reason = r.Seq, ReasonInserted
		rep.Message = "the entry is consistent in itself but does not follow the previous entry"
	default:
		// Does the content belong after the entry its PrevHash names?
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM audit_log WHERE hash = $1`, r.PrevHash).Scan(&at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		moved := r
		moved.Seq = at + 1
		if err == nil && hashOf(moved) == r.Hash {
			rep.Seq, rep.Reason = r.Seq, ReasonReordered
			rep.Message = fmt.Sprintf("entry %d holds the content written as entry %d", r.Seq, moved.Seq)
		} else {
			rep.Seq, rep.Reason = r.Seq, ReasonModified
			rep.Message = "the entry's content and link do not match its hash"
		}
	}
	return nil
}

// Head returns the sequence number and hash of the newest entry, as the chain
// head records them (0 and 64 zeros for an empty log). Publishing the head
// elsewhere from time to time (a metric, the SOC) anchors the chain: a later
// Verify must still find that hash at that sequence number.
func Head(ctx context.Context, d *db.DB) (seq int64, hash string, err error) {
	err = d.Read().QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if err != nil {
		return 0, "", fmt.Errorf("audit: read chain head: %w", err)
	}
	return seq, hash, nil
}
