package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/congso/congso/internal/platform/search"
)

// PasswordParams are the Argon2id cost parameters. They are stored in every
// hash, so they can be raised later: old hashes still verify and are
// re-hashed with the new parameters at the next successful sign-in.
type PasswordParams struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	KeyLen  uint32 // bytes of hash output
	SaltLen uint32 // bytes of random salt
}

// DefaultPasswordParams is OWASP's recommended Argon2id setting (19 MiB of
// memory, 2 passes, 1 thread): about 20-40 ms per hash on a server core.
var DefaultPasswordParams = PasswordParams{Time: 2, Memory: 19 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// CheapPasswordParams hash in microseconds. They are for tests and demo
// fixtures only, never for real accounts.
var CheapPasswordParams = PasswordParams{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// Bounds on parameters read back from a stored hash, so that a tampered row
// cannot make a sign-in allocate gigabytes.
const (
	maxHashMemory  = 1 << 20 // 1 GiB in KiB
	maxHashTime    = 16
	maxHashThreads = 16
	// maxPasswordBytes bounds what is hashed, whatever the policy says.
	maxPasswordBytes = 1024
)

// errMalformedHash reports a stored hash this code cannot read.
var errMalformedHash = errors.New("identity: malformed password hash")

func (p PasswordParams) valid() bool {
	return p.Time >= 1 && p.Time <= maxHashTime && p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxHashMemory &&
		p.Threads >= 1 && p.Threads <= maxHashThreads && p.KeyLen >= 16 && p.KeyLen <= 128 && p.SaltLen >= 8 && p.SaltLen <= 64
}

// normalizePassword puts a password in Unicode NFC, so the same Vietnamese
// letters typed with different keyboards (precomposed or combining marks)
// give the same hash.
func normalizePassword(pw string) string { return norm.NFC.String(pw) }

// HashPassword returns the Argon2id hash of password in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) with a fresh random salt.
func HashPassword(password string, p PasswordParams) (string, error) {
	if !p.valid() {
		return "", fmt.Errorf("identity: hash password: invalid parameters %+v", p)
	}
	if len(password) > maxPasswordBytes {
		return "", fmt.Errorf("identity: hash password: longer than %d bytes", maxPasswordBytes)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(normalizePassword(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC-encoded hash,
// comparing in constant time. It also returns the parameters the hash was made
// with, so the caller can tell whether it should be re-hashed.
func VerifyPassword(password, encoded string) (ok bool, p PasswordParams, err error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, p, err
	}
	if len(password) > maxPasswordBytes {
		return false, p, nil
	}
	got := argon2.IDKey([]byte(normalizePassword(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, p, nil
}

func parseHash(encoded string) (p PasswordParams, salt, key []byte, err error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errMalformedHash
	}
	var m, t, threads uint64
	for _, kv := range strings.Split(parts[3], ",") {
		name, val, _ := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(val, 10, 32)
		if perr != nil {
			return p, nil, nil, errMalformedHash
		}
		switch name {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			threads = n
		default:
			return p, nil, nil, errMalformedHash
		}
	}
	if threads > maxHashThreads {
		return p, nil, nil, errMalformedHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errMalformedHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil {
		return p, nil, nil, errMalformedHash
	}
	p = PasswordParams{Time: uint32(t), Memory: uint32(m), Threads: uint8(threads), KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}
	if !p.valid() {
		return p, nil, nil, errMalformedHash
	}
	return p, salt, key, nil
}

// PasswordPolicy is what a new password must satisfy. It follows NIST SP
// 800-63B: a minimum length, no composition rules, and a refusal of passwords
// that are easy to guess for this account or in general.
type PasswordPolicy struct {
	MinLength int // characters; default 10
	MaxLength int // characters; default 128
}

// DefaultPasswordPolicy is the policy used when none is configured.
var DefaultPasswordPolicy = PasswordPolicy{MinLength: 10, MaxLength: 128}

// commonPasswords are refused whatever the policy's length (compared folded,
// without diacritics and in lower case). Long enough to pass the minimum
// length, yet the first ones any attacker tries, including Vietnamese ones.
var commonPasswords = map[string]bool{
	"1234567890": true, "0123456789": true, "12345678910": true, "123456789a": true, "a123456789": true,
	"1234567890a": true, "123456789abc": true, "abc1234567": true, "abc@123456": true, "abcd@12345": true,
	"password123": true, "password1234": true, "p@ssw0rd123": true, "passw0rd123": true, "admin@12345": true,
	"admin123456": true, "administrator": true, "qwertyuiop": true, "qwerty123456": true, "1qaz2wsx3edc": true,
	"1q2w3e4r5t": true, "zaq12wsx34": true, "iloveyou123": true, "matkhau123": true, "matkhau1234": true,
	"matkhau@123": true, "anhyeuem123": true, "emyeuanh123": true, "congso12345": true, "congso@123": true,
	"vietnam123": true, "vietnam@123": true, "motcua12345": true, "123456789@": true, "11111111111": true,
}

// Check returns what is wrong with password for the account described by
// username, fullName and email (any of them may be empty), or nil.
func (pol PasswordPolicy) Check(password, username, fullName, email string) ValidationError {
	pol = pol.withDefaults()
	pw := normalizePassword(password)
	n := utf8.RuneCountInString(pw)
	if n < pol.MinLength {
		return ValidationError{{Field: "password", Code: "password_too_short", Args: []any{"min", pol.MinLength}}}
	}
	if n > pol.MaxLength || len(pw) > maxPasswordBytes {
		return ValidationError{{Field: "password", Code: "password_too_long", Args: []any{"max", pol.MaxLength}}}
	}
	folded := compact(search.Fold(pw))
	if name := compact(search.Fold(fullName)); name != "" && folded == name {
		return ValidationError{{Field: "password", Code: "password_is_name"}}
	}
	if u := compact(search.Fold(username)); u != "" && (folded == u || len(u) >= 4 && strings.Contains(folded, u)) {
		return ValidationError{{Field: "password", Code: "password_contains_username"}}
	}
	if local, _, _ := strings.Cut(email, "@"); local != "" {
		if l := compact(search.Fold(local)); len(l) >= 4 && strings.Contains(folded, l) {
			return ValidationError{{Field: "password", Code: "password_contains_username"}}
		}
	}
	if commonPasswords[search.Fold(pw)] || simpleSequence(folded) {
		return ValidationError{{Field: "password", Code: "password_too_common"}}
	}
	return nil
}

func (pol PasswordPolicy) withDefaults() PasswordPolicy {
	if pol.MinLength <= 0 {
		pol.MinLength = DefaultPasswordPolicy.MinLength
	}
	if pol.MaxLength <= 0 {
		pol.MaxLength = DefaultPasswordPolicy.MaxLength
	}
	if pol.MaxLength < pol.MinLength {
		pol.MaxLength = pol.MinLength
	}
	return pol
}

// compact drops spaces and punctuation that people add around names.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '_', '-':
			return -1
		}
		return r
	}, s)
}

// simpleSequence reports one character repeated ("aaaaaaaaaa") or a run of
// consecutive characters up or down ("abcdefghij", "9876543210").
func simpleSequence(s string) bool {
	r := []rune(s)
	if len(r) < 2 {
		return true
	}
	for _, step := range []rune{0, 1, -1} {
		ok := true
		for i := 1; i < len(r); i++ {
			if r[i]-r[i-1] != step {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
