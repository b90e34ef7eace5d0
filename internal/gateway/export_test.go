package gateway

import (
	"context"
	"os"

	"github.com/congso/congso/internal/platform/db"
)

// SetLeanRelay turns the relay of plain GET and HEAD calls on or off (off:
// httputil.ReverseProxy carries them); the returned func restores it.
func SetLeanRelay(on bool) (restore func()) {
	old := leanRelay
	leanRelay = on
	return func() { leanRelay = old }
}

// Relayed counts the calls the lean relay carried.
func Relayed() int64 { return relayed.Load() }

// Records returns the records of node in the database, in order.
func Records(ctx context.Context, d *db.DB, node string) ([]Record, error) {
	var out []Record
	err := eachRecord(ctx, d, func(r *Record) error {
		if r.Node == node {
			out = append(out, *r)
		}
		return nil
	})
	return out, err
}

// TamperRecord changes node's record seq where it is stored, as someone
// with write access to the database could (its stored hash unchanged).
func TamperRecord(ctx context.Context, d *db.DB, node string, seq int64, edit func(*Record)) error {
	return rewritePage(ctx, d, node, seq, func(page []*Record) [][]*Record {
		for _, r := range page {
			if r.Seq == seq {
				edit(r)
			}
		}
		return [][]*Record{page}
	})
}

// DeleteRecord removes node's record seq where it is stored, keeping the
// records around it as they were.
func DeleteRecord(ctx context.Context, d *db.DB, node string, seq int64) error {
	return rewritePage(ctx, d, node, seq, func(page []*Record) [][]*Record {
		i := int(seq - page[0].Seq)
		var out [][]*Record
		for _, p := range [][]*Record{page[:i], page[i+1:]} {
			if len(p) > 0 {
				out = append(out, p)
			}
		}
		return out
	})
}

func rewritePage(ctx context.Context, d *db.DB, node string, seq int64, edit func([]*Record) [][]*Record) error {
	return d.Tx(ctx, func(tx *db.Tx) error {
		var first int64
		var data []byte
		if err := tx.QueryRowContext(ctx, `SELECT first_seq, records FROM gateway_msglog_pages WHERE node = $1 AND first_seq <= $2 ORDER BY first_seq DESC LIMIT 1`,
			node, seq).Scan(&first, &data); err != nil {
			return err
		}
		var page []*Record
		if err := readPage(node, first, data, func(r *Record) bool { x := *r; page = append(page, &x); return true }); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM gateway_msglog_pages WHERE node = $1 AND first_seq = $2`, node, first); err != nil {
			return err
		}
		for _, p := range edit(page) {
			b, _ := appendPage(nil, nil, p)
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_msglog_pages (node, first_seq, last_seq, at_min, at_max, records) VALUES ($1, $2, $3, 0, 0, $4)`,
				node, p[0].Seq, p[len(p)-1].Seq, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetJournalSegments makes journal segments small, for the tests of their
// rotation and deletion; the returned func restores the sizes.
func SetJournalSegments(segment, restart int64) (restore func()) {
	s, r := journalSegmentBytes, journalRestartBytes
	journalSegmentBytes, journalRestartBytes = segment, restart
	return func() { journalSegmentBytes, journalRestartBytes = s, r }
}

// SetJournalQueue bounds the records queued between the journal and the
// database, for the tests of a full queue; the returned func restores it.
func SetJournalQueue(n int) (restore func()) {
	q := journalQueue
	journalQueue = n
	return func() { journalQueue = q }
}

// FailJournalSegments makes every new journal segment fail with err, as
// a full disk would (nil: segments work again).
func FailJournalSegments(err error) (restore func()) {
	old := newSegmentMap
	if err != nil {
		newSegmentMap = func(f *os.File, size int64) ([]byte, error) { return nil, err }
	} else {
		newSegmentMap = mapSegment
	}
	return func() { newSegmentMap = old }
}

// JournalMapped reports whether journal segments are mapped here.
const JournalMapped = journalMapped

// LoseCommitReplies makes the next n message log inserts fail after they
// committed, as when the database's answer to COMMIT is lost.
func LoseCommitReplies(n int32) { loseCommitReply.Store(n) }
