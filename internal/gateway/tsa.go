package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/congso/congso/internal/platform/db"
)

// Time-stamping of the message log (RFC 3161).
//
// Every TSAConfig.Interval the node asks a time-stamp authority to stamp
// its newest signed batch. The stamp covers the batch's signed message and
// signature; since each record's hash covers the one before it and each
// batch's Merkle root covers its records, one stamp proves that every
// record of the node up to that batch existed at the stamp's time, so the
// older batches need no stamp of their own (X-Road stamps in batches the
// same way). The token is stored with the batch and exported with it;
// [VerifyWith] checks it against the TSA roots the verifier trusts.
//
// When the TSA cannot be reached, records are still written and signed;
// stamping is retried at the next interval. A service whose policy is
// fail-closed is refused (503, Server.ServerProxy.TimestampFailed) once
// stamping has failed for longer than TSAConfig.Grace, as X-Road does;
// fail-open services go on, and the failure is logged as an error at every
// attempt and shown on the status page.

// TSAConfig configures time-stamping of the message log.
type TSAConfig struct {
	// URL is the TSA's RFC 3161 HTTP endpoint (CONGSO_GATEWAY_TSA_URL).
	URL string
	// Roots are the CA certificates the TSA's certificate must chain to
	// (CONGSO_GATEWAY_TSA_CA). Required.
	Roots *x509.CertPool
	// Interval between stamps (CONGSO_GATEWAY_TSA_INTERVAL, 60 s).
	Interval time.Duration
	// Grace is how long stamping may fail before fail-closed services are
	// refused (CONGSO_GATEWAY_TSA_GRACE, 4 h).
	Grace time.Duration
	// Client sends the requests (a client with a 15 s timeout).
	Client *http.Client
}

// FaultTimestamp: the message log could not be time-stamped for longer
// than the grace period, and the service is fail-closed.
const FaultTimestamp = "Server.ServerProxy.TimestampFailed"

func tsaMigrations() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 5, Name: "message log time-stamps", Up: `
ALTER TABLE gateway_msglog_batches ADD COLUMN tsa_token TEXT;
ALTER TABLE gateway_msglog_batches ADD COLUMN tsa_time {{time}};`}}
}

// stampImprint is what a batch's time-stamp covers: its signed message and
// its signature.
func (b Batch) stampImprint() []byte {
	h := sha256.New()
	h.Write(b.signedMessage())
	h.Write([]byte("\n" + b.Signature))
	return h.Sum(nil)
}

// ParseCertsPEM reads the CERTIFICATE blocks of a PEM bundle into a pool.
func ParseCertsPEM(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate bundle: %w", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("certificate bundle: no CERTIFICATE block")
	}
	return pool, nil
}

// stamper is the message log's time-stamping state.
type stamper struct {
	cfg TSAConfig
	mu  sync.Mutex
	// lastOK is when stamping last succeeded (or the log started).
	lastOK  time.Time
	lastErr string
	lastAt  time.Time // time of the newest token
}

// StampStatus is the state of time-stamping, for the status page.
type StampStatus struct {
	Enabled   bool      `json:"enabled"`
	LastOK    time.Time `json:"last_ok"`
	LastToken time.Time `json:"last_token"`
	LastError string    `json:"last_error,omitempty"`
	// Failing: stamping has failed for longer than the grace period.
	Failing bool `json:"failing"`
}

// StampStatus reports the state of time-stamping.
func (l *MessageLog) StampStatus() StampStatus {
	s := l.stamp
	if s == nil {
		return StampStatus{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return StampStatus{Enabled: true, LastOK: s.lastOK, LastToken: s.lastAt, LastError: s.lastErr,
		Failing: l.cfg.Now().Sub(s.lastOK) > s.cfg.Grace}
}

// stampFailing reports whether fail-closed services must be refused.
func (l *MessageLog) stampFailing() bool {
	if l == nil || l.stamp == nil {
		return false
	}
	s := l.stamp
	s.mu.Lock()
	defer s.mu.Unlock()
	return l.cfg.Now().Sub(s.lastOK) > s.cfg.Grace
}

// stampLoop stamps at every interval until ctx ends.
func (l *MessageLog) stampLoop(ctx context.Context) {
	t := time.NewTicker(l.stamp.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.Stamp(ctx); err != nil && ctx.Err() == nil {
				l.cfg.Logger.Error("gateway: time-stamping the message log failed; records are still written and signed, stamping is retried",
					"err", err, "failing_since", l.StampStatus().LastOK, "grace", l.stamp.cfg.Grace.String())
			}
		}
	}
}

// Stamp asks the TSA to stamp the node's newest batch, if it has none yet.
func (l *MessageLog) Stamp(ctx context.Context) error {
	s := l.stamp
	if s == nil {
		return nil
	}
	err := l.stampNewest(ctx)
	s.mu.Lock()
	if err != nil {
		s.lastErr = err.Error()
	} else {
		s.lastOK, s.lastErr = l.cfg.Now(), ""
	}
	s.mu.Unlock()
	return err
}

func (l *MessageLog) stampNewest(ctx context.Context) error {
	var b Batch
	var token *string
	err := l.db.Read().QueryRowContext(ctx, `SELECT node, first_seq, last_seq, root, signed_at, key_id, algorithm, signature, tsa_token
FROM gateway_msglog_batches WHERE node = $1 ORDER BY first_seq DESC LIMIT 1`, l.cfg.Node).
		Scan(&b.Node, &b.FirstSeq, &b.LastSeq, &b.Root, &b.SignedAt, &b.KeyID, &b.Algorithm, &b.Signature, &token)
	if err != nil {
		return ignoreNoRows(err) // nothing signed yet
	}
	if token != nil {
		return nil // the newest batch is stamped: nothing new to cover
	}
	b.SignedAt = b.SignedAt.UTC()
	der, at, err := l.stamp.request(ctx, b.stampImprint())
	if err != nil {
		return err
	}
	err = l.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE gateway_msglog_batches SET tsa_token = $1, tsa_time = $2 WHERE node = $3 AND first_seq = $4`,
			base64.StdEncoding.EncodeToString(der), at.UTC(), b.Node, b.FirstSeq)
		return err
	})
	if err != nil {
		return fmt.Errorf("store time-stamp: %w", err)
	}
	l.stamp.mu.Lock()
	l.stamp.lastAt = at
	l.stamp.mu.Unlock()
	return nil
}

// request gets a token over imprint and checks it: the TSA's signature, its
// certificate's chain to the trusted roots with the timeStamping usage, and
// that it stamps imprint. It returns the token (DER) and its time.
func (s *stamper) request(ctx context.Context, imprint []byte) ([]byte, time.Time, error) {
	q, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: imprint, Certificates: true}).Marshal()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("time-stamp request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(q))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("time-stamp request: %w", err)
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("time-stamp authority unreachable: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("time-stamp authority: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("time-stamp authority answered %d", resp.StatusCode)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("time-stamp authority: %w", err)
	}
	if err := checkToken(ts, imprint, s.cfg.Roots); err != nil {
		return nil, time.Time{}, err
	}
	return ts.RawToken, ts.Time, nil
}

// checkToken checks a parsed token (whose CMS signature the parser has
// verified with the certificate it carries): it stamps imprint with
// SHA-256, and its signing certificate chains to roots (when not nil) for
// time-stamping, at the stamp's time.
func checkToken(ts *timestamp.Timestamp, imprint []byte, roots *x509.CertPool) error {
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, imprint) {
		return errors.New("time-stamp: the token does not stamp this batch")
	}
	if len(ts.Certificates) == 0 {
		return errors.New("time-stamp: the token carries no certificate")
	}
	if roots == nil {
		return nil
	}
	// The certificate that signed (the parser checked the signature with
	// it), not merely the first one carried: a token can carry the real
	// TSA's certificate beside the one it was signed with.
	p7, err := pkcs7.Parse(ts.RawToken)
	if err != nil {
		return fmt.Errorf("time-stamp: %w", err)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return errors.New("time-stamp: the token must have exactly one signer, whose certificate it carries")
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		if !c.Equal(signer) {
			inter.AddCert(c)
		}
	}
	_, err = signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	if err != nil {
		return fmt.Errorf("time-stamp: the TSA certificate is not trusted: %w", err)
	}
	return nil
}

// verifyStamp checks a batch's exported token.
func verifyStamp(b Batch, roots *x509.CertPool) (time.Time, error) {
	der, err := base64.StdEncoding.DecodeString(b.Timestamp)
	if err != nil {
		return time.Time{}, errors.New("time-stamp: not base64")
	}
	ts, err := timestamp.Parse(der)
	if err != nil {
		return time.Time{}, fmt.Errorf("time-stamp: %w", err)
	}
	if err := checkToken(ts, b.stampImprint(), roots); err != nil {
		return time.Time{}, err
	}
	return ts.Time, nil
}
