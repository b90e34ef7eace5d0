package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 123456789, time.FixedZone("ICT", 7*3600))

func entry(i int) audit.Entry {
	return audit.Entry{
		At:         t0.Add(time.Duration(i) * time.Minute),
		Actor:      fmt.Sprint("officer-", i%3),
		Action:     "dossier.receive",
		ObjectType: "dossier",
		ObjectID:   fmt.Sprintf("H%02d", i%4),
		Unit:       "UBND xã Hòa Phú",
		Detail:     map[string]any{"i": i, "note": "Tiếp nhận hồ sơ <đủ>", "big": int64(1) << 60},
		IP:         "203.0.113.7",
		RequestID:  fmt.Sprint("req-", i),
	}
}

func appendN(t *testing.T, d *db.DB, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := d.Tx(context.Background(), func(tx *db.Tx) error { return audit.Append(context.Background(), tx, entry(i)) }); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func verify(t *testing.T, d *db.DB) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), d)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	dbtest.Each(t, audit.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					n := w*each + i
					err := d.Tx(ctx, func(tx *db.Tx) error {
						if err := audit.Append(ctx, tx, entry(n)); err != nil {
							return err
						}
						if n%5 == 0 {
							// An entry whose transaction rolls back leaves no gap.
							if err := audit.Append(ctx, tx, entry(-n)); err != nil {
								return err
							}
							return errRollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRollback) {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rep := verify(t, d)
		want := int64(workers * each * 4 / 5)
		if !rep.OK || rep.Entries != want || rep.HeadSeq != want {
			t.Fatalf("report = %+v, want intact chain of %d entries", rep, want)
		}
		seq, hash, err := audit.Head(ctx, d)
		if err != nil || seq != want || hash != rep.HeadHash {
			t.Fatalf("head = %d %s, %v; want %d %s", seq, hash, err, want, rep.HeadHash)
		}
	})
}

var errRollback = errors.New("rolled back")

func TestAppendValidatesAndIsAppendOnly(t *testing.T) {
	dbtest.Each(t, audit.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.Tx(ctx, func(tx *db.Tx) error { return audit.Append(ctx, tx, audit.Entry{Action: "x"}) })
		if !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("append without actor: %v, want ErrInvalid", err)
		}
		appendN(t, d, 3)
		for _, q := range []string{`UPDATE audit_log SET actor = 'x' WHERE seq = 2`, `DELETE FROM audit_log WHERE seq = 3`} {
			if _, err := d.Write().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want the append-only trigger to refuse", q, err)
			}
		}
		if rep := verify(t, d); !rep.OK || rep.Entries != 3 {
			t.Fatalf("report = %+v", rep)
		}
	})
}

// tamper runs statements as an attacker with direct database access would,
// after switching the append-only triggers off.
func tamper(t *testing.T, d *db.DB, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	err := d.Tx(ctx, func(tx *db.Tx) error {
		off := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
		if tx.Dialect == db.Postgres {
			off = []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}
		}
		for _, s := range append(off, stmts...) {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	const n = 10
	cases := []struct {
		name   string
		stmts  func(d *db.DB) []string
		seq    int64
		reason audit.Reason
	}{
		{"detail updated", func(*db.DB) []string {
			return []string{`UPDATE audit_log SET detail = '{"i":4,"note":"đã sửa"}' WHERE seq = 4`}
		}, 4, audit.ReasonModified},
		{"actor updated", func(*db.DB) []string {
			return []string{`UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1`}
		}, 1, audit.ReasonModified},
		{"middle row deleted", func(*db.DB) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 5`}
		}, 5, audit.ReasonDeleted},
		{"last row deleted", func(*db.DB) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 10`}
		}, 10, audit.ReasonDeleted},
		{"two rows swapped", func(*db.DB) []string {
			// Swap every column but seq between entries 3 and 7.
			cols := []string{"at", "actor", "action", "object_type", "object_id", "unit", "detail", "ip", "request_id", "prev_hash", "hash"}
			var sets []string
			for _, c := range cols {
				sets = append(sets, fmt.Sprintf("%[1]s = (SELECT %[1]s FROM audit_log_copy c WHERE c.seq = 10 - audit_log.seq)", c))
			}
			return []string{
				`CREATE TABLE audit_log_copy AS SELECT * FROM audit_log`,
				`UPDATE audit_log SET ` + strings.Join(sets, ", ") + ` WHERE seq IN (3, 7)`,
			}
		}, 3, audit.ReasonReordered},
		{"last hash edited", func(*db.DB) []string {
			return []string{`UPDATE audit_log SET hash = '` + strings.Repeat("ab", 32) + `' WHERE seq = 10`}
		}, 10, audit.ReasonModified},
		{"chain head rewound", func(*db.DB) []string {
			return []string{`UPDATE audit_head SET seq = 9, hash = (SELECT hash FROM audit_log WHERE seq = 9)`}
		}, 10, audit.ReasonInserted},
		{"forged entry in place", func(*db.DB) []string {
			// A self-consistent replacement of entry 6 that links to nothing.
			return []string{`UPDATE audit_log SET prev_hash = '` + strings.Repeat("0", 64) + `', hash = '` + forgedHash(6) + `' WHERE seq = 6`}
		}, 6, audit.ReasonInserted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, audit.Migrations(), func(t *testing.T, d *db.DB) {
				appendN(t, d, n)
				if rep := verify(t, d); !rep.OK {
					t.Fatalf("before tampering: %v", rep)
				}
				tamper(t, d, tc.stmts(d)...)
				rep := verify(t, d)
				if rep.OK || rep.Seq != tc.seq || rep.Reason != tc.reason {
					t.Fatalf("report = %+v\nwant entry %d %s", rep, tc.seq, tc.reason)
				}
				if rep.Entries != tc.seq-1 {
					t.Errorf("entries found intact = %d, want %d", rep.Entries, tc.seq-1)
				}
				t.Log(rep)
			})
		})
	}
}

// forgedHash recomputes, with the documented algorithm, the hash of entry seq of
// appendN as if its predecessor's hash were all zeros.
func forgedHash(seq int) string {
	e := entry(seq)
	detail, _ := json.Marshal(e.Detail)
	return docHash(exported{
		Seq: int64(seq), At: e.At.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z"),
		Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Unit: e.Unit,
		Detail: detail, IP: e.IP, RequestID: e.RequestID, PrevHash: strings.Repeat("0", 64),
	})
}

// exported is an Export line as the SOC would read it.
type exported struct {
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

// docHash is the hash as the package comment describes it, written
// independently of the package's code.
func docHash(x exported) string {
	var b strings.Builder
	for _, f := range []string{"congso-audit-v1", strconv.FormatInt(x.Seq, 10), x.At, x.Actor, x.Action,
		x.ObjectType, x.ObjectID, x.Unit, string(x.Detail), x.IP, x.RequestID, x.PrevHash} {
		fmt.Fprintf(&b, "%d:%s,", len(f), f)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func TestExportLinesCanBeVerifiedFromTheDocumentation(t *testing.T) {
	dbtest.Each(t, audit.Migrations(), func(t *testing.T, d *db.DB) {
		appendN(t, d, 6)
		var buf bytes.Buffer
		n, err := audit.Export(context.Background(), d, &buf, 3)
		if err != nil || n != 4 {
			t.Fatalf("export = %d, %v; want 4 lines", n, err)
		}
		sc := bufio.NewScanner(&buf)
		var prev string
		seq := int64(3)
		for sc.Scan() {
			var x exported
			if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			if x.Seq != seq || (prev != "" && x.PrevHash != prev) {
				t.Fatalf("line %d out of chain: %+v", seq, x)
			}
			if got := docHash(x); got != x.Hash {
				t.Fatalf("entry %d: documented hash %s, exported %s", x.Seq, got, x.Hash)
			}
			want := t0.Add(time.Duration(seq) * time.Minute).UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
			if x.At != want || x.Unit != "UBND xã Hòa Phú" || !strings.Contains(string(x.Detail), `"note":"Tiếp nhận hồ sơ \u003cđủ\u003e"`) {
				t.Fatalf("entry %d exported as %+v", seq, x)
			}
			prev, seq = x.Hash, seq+1
		}
		if seq != 7 {
			t.Fatalf("read up to %d", seq)
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	dbtest.Each(t, audit.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		appendN(t, d, 24)
		seqs := func(es []audit.Entry) string {
			var s []string
			for _, e := range es {
				s = append(s, strconv.FormatInt(e.Seq, 10))
			}
			return strings.Join(s, ",")
		}
		list := func(f audit.Filter) ([]audit.Entry, string) {
			t.Helper()
			es, next, err := audit.List(ctx, d, f)
			if err != nil {
				t.Fatalf("list %+v: %v", f, err)
			}
			return es, next
		}
		// Object H01 is touched by entries 1, 5, 9, ...; newest first, 3 a page.
		f := audit.Filter{ObjectType: "dossier", ObjectID: "H01", Limit: 3}
		var pages []string
		for {
			es, next := list(f)
			pages = append(pages, seqs(es))
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if got := strings.Join(pages, " | "); got != "21,17,13 | 9,5,1" {
			t.Fatalf("pages = %s", got)
		}
		es, _ := list(audit.Filter{Actor: "officer-0", From: t0.Add(6 * time.Minute), To: t0.Add(15 * time.Minute)})
		if got := seqs(es); got != "12,9,6" {
			t.Fatalf("officer-0 from 6 to 15 minutes = %s", got)
		}
		e := es[0]
		if e.Detail["note"] != "Tiếp nhận hồ sơ <đủ>" || e.Detail["big"] != json.Number("1152921504606846976") ||
			e.Detail["i"] != json.Number("12") || !e.At.Equal(t0.Add(12*time.Minute).Truncate(time.Microsecond)) ||
			e.RequestID != "req-12" || e.IP != "203.0.113.7" || len(e.Hash) != 64 {
			t.Fatalf("entry read back = %+v", e)
		}
		if _, _, err := audit.List(ctx, d, audit.Filter{Cursor: "abc"}); !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

// An append travels with the COMMIT on PostgreSQL: if the transaction fails
// there (a deferred write refused), the entry is gone with it and takes no
// sequence number; appends of concurrent transactions between the other
// writes and the commit still chain in commit order.
func TestAppendFailingAtCommitLeavesNoEntry(t *testing.T) {
	dbtest.Each(t, append(audit.Migrations(), db.Migration{Module: "t", Version: 1, Name: "t",
		Up: `CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`}), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		refused := errors.New("guard refused")
		for i, fail := range []bool{false, true, false, true, false} {
			err := d.Tx(ctx, func(tx *db.Tx) error {
				if err := tx.Defer(ctx, nil, "insert", `INSERT INTO t (k, v) VALUES ($1, 0)`, i); err != nil {
					return err
				}
				if err := audit.Append(ctx, tx, entry(i)); err != nil {
					return err
				}
				k := i
				if fail {
					k = -1 // no such row: the guard refuses
				}
				return tx.DeferGuard(ctx, func() error { return refused }, "bump", `UPDATE t SET v = v + 1 WHERE k = $1`, k)
			})
			if fail != errors.Is(err, refused) || (!fail && err != nil) {
				t.Fatalf("transaction %d (fail %v): %v", i, fail, err)
			}
		}
		rep := verify(t, d)
		if !rep.OK || rep.Entries != 3 || rep.HeadSeq != 3 {
			t.Fatalf("report = %+v, want an intact chain of the 3 committed entries", rep)
		}
		var rows int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&rows)
		if rows != 3 {
			t.Fatalf("%d rows committed, want 3", rows)
		}
	})
}
