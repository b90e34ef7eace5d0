package oidc

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/congso/congso/internal/platform/db"
)

// Signing algorithms the provider can use for ID tokens and access tokens.
const (
	AlgES256 = "ES256" // default: fast to sign (client credentials at thousands per second)
	AlgRS256 = "RS256" // the algorithm every OpenID Connect library supports
)

// KeySet holds the provider's signing keys in the database. The private keys
// are encrypted with AES-256-GCM under a key derived from the configured
// secret (CONGSO_OIDC_KEY_SECRET), with the key id as associated data, so a
// copy of the database alone signs nothing. The newest key signs; retired
// keys stay published in the JWKS until every token they signed has expired
// (delete_after), then [KeySet.Prune] removes them.
type KeySet struct {
	db     *db.DB
	aead   cipher.AEAD
	alg    string
	now    func() time.Time
	keep   time.Duration // how long a retired key stays published
	mu     sync.RWMutex
	signer *jose.JSONWebKey
	public jose.JSONWebKeySet
	loaded time.Time
}

// reloadEvery bounds how stale another node's view of the keys may be.
const reloadEvery = time.Minute

// NewKeySet returns the key set. secret must hold at least 32 bytes; alg is
// AlgES256 or AlgRS256; keep is the longest lifetime of a token signed by a
// key (the publication time of a retired key).
func NewKeySet(d *db.DB, secret []byte, alg string, keep time.Duration, now func() time.Time) (*KeySet, error) {
	if len(secret) < 32 {
		return nil, errors.New("oidc: key secret must hold at least 32 bytes")
	}
	if alg != AlgES256 && alg != AlgRS256 {
		return nil, fmt.Errorf("oidc: unsupported signing algorithm %q", alg)
	}
	sum := sha256.Sum256(append([]byte("congso oidc key encryption\x00"), secret...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &KeySet{db: d, aead: aead, alg: alg, now: now, keep: keep}, nil
}

// Alg returns the signing algorithm of new keys.
func (k *KeySet) Alg() string { return k.alg }

// Ensure creates a first key when there is none, and rotates when the
// signing key is older than rotateEvery (0: never by age).
func (k *KeySet) Ensure(ctx context.Context, rotateEvery time.Duration) error {
	if err := k.load(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	cur := k.signer
	k.mu.RUnlock()
	if cur == nil {
		return k.Rotate(ctx)
	}
	if rotateEvery > 0 {
		var created time.Time
		if err := k.db.Read().QueryRowContext(ctx, `SELECT created_at FROM identity_oauth_keys WHERE kid = $1`, cur.KeyID).Scan(&created); err != nil {
			return fmt.Errorf("key age: %w", err)
		}
		if k.now().Sub(created) >= rotateEvery {
			return k.Rotate(ctx)
		}
	}
	return nil
}

// Rotate creates a new signing key and retires the current one, which stays
// published until the tokens it signed have expired.
func (k *KeySet) Rotate(ctx context.Context) error {
	var priv crypto.Signer
	var err error
	if k.alg == AlgRS256 {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	now := k.now().UTC().Truncate(time.Microsecond)
	pubJWK := jose.JSONWebKey{Key: priv.Public(), Algorithm: k.alg, Use: "sig"}
	thumb, err := pubJWK.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	pubJWK.KeyID = base64.RawURLEncoding.EncodeToString(thumb[:12])
	pubJSON, err := json.Marshal(pubJWK)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	enc := k.aead.Seal(nonce, nonce, der, []byte(pubJWK.KeyID))
	err = k.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE identity_oauth_keys SET retired_at = $1, delete_after = $2
			WHERE retired_at IS NULL`, now, now.Add(k.keep)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_oauth_keys (kid, alg, private_enc, public_jwk, created_at)
			VALUES ($1, $2, $3, $4, $5)`, pubJWK.KeyID, k.alg, enc, string(pubJSON), now)
		return err
	})
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	return k.load(ctx)
}

// Prune deletes retired keys whose tokens have all expired and returns how
// many.
func (k *KeySet) Prune(ctx context.Context) (int64, error) {
	res, err := k.db.Write().ExecContext(ctx, `DELETE FROM identity_oauth_keys WHERE delete_after IS NOT NULL AND delete_after < $1`, k.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("prune keys: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		err = k.load(ctx)
	}
	return n, err
}

// load reads the keys: the unretired one becomes the signer, all are
// published.
func (k *KeySet) load(ctx context.Context) error {
	rows, err := k.db.Read().QueryContext(ctx, `SELECT kid, alg, private_enc, public_jwk, retired_at FROM identity_oauth_keys
		ORDER BY created_at DESC`)
	if err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	defer rows.Close()
	var signer *jose.JSONWebKey
	var set jose.JSONWebKeySet
	for rows.Next() {
		var kid, alg, pub string
		var enc []byte
		var retired sql.NullTime
		if err := rows.Scan(&kid, &alg, &enc, &pub, &retired); err != nil {
			return fmt.Errorf("load keys: %w", err)
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(pub), &jwk); err != nil {
			return fmt.Errorf("load key %s: %w", kid, err)
		}
		set.Keys = append(set.Keys, jwk)
		if retired.Valid || signer != nil {
			continue
		}
		ns := k.aead.NonceSize()
		if len(enc) < ns {
			return fmt.Errorf("load key %s: truncated", kid)
		}
		der, err := k.aead.Open(nil, enc[:ns], enc[ns:], []byte(kid))
		if err != nil {
			return fmt.Errorf("load key %s: cannot decrypt (wrong CONGSO_OIDC_KEY_SECRET?): %w", kid, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("load key %s: %w", kid, err)
		}
		signer = &jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: alg, Use: "sig"}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load keys: %w", err)
	}
	k.mu.Lock()
	k.signer, k.public, k.loaded = signer, set, k.now()
	k.mu.Unlock()
	return nil
}

// fresh reloads the keys when the cached view is older than a minute, so a
// rotation on another node is seen.
func (k *KeySet) fresh(ctx context.Context) error {
	k.mu.RLock()
	stale := k.signer == nil || k.now().Sub(k.loaded) >= reloadEvery
	k.mu.RUnlock()
	if stale {
		return k.load(ctx)
	}
	return nil
}

// SigningKey returns the current private key (for fosite's signer).
func (k *KeySet) SigningKey(ctx context.Context) (*jose.JSONWebKey, error) {
	if err := k.fresh(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.signer == nil {
		return nil, errors.New("oidc: no signing key (run Ensure)")
	}
	return k.signer, nil
}

// PublicKeys returns the published keys: the signing key and retired keys
// still in their publication period.
func (k *KeySet) PublicKeys(ctx context.Context) (jose.JSONWebKeySet, error) {
	if err := k.fresh(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey(nil), k.public.Keys...)}, nil
}
