package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Sentinel errors.
var (
	// ErrInvalid reports an entry without actor or action, or a bad list filter.
	ErrInvalid = errors.New("audit: invalid")
)

// Entry is one audited action.
type Entry struct {
	// Seq is the entry's position in the log, from 1, without gaps; set by Append.
	Seq int64 `json:"seq"`
	// At is when the action happened (UTC, microsecond precision); Append uses
	// the current time when zero.
	At time.Time `json:"at"`
	// Actor is who acted: an account id, or "system" or a job name.
	Actor string `json:"actor"`
	// Action is what was done, for example "dossier.receive".
	Action string `json:"action"`
	// ObjectType and ObjectID name what it was done to.
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
	// Unit is the administrative unit (agency) on whose behalf the actor acted.
	Unit string `json:"unit"`
	// Detail holds the action's own facts (changed fields, reasons). Numbers
	// read back from the log are json.Number.
	Detail map[string]any `json:"detail"`
	// IP and RequestID tie the entry to the HTTP request, when there is one.
	IP        string `json:"ip"`
	RequestID string `json:"request_id"`
	// PrevHash and Hash chain the entries; set by Append.
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// genesis is the PrevHash of entry 1.
var genesis = strings.Repeat("0", 64)

// timeLayout is the form of At inside the hash and in exports.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Append adds e to the log in the caller's transaction, assigning Seq, PrevHash
// and Hash (values set in e for them are ignored). On SQLite it writes at once;
// on PostgreSQL the write is deferred to the commit (see the package comment),
// so the chain head is locked only while the COMMIT runs, and its errors are
// reported by [db.DB.Tx].
func Append(ctx context.Context, tx *db.Tx, e Entry) error {
	if e.Actor == "" || e.Action == "" {
		return fmt.Errorf("%w: entry needs an actor and an action", ErrInvalid)
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("audit %s: encode detail: %w", e.Action, err)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	// PostgreSQL keeps microseconds; hash what is stored.
	e.At = e.At.UTC().Truncate(time.Microsecond)

	if tx.Dialect == db.Postgres {
		return appendPostgres(ctx, tx, e, detail)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&last, &e.PrevHash); err != nil {
		return fmt.Errorf("audit %s: read chain head: %w", e.Action, err)
	}
	e.Seq = last + 1
	e.Hash = hashOf(row{e, detail})
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log
	(seq, at, actor, action, object_type, object_id, unit, detail, ip, request_id, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.Seq, e.At, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.Unit, detail, e.IP, e.RequestID, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit %s: insert entry %d: %w", e.Action, e.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return fmt.Errorf("audit %s: move chain head: %w", e.Action, err)
	}
	return nil
}

// appendPostgresSQL moves the chain head and inserts the entry in one
// statement, computing the hash in the database: the UPDATE takes the head
// row's lock (waiting for a concurrent appender's commit, then re-reading
// the head it left) and its SET expressions see the head before the update,
// so seq, prev_hash and hash always follow the committed chain. $1 is the
// netstrings of the fields between seq and prev_hash (see hashParts).
const appendPostgresSQL = `WITH h AS (
	UPDATE audit_head SET seq = seq + 1, prev_hash = hash,
		hash = encode(sha256(
			convert_to('15:congso-audit-v1,' || octet_length((seq + 1)::text) || ':' || (seq + 1)::text || ',', 'UTF8')
			|| $1::bytea
			|| convert_to(octet_length(hash) || ':' || hash || ',', 'UTF8')), 'hex')
	WHERE id = 1
	RETURNING seq, prev_hash, hash)
INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, unit, detail, ip, request_id, prev_hash, hash)
SELECT h.seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, h.prev_hash, h.hash FROM h`

// appendPostgres queues the entry as one statement deferred to the commit:
// it is sent with the transaction's other deferred writes and the COMMIT in
// one round trip, so the chain head is locked for no round trip at all.
func appendPostgres(ctx context.Context, tx *db.Tx, e Entry, detail string) error {
	mid := hashParts(row{e, detail})
	return tx.DeferToCommit(ctx, func(n int64) error {
		if n != 1 {
			return fmt.Errorf("audit %s: the chain head is missing", e.Action)
		}
		return nil
	}, "audit "+e.Action+": append", appendPostgresSQL,
		mid, e.At, e.Actor, e.Action, e.ObjectType, e.ObjectID, e.Unit, detail, e.IP, e.RequestID)
}

// encodeDetail returns the canonical JSON of a detail: encoding/json writes map
// keys sorted and no spaces.
func encodeDetail(d map[string]any) (string, error) {
	if d == nil {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeDetail(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // keep large integers exact
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// row is an entry with its detail as the stored JSON text, which is what the
// hash covers.
type row struct {
	Entry
	detail string
}

// hashOf computes the version-1 hash described in the package comment.
func hashOf(r row) string {
	var b bytes.Buffer
	netstring(&b, "congso-audit-v1")
	netstring(&b, strconv.FormatInt(r.Seq, 10))
	b.Write(hashParts(r))
	netstring(&b, r.PrevHash)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// hashParts returns the netstrings of the hashed fields between seq and
// prev_hash: at, actor, action, object_type, object_id, unit, detail, ip,
// request_id.
func hashParts(r row) []byte {
	var b bytes.Buffer
	for _, f := range []string{
		r.At.UTC().Format(timeLayout),
		r.Actor, r.Action, r.ObjectType, r.ObjectID, r.Unit,
		r.detail,
		r.IP, r.RequestID,
	} {
		netstring(&b, f)
	}
	return b.Bytes()
}

func netstring(b *bytes.Buffer, f string) {
	b.WriteString(strconv.Itoa(len(f)))
	b.WriteByte(':')
	b.WriteString(f)
	b.WriteByte(',')
}

// Migrations returns the schema of the audit log (module "audit").
func Migrations() []db.Migration {
	tables := `
CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at {{time}} NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id TEXT NOT NULL,
	unit TEXT NOT NULL,
	detail TEXT NOT NULL, -- exact JSON text: the hash covers these bytes
	ip TEXT NOT NULL,
	request_id TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
-- Admin page filters, newest first.
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, seq);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '` + genesis + `');
`
	return []db.Migration{{Module: "audit", Version: 1, Name: "hash-chained audit log",
		SQLite: tables + `
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`,
		Postgres: tables + `
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`},
		{Module: "audit", Version: 2, Name: "chain head keeps the previous hash",
			// The head remembers the hash it replaced, so that an append on
			// PostgreSQL moves the head and inserts the entry in one statement.
			Up: `ALTER TABLE audit_head ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''`},
	}
}
