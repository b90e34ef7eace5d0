package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Health is the outcome of one doctor check.
type Health string

// The outcomes, from good to bad.
const (
	OK   Health = "ok"
	Warn Health = "warn"
	Fail Health = "fail"
)

// Check is one line of the doctor's report.
type Check struct {
	Name   string `json:"name"`
	Health Health `json:"health"`
	Detail string `json:"detail"`
}

// DoctorConfig says what Doctor checks.
type DoctorConfig struct {
	DB *db.DB
	// Certificate is the gateway's own TLS certificate chain (leaf first);
	// Roots verifies it (nil: the system roots).
	Certificate []*x509.Certificate
	Roots       *x509.CertPool
	// Runtime, when set, gives the node's configuration age.
	Runtime *Runtime
	// PeerClient reaches peers (with the gateway's client certificate);
	// nil: http.DefaultClient.
	PeerClient *http.Client
	// Instance is this gateway's instance: peers are asked for
	// /listClients in the name of a client of it, as calls come, so that a
	// peer not trusting this gateway's certificate shows.
	Instance string
	// MaxSkew is the clock difference with a peer that fails (default 5 s;
	// a fifth of it warns).
	MaxSkew time.Duration
	// ExpiryWarning warns about certificates expiring sooner (30 days).
	ExpiryWarning time.Duration
	// PollInterval is the nodes' registry poll (CONGSO_GATEWAY_POLL_INTERVAL;
	// default: the Runtime's, else 1 s): a node without a heartbeat for five
	// polls (at least 10 s) is reported.
	PollInterval time.Duration
	// TSA, when set, is asked for a test stamp (reachability, its
	// certificate chain, its clock).
	TSA *TSAConfig
	// JournalDir and Node, when set, name this node's message log
	// journal: records waiting in it for the database, and damaged
	// segments kept aside, are reported.
	JournalDir, Node string
	// WebhookHTTP: plain http webhooks on other machines are allowed
	// (CONGSO_GATEWAY_WEBHOOK_HTTP=allow); without it, those made before
	// the rule are reported.
	WebhookHTTP bool
	Now         func() time.Time
}

// Doctor checks what makes a gateway fail quietly: certificates (its own
// and the registered ones) near or past expiry or with a broken chain, the
// clock against every peer, peers' reachability, the database, and the age
// of the configuration this node serves (`congso gateway doctor`).
func Doctor(ctx context.Context, cfg DoctorConfig) []Check {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Second
	}
	if cfg.ExpiryWarning <= 0 {
		cfg.ExpiryWarning = 30 * 24 * time.Hour
	}
	if cfg.PeerClient == nil {
		cfg.PeerClient = http.DefaultClient
	}
	now := cfg.Now()
	var out []Check
	add := func(name string, h Health, format string, args ...any) {
		out = append(out, Check{Name: name, Health: h, Detail: fmt.Sprintf(format, args...)})
	}
	expiry := func(name string, notAfter time.Time) {
		switch left := notAfter.Sub(now); {
		case left <= 0:
			add(name, Fail, "expired on %s", notAfter.UTC().Format(time.RFC3339))
		case left < cfg.ExpiryWarning:
			add(name, Warn, "expires in %d days (%s)", int(left.Hours()/24), notAfter.UTC().Format("2006-01-02"))
		default:
			add(name, OK, "valid until %s", notAfter.UTC().Format("2006-01-02"))
		}
	}
	if len(cfg.Certificate) > 0 {
		leaf := cfg.Certificate[0]
		expiry("gateway certificate", leaf.NotAfter)
		inter := x509.NewCertPool()
		for _, c := range cfg.Certificate[1:] {
			inter.AddCert(c)
		}
		// It serves TLS to clients and is presented to peers as a client:
		// the chain must allow both.
		var bad []string
		for _, u := range []struct {
			usage x509.ExtKeyUsage
			as    string
		}{{x509.ExtKeyUsageServerAuth, "server (serverAuth)"}, {x509.ExtKeyUsageClientAuth, "client toward peers (clientAuth)"}} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: cfg.Roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{u.usage}}); err != nil {
				bad = append(bad, fmt.Sprintf("as a %s: %v", u.as, err))
			}
		}
		if len(bad) > 0 {
			add("gateway certificate chain", Fail, "%s", strings.Join(bad, "; "))
		} else {
			add("gateway certificate chain", OK, "verified for server and client use")
		}
		for _, c := range cfg.Certificate[1:] {
			if c.NotAfter.Sub(now) < cfg.ExpiryWarning {
				expiry("intermediate "+c.Subject.CommonName, c.NotAfter)
			}
		}
	}
	if cfg.TSA != nil {
		st := &stamper{cfg: *cfg.TSA}
		if st.cfg.Client == nil {
			st.cfg.Client = &http.Client{Timeout: 15 * time.Second}
		}
		probe := sha256.Sum256([]byte("congso gateway doctor " + now.UTC().Format(time.RFC3339Nano)))
		t0 := cfg.Now()
		_, at, err := st.request(ctx, probe[:])
		if err != nil {
			add("time-stamp authority", Fail, "%v", err)
		} else {
			rtt := cfg.Now().Sub(t0)
			skew := at.Sub(t0.Add(rtt / 2)).Abs()
			h := OK
			if skew > cfg.MaxSkew+time.Second+rtt {
				h = Warn
			}
			add("time-stamp authority", h, "stamped in %s; its clock differs by about %s", rtt.Round(time.Millisecond), skew.Round(time.Millisecond))
		}
	}
	if cfg.DB == nil {
		return out
	}
	if err := cfg.DB.Ping(ctx); err != nil {
		add("database", Fail, "%v", err)
		return out
	}
	add("database", OK, "reachable (%s)", cfg.DB.Dialect())
	reg, err := NewStore(cfg.DB, cfg.Now).Load(ctx)
	if err != nil {
		add("registry", Fail, "%v", err)
		return out
	}
	for _, c := range reg.Certificates {
		if c.NotAfter.IsZero() {
			continue // not a certificate: an OAuth client's binding (no expiry)
		}
		expiry("certificate of "+c.Owner, c.NotAfter)
	}
	if cfg.Runtime != nil {
		rev, loaded := cfg.Runtime.Revision()
		age := now.Sub(cfg.Runtime.LastPoll())
		switch {
		case rev != reg.Revision && age > 10*cfg.Runtime.cfg.PollInterval:
			add("configuration age", Fail, "serving revision %d loaded %s; the database is at %d and the last successful poll was %s ago", rev, loaded.UTC().Format(time.RFC3339), reg.Revision, age.Round(time.Second))
		case age > 10*cfg.Runtime.cfg.PollInterval:
			add("configuration age", Warn, "last successful poll %s ago", age.Round(time.Second))
		default:
			add("configuration age", OK, "revision %d, changed %s, checked %s ago", reg.Revision, reg.ChangedAt.UTC().Format(time.RFC3339), age.Round(time.Millisecond))
		}
	} else {
		add("configuration age", OK, "revision %d, changed %s", reg.Revision, reg.ChangedAt.UTC().Format(time.RFC3339))
	}
	// Nodes that stopped sending heartbeats: a node down, or one whose
	// database access broke; either way the others took its share.
	poll := cfg.PollInterval
	if poll <= 0 && cfg.Runtime != nil {
		poll = cfg.Runtime.cfg.PollInterval
	}
	if poll <= 0 {
		poll = time.Second
	}
	if nodes, err := NewStore(cfg.DB, cfg.Now).Nodes(ctx, nodeLiveFor(poll)); err != nil {
		add("gateway nodes", Fail, "%v", err)
	} else if len(nodes) > 0 {
		var gone, dup []string
		live := 0
		for _, n := range nodes {
			switch {
			case n.Live:
				live++
			case !n.Reporting:
				gone = append(gone, fmt.Sprintf("%s (last seen %s)", n.Node, n.SeenAt.UTC().Format(time.RFC3339)))
			} // (reporting but not live: a clock behind, below)
			if n.Duplicate {
				dup = append(dup, n.Node)
			}
		}
		switch {
		case len(dup) > 0:
			add("gateway nodes", Fail, "two processes run as %s: their message logs collide; give each node its own CONGSO_GATEWAY_NODE", strings.Join(dup, ", "))
		case len(gone) > 0:
			add("gateway nodes", Warn, "%d up; not seen lately: %s (congso gateway retire NODE takes off one that is gone for good)", live, strings.Join(gone, ", "))
		default:
			add("gateway nodes", OK, "%d up", live)
		}
		// The nodes' clocks against the database server's (quota windows,
		// concurrency slots and the message log's times are shared).
		var far []string
		worst := time.Duration(0)
		for _, n := range nodes {
			if !n.Live && !n.Reporting {
				continue
			}
			if d := n.ClockSkew.Abs(); d > time.Second {
				far = append(far, fmt.Sprintf("%s %+.1fs", n.Node, n.ClockSkew.Seconds()))
				worst = max(worst, d)
			}
		}
		switch {
		case worst > cfg.MaxSkew:
			add("node clocks", Fail, "differ from the database server's clock: %s (set up NTP on every node)", strings.Join(far, ", "))
		case worst > 0:
			add("node clocks", Warn, "differ from the database server's clock: %s", strings.Join(far, ", "))
		case live > 0:
			add("node clocks", OK, "within 1 s of the database server's clock")
		}
	}
	if cfg.JournalDir != "" && cfg.Node != "" {
		st, h := journalHealth(ctx, cfg.DB, cfg.JournalDir, cfg.Node)
		add("message log journal", h, "%s", st)
	}
	if plain, err := plainWebhooks(ctx, cfg.DB); err != nil {
		add("webhooks", Fail, "%v", err)
	} else if len(plain) > 0 && !cfg.WebhookHTTP {
		add("webhooks", Warn, "subscriptions %s deliver personal data over plain http to another machine: subscribe their https URL instead (or set CONGSO_GATEWAY_WEBHOOK_HTTP=allow)", strings.Join(plain, ", "))
	}
	for _, p := range reg.Peers {
		name := "peer " + p.Instance
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		req, _ := http.NewRequestWithContext(pctx, http.MethodGet, p.URL+"/listClients", nil)
		if cfg.Instance != "" {
			req.Header.Set(HeaderClient, cfg.Instance+"/GOV/congso-doctor/probe")
		}
		t0 := cfg.Now()
		resp, err := cfg.PeerClient.Do(req)
		cancel()
		if err != nil {
			add(name, Fail, "unreachable: %v", err)
			continue
		}
		resp.Body.Close()
		rtt := cfg.Now().Sub(t0)
		switch code := resp.StatusCode; {
		case code < 300:
			add(name, OK, "reachable in %s (HTTP %d)", rtt.Round(time.Millisecond), code)
		case (code == http.StatusUnauthorized || code == http.StatusForbidden) && cfg.Instance == "":
			add(name, Warn, "reachable (HTTP %d); whether it trusts this gateway's certificate is not known without the instance", code)
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			add(name, Fail, "reachable, but it refuses this gateway's certificate (HTTP %d): is the certificate registered there for instance %s?", code, cfg.Instance)
		case code >= 500:
			add(name, Fail, "reachable, but failing (HTTP %d)", code)
		default:
			add(name, Warn, "reachable, but answers HTTP %d to /listClients: is the URL its gateway's?", code)
		}
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			add("clock vs "+p.Instance, Warn, "the peer sent no Date header")
			continue
		}
		// Date has a one-second resolution: allow it plus the round trip.
		skew := date.Sub(t0.Add(rtt / 2))
		if skew < 0 {
			skew = -skew
		}
		slack := time.Second + rtt
		switch {
		case skew > cfg.MaxSkew+slack:
			add("clock vs "+p.Instance, Fail, "differs by about %s", skew.Round(time.Second))
		case skew > cfg.MaxSkew/5+slack:
			add("clock vs "+p.Instance, Warn, "differs by about %s", skew.Round(time.Second))
		default:
			add("clock vs "+p.Instance, OK, "within %s", slack.Round(time.Millisecond))
		}
	}
	return out
}

// plainWebhooks lists the live subscriptions (by id) whose webhook is
// plain http on another machine.
func plainWebhooks(ctx context.Context, d *db.DB) ([]string, error) {
	// (the scheme is judged in Go: LIKE is case-sensitive on PostgreSQL
	// and not on SQLite, and HTTP:// is http)
	rows, err := d.Read().QueryContext(ctx, `SELECT id, url FROM gateway_subscriptions WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("gateway subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("gateway subscriptions: %w", err)
		}
		if u, err := url.Parse(raw); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			out = append(out, strconv.FormatInt(id, 10))
		}
	}
	return out, rows.Err()
}
