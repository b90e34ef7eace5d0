package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/congso/congso/internal/platform/db"
)

// Record is one exchange in the message log. Hash covers every other field
// (PrevHash included), chaining the records of a node.
type Record struct {
	Node          string    `json:"node"`
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	DoneAt        time.Time `json:"done_at"`
	Client        string    `json:"client"`
	Service       string    `json:"service"`
	MessageID     string    `json:"message_id"`
	RequestID     string    `json:"request_id"`
	UserID        string    `json:"user_id"`
	Issue         string    `json:"issue"`
	Method        string    `json:"method"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	ErrorType     string    `json:"error_type"`
	RequestBytes  int64     `json:"request_bytes"`
	ResponseBytes int64     `json:"response_bytes"`
	RequestHash   string    `json:"request_hash"`
	ResponseHash  string    `json:"response_hash"`
	RequestBody   string    `json:"request_body"`
	ResponseBody  string    `json:"response_body"`
	PrevHash      string    `json:"prev_hash"`
	Hash          string    `json:"hash"`
}

// computeHash returns the hex SHA-256 of the record's canonical JSON
// (encoding/json in field order, Hash empty, times in UTC microseconds).
// The JSON is built by appendCanonical, which writes the same bytes as
// json.Marshal without reflection.
func (r Record) computeHash() string {
	r.Hash = ""
	r.At, r.DoneAt = r.At.UTC().Truncate(time.Microsecond), r.DoneAt.UTC().Truncate(time.Microsecond)
	bp := hashBufPool.Get().(*[]byte)
	b := r.appendCanonical((*bp)[:0])
	s := sha256.Sum256(b)
	*bp = b[:0]
	if cap(b) <= 256<<10 {
		hashBufPool.Put(bp)
	}
	return hex.EncodeToString(s[:])
}

var hashBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// appendCanonical appends what json.Marshal(r) returns (a test holds the
// two equal).
func (r *Record) appendCanonical(b []byte) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, key...)
		return appendJSONString(b, v)
	}
	num := func(b []byte, key string, v int64) []byte {
		b = append(b, key...)
		return strconv.AppendInt(b, v, 10)
	}
	tm := func(b []byte, key string, t time.Time) []byte {
		b = append(b, key...)
		j, err := t.MarshalJSON()
		if err != nil { // a year out of range: json.Marshal fails too
			return append(b, "null"...)
		}
		return append(b, j...)
	}
	b = str(b, `{"node":`, r.Node)
	b = num(b, `,"seq":`, r.Seq)
	b = tm(b, `,"at":`, r.At)
	b = tm(b, `,"done_at":`, r.DoneAt)
	b = str(b, `,"client":`, r.Client)
	b = str(b, `,"service":`, r.Service)
	b = str(b, `,"message_id":`, r.MessageID)
	b = str(b, `,"request_id":`, r.RequestID)
	b = str(b, `,"user_id":`, r.UserID)
	b = str(b, `,"issue":`, r.Issue)
	b = str(b, `,"method":`, r.Method)
	b = str(b, `,"path":`, r.Path)
	b = num(b, `,"status":`, int64(r.Status))
	b = str(b, `,"error_type":`, r.ErrorType)
	b = num(b, `,"request_bytes":`, r.RequestBytes)
	b = num(b, `,"response_bytes":`, r.ResponseBytes)
	b = str(b, `,"request_hash":`, r.RequestHash)
	b = str(b, `,"response_hash":`, r.ResponseHash)
	b = str(b, `,"request_body":`, r.RequestBody)
	b = str(b, `,"response_body":`, r.ResponseBody)
	b = str(b, `,"prev_hash":`, r.PrevHash)
	b = str(b, `,"hash":`, r.Hash)
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json does by default:
// HTML-safe (<, >, & escaped), invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Batch is a signed Merkle root over records first..last of a node.
type Batch struct {
	Node      string    `json:"node"`
	FirstSeq  int64     `json:"first_seq"`
	LastSeq   int64     `json:"last_seq"`
	Root      string    `json:"root"`
	SignedAt  time.Time `json:"signed_at"`
	KeyID     string    `json:"key_id"`
	Algorithm string    `json:"algorithm"`
	Signature string    `json:"signature"`
	// Timestamp is the RFC 3161 token (DER, base64) over the batch, when
	// the node had it stamped (tsa.go).
	Timestamp string `json:"timestamp,omitempty"`
}

// signedMessage is what a batch's signature covers.
func (b Batch) signedMessage() []byte {
	return []byte("congso-msglog-batch/1\n" + b.Node + "\n" + strconv.FormatInt(b.FirstSeq, 10) + "\n" +
		strconv.FormatInt(b.LastSeq, 10) + "\n" + b.Root + "\n" + b.SignedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
}

// MerkleRoot returns the RFC 6962-style root over hex leaf hashes (leaf
// prefix 0x00, node prefix 0x01; an odd node is carried up).
func MerkleRoot(leaves []string) string {
	if len(leaves) == 0 {
		return ""
	}
	level := make([][]byte, len(leaves))
	for i, l := range leaves {
		b, _ := hex.DecodeString(l)
		s := sha256.Sum256(append([]byte{0}, b...))
		level[i] = s[:]
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			buf := append(append([]byte{1}, level[i]...), level[i+1]...)
			s := sha256.Sum256(buf)
			next = append(next, s[:])
		}
		level = next
	}
	return hex.EncodeToString(level[0])
}

// Key is the gateway's signing key: ECDSA P-256 or Ed25519.
type Key struct {
	signer crypto.Signer
	// ID is the first 16 hex digits of the SHA-256 of the public key's DER.
	ID        string
	Algorithm string
	// Public is the PKIX DER of the public key, base64.
	Public string
}

// NewKey wraps an ECDSA P-256 or Ed25519 private key.
func NewKey(s crypto.Signer) (*Key, error) {
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k := &Key{signer: s, Public: base64.StdEncoding.EncodeToString(der)}
	switch p := s.Public().(type) {
	case ed25519.PublicKey:
		k.Algorithm = "Ed25519"
	case *ecdsa.PublicKey:
		if p.Curve.Params().Name != "P-256" {
			return nil, errors.New("signing key: ECDSA keys must use P-256")
		}
		k.Algorithm = "ES256"
	default:
		return nil, errors.New("signing key: want ECDSA P-256 or Ed25519")
	}
	sum := sha256.Sum256(der)
	k.ID = hex.EncodeToString(sum[:8])
	return k, nil
}

func (k *Key) sign(msg []byte) ([]byte, error) {
	if k.Algorithm == "Ed25519" {
		return k.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	return k.signer.Sign(rand.Reader, d[:], crypto.SHA256)
}

func verifySignature(alg, pubB64 string, msg, sig []byte) bool {
	der, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		return false
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return false
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return alg == "Ed25519" && ed25519.Verify(p, msg, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		return alg == "ES256" && ecdsa.VerifyASN1(p, d[:], sig)
	}
	return false
}

// LogConfig configures a [MessageLog].
type LogConfig struct {
	// Node names the chain this process appends to.
	Node string
	// Key signs the batches. Required.
	Key *Key
	// SignInterval is how often the records written since the last batch
	// are signed (CONGSO_GATEWAY_SIGN_INTERVAL, default 1 s).
	SignInterval time.Duration
	// MaxBatch bounds the records written in one transaction (512).
	MaxBatch int
	// TSA, when set, time-stamps the node's newest batch at an interval
	// (tsa.go).
	TSA *TSAConfig
	// JournalDir, when set, holds the node's journal (journal.go): Append
	// returns once its record is in the journal, and the records reach
	// the database in large batches, even after the database was
	// unreachable or the process crashed (CONGSO_GATEWAY_JOURNAL_DIR).
	JournalDir string
	Now        func() time.Time
	Logger     *slog.Logger
}

// MessageLog is the tamper-evident log of exchanges. Append hands a record
// to one writer goroutine, which writes everything waiting in one
// transaction (group commit: multi-row INSERTs, one head update). Without
// a journal it answers every caller after the commit; with one
// (LogConfig.JournalDir) Append returns once the record is in the journal.
// Either way an appended record is durable when Append returns nil.
type MessageLog struct {
	db  *db.DB
	cfg LogConfig
	// keyOK: the signing key is in gateway_keys.
	keyOK atomic.Bool
	in    chan *pending
	full  chan struct{} // journal mode: a batch's worth is queued (linger)

	// The head of the node's chain as last committed; owned by the writer
	// goroutine. headOK false: read it from the database first.
	headOK   bool
	headSeq  int64
	headHash string
	recs     []*Record  // reused by insert (writer goroutine)
	pruned   time.Time  // when the per-minute totals were last pruned
	pw       pageWriter // its buffers

	// The hashes of the records written since the last batch signed, in
	// order from leavesFrom, so that signing need not read them back (it
	// does when they do not cover what is to sign: after a restart, or
	// records written by another process as this node).
	lmu        sync.Mutex
	leaves     []string
	leavesFrom int64

	stamp *stamper // nil: no time-stamping

	// j is the journal (nil: none); recovered holds its entries that were
	// not yet in the database at start, written first by Run.
	j         *journal
	recovered []journalEntry
	qmu       sync.Mutex // orders journal appends and their queueing
	// The writer's progress, for JournalStatus.
	jstat      sync.Mutex
	jcommitted uint64
	jfailSince time.Time
	jlastErr   string
	jbypassed  int64 // records the journal could not take (they went to the database directly)

	records, commits atomic.Int64
}

// LogStats counts what a [MessageLog] wrote since it started.
type LogStats struct {
	// Records committed, and Commits (transactions) holding them.
	Records, Commits int64
}

// Stats returns the records and commits written so far.
func (l *MessageLog) Stats() LogStats {
	return LogStats{Records: l.records.Load(), Commits: l.commits.Load()}
}

type pending struct {
	rec  Record
	done chan error
	jseq uint64 // journal number (journal mode)
	// wait: in journal mode, a record the journal could not take; its
	// Append waits on done for the database commit.
	wait bool
}

// lastJseq returns the highest journal number in batch (0: none), which
// the head row records with the batch.
func lastJseq(batch []*pending) uint64 {
	for i := len(batch) - 1; i >= 0; i-- {
		if batch[i].jseq > 0 {
			return batch[i].jseq
		}
	}
	return 0
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// NewMessageLog returns the log; Run must be running for Append to return.
func NewMessageLog(d *db.DB, cfg LogConfig) (*MessageLog, error) {
	if cfg.Key == nil {
		return nil, errors.New("gateway: the message log needs a signing key")
	}
	if cfg.Node == "" {
		return nil, errors.New("gateway: the message log needs a node name")
	}
	if cfg.SignInterval <= 0 {
		cfg.SignInterval = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &MessageLog{db: d, cfg: cfg, in: make(chan *pending, 4096), full: make(chan struct{}, 1)}
	if cfg.JournalDir != "" {
		committed, err := journalCommitted(context.Background(), d, cfg.Node)
		if err != nil {
			return nil, err
		}
		j, rec, err := openJournal(cfg.JournalDir, cfg.Node, committed, cfg.Logger.Warn)
		if err != nil {
			return nil, err
		}
		if len(rec) > 0 {
			cfg.Logger.Info("gateway: message log journal: records to move into the database after a stop", "records", len(rec))
		}
		l.j, l.recovered, l.jcommitted = j, rec, committed
		l.in = make(chan *pending, journalQueue)
	}
	if t := cfg.TSA; t != nil {
		if t.URL == "" || t.Roots == nil {
			return nil, errors.New("gateway: time-stamping needs the TSA's URL and the CA certificates it chains to")
		}
		st := &stamper{cfg: *t, lastOK: cfg.Now()}
		if st.cfg.Interval <= 0 {
			st.cfg.Interval = time.Minute
		}
		if st.cfg.Grace <= 0 {
			st.cfg.Grace = 4 * time.Hour
		}
		if st.cfg.Client == nil {
			st.cfg.Client = &http.Client{Timeout: 15 * time.Second}
		}
		l.stamp = st
	}
	return l, nil
}

// Append records rec and returns once it is committed (to the journal,
// when there is one, else to the database).
func (l *MessageLog) Append(ctx context.Context, rec Record) error {
	if l.j != nil {
		return l.appendJournal(rec)
	}
	p := pendingPool.Get().(*pending)
	p.rec = rec
	select {
	case l.in <- p:
	case <-ctx.Done():
		p.rec = Record{}
		pendingPool.Put(p)
		return ctx.Err()
	}
	// The exchange is over: wait for the commit even if the client left.
	err := <-p.done
	// The writer no longer touches p once it has answered.
	p.rec = Record{}
	pendingPool.Put(p)
	return err
}

// Run writes and signs until ctx ends, then writes what is queued, signs
// it, and returns (closing the journal: Append fails from then on).
func (l *MessageLog) Run(ctx context.Context) {
	if err := l.registerKey(context.WithoutCancel(ctx)); err != nil {
		l.cfg.Logger.Error("gateway: register signing key (tried again with the next batch)", "err", err)
	} else {
		l.keyOK.Store(true)
	}
	if l.j != nil {
		defer l.j.close()
		if !l.writeRecovered(ctx) {
			return // stopped with the database down: all stays in the journal
		}
	}
	t := time.NewTicker(l.cfg.SignInterval)
	defer t.Stop()
	if l.stamp != nil {
		// Stamping waits on the TSA: it has its own goroutine, so that
		// records keep being written meanwhile.
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Add(1)
		go func() { defer wg.Done(); l.stampLoop(ctx) }()
	}
	batch := make([]*pending, 0, l.cfg.MaxBatch)
	for {
		select {
		case <-ctx.Done():
			bg := context.WithoutCancel(ctx)
			for {
				batch = l.drain(batch[:0])
				if len(batch) == 0 {
					break
				}
				if l.j != nil {
					// A few tries, not forever: what is left stays in
					// the journal for the next start.
					if !l.writeJournaled(ctx, batch) {
						break
					}
					continue
				}
				l.write(bg, batch)
			}
			if err := l.Sign(bg); err != nil {
				l.cfg.Logger.Error("gateway: sign message log", "err", err)
			}
			return
		case <-t.C:
			if err := l.Sign(ctx); err != nil && ctx.Err() == nil {
				l.cfg.Logger.Error("gateway: sign message log", "err", err)
			}
			if now := l.cfg.Now(); now.Sub(l.pruned) >= time.Hour {
				l.pruned = now
				if err := PruneMinutes(ctx, l.db, now.Add(-minutesKept)); err != nil && ctx.Err() == nil {
					l.cfg.Logger.Warn("gateway: prune the message log's per-minute totals", "err", err)
				}
			}
		case p := <-l.in:
			// No timer: what queued up while the previous batch was
			// being written goes now, so a commit never waits for
			// records that may not come (latency stays one commit).
			batch = l.drain(append(batch[:0], p))
			if l.j != nil {
				// Nobody waits for this commit: gather a large batch.
				batch = l.linger(ctx, batch)
				if !l.writeJournaled(ctx, batch) {
					// Stopped with the database down. No later record may
					// reach the database before these (the journal_seq
					// stored would skip them at the next start).
					return
				}
				continue
			}
			l.write(ctx, batch)
		}
	}
}

// drain adds to batch what is waiting, without blocking.
func (l *MessageLog) drain(batch []*pending) []*pending {
	for len(batch) < l.cfg.MaxBatch {
		select {
		case p := <-l.in:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (l *MessageLog) write(ctx context.Context, batch []*pending) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = l.insert(context.WithoutCancel(ctx), batch); err == nil {
			break
		}
		// The head may be what failed (another process writing as this
		// node): read it again.
		l.headOK = false
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	if err == nil {
		l.records.Add(int64(len(batch)))
		l.commits.Add(1)
	}
	for _, p := range batch {
		p.done <- err
	}
}

// insert writes batch in one transaction: the chain continues from the
// head known in memory, checked by a guarded UPDATE of the head row (it
// is read again only when another writer moved it), then the records go
// in multi-row INSERTs of fixed sizes (prepared once each).
func (l *MessageLog) insert(ctx context.Context, batch []*pending) error {
	var newSeq int64
	var newHash string
	err := l.db.Tx(ctx, func(tx *db.Tx) error {
		seq, prev, known := l.headSeq, l.headHash, l.headOK
		if !known {
			var err error
			if seq, prev, err = l.readHead(ctx, tx); err != nil {
				return err
			}
			// A retry: if the attempt before committed and only its
			// answer was lost (a connection cut at COMMIT), the head is
			// this batch's last record, and it is not written twice.
			if last := &batch[len(batch)-1].rec; last.Hash != "" && seq == last.Seq && prev == last.Hash {
				newSeq, newHash = seq, prev
				return nil
			}
		}
		chain := func() {
			s, h := seq, prev
			for _, p := range batch {
				r := &p.rec
				s++
				r.Node, r.Seq, r.PrevHash = l.cfg.Node, s, h
				r.At, r.DoneAt = r.At.UTC().Truncate(time.Microsecond), r.DoneAt.UTC().Truncate(time.Microsecond)
				r.Hash = r.computeHash()
				h = r.Hash
			}
			newSeq, newHash = s, h
		}
		chain()
		// With a journal, the head also records the last journal entry
		// now in the database (journal.go); without one it is left alone.
		var res sql.Result
		var err error
		jseq := int64(lastJseq(batch))
		if jseq > 0 {
			res, err = tx.ExecContext(ctx, `UPDATE gateway_msglog_head SET seq = $1, hash = $2, journal_seq = $6 WHERE node = $3 AND seq = $4 AND hash = $5`,
				newSeq, newHash, l.cfg.Node, seq, prev, jseq)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE gateway_msglog_head SET seq = $1, hash = $2 WHERE node = $3 AND seq = $4 AND hash = $5`,
				newSeq, newHash, l.cfg.Node, seq, prev)
		}
		if err != nil {
			return fmt.Errorf("message log head: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if !known {
				return fmt.Errorf("message log head of %s moved while it was read", l.cfg.Node)
			}
			// Another writer moved the head: continue from where it is.
			if seq, prev, err = l.readHead(ctx, tx); err != nil {
				return err
			}
			chain()
			q, args := `UPDATE gateway_msglog_head SET seq = $1, hash = $2 WHERE node = $3`, []any{newSeq, newHash, l.cfg.Node}
			if jseq > 0 {
				q, args = `UPDATE gateway_msglog_head SET seq = $1, hash = $2, journal_seq = $4 WHERE node = $3`, append(args, jseq)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("message log head: %w", err)
			}
		}
		recs := l.recs[:0]
		for _, p := range batch {
			recs = append(recs, &p.rec)
		}
		l.recs = recs
		return writePages(ctx, tx, recs, &l.pw)
	})
	if err == nil {
		l.lmu.Lock()
		if first := batch[0].rec.Seq; len(l.leaves) == 0 || l.leavesFrom+int64(len(l.leaves)) != first {
			l.leaves, l.leavesFrom = l.leaves[:0], first
		}
		for _, p := range batch {
			l.leaves = append(l.leaves, p.rec.Hash)
		}
		l.lmu.Unlock()
	}
	clear(l.recs[:cap(l.recs)]) // do not keep the records alive
	if err != nil {
		return err
	}
	l.headOK, l.headSeq, l.headHash = true, newSeq, newHash
	if loseCommitReply.Load() > 0 && loseCommitReply.Add(-1) >= 0 {
		l.headOK = false // as the writers do after an error
		return errors.New("message log: the database's answer to COMMIT was lost (test)")
	}
	return nil
}

// loseCommitReply makes the next inserts report an error after they
// committed, as a connection cut at COMMIT would (tests only).
var loseCommitReply atomic.Int32

// cachedLeaves returns the hashes of records first..last if they are all
// in memory.
func (l *MessageLog) cachedLeaves(first, last int64) []string {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if first < l.leavesFrom || last >= l.leavesFrom+int64(len(l.leaves)) {
		return nil
	}
	return slices.Clone(l.leaves[first-l.leavesFrom : last-l.leavesFrom+1])
}

// signed forgets the hashes up to seq.
func (l *MessageLog) signed(seq int64) {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	if k := seq - l.leavesFrom + 1; k > 0 {
		k = min(k, int64(len(l.leaves)))
		clear(l.leaves[:k])
		l.leaves = append(l.leaves[:0], l.leaves[k:]...)
		l.leavesFrom += k
	}
}

// readHead reads (creating it if needed) the head of the node's chain,
// locking it on PostgreSQL.
func (l *MessageLog) readHead(ctx context.Context, tx *db.Tx) (int64, string, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_msglog_head (node, seq, hash, signed_seq) VALUES ($1, 0, $2, 0) ON CONFLICT (node) DO NOTHING`,
		l.cfg.Node, genesis); err != nil {
		return 0, "", fmt.Errorf("message log head: %w", err)
	}
	lock := ""
	if tx.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM gateway_msglog_head WHERE node = $1`+lock, l.cfg.Node).Scan(&seq, &prev); err != nil {
		return 0, "", fmt.Errorf("message log head: %w", err)
	}
	return seq, prev, nil
}

var genesis = strings.Repeat("0", 64)

func (l *MessageLog) registerKey(ctx context.Context) error {
	return l.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gateway_keys (key_id, algorithm, public_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING`,
			l.cfg.Key.ID, l.cfg.Key.Algorithm, l.cfg.Key.Public, l.cfg.Now().UTC())
		return err
	})
}

// Sign signs the node's records written since its last batch, if any.
func (l *MessageLog) Sign(ctx context.Context) error {
	var signedTo int64
	err := l.db.Tx(ctx, func(tx *db.Tx) error {
		lock := ""
		if tx.Dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		var seq, signed int64
		err := tx.QueryRowContext(ctx, `SELECT seq, signed_seq FROM gateway_msglog_head WHERE node = $1`+lock, l.cfg.Node).Scan(&seq, &signed)
		if err != nil || seq == signed {
			return ignoreNoRows(err)
		}
		leaves := l.cachedLeaves(signed+1, seq)
		if leaves == nil {
			if leaves, err = pageLeaves(ctx, tx, l.cfg.Node, signed+1, seq); err != nil {
				return err
			}
		}
		if int64(len(leaves)) != seq-signed {
			return fmt.Errorf("message log of %s: %d records between %d and %d, want %d", l.cfg.Node, len(leaves), signed, seq, seq-signed)
		}
		b := Batch{Node: l.cfg.Node, FirstSeq: signed + 1, LastSeq: seq, Root: MerkleRoot(leaves),
			SignedAt: l.cfg.Now().UTC().Truncate(time.Microsecond), KeyID: l.cfg.Key.ID, Algorithm: l.cfg.Key.Algorithm}
		sig, err := l.cfg.Key.sign(b.signedMessage())
		if err != nil {
			return fmt.Errorf("sign batch: %w", err)
		}
		b.Signature = base64.StdEncoding.EncodeToString(sig)
		if !l.keyOK.Load() {
			// Not registered at start (the database was down): with the
			// batch, or the batch would not verify.
			if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_keys (key_id, algorithm, public_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING`,
				l.cfg.Key.ID, l.cfg.Key.Algorithm, l.cfg.Key.Public, l.cfg.Now().UTC()); err != nil {
				return fmt.Errorf("register signing key: %w", err)
			}
			tx.AfterCommit(func() { l.keyOK.Store(true) })
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_msglog_batches (node, first_seq, last_seq, root, signed_at, key_id, algorithm, signature)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, b.Node, b.FirstSeq, b.LastSeq, b.Root, b.SignedAt, b.KeyID, b.Algorithm, b.Signature); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE gateway_msglog_head SET signed_seq = $1 WHERE node = $2`, seq, l.cfg.Node)
		signedTo = seq
		return err
	})
	if err == nil && signedTo > 0 {
		l.signed(signedTo)
	}
	return err
}

func ignoreNoRows(err error) error {
	if err != nil && strings.Contains(err.Error(), "no rows") {
		return nil
	}
	return err
}

// Redact prepares a body for the message log: JSON with the named fields'
// values replaced by "***" at any depth; other text as is when no field is
// to be redacted; XML (SOAP) with the text and attributes of the named
// elements replaced by "***" (redactxml.go); anything else (binary, or
// unparseable text that should have been redacted) only as its size.
func Redact(body []byte, fields []string) string {
	if len(body) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil {
		if len(fields) > 0 {
			v = redactValue(v, fields)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if len(fields) == 0 && utf8.Valid(body) {
		return string(body)
	}
	if out, ok := redactXML(body, fields); ok {
		return out
	}
	return fmt.Sprintf("[%d bytes not logged]", len(body))
}

func redactValue(v any, fields []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			hit := false
			for _, f := range fields {
				if strings.EqualFold(k, f) {
					hit = true
					break
				}
			}
			if hit {
				x[k] = "***"
			} else {
				x[k] = redactValue(val, fields)
			}
		}
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], fields)
		}
	}
	return v
}

// archive lines
type archiveLine struct {
	Kind   string   `json:"kind"`
	Format string   `json:"format,omitempty"`
	Keys   []keyRow `json:"keys,omitempty"`
	// Exported and Heads (header): when the archive was taken, and where
	// each node's chain and signatures stood then (the archive holds
	// exactly that). Archives without them verify with fewer checks.
	Exported *time.Time `json:"exported,omitempty"`
	Heads    []headRow  `json:"heads,omitempty"`
	Record   *Record    `json:"record,omitempty"`
	Batch    *Batch     `json:"batch,omitempty"`
}

// headRow is a node's gateway_msglog_head row.
type headRow struct {
	Node   string `json:"node"`
	Seq    int64  `json:"seq"`
	Hash   string `json:"hash"`
	Signed int64  `json:"signed_seq"`
}

type keyRow struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key"`
}

// ArchiveFormat names the export format: JSON lines, a header with the
// public keys, then each node's records in order, then its batches.
const ArchiveFormat = "congso-msglog/1"

// Export writes the whole message log as a verifiable archive: the log as
// it stood when the export began (each node's head then), so that records
// and batches written meanwhile, on a running gateway, do not make it
// inconsistent.
func Export(ctx context.Context, d *db.DB, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	exported := time.Now().UTC()
	var heads []headRow
	head := map[string]headRow{}
	rows, err := d.Read().QueryContext(ctx, `SELECT node, seq, hash, signed_seq FROM gateway_msglog_head ORDER BY node`)
	if err != nil {
		return fmt.Errorf("export message log: %w", err)
	}
	for rows.Next() {
		var h headRow
		if err := rows.Scan(&h.Node, &h.Seq, &h.Hash, &h.Signed); err != nil {
			rows.Close()
			return err
		}
		heads = append(heads, h)
		head[h.Node] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var keys []keyRow
	rows, err = d.Read().QueryContext(ctx, `SELECT key_id, algorithm, public_key FROM gateway_keys ORDER BY key_id`)
	if err != nil {
		return fmt.Errorf("export message log: %w", err)
	}
	for rows.Next() {
		var k keyRow
		if err := rows.Scan(&k.KeyID, &k.Algorithm, &k.PublicKey); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := enc.Encode(archiveLine{Kind: "header", Format: ArchiveFormat, Keys: keys, Exported: &exported, Heads: heads}); err != nil {
		return err
	}
	if err := eachRecord(ctx, d, func(r *Record) error {
		if h, ok := head[r.Node]; ok && r.Seq > h.Seq {
			return nil // written after the export began
		}
		return enc.Encode(archiveLine{Kind: "record", Record: r})
	}); err != nil {
		return fmt.Errorf("export message log: %w", err)
	}
	rows, err = d.Read().QueryContext(ctx, `SELECT node, first_seq, last_seq, root, signed_at, key_id, algorithm, signature, tsa_token FROM gateway_msglog_batches ORDER BY node, first_seq`)
	if err != nil {
		return fmt.Errorf("export message log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Batch
		var token *string
		if err := rows.Scan(&b.Node, &b.FirstSeq, &b.LastSeq, &b.Root, &b.SignedAt, &b.KeyID, &b.Algorithm, &b.Signature, &token); err != nil {
			return err
		}
		if token != nil {
			b.Timestamp = *token
		}
		if h, ok := head[b.Node]; ok && b.LastSeq > h.Signed {
			continue // signed after the export began
		}
		b.SignedAt = b.SignedAt.UTC()
		if err := enc.Encode(archiveLine{Kind: "batch", Batch: &b}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

// Report is the outcome of [Verify].
type Report struct {
	Records  int64 `json:"records"`
	Batches  int64 `json:"batches"`
	Unsigned int64 `json:"unsigned"` // records after the last batch of their node
	// Stamped counts the records covered by a valid time-stamp (up to the
	// last stamped batch of their node); Stamps the valid stamps.
	Stamped int64 `json:"stamped"`
	Stamps  int64 `json:"stamps"`
	// LastStamp is the time of the newest valid stamp.
	LastStamp *time.Time `json:"last_stamp,omitempty"`
	// Problems lists every inconsistency found; empty means the archive is intact.
	Problems []string `json:"problems"`
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify reads an archive written by Export and checks every record's hash,
// the chain of each node, every batch's Merkle root and signature, and that
// batches cover the chain without gaps. trusted, when not empty, lists the
// public keys (base64 PKIX DER) the signatures must come from; otherwise the
// archive's own keys are used, which proves integrity but not origin.
func Verify(r io.Reader, trusted []string) (Report, error) {
	return VerifyWith(r, VerifyOptions{Trusted: trusted})
}

// VerifyOptions says what a verification trusts.
type VerifyOptions struct {
	// Trusted lists the public keys (base64 PKIX DER) the batch signatures
	// must come from; empty: the archive's own keys.
	Trusted []string
	// TSARoots are the CAs the time-stamp authority must chain to; nil:
	// a stamp's own signature is checked, not who made it.
	TSARoots *x509.CertPool
	// UnsignedGrace is how long before the export a record may have been
	// written and still be unsigned (default 10 minutes; nodes sign every
	// CONGSO_GATEWAY_SIGN_INTERVAL): older ones mean batches removed, the
	// records after them open to rewriting, or a node that stopped
	// signing.
	UnsignedGrace time.Duration
}

// maxSeqGap bounds a jump in a node's sequence numbers that Verify pads
// over (a crafted archive must not exhaust memory).
const maxSeqGap = 1 << 20

// VerifyWith is [Verify] with the time-stamps checked too: every stamp must
// be a valid RFC 3161 token over its batch (from a TSA chaining to
// opt.TSARoots when set); the report counts the records stamps cover.
func VerifyWith(r io.Reader, opt VerifyOptions) (Report, error) {
	trusted := opt.Trusted
	var rep Report
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	keys := map[string]keyRow{}
	if opt.UnsignedGrace <= 0 {
		opt.UnsignedGrace = 10 * time.Minute
	}
	type chain struct {
		hashes  []string // index seq-first
		done    []int64  // DoneAt (Unix µs), index seq-first
		first   int64
		signed  int64
		stamped int64
		lastSeq int64
		prev    string
		broken  bool // a gap too large to pad: the batches cannot be checked
	}
	var exported *time.Time
	var heads []headRow
	chains := map[string]*chain{}
	var batches []Batch
	line := 0
	problem := func(format string, args ...any) {
		if len(rep.Problems) < 1000 {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	for sc.Scan() {
		line++
		var l archiveLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			problem("line %d: not a JSON archive line", line)
			continue
		}
		switch l.Kind {
		case "header":
			if l.Format != ArchiveFormat {
				return rep, fmt.Errorf("verify: format %q, want %q", l.Format, ArchiveFormat)
			}
			exported, heads = l.Exported, l.Heads
			for _, k := range l.Keys {
				if len(trusted) > 0 && !containsStr(trusted, k.PublicKey) {
					problem("key %s is not one of the trusted keys", k.KeyID)
					continue
				}
				keys[k.KeyID] = k
			}
		case "record":
			rec := l.Record
			if rec == nil {
				problem("line %d: empty record", line)
				continue
			}
			rep.Records++
			c := chains[rec.Node]
			if c == nil {
				// A chain starts at record 1, after the all-zero hash.
				c = &chain{first: rec.Seq, lastSeq: rec.Seq - 1, prev: rec.PrevHash}
				chains[rec.Node] = c
				if rec.Seq != 1 {
					problem("node %s: records 1–%d are missing (the log does not start at its first record)", rec.Node, rec.Seq-1)
				} else if rec.PrevHash != genesis {
					problem("node %s record 1: its previous hash is not the start of a chain", rec.Node)
				}
			}
			if rec.Seq != c.lastSeq+1 {
				problem("node %s: record %d follows %d: records are missing or reordered", rec.Node, rec.Seq, c.lastSeq)
			}
			if rec.PrevHash != c.prev {
				problem("node %s record %d: previous hash does not match the record before it", rec.Node, rec.Seq)
			}
			if h := rec.computeHash(); h != rec.Hash {
				problem("node %s record %d: content does not match its hash (altered)", rec.Node, rec.Seq)
			}
			if rec.Seq <= c.lastSeq || rec.Seq-c.lastSeq > maxSeqGap {
				c.broken = true // reordered, or a gap not worth padding
			}
			c.lastSeq, c.prev = rec.Seq, rec.Hash
			if c.broken {
				continue
			}
			for int64(len(c.hashes)) < rec.Seq-c.first {
				c.hashes = append(c.hashes, "")
				c.done = append(c.done, 0)
			}
			c.hashes = append(c.hashes, rec.Hash)
			c.done = append(c.done, rec.DoneAt.UnixMicro())
		case "batch":
			if l.Batch != nil {
				batches = append(batches, *l.Batch)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("verify: read archive: %w", err)
	}
	for _, b := range batches {
		rep.Batches++
		c := chains[b.Node]
		if c == nil {
			problem("batch %s %d–%d: its records are missing", b.Node, b.FirstSeq, b.LastSeq)
			continue
		}
		if b.FirstSeq < c.first || b.LastSeq > c.lastSeq || b.FirstSeq > b.LastSeq {
			problem("batch %s %d–%d: its records are missing", b.Node, b.FirstSeq, b.LastSeq)
			continue
		}
		if c.broken {
			problem("batch %s %d–%d: cannot be checked, the node's records are out of order", b.Node, b.FirstSeq, b.LastSeq)
			continue
		}
		if b.FirstSeq != c.signed+1 && c.signed != 0 {
			problem("batch %s %d–%d: does not follow the previous batch (ends at %d)", b.Node, b.FirstSeq, b.LastSeq, c.signed)
		}
		if root := MerkleRoot(c.hashes[b.FirstSeq-c.first : b.LastSeq-c.first+1]); root != b.Root {
			problem("batch %s %d–%d: Merkle root does not match the records", b.Node, b.FirstSeq, b.LastSeq)
		}
		k, ok := keys[b.KeyID]
		sig, _ := base64.StdEncoding.DecodeString(b.Signature)
		if !ok || !verifySignature(b.Algorithm, k.PublicKey, b.signedMessage(), sig) {
			problem("batch %s %d–%d: signature is not valid", b.Node, b.FirstSeq, b.LastSeq)
		}
		c.signed = b.LastSeq
		if b.Timestamp != "" {
			at, err := verifyStamp(b, opt.TSARoots)
			if err != nil {
				problem("batch %s %d–%d: %v", b.Node, b.FirstSeq, b.LastSeq, err)
			} else {
				rep.Stamps++
				c.stamped = b.LastSeq
				if rep.LastStamp == nil || at.After(*rep.LastStamp) {
					rep.LastStamp = &at
				}
			}
		}
	}
	for _, h := range heads {
		// The archive must hold each node's log as its head stood.
		c := chains[h.Node]
		switch {
		case c == nil && h.Seq > 0:
			problem("node %s: its %d records are missing", h.Node, h.Seq)
		case c == nil:
		case c.lastSeq < h.Seq:
			problem("node %s: records %d–%d are missing (the log is cut at its end)", h.Node, c.lastSeq+1, h.Seq)
		case c.lastSeq > h.Seq:
			problem("node %s: records %d–%d are beyond its head", h.Node, h.Seq+1, c.lastSeq)
		case c.prev != h.Hash:
			problem("node %s: its last record does not match its head", h.Node)
		}
		if c != nil && c.signed < h.Signed {
			problem("node %s: the batches signing records %d–%d are missing", h.Node, c.signed+1, h.Signed)
		}
	}
	for node, c := range chains {
		if c.signed < c.first-1 {
			c.signed = c.first - 1
		}
		rep.Unsigned += c.lastSeq - c.signed
		if c.stamped > 0 {
			rep.Stamped += c.stamped - c.first + 1
		}
		if exported != nil && !c.broken && c.lastSeq > c.signed {
			// Records still unsigned long after they were written: the
			// batches over them were removed, or the node stopped signing.
			limit := exported.Add(-opt.UnsignedGrace).UnixMicro()
			old := 0
			for i := c.signed + 1 - c.first; i < int64(len(c.done)); i++ {
				if c.done[i] != 0 && c.done[i] < limit {
					old++
				}
			}
			if old > 0 {
				problem("node %s: %d records after its last batch were written more than %s before the export and are not signed", node, old, opt.UnsignedGrace)
			}
		}
	}
	return rep, nil
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// VerifyDB exports the log of d and verifies it (`congso gateway verify`).
func VerifyDB(ctx context.Context, d *db.DB, trusted []string) (Report, error) {
	return VerifyDBWith(ctx, d, VerifyOptions{Trusted: trusted})
}

// VerifyDBWith is [VerifyDB] with [VerifyOptions].
func VerifyDBWith(ctx context.Context, d *db.DB, opt VerifyOptions) (Report, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(Export(ctx, d, pw)) }()
	rep, err := VerifyWith(pr, opt)
	pr.Close()
	return rep, err
}

// ParseKeyPEM reads a PKCS#8 "PRIVATE KEY" PEM block holding an ECDSA P-256
// or Ed25519 key (CONGSO_GATEWAY_SIGNING_KEY).
func ParseKeyPEM(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("signing key: want a PKCS#8 PEM block \"PRIVATE KEY\"")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("signing key: not a signing key")
	}
	return NewKey(s)
}

// GenerateKeyPEM returns a new Ed25519 signing key as PKCS#8 PEM, for
// `congso gateway keygen` or a first start.
func GenerateKeyPEM() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
