package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/h1"
	"github.com/congso/congso/internal/platform/outbox"
)

// gatewayParts are the integration platform's pieces in this process: the
// registry (always, for its admin pages and API), pub/sub (always), and the
// runtime with its message log when this node is a gateway
// (CONGSO_GATEWAY_INSTANCE set).
type gatewayParts struct {
	GatewayManager *gateway.Manager
	GatewayPubSub  *gateway.PubSub
	GatewayRuntime *gateway.Runtime
	gatewayTLS     *tls.Config
	gatewayCert    *gateway.CertFile // reloaded when its files change
	gatewayAddr    string
	gatewayBound   atomic.Value // string: the listener's address once listening
}

// GatewayAddr is the address the gateway listens on, once it does ("" before).
func (a *App) GatewayAddr() string {
	s, _ := a.gatewayBound.Load().(string)
	return s
}

// Actions of the gateway, granted to system administrators.
var (
	ActionGatewayAdmin   = identity.DefineAction(gateway.ActionAdmin, identity.RoleSysadmin)
	ActionGatewayLogRead = identity.DefineAction(gateway.ActionLogRead, identity.RoleSysadmin)
)

// GatewaySettings are the CONGSO_GATEWAY_* settings (docs/gateway.md).
type GatewaySettings struct {
	Instance, Node, Addr      string
	TLSCert, TLSKey, ClientCA string // file paths
	SigningKey                string // file path or PEM
	SignInterval, Poll        time.Duration
	HandoffPublisher          string // subsystem publishing the dossier events (CONGSO_GATEWAY_HANDOFF_PUBLISHER)
	BodyTimeout               time.Duration
	MaxBody                   int64
	BreakerFailures           int
	BreakerCooldown           time.Duration
	// Time-stamping of the message log (CONGSO_GATEWAY_TSA_*).
	TSAURL, TSACA         string // URL; CA bundle file or PEM
	TSAInterval, TSAGrace time.Duration
	// OCSP checks client certificates' status: auto, required or off
	// (CONGSO_GATEWAY_OCSP).
	OCSP string
	// Journal is the message log's journal folder
	// (CONGSO_GATEWAY_JOURNAL_DIR; "" for the data folder's
	// gateway-journal, "off" for none).
	Journal string
	// EventRetention is how long delivered pub/sub events are kept
	// (CONGSO_GATEWAY_EVENT_RETENTION; default gateway.DefaultRetention).
	EventRetention time.Duration
	// TokenAudience must be among a bearer token's audiences
	// (CONGSO_GATEWAY_TOKEN_AUDIENCE, default DefaultGatewayAudience): a
	// token the SSO issued for another resource server does not open the
	// gateway.
	TokenAudience string
	// WebhookHTTP lets pub/sub subscriptions name plain http webhooks on
	// other machines (CONGSO_GATEWAY_WEBHOOK_HTTP=allow; default: https
	// only, http on loopback).
	WebhookHTTP bool
}

// DefaultGatewayAudience is the audience of the gateway's bearer tokens
// unless CONGSO_GATEWAY_TOKEN_AUDIENCE says otherwise: OAuth clients of
// the SSO are registered with it, and ask for it (audience=lgsp).
const DefaultGatewayAudience = "lgsp"

// GatewaySettingsFromEnv reads the CONGSO_GATEWAY_* variables.
func GatewaySettingsFromEnv(getenv func(string) string) (GatewaySettings, error) {
	s := GatewaySettings{Instance: getenv("CONGSO_GATEWAY_INSTANCE"), Node: getenv("CONGSO_GATEWAY_NODE"),
		Addr: getenv("CONGSO_GATEWAY_ADDR"), TLSCert: getenv("CONGSO_GATEWAY_TLS_CERT"), TLSKey: getenv("CONGSO_GATEWAY_TLS_KEY"),
		ClientCA: getenv("CONGSO_GATEWAY_CLIENT_CA"), SigningKey: getenv("CONGSO_GATEWAY_SIGNING_KEY"),
		HandoffPublisher: getenv("CONGSO_GATEWAY_HANDOFF_PUBLISHER"),
		TSAURL:           getenv("CONGSO_GATEWAY_TSA_URL"), TSACA: getenv("CONGSO_GATEWAY_TSA_CA"), OCSP: getenv("CONGSO_GATEWAY_OCSP"),
		Journal: getenv("CONGSO_GATEWAY_JOURNAL_DIR"), TokenAudience: getenv("CONGSO_GATEWAY_TOKEN_AUDIENCE")}
	if s.TokenAudience == "" {
		s.TokenAudience = DefaultGatewayAudience
	}
	var errs []error
	switch v := getenv("CONGSO_GATEWAY_WEBHOOK_HTTP"); v {
	case "":
	case "allow":
		s.WebhookHTTP = true
	default:
		errs = append(errs, fmt.Errorf("CONGSO_GATEWAY_WEBHOOK_HTTP: %q is not \"allow\" (or unset: webhooks must be https)", v))
	}
	if s.Addr == "" {
		s.Addr = ":8443"
	}
	if s.Node == "" {
		s.Node, _ = os.Hostname()
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"CONGSO_GATEWAY_SIGN_INTERVAL", &s.SignInterval}, {"CONGSO_GATEWAY_POLL_INTERVAL", &s.Poll},
		{"CONGSO_GATEWAY_BODY_TIMEOUT", &s.BodyTimeout}, {"CONGSO_GATEWAY_BREAKER_COOLDOWN", &s.BreakerCooldown},
		{"CONGSO_GATEWAY_TSA_INTERVAL", &s.TSAInterval}, {"CONGSO_GATEWAY_TSA_GRACE", &s.TSAGrace},
		{"CONGSO_GATEWAY_EVENT_RETENTION", &s.EventRetention}} {
		if v := getenv(d.key); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", d.key, v))
			}
			*d.dst = x
		}
	}
	for _, d := range []struct {
		key string
		set func(int64)
	}{{"CONGSO_GATEWAY_MAX_BODY", func(n int64) { s.MaxBody = n }}, {"CONGSO_GATEWAY_BREAKER_FAILURES", func(n int64) { s.BreakerFailures = int(n) }}} {
		if v := getenv(d.key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive number", d.key, v))
			}
			d.set(n)
		}
	}
	if s.Instance != "" && s.SigningKey == "" {
		errs = append(errs, errors.New("CONGSO_GATEWAY_SIGNING_KEY is required on a gateway node (congso gateway keygen makes one)"))
	}
	switch s.OCSP {
	case "", "auto", "required", "off":
	default:
		errs = append(errs, fmt.Errorf("CONGSO_GATEWAY_OCSP: %q is not auto, required or off", s.OCSP))
	}
	if (s.TSAURL == "") != (s.TSACA == "") {
		errs = append(errs, errors.New("CONGSO_GATEWAY_TSA_URL and CONGSO_GATEWAY_TSA_CA go together (the TSA and the CA its certificate chains to)"))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("CONGSO_GATEWAY_TLS_CERT and CONGSO_GATEWAY_TLS_KEY go together"))
	}
	return s, errors.Join(errs...)
}

var (
	gatewayMetricsOnce sync.Once
	gatewayMetrics     *gateway.Metrics
	gatewayMetricsErr  error
)

// processGatewayMetrics registers the gateway's Prometheus metrics once per
// process (tests build several apps) and shares them.
func processGatewayMetrics() (*gateway.Metrics, error) {
	gatewayMetricsOnce.Do(func() { gatewayMetrics, gatewayMetricsErr = gateway.NewMetrics(nil) })
	return gatewayMetrics, gatewayMetricsErr
}

// pemOrFile is value itself when it holds a PEM block, else the file it names.
func pemOrFile(v string) ([]byte, error) {
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	return os.ReadFile(v)
}

func (a *App) initGateway(ctx context.Context) error {
	s, err := GatewaySettingsFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if err := a.initTracing(ctx); err != nil {
		return err
	}
	a.GatewayManager = gateway.NewManager(gateway.NewStore(a.DB, nil), nil)
	a.GatewayPubSub = gateway.NewPubSub(a.DB, gateway.PubSubConfig{Retention: s.EventRetention, AllowHTTP: s.WebhookHTTP})
	a.workers = append(a.workers, worker{name: "gateway-pubsub", run: a.GatewayPubSub.Run})
	if s.Instance == "" {
		if a.Cfg.Role == "gateway" {
			return errors.New("gateway: role gateway needs CONGSO_GATEWAY_INSTANCE")
		}
		return nil
	}
	keyPEM, err := pemOrFile(s.SigningKey)
	if err != nil {
		return fmt.Errorf("gateway signing key: %w", err)
	}
	key, err := gateway.ParseKeyPEM(keyPEM)
	if err != nil {
		return fmt.Errorf("gateway signing key: %w", err)
	}
	lc := gateway.LogConfig{Node: s.Node, Key: key, SignInterval: s.SignInterval, Logger: a.Log}
	switch s.Journal {
	case "off":
	case "":
		lc.JournalDir = filepath.Join(a.Cfg.DataDir, "gateway-journal")
	default:
		lc.JournalDir = s.Journal
	}
	if s.TSAURL != "" {
		caPEM, err := pemOrFile(s.TSACA)
		if err != nil {
			return fmt.Errorf("gateway TSA CA: %w", err)
		}
		roots, err := gateway.ParseCertsPEM(caPEM)
		if err != nil {
			return fmt.Errorf("gateway TSA CA: %w", err)
		}
		lc.TSA = &gateway.TSAConfig{URL: s.TSAURL, Roots: roots, Interval: s.TSAInterval, Grace: s.TSAGrace}
	}
	ml, err := gateway.NewMessageLog(a.DB, lc)
	if err != nil {
		return fmt.Errorf("gateway message log: %w", err)
	}
	metrics, err := processGatewayMetrics()
	if err != nil {
		return fmt.Errorf("gateway metrics: %w", err)
	}
	cfg := gateway.Config{Instance: s.Instance, Node: s.Node, Log: ml, Metrics: metrics, PubSub: a.GatewayPubSub,
		PollInterval: s.Poll, MaxBodyBytes: s.MaxBody, BodyTimeout: s.BodyTimeout, BreakerFailures: s.BreakerFailures,
		BreakerCooldown: s.BreakerCooldown, Logger: a.Log, OCSP: s.OCSP,
		Tokens: &gatewayTokens{v: oidc.NewVerifier(oidc.VerifierConfig{Issuer: a.OIDC.Config().Issuer,
			Keys: a.OIDC.Keys().PublicKeys, Audience: s.TokenAudience}), store: a.GatewayManager.Store()}}
	if s.ClientCA != "" {
		pem, err := os.ReadFile(s.ClientCA)
		if err != nil {
			return fmt.Errorf("CONGSO_GATEWAY_CLIENT_CA: %w", err)
		}
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("CONGSO_GATEWAY_CLIENT_CA: no certificate in %s", s.ClientCA)
		}
	}
	if s.TLSCert != "" {
		cert, err := gateway.LoadCertFile(s.TLSCert, s.TLSKey)
		if err != nil {
			return err
		}
		a.gatewayCert, a.gatewayTLS = cert, cert.ServerConfig()
		cfg.PeerTransport = gateway.NewTransport(cert.ClientConfig(cfg.ClientCAs))
	}
	if a.tracer != nil {
		cfg.Transport = traceTransport(gateway.NewTransport(nil), a.tracer)
		if cfg.PeerTransport != nil {
			cfg.PeerTransport = traceTransport(cfg.PeerTransport, a.tracer)
		}
	}
	a.GatewayRuntime, err = gateway.NewRuntime(ctx, a.DB, cfg)
	if err != nil {
		return fmt.Errorf("gateway runtime: %w", err)
	}
	a.GatewayManager.OnChange(a.GatewayRuntime.Changed)
	a.gatewayAddr = s.Addr
	if s.HandoffPublisher != "" {
		return a.publishHandoffs(ctx, s.HandoffPublisher)
	}
	return nil
}

// HandoffTopic is the gateway topic on which the province's one-stop
// system publishes every change of its dossiers (reception, each step,
// inter-agency branches, results): the agencies' own systems subscribe
// with a webhook and act on the events of their units (the event's
// "unit" is the unit now holding the dossier). Events carry no personal
// data; subscribers read more through the gateway.
const HandoffTopic = "dossier-events"

// publishHandoffs publishes the dossier events to HandoffTopic as the
// subsystem publisher (CONGSO_GATEWAY_HANDOFF_PUBLISHER), once per event
// (the idempotency key is the dossier, its version and the event kind).
func (a *App) publishHandoffs(ctx context.Context, publisher string) error {
	pub, err := gateway.ParseSubsystemID(publisher)
	if err != nil {
		return fmt.Errorf("CONGSO_GATEWAY_HANDOFF_PUBLISHER: %w", err)
	}
	if err := a.GatewayPubSub.PutTopic(ctx, gateway.Topic{Code: HandoffTopic, Owner: pub.String(),
		Title: "Hồ sơ thủ tục hành chính: tiếp nhận, chuyển xử lý, kết quả"}); err != nil {
		return fmt.Errorf("gateway topic %s: %w", HandoffTopic, err)
	}
	handler := func(ctx context.Context, ev outbox.Event) error {
		var de dossier.Event
		if err := ev.Decode(&de); err != nil {
			return err
		}
		body, err := json.Marshal(struct {
			Kind string `json:"kind"`
			dossier.Event
		}{ev.Topic, de})
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s:%d:%s:%d", de.Code, de.Version, ev.Topic, ev.ID)
		_, _, err = a.GatewayPubSub.Publish(ctx, HandoffTopic, pub, key, "application/json", body)
		return err
	}
	for _, topic := range []string{dossier.TopicReceived, dossier.TopicTransition, dossier.TopicResultAdded} {
		a.Outbox.Subscribe(topic, "gateway.handoff", handler)
	}
	return nil
}

func (a *App) routeGateway(mux *http.ServeMux) error {
	h, err := gateway.NewHandlers(gateway.HandlerConfig{Manager: a.GatewayManager, DB: a.DB, Runtime: a.GatewayRuntime,
		PubSub: a.GatewayPubSub, Authorizer: principalAuthorizer{}, Shell: a.Shell,
		Actor: func(r *http.Request) string {
			if p := identity.PrincipalFrom(r.Context()); p.Authenticated() {
				return p.PersonID
			}
			return ""
		}})
	if err != nil {
		return err
	}
	h.Routes(mux)
	a.Shell.AddNav(gateway.NavItems()...)
	return nil
}

// serveGateway runs the gateway's own listener (TLS with client
// certificates when a certificate is configured) and its runtime loop
// until ctx ends.
func (a *App) serveGateway(ctx context.Context) error {
	if a.Cfg.Role == "gateway" {
		// Only the gateway in this process: collect less often (GOGC).
		a.Log.Info("gateway-only node", "gogc", gateway.TuneGC())
	}
	ln, err := net.Listen("tcp", a.gatewayAddr)
	if err != nil {
		return fmt.Errorf("gateway listen on %s: %w", a.gatewayAddr, err)
	}
	a.gatewayBound.Store(ln.Addr().String())
	if a.gatewayTLS != nil {
		ln = tls.NewListener(ln, a.gatewayTLS)
	} else {
		a.Log.Warn("gateway listens without TLS: client certificates are impossible, only bearer tokens (put a TLS terminator in front only if it forwards no client identity)", "addr", ln.Addr().String())
	}
	var h http.Handler = a.GatewayRuntime
	if a.tracer != nil {
		h = traceGateway(h, a.tracer)
	}
	// The data plane runs on h1, a lean HTTP/1.1 server: net/http's costs
	// most of a small exchange's CPU (docs/gateway.md, "Performance").
	// (each exchange moves its write deadline to its service's time limit;
	// WriteTimeout bounds the metadata services and publishing)
	srv := &h1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, WriteTimeout: 15 * time.Minute,
		MaxHeaderBytes: 64 << 10, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ProtocolError: gateway.ProtocolError, Logger: a.Log}
	a.Log.Info("gateway listening", "addr", ln.Addr().String(), "tls", a.gatewayTLS != nil)
	// The runtime (registry polls, the message log's writer) stops only
	// after the server: the exchanges still running at shutdown append
	// their records to a log that is still there.
	rctx, stopRuntime := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuntime()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.GatewayRuntime.Run(rctx); err != nil && !errors.Is(err, context.Canceled) {
			a.Log.Error("gateway runtime stopped", "err", err)
		}
	}()
	if a.gatewayCert != nil {
		// A renewed certificate is taken up within a minute, no restart.
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.gatewayCert.Watch(rctx, time.Minute, a.Log)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), a.Cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopRuntime()
	wg.Wait()
	if errors.Is(err, h1.ErrServerClosed) {
		err = nil
	}
	return err
}

// OAuthBindingFingerprint is the registry key that binds an OAuth client of
// the province's SSO to a gateway subsystem: a certificate binding whose
// "fingerprint" is the SHA-256 of "oauth-client:" + the client ID (`congso
// gateway bind-client` writes it).
func OAuthBindingFingerprint(clientID string) string {
	sum := sha256.Sum256([]byte("oauth-client:" + clientID))
	return hex.EncodeToString(sum[:])
}

// gatewayTokens lets systems call the gateway with access tokens of the
// province's SSO: a client-credentials token whose OAuth client is bound
// to a subsystem in the registry (see OAuthBindingFingerprint).
type gatewayTokens struct {
	v     *oidc.Verifier
	store *gateway.Store

	mu    sync.Mutex
	rev   int64
	bound map[string]string // binding fingerprint → owner
	read  time.Time
}

func (g *gatewayTokens) VerifyToken(ctx context.Context, raw string) (gateway.ClientID, error) {
	tok, err := g.v.Verify(ctx, raw)
	if err != nil {
		return gateway.ClientID{}, err
	}
	if tok.Kind != "client" {
		return gateway.ClientID{}, errors.New("not a system's token (client credentials)")
	}
	sub, err := g.subsystem(ctx, tok.ClientID)
	if err != nil {
		return gateway.ClientID{}, err
	}
	return gateway.ParseSubsystemID(sub)
}

func (g *gatewayTokens) subsystem(ctx context.Context, clientID string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.read) > time.Second {
		rev, _, err := g.store.Revision(ctx)
		if err != nil {
			return "", err
		}
		if rev != g.rev || g.bound == nil {
			reg, err := g.store.Load(ctx)
			if err != nil {
				return "", err
			}
			g.bound = map[string]string{}
			for _, c := range reg.Certificates {
				g.bound[c.Fingerprint] = c.Owner
			}
			g.rev = reg.Revision
		}
		g.read = time.Now()
	}
	sub, ok := g.bound[OAuthBindingFingerprint(clientID)]
	if !ok || strings.HasPrefix(sub, gateway.PeerPrefix) {
		return "", fmt.Errorf("OAuth client %q is bound to no subsystem", clientID)
	}
	return sub, nil
}
