package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// TokenVerifier checks an OAuth2 bearer token and returns the subsystem it
// was issued to. The SSO module provides one; any error means 401.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (ClientID, error)
}

// Config configures a [Runtime]. Zero values take the defaults shown.
type Config struct {
	// Instance is this gateway's X-Road instance (CONGSO_GATEWAY_INSTANCE);
	// services of other instances go to the peer registered for theirs.
	Instance string
	// Node names this node in the message log (CONGSO_GATEWAY_NODE;
	// default: the host name).
	Node string
	// ClientCAs verifies client certificates presented over TLS
	// (CONGSO_GATEWAY_CLIENT_CA). Nil: certificates are not accepted.
	ClientCAs *x509.CertPool
	// OCSP is how client certificates' status is checked (ocsp.go, and
	// crl.go for certificates naming CRL distribution points but no
	// responder): "auto" (those that name a responder or a list; the
	// default), "required" or "off" (CONGSO_GATEWAY_OCSP). OCSPClient asks
	// the responders and fetches the lists (5 s timeout for responders,
	// 30 s for lists).
	OCSP       string
	OCSPClient *http.Client
	// Tokens verifies bearer tokens; nil: tokens are not accepted.
	Tokens TokenVerifier
	// PollInterval is how often the registry revision is read (1 s).
	PollInterval time.Duration
	// MaxBodyBytes bounds request bodies unless a service sets its own
	// (CONGSO_GATEWAY_MAX_BODY, default 1 GiB).
	MaxBodyBytes int64
	// BodyTimeout bounds the time to receive a request body
	// (CONGSO_GATEWAY_BODY_TIMEOUT, default 10 min).
	BodyTimeout time.Duration
	// BreakerFailures consecutive failures open a service's circuit (5)
	// for BreakerCooldown (10 s).
	BreakerFailures int
	BreakerCooldown time.Duration
	// Transport reaches backends; PeerTransport reaches peer gateways (it
	// must present this gateway's client certificate). Defaults: a
	// [DirectTransport] (GET and HEAD to http backends on the handler's
	// goroutine) over a tuned http.Transport, for both.
	Transport     http.RoundTripper
	PeerTransport http.RoundTripper
	// Log records every exchange; nil records nothing.
	Log *MessageLog
	// Metrics exports per-service metrics; nil exports none.
	Metrics *Metrics
	// PubSub stores events published with POST /pubsub/{topic}; nil
	// disables publishing.
	PubSub *PubSub
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Runtime is the gateway's data plane: an http.Handler serving the X-Road
// REST profile (/r1/...), the X-Road SOAP profile 4.0 (POST / and POST
// /soap, soap.go) and the metadata services (/listClients and the
// listMethods, allowedMethods and getOpenAPI service codes), from an
// in-memory snapshot of the registry that Run keeps current. Both profiles
// share one pipeline ([Runtime.call]): service and version lookup, access
// check, quota, circuit breaker, proxying, message log and metrics.
type Runtime struct {
	cfg     Config
	store   *Store
	snap    atomic.Pointer[snapshot]
	quotas  *quotaLimiter
	proxy   *httputil.ReverseProxy
	reload  chan struct{}
	polled  atomic.Int64 // unix nanos of the last successful poll
	brMu    sync.Mutex
	breaker map[string]*breaker
	conc    sync.Map // client|service → *atomic.Int64
	certMu  sync.Mutex
	certOK  map[string]certOK // fingerprint → verified chain
	started time.Time
	// process identifies this process on the heartbeat row; beats counts
	// its heartbeats (Run's goroutine).
	process string
	beats   int
	cluster atomic.Pointer[cluster] // the live nodes, for concurrency shares
	ocsp    *ocspChecker
}

// NewRuntime loads the registry from d and returns the runtime. Call Run to
// follow registry changes and to flush the message log.
func NewRuntime(ctx context.Context, d *db.DB, cfg Config) (*Runtime, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 30
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 10 * time.Minute
	}
	if cfg.BreakerFailures <= 0 {
		cfg.BreakerFailures = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = NewDirectTransport(NewTransport(nil))
	}
	if cfg.PeerTransport == nil {
		cfg.PeerTransport = cfg.Transport
	}
	rt := &Runtime{cfg: cfg, store: NewStore(d, cfg.Now), reload: make(chan struct{}, 1),
		breaker: map[string]*breaker{}, certOK: map[string]certOK{}, started: cfg.Now(), process: newID()}
	rt.cluster.Store(&cluster{n: 1})
	rt.quotas = newQuotaLimiter(d, cfg.Now)
	rt.ocsp = newOCSPChecker(cfg.OCSP, cfg.OCSPClient)
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      roundTripper{rt},
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	if err := rt.Reload(ctx); err != nil {
		return nil, err
	}
	return rt, nil
}

// NewTransport returns the transport used to reach backends and peers, with
// tls (nil: defaults) for https.
func NewTransport(tlsCfg *tls.Config) *http.Transport {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsCfg,
		ForceAttemptHTTP2:     false,
	}
	return t
}

// Reload reads the registry now and swaps the snapshot.
func (rt *Runtime) Reload(ctx context.Context) error {
	reg, err := rt.store.Load(ctx)
	if err != nil {
		return err
	}
	rt.snap.Store(newSnapshot(reg, rt.cfg.Now()))
	rt.polled.Store(rt.cfg.Now().UnixNano())
	return nil
}

// Changed asks Run to reload at once (the Manager's OnChange hook on the
// node that made the change).
func (rt *Runtime) Changed() {
	select {
	case rt.reload <- struct{}{}:
	default:
	}
}

// Revision returns the registry revision the node serves and when it loaded it.
func (rt *Runtime) Revision() (int64, time.Time) {
	s := rt.snap.Load()
	return s.reg.Revision, s.loadedAt
}

// Run polls the registry revision every PollInterval and reloads when it
// moved, cleans old quota windows, and runs the message log's writer, until
// ctx ends.
func (rt *Runtime) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if rt.cfg.Log != nil {
		wg.Add(1)
		go func() { defer wg.Done(); rt.cfg.Log.Run(ctx) }()
	}
	defer wg.Wait()
	defer rt.quotas.stop() // background quota leases
	t := time.NewTicker(rt.cfg.PollInterval)
	defer t.Stop()
	clean := time.NewTicker(time.Minute)
	defer clean.Stop()
	// The concurrency slots this node's former process held: its calls
	// are over. (Here, not in NewRuntime: a process that builds a runtime
	// without serving it, a worker publishing hand-offs under the same
	// node name, must not free a serving node's slots.)
	if err := rt.store.clearSlots(ctx, rt.cfg.Node); err != nil && ctx.Err() == nil {
		rt.cfg.Logger.Warn("gateway: free the former process's concurrency slots (they lapse with their time limit)", "err", err)
	}
	if err := rt.beat(ctx); err != nil && ctx.Err() == nil {
		rt.cfg.Logger.Warn("gateway: heartbeat", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clean.C:
			if err := rt.quotas.clean(ctx); err != nil && ctx.Err() == nil {
				rt.cfg.Logger.Warn("gateway: clean quota windows", "err", err)
			}
			continue
		case <-rt.reload:
		case <-t.C:
			if err := rt.beat(ctx); err != nil && ctx.Err() == nil {
				rt.cfg.Logger.Warn("gateway: heartbeat", "err", err)
			}
		}
		if err := rt.poll(ctx); err != nil && ctx.Err() == nil {
			rt.cfg.Logger.Warn("gateway: poll registry", "err", err)
		}
	}
}

func (rt *Runtime) poll(ctx context.Context) error {
	rev, _, err := rt.store.Revision(ctx)
	if err != nil {
		return err
	}
	if rev == rt.snap.Load().reg.Revision {
		rt.polled.Store(rt.cfg.Now().UnixNano())
		return nil
	}
	return rt.Reload(ctx)
}

// LastPoll returns when the node last confirmed its registry is current.
func (rt *Runtime) LastPoll() time.Time { return time.Unix(0, rt.polled.Load()) }

// exchange is one request in flight, carried in the request context.
type exchange struct {
	rt        *Runtime
	start     time.Time
	client    ClientID
	service   ServiceID
	cs        string // client.String()
	us        string // service.Unversioned().String()
	qkey      string // cs + "|" + us: quotas and concurrency
	svc       *Service
	version   Version
	target    *url.URL // backend or peer URL including the service path
	peer      bool
	path      string
	requestID string
	messageID string
	userID    string
	issue     string
	reqBody   *hashingReader
	respHash  *hashingReader
	errType   string
	// faultStatus is the status a fault this gateway answered stands for
	// (its REST status), even when the SOAP profile sent it as HTTP 500.
	faultStatus int
	// certUnchecked: the client's certificate status could not be had
	// (OCSP); the service's fail policy decides.
	certUnchecked bool
	// soap: the call came in the SOAP profile; faults are SOAP Faults and
	// the backend is reached at its URL as registered (no service path).
	soap    bool
	reqCap  *capture
	respCap *capture
	// clientGone: the client closed the connection before the answer.
	clientGone atomic.Bool
	// abort: the answer was cut short; the connection is to be broken.
	abort bool
	// answered: the backend or peer answered (takeAnswer took its answer).
	answered bool
	// w writes the answer to the client (set by pass).
	w         *statusWriter
	clientCtx context.Context
	// t0, sent and answer time the exchange on the monotonic clock (with
	// metrics on): its arrival, the call to the service or peer leaving,
	// and the answer's header arriving. What lies between sent and answer
	// is the service's time; the rest is the gateway's own.
	t0, sent, answer time.Time
	// conc is how admit counted the call against a concurrency limit:
	// concNone, concLocal (this node's share) or concSlot (slot, a row in
	// the database: slots.go).
	conc int8
	slot int64
}

type exchangeKey struct{}

// ServeHTTP serves /r1/..., /listClients, POST /pubsub/{topic} and SOAP
// requests (POST / and POST /soap).
func (rt *Runtime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newID()
	ex := &exchange{rt: rt, start: rt.cfg.Now(), requestID: requestID}
	if rt.cfg.Metrics != nil {
		ex.t0 = time.Now()
	}
	sw := &statusWriter{ResponseWriter: w}
	logged := false
	defer func() {
		if v := recover(); v != nil {
			if logged { // the break below, after the record
				panic(v)
			}
			// The answer was cut short (the service or the client failed
			// in the middle of the body: http.ErrAbortHandler), or a bug:
			// the exchange is logged as it went, then the server breaks
			// the connection.
			if ex.errType == "" {
				ex.errType = FaultServiceFailed
				if ex.clientGone.Load() || r.Context().Err() != nil {
					ex.errType = FaultCanceled
				}
			}
			rt.finish(r, ex, sw)
			panic(v)
		}
	}()
	if f := rt.serve(sw, r, ex); f != nil {
		ex.fail(sw, f)
	}
	rt.finish(r, ex, sw)
	logged = true
	if ex.abort {
		// The answer was cut short: break the connection, so that the
		// client cannot take what it got for the whole answer.
		panic(http.ErrAbortHandler)
	}
}

// fail answers f in the profile of the call and remembers it for the log.
func (ex *exchange) fail(w http.ResponseWriter, f *Fault) {
	ex.errType, ex.faultStatus = f.Type, f.Status
	if ex.soap {
		writeSOAPFault(w, f, ex.requestID)
		return
	}
	writeFault(w, f, ex.requestID)
}

// isSOAP reports whether r is a call in the SOAP profile.
func isSOAP(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/" || r.URL.Path == "/soap")
}

// serve reads a REST call (or hands a SOAP one to serveSOAP) up to a proven
// client and a named service, then runs the shared pipeline.
func (rt *Runtime) serve(w *statusWriter, r *http.Request, ex *exchange) *Fault {
	snap := rt.snap.Load()
	if isSOAP(r) {
		return rt.serveSOAP(w, r, snap, ex)
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/r1/")
	if r.URL.Path == "/listClients" || r.URL.Path == "/r1/listClients" {
		// X-Road-Client is optional; a peer gateway names a client of its
		// instance, as in its calls.
		client, f := rt.authenticate(r, snap, r.Header.Get(HeaderClient), ex)
		if f != nil {
			return f
		}
		if ex.certUnchecked {
			return certStatusFault() // no service: the default, fail-closed policy
		}
		ex.client, ex.cs = client, client.String()
		return rt.listClients(w, r, snap)
	}
	if topic, isPub := strings.CutPrefix(r.URL.Path, "/pubsub/"); isPub && ValidIDPart(topic) {
		return rt.publish(w, r, snap, topic)
	}
	if !ok {
		return fault(http.StatusNotFound, FaultBadRequest, "the path must start with /r1/ followed by a service identifier")
	}
	sid, path, err := SplitServicePath(rest)
	if err != nil {
		return fault(http.StatusBadRequest, FaultBadRequest, err.Error())
	}
	if !utf8Path(path) {
		return fault(http.StatusBadRequest, FaultBadRequest, "the service path is not valid")
	}
	for _, h := range []string{HeaderID, HeaderUserID, HeaderIssue} {
		if vs := r.Header.Values(h); len(vs) > 1 || (len(vs) == 1 && !ValidHeaderValue(vs[0])) {
			return fault(http.StatusBadRequest, FaultBadRequest, "header "+h+" must appear once, with at most 255 printable characters")
		}
	}
	ex.service, ex.path = sid, path
	ex.messageID, ex.userID, ex.issue = r.Header.Get(HeaderID), r.Header.Get(HeaderUserID), r.Header.Get(HeaderIssue)
	if ex.messageID == "" {
		ex.messageID = ex.requestID
	}
	client, f := rt.authenticate(r, snap, r.Header.Get(HeaderClient), ex)
	if f != nil {
		return f
	}
	ex.client, ex.cs = client, client.String()
	ex.us = sid.Unversioned().String()
	ex.qkey = ex.cs + "|" + ex.us
	switch sid.Code {
	case "listMethods", "allowedMethods", "getOpenAPI":
		// (another instance's provider: its peer gateway answers, as in
		// the SOAP profile)
		if sid.Version == "" && path == "" && sid.Provider.Instance == rt.cfg.Instance {
			if ex.certUnchecked {
				return certStatusFault() // no service: the default, fail-closed policy
			}
			return rt.metaservice(w, r, snap, ex)
		}
	}
	return rt.call(w, r, snap, ex)
}

// call is the pipeline both profiles share once ex names a proven client
// (ex.client, ex.cs), the service (ex.service, ex.us, ex.qkey), the service
// path (REST) and the X-Road ids: route to a peer, or find the service and
// its version, check the lifecycle, the access right, the quota and the
// circuit breaker, then proxy to the backend.
func (rt *Runtime) call(w *statusWriter, r *http.Request, snap *snapshot, ex *exchange) *Fault {
	sid, path, client := ex.service, ex.path, ex.client
	if sid.Provider.Instance != rt.cfg.Instance {
		if ex.certUnchecked {
			return certStatusFault()
		}
		return rt.forward(w, r, snap, ex)
	}
	svc := snap.services[ex.us]
	if svc == nil {
		return fault(http.StatusNotFound, FaultUnknownService, "no service "+ex.us+" is registered")
	}
	ex.svc = svc
	if ex.soap && svc.Kind != SOAP {
		return fault(http.StatusBadRequest, FaultBadRequest, "service "+ex.us+" is a REST service: call it at /r1/"+ex.us)
	}
	if !ex.soap && svc.Kind == SOAP {
		// In the REST profile the envelope would go to the service unread:
		// its xrd:client, which a SOAP provider acts on, never checked
		// against the authenticated client.
		return fault(http.StatusBadRequest, FaultBadRequest, "service "+ex.us+" is a SOAP service: call it in the SOAP profile (POST /)")
	}
	var v Version
	var ok bool
	if sid.Version != "" {
		v, ok = svc.Find(sid.Version)
	} else {
		v, ok = svc.Current()
	}
	if !ok && sid.Version == "" {
		for _, x := range svc.Versions {
			if x.Status == Retired {
				v, ok = x, true
			}
		}
	}
	switch {
	case !ok || v.Status == Draft:
		return fault(http.StatusNotFound, FaultUnknownService, "service "+sid.String()+" has no published version")
	case v.Status == Retired:
		return fault(http.StatusGone, FaultServiceDisabled, "version "+v.Version+" of "+sid.Unversioned().String()+" is retired")
	}
	ex.version = v
	if v.Status == Deprecated {
		w.Header().Set("Deprecation", "true")
		if v.SunsetAt != nil {
			w.Header().Set("Sunset", v.SunsetAt.UTC().Format(http.TimeFormat))
		}
	}
	plain := path
	if strings.IndexByte(path, '%') >= 0 {
		plain, _ = url.PathUnescape(path)
	}
	if !snap.allowed(ex.cs, ex.us, r.Method, plain, ex.start) {
		if ex.soap {
			return fault(http.StatusForbidden, FaultAccessDenied, "client "+client.String()+" has no access right to the SOAP service "+ex.us)
		}
		return fault(http.StatusForbidden, FaultAccessDenied, "client "+client.String()+" has no access right to "+r.Method+" "+sid.Unversioned().String()+orRoot(path))
	}
	// The circuit before the quota: a call refused because the service is
	// failing spends none of the client's quota.
	br := rt.breakerFor(ex.us + "/" + v.Version)
	if !br.allow(ex.start) {
		f := fault(http.StatusServiceUnavailable, FaultCircuitOpen, "service "+sid.String()+" is failing; calls are paused")
		f.RetryAfter = int(rt.cfg.BreakerCooldown / time.Second)
		return f
	}
	// Every call let through records a verdict, none when it goes no
	// further or panics: a half-open circuit's trial always ends.
	judged := noVerdict
	defer func() { br.record(judged, rt.cfg.Now(), rt.cfg.BreakerFailures, rt.cfg.BreakerCooldown) }()
	if f := rt.admit(r.Context(), snap, ex); f != nil {
		return f
	}
	defer rt.release(snap, ex)
	u := snap.backends[v.BackendURL]
	if u == nil {
		return fault(http.StatusInternalServerError, FaultClientInternal, "the service's backend URL is not valid")
	}
	ex.target = u
	judged = rt.pass(w, r, ex, svc.MaxBodyBytes, svc.Timeout)
	return nil
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// utf8Path reports whether the service path is acceptable: it unescapes,
// no segment is "." or ".." (escaped or not, or with ";parameters", which
// Java servers drop before resolving it), and it has no backslash (a
// separator to IIS), so that the backend sees the path the access check
// saw.
func utf8Path(p string) bool {
	u, err := url.PathUnescape(p)
	if err != nil || strings.IndexByte(u, '\\') >= 0 {
		return false
	}
	for _, seg := range strings.Split(u, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == ".." || seg == "." {
			return false
		}
	}
	return true
}

// forward sends a call for another instance's service to its peer gateway.
func (rt *Runtime) forward(w *statusWriter, r *http.Request, snap *snapshot, ex *exchange) *Fault {
	p, ok := snap.peers[ex.service.Provider.Instance]
	if !ok {
		return fault(http.StatusNotFound, FaultUnknownService, "no gateway is registered for instance "+ex.service.Provider.Instance)
	}
	target := p.URL + "/r1/" + ex.service.String()
	if ex.soap {
		target = p.URL + "/" // the peer's SOAP endpoint; the envelope names the service
	}
	u, err := url.Parse(target)
	if err != nil {
		return fault(http.StatusInternalServerError, FaultClientInternal, "the peer URL is not valid")
	}
	ex.target, ex.peer = u, true
	br := rt.breakerFor("peer:" + p.Instance)
	if !br.allow(ex.start) {
		f := fault(http.StatusServiceUnavailable, FaultPeerUnreachable, "gateway of "+p.Instance+" is failing; calls are paused")
		f.RetryAfter = int(rt.cfg.BreakerCooldown / time.Second)
		return f
	}
	judged := noVerdict
	defer func() { br.record(judged, rt.cfg.Now(), rt.cfg.BreakerFailures, rt.cfg.BreakerCooldown) }()
	judged = rt.pass(w, r, ex, 0, 0)
	return nil
}

// A verdict is what an exchange tells of the health of what answered it,
// for the circuit breaker.
type verdict int8

const (
	// noVerdict: the exchange says nothing of the service: the client
	// left, or its body was too large or too slow.
	noVerdict verdict = iota
	healthy
	failing
)

// pass proxies the call and judges the service: healthy when it answered
// (even with an error status below 500; a peer gateway, with any answer:
// it is reachable, whatever its own services do), failing when it could
// not be reached, timed out, broke its answer off or answered 502–504.
func (rt *Runtime) pass(w *statusWriter, r *http.Request, ex *exchange, maxBody int64, timeout time.Duration) verdict {
	if maxBody <= 0 {
		maxBody = rt.cfg.MaxBodyBytes
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	// The answer is written within the body's time and the call's: a
	// client that stops reading it does not hold the exchange longer.
	_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(rt.cfg.BodyTimeout + timeout + time.Minute))
	if r.ContentLength > maxBody {
		ex.fail(w, fault(http.StatusRequestEntityTooLarge, FaultBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody)))
		return noVerdict
	}
	if r.Body != nil && r.Body != http.NoBody {
		if !ex.soap { // serveSOAP set the deadline before reading the header
			_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(rt.cfg.Now().Add(rt.cfg.BodyTimeout))
		}
		body := http.MaxBytesReader(w, r.Body, maxBody)
		ex.reqBody = newHashingReader(body)
		ex.reqBody.size = r.ContentLength
		if ex.svc != nil && ex.svc.LogBodies {
			ex.reqCap = &capture{}
			ex.reqBody.tap = ex.reqCap
		}
		r.Body = ex.reqBody
	} else {
		ex.reqBody = newHashingReader(http.NoBody)
		r.Body = http.NoBody
	}
	ex.clientCtx, ex.w = r.Context(), w
	ctx := r.Context()
	if t, ok := rt.relayable(r, ex); ok {
		// The service's time limit is a deadline on the backend
		// connection (wall clock, not cfg.Now).
		rt.relay(w, r, ex, time.Now().Add(timeout), t)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithValue(ctx, exchangeKey{}, ex), timeout)
		defer cancel()
		rt.proxy.ServeHTTP(w, r.WithContext(ctx))
	}
	if ex.errType == "" && w.status != 0 {
		// An answer begun and then cut short, on either side.
		if w.werr != nil || ex.clientCtx.Err() != nil {
			ex.clientGone.Store(true)
			ex.errType, ex.abort = FaultCanceled, true
		} else if h := ex.respHash; h != nil && h.err != nil && h.err != io.EOF {
			rt.cfg.Logger.WarnContext(ctx, "gateway: answer cut short", "service", ex.service.String(), "request_id", ex.requestID, "err", h.err)
			ex.errType, ex.abort = FaultServiceFailed, true
			var ne net.Error
			if errors.Is(h.err, context.DeadlineExceeded) || errors.As(h.err, &ne) && ne.Timeout() {
				ex.errType = FaultServiceTimeout // past the service's time limit
			}
			_ = http.NewResponseController(w).Flush() // what came, then the break
			return failing
		}
	}
	if ex.clientGone.Load() {
		return noVerdict
	}
	if !ex.answered && (ex.errType == FaultBodyTooLarge || ex.errType == FaultBodyTimeout || ex.errType == FaultBadRequest) {
		return noVerdict // the client's body, refused by this gateway
	}
	if ex.peer {
		if ex.answered {
			return healthy
		}
		return failing
	}
	status := w.status
	if ex.soap && ex.errType != "" {
		// SOAP sends every fault as HTTP 500: judge it by what it stands for.
		status = ex.faultStatus
		if status == 0 {
			status = faultStatus(ex.errType)
		}
	}
	if status < 500 || ex.errType == "" && status != http.StatusBadGateway && status != http.StatusGatewayTimeout && status != http.StatusServiceUnavailable {
		return healthy
	}
	return failing
}

// foreignHeader reports whether a header named k may not pass the gateway
// in either direction: an X-Road header (the gateway sets its own) or a
// forwarding header (Forwarded, X-Forwarded-*).
func foreignHeader(k string) bool {
	return len(k) > 7 && strings.EqualFold(k[:7], "X-Road-") ||
		len(k) > 12 && strings.EqualFold(k[:12], "X-Forwarded-") || strings.EqualFold(k, "Forwarded")
}

// backendPath is the escaped path a backend is called at: its URL's path
// then the call's service path; with none (a SOAP call, or a REST call to
// the service itself), the URL's path as registered, trailing slash kept.
func backendPath(target *url.URL, path string) string {
	if path == "" {
		return target.EscapedPath()
	}
	return strings.TrimSuffix(target.EscapedPath(), "/") + path
}

// rewrite builds the outbound request.
func (rt *Runtime) rewrite(pr *httputil.ProxyRequest) {
	ex := pr.In.Context().Value(exchangeKey{}).(*exchange)
	out := pr.Out
	out.URL.Scheme, out.URL.Host = ex.target.Scheme, ex.target.Host
	raw := backendPath(ex.target, ex.path)
	p, _ := url.PathUnescape(raw)
	out.URL.Path, out.URL.RawPath = p, ""
	if raw != p {
		out.URL.RawPath = raw
	}
	out.URL.RawQuery = pr.In.URL.RawQuery
	if ex.soap {
		out.URL.RawQuery = ex.target.RawQuery // the backend URL as registered
	}
	out.Host = ""
	h := out.Header
	h.Del("Authorization")
	for k := range h {
		if foreignHeader(k) {
			delete(h, k)
		}
	}
	h.Set(HeaderClient, ex.cs)
	h.Set(HeaderID, ex.messageID)
	h.Set(HeaderRequestID, ex.requestID)
	if !ex.peer {
		h.Set(HeaderService, ex.us)
	}
	// The caller's issue and user id (REST: its headers; SOAP: its envelope).
	if ex.issue == "" {
		h.Del(HeaderIssue)
	} else {
		h.Set(HeaderIssue, ex.issue)
	}
	if ex.userID == "" {
		h.Del(HeaderUserID)
	} else {
		h.Set(HeaderUserID, ex.userID)
	}
}

// roundTripper picks the backend or peer transport.
type roundTripper struct{ rt *Runtime }

func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	ex := r.Context().Value(exchangeKey{}).(*exchange)
	if !ex.t0.IsZero() {
		ex.sent = time.Now()
	}
	if ex.peer {
		return t.rt.cfg.PeerTransport.RoundTrip(r)
	}
	return t.rt.cfg.Transport.RoundTrip(r)
}

func (rt *Runtime) modifyResponse(resp *http.Response) error {
	return rt.takeAnswer(resp.Request.Context().Value(exchangeKey{}).(*exchange), resp)
}

// takeAnswer sets the X-Road headers of the answer (dropping the ones the
// backend may not set) and hashes its body on its way to the client. A
// peer gateway's answer must be for this request: one whose request hash
// differs is refused (the error is a *Fault).
func (rt *Runtime) takeAnswer(ex *exchange, resp *http.Response) error {
	if !ex.t0.IsZero() && ex.answer.IsZero() {
		ex.answer = time.Now()
	}
	h := resp.Header
	if ex.peer && ex.reqBody.done() {
		if got := h[HeaderRequestHash]; len(got) > 0 && got[0] != ex.reqBody.sumB64() {
			return fault(http.StatusBadGateway, FaultInconsistentResponse, "the peer gateway's answer is not for this request: its "+HeaderRequestHash+" differs")
		}
	}
	if ex.soap {
		if err := rt.soapRequestHash(ex, resp); err != nil {
			return err
		}
	}
	if _, ok := h["Content-Type"]; !ok && ex.w != nil {
		// The answer goes on untyped, as the service sent it: the server
		// must not guess a type from its first bytes.
		ex.w.Header()["Content-Type"] = nil
	}
	// No X-Road or forwarding header of the backend's goes on (a peer's
	// error category is read, and sent on as the gateway's).
	if ex.peer {
		// The peer's category, if it is one: a made-up value would be
		// logged, labelled in the metrics and sent on as this gateway's.
		if e := h.Get(HeaderError); e != "" && resp.StatusCode >= 400 {
			ex.errType = FaultServiceFailed // (the peer failed, saying it oddly)
			if knownFault(e) {
				ex.errType = e
			}
		}
	}
	for k := range h {
		if foreignHeader(k) {
			delete(h, k)
		}
	}
	if ex.errType != "" {
		h[HeaderError] = []string{ex.errType}
	}
	// The X-Road header names are canonical: no Set canonicalizing.
	h[HeaderRequestID] = []string{ex.requestID}
	h[HeaderID] = []string{ex.messageID}
	if ex.reqBody.done() {
		h[HeaderRequestHash] = []string{ex.reqBody.sumB64()}
	}
	ex.respHash = newHashingReader(resp.Body)
	ex.respHash.timed = !ex.t0.IsZero()
	if ex.svc != nil && ex.svc.LogBodies {
		ex.respCap = &capture{}
		ex.respHash.tap = ex.respCap
	}
	resp.Body = ex.respHash
	ex.answered = true
	return nil
}

func (rt *Runtime) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rt.callFailed(w, r.Context(), r.Context().Value(exchangeKey{}).(*exchange), err)
}

// isTimeout reports whether err is a network deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// callFailed answers the fault for a call that got no answer.
func (rt *Runtime) callFailed(w http.ResponseWriter, ctx context.Context, ex *exchange, err error) {
	var f *Fault
	var mbe *http.MaxBytesError
	var berr error // how reading the request body ended, if it failed
	if ex.reqBody != nil {
		// (the transport may still be reading it: under the lock)
		if e := ex.reqBody.readErr(); e != nil && !errors.Is(e, io.EOF) {
			berr = e
		}
	}
	switch {
	case errors.As(err, &f): // the answer was refused
	case errors.As(err, &mbe):
		f = fault(http.StatusRequestEntityTooLarge, FaultBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit))
	case berr != nil && isTimeout(berr):
		f = fault(http.StatusRequestTimeout, FaultBodyTimeout, "the request body did not arrive in time")
	case berr != nil && ex.clientCtx.Err() == nil &&
		!errors.Is(berr, io.ErrUnexpectedEOF) && !errors.Is(berr, net.ErrClosed) && !errors.Is(berr, syscall.ECONNRESET):
		// The body was malformed (a bad chunk), not cut by a client leaving.
		f = fault(http.StatusBadRequest, FaultBadRequest, "the request body could not be read")
	case berr != nil:
		ex.clientGone.Store(true) // the client left in the middle of its body
		f = fault(499, FaultCanceled, "the client closed the connection")
	case ex.clientCtx.Err() != nil || ex.clientGone.Load():
		// The client left: nobody reads the answer, and it is not the
		// service's fault (the breaker must not count it).
		ex.clientGone.Store(true)
		f = fault(499, FaultCanceled, "the client closed the connection")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		f = fault(http.StatusGatewayTimeout, FaultServiceTimeout, "the service did not answer in time")
	case ex.peer:
		f = fault(http.StatusBadGateway, FaultPeerUnreachable, "the peer gateway could not be reached")
	default:
		f = fault(http.StatusBadGateway, FaultServiceFailed, "the service could not be reached")
	}
	if f.Type != FaultCanceled {
		rt.cfg.Logger.WarnContext(ctx, "gateway: call failed", "service", ex.service.String(), "request_id", ex.requestID, "err", err)
	}
	ex.fail(w, f)
}

// finish records the exchange in the message log and the metrics.
func (rt *Runtime) finish(r *http.Request, ex *exchange, w *statusWriter) {
	end := rt.cfg.Now()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rt.cfg.Metrics != nil {
		// (after the record is in the log: the answer waits for it)
		defer func() { rt.cfg.Metrics.observe(ex, w.status, time.Since(ex.t0), w.n) }()
	}
	// Only calls whose client is proven and whose service is named are
	// logged: a forged X-Road-Client must not appear as that client's call.
	if rt.cfg.Log == nil || ex.client.Instance == "" || ex.service.Code == "" {
		return
	}
	rec := Record{Node: rt.cfg.Node, At: ex.start, DoneAt: end, Client: ex.cs, Service: ex.service.String(),
		MessageID: ex.messageID, RequestID: ex.requestID, UserID: ex.userID, Issue: ex.issue, Method: r.Method, Path: ex.path,
		Status: w.status, ErrorType: ex.errType, ResponseBytes: w.n}
	if ex.reqBody != nil {
		rec.RequestBytes = ex.reqBody.count()
		rec.RequestHash = ex.reqBody.sumHex()
	}
	if ex.respHash != nil {
		rec.ResponseHash = ex.respHash.sumHex()
	}
	if ex.svc != nil && ex.svc.LogBodies {
		rec.RequestBody = Redact(ex.reqCap.bytes(), ex.svc.Redact)
		rec.ResponseBody = Redact(ex.respCap.bytes(), ex.svc.Redact)
	}
	// Waits for the batch holding rec to commit: nothing acknowledged is lost.
	if err := rt.cfg.Log.Append(context.WithoutCancel(r.Context()), rec); err != nil {
		rt.cfg.Logger.Error("gateway: message log", "request_id", ex.requestID, "err", err)
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[:4])
	hex.Encode(out[9:13], b[4:6])
	hex.Encode(out[14:18], b[6:8])
	hex.Encode(out[19:23], b[8:10])
	hex.Encode(out[24:], b[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// statusWriter remembers the status and counts the body bytes.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
	werr   error // the first write that failed (the client is gone)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	if err != nil && w.werr == nil {
		w.werr = err
	}
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hashingReader hashes and counts what passes through it.
type hashingReader struct {
	r io.ReadCloser
	h hash.Hash
	n int64
	// size is the length the body declared (Content-Length), or -1.
	size int64
	err  error
	tap  *capture
	mu   sync.Mutex
	// timed: Read measures its time waiting on the source in waited (an
	// answer's body: the service's time, not the gateway's).
	timed  bool
	waited time.Duration
}

func newHashingReader(r io.ReadCloser) *hashingReader {
	if r == http.NoBody {
		return &hashingReader{r: r} // nothing to hash: sum is emptySum
	}
	return &hashingReader{r: r, h: sha256.New(), size: -1}
}

// emptySum is the SHA-256 of no bytes, and its hex and base64 forms.
var (
	emptySum    = sha256.Sum256(nil)
	emptySumHex = hex.EncodeToString(emptySum[:])
	emptySumB64 = base64.StdEncoding.EncodeToString(emptySum[:])
)

func (h *hashingReader) Read(p []byte) (int, error) {
	var t0 time.Time
	if h.timed {
		t0 = time.Now()
	}
	n, err := h.r.Read(p)
	h.mu.Lock()
	if h.timed {
		h.waited += time.Since(t0)
	}
	if h.h != nil {
		h.h.Write(p[:n])
	}
	h.n += int64(n)
	if err != nil && h.err == nil {
		h.err = err
	}
	if h.tap != nil {
		h.tap.write(p[:n])
	}
	h.mu.Unlock()
	return n, err
}

func (h *hashingReader) Close() error { return h.r.Close() }

// readWaited is the time Read waited on the source (when timed).
func (h *hashingReader) readWaited() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waited
}

// fail records err as the reader's outcome unless it has one.
func (h *hashingReader) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
}

// done reports whether the whole body was read: up to its end, or up to
// its declared length. The transport sends a body of known length before
// it reads on to see its end, so the answer can come first when the last
// read returned no io.EOF (a SOAP call's body: the header already read,
// then the rest).
// count returns the bytes read so far.
func (h *hashingReader) count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// readErr returns how reading ended (nil while it goes on).
func (h *hashingReader) readErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *hashingReader) done() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.r == http.NoBody || errors.Is(h.err, io.EOF) || h.err == nil && h.size >= 0 && h.n == h.size
}

func (h *hashingReader) sum() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.h == nil {
		return emptySum[:]
	}
	return h.h.Sum(nil)
}

func (h *hashingReader) sumB64() string {
	if h.h == nil {
		return emptySumB64
	}
	return base64.StdEncoding.EncodeToString(h.sum())
}

func (h *hashingReader) sumHex() string {
	if h.h == nil {
		return emptySumHex
	}
	return hex.EncodeToString(h.sum())
}

// capture keeps the first maxCapture bytes of a body for the message log.
type capture struct {
	b         []byte
	truncated bool
}

const maxCapture = 64 << 10

func (c *capture) write(p []byte) {
	if c == nil {
		return
	}
	room := maxCapture - len(c.b)
	if len(p) > room {
		p = p[:room]
		c.truncated = true
	}
	c.b = append(c.b, p...)
}

func (c *capture) bytes() []byte {
	if c == nil {
		return nil
	}
	return c.b
}

type bufferPool struct{}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(bufPool.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { bufPool.Put(&b) }
