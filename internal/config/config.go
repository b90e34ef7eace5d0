// Package config holds congso's settings, read from CONGSO_* environment
// variables and then from command-line flags (flags win). Every setting has a
// default that gives the embedded single-machine setup: SQLite and local files in
// the data folder. docs/configuration.md lists them all.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one congso process.
type Config struct {
	Addr            string        // CONGSO_ADDR: listen address
	BaseURL         string        // CONGSO_BASE_URL: public URL (links in mail, QR codes)
	DataDir         string        // CONGSO_DATA: data folder for the embedded default
	DatabaseURL     string        // CONGSO_DATABASE_URL: postgres://… or a SQLite path
	BlobURL         string        // CONGSO_BLOB_URL: file:///path or s3://bucket/prefix?…
	Demo            string        // CONGSO_DEMO: auto | always | never
	Role            string        // CONGSO_ROLE: all | web | worker | gateway
	SecretKey       string        // CONGSO_SECRET_KEY: hex, ≥32 bytes; signs CSRF tokens
	SecureCookies   bool          // CONGSO_SECURE_COOKIES: site served over HTTPS
	TrustedProxies  []string      // CONGSO_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
	LogLevel        string        // CONGSO_LOG_LEVEL: debug | info | warn | error
	LogFormat       string        // CONGSO_LOG_FORMAT: json | text
	ShutdownTimeout time.Duration // CONGSO_SHUTDOWN_TIMEOUT
	RateLimit       float64       // CONGSO_RATE_LIMIT: requests per second per client
	RateBurst       int           // CONGSO_RATE_BURST
	MaxBodyBytes    int64         // CONGSO_MAX_BODY_BYTES for JSON and forms
	MaxUploadBytes  int64         // CONGSO_MAX_UPLOAD_BYTES for file uploads
	ProvinceName    string        // CONGSO_PROVINCE_NAME shown in the UI
	// Where online applications from the portal are received: the provincial
	// public service center and its one-stop desk (e-IDs).
	PortalDeskAgency string // CONGSO_PORTAL_DESK_AGENCY
	PortalDeskUnit   string // CONGSO_PORTAL_DESK_UNIT
}

// Default returns the settings used when nothing is configured.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "data",
		Demo:            "auto",
		Role:            "all",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 20 * time.Second,
		RateLimit:       20,
		RateBurst:       60,
		MaxBodyBytes:    1 << 20,
		MaxUploadBytes:  50 << 20,
	}
}

// FromEnv reads CONGSO_* variables over the defaults.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	var errs []error
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	str("CONGSO_ADDR", &c.Addr)
	str("CONGSO_BASE_URL", &c.BaseURL)
	str("CONGSO_DATA", &c.DataDir)
	str("CONGSO_DATABASE_URL", &c.DatabaseURL)
	str("CONGSO_BLOB_URL", &c.BlobURL)
	str("CONGSO_DEMO", &c.Demo)
	str("CONGSO_ROLE", &c.Role)
	str("CONGSO_SECRET_KEY", &c.SecretKey)
	str("CONGSO_LOG_LEVEL", &c.LogLevel)
	str("CONGSO_LOG_FORMAT", &c.LogFormat)
	str("CONGSO_PROVINCE_NAME", &c.ProvinceName)
	str("CONGSO_PORTAL_DESK_AGENCY", &c.PortalDeskAgency)
	str("CONGSO_PORTAL_DESK_UNIT", &c.PortalDeskUnit)
	if v := getenv("CONGSO_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = splitList(v)
	}
	if v := getenv("CONGSO_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONGSO_SECURE_COOKIES: %q is not true/false", v))
		}
		c.SecureCookies = b
	}
	if v := getenv("CONGSO_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONGSO_SHUTDOWN_TIMEOUT: %w", err))
		}
		c.ShutdownTimeout = d
	}
	num := func(key string, dst *float64) {
		if v := getenv(key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", key, v))
			}
			*dst = f
		}
	}
	num("CONGSO_RATE_LIMIT", &c.RateLimit)
	integer := func(key string, dst *int64) {
		if v := getenv(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number", key, v))
			}
			*dst = n
		}
	}
	var burst int64 = int64(c.RateBurst)
	integer("CONGSO_RATE_BURST", &burst)
	c.RateBurst = int(burst)
	integer("CONGSO_MAX_BODY_BYTES", &c.MaxBodyBytes)
	integer("CONGSO_MAX_UPLOAD_BYTES", &c.MaxUploadBytes)
	return c, errors.Join(errs...)
}

// ServeFlags registers the flags that only make sense for a serving process.
func (c *Config) ServeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (CONGSO_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public URL of the site (CONGSO_BASE_URL)")
	fs.StringVar(&c.Demo, "demo", c.Demo, "demo data: auto (first start of the embedded default), always, never (CONGSO_DEMO)")
	fs.StringVar(&c.Role, "role", c.Role, "what this node runs: all, web (HTTP only), worker (background work only), gateway (the integration gateway only) (CONGSO_ROLE)")
}

// Flags registers flags for the storage and logging settings every command
// uses. Call fs.Parse afterwards, then Finish.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data folder for the embedded database and files (CONGSO_DATA)")
	fs.StringVar(&c.DatabaseURL, "database", c.DatabaseURL, "database URL: postgres://… or a SQLite file (CONGSO_DATABASE_URL)")
	fs.StringVar(&c.BlobURL, "blobs", c.BlobURL, "blob store URL: file:///path or s3://bucket/prefix?… (CONGSO_BLOB_URL)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn, error (CONGSO_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or text (CONGSO_LOG_FORMAT)")
}

// Finish fills derived defaults (database and blob locations inside the data
// folder, the secret key file) and validates the result.
func (c *Config) Finish() error {
	var errs []error
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "congso.db")
	}
	if c.BlobURL == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			errs = append(errs, err)
		}
		c.BlobURL = "file://" + abs
	}
	if c.BaseURL == "" {
		host := c.Addr
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.BaseURL = "http://" + host
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch c.Demo {
	case "auto", "always", "never":
	default:
		errs = append(errs, fmt.Errorf("demo: %q is not auto, always or never", c.Demo))
	}
	switch c.Role {
	case "all", "web", "worker", "gateway":
	default:
		errs = append(errs, fmt.Errorf("role: %q is not all, web, worker or gateway", c.Role))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log format: %q is not json or text", c.LogFormat))
	}
	if c.RateLimit < 0 || c.RateBurst < 0 {
		errs = append(errs, errors.New("rate limit and burst must not be negative"))
	}
	if c.MaxBodyBytes <= 0 || c.MaxUploadBytes <= 0 {
		errs = append(errs, errors.New("body and upload limits must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown timeout must be positive"))
	}
	if c.ProvinceName == "" {
		c.ProvinceName = "Tỉnh Thái An (Demo)" // the demo province; set it in production
	}
	if c.PortalDeskAgency == "" && c.PortalDeskUnit == "" {
		// The demo province's public service center and its desk.
		c.PortalDeskAgency, c.PortalDeskUnit = "000.00.13.H99", "000.01.13.H99"
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return c.loadSecret()
}

// Embedded reports whether the database is the embedded SQLite one.
func (c *Config) Embedded() bool {
	return !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Secret returns the decoded secret key.
func (c *Config) Secret() []byte {
	b, _ := hex.DecodeString(c.SecretKey)
	return b
}

// loadSecret uses CONGSO_SECRET_KEY, or a key kept in the data folder (created on
// first start), so CSRF tokens stay valid across restarts of a single node. Several
// nodes must share CONGSO_SECRET_KEY.
func (c *Config) loadSecret() error {
	if c.SecretKey != "" {
		b, err := hex.DecodeString(c.SecretKey)
		if err != nil || len(b) < 32 {
			return errors.New("CONGSO_SECRET_KEY must be at least 64 hex digits (32 bytes)")
		}
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		c.SecretKey = strings.TrimSpace(string(b))
		if k, err := hex.DecodeString(c.SecretKey); err != nil || len(k) < 32 {
			return fmt.Errorf("%s is damaged: delete it to make a new key", path)
		}
		return nil
	}
	if !c.Embedded() {
		return errors.New("CONGSO_SECRET_KEY is required with PostgreSQL (all nodes must share it); make one with: openssl rand -hex 32")
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return err
	}
	c.SecretKey = hex.EncodeToString(k[:])
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if err := os.WriteFile(path, []byte(c.SecretKey+"\n"), 0o600); err != nil {
		return fmt.Errorf("save secret key: %w", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
