package gateway_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/h1"
)

func migrations() []db.Migration { return append(audit.Migrations(), gateway.Migrations()...) }

// tokens is a static bearer-token verifier: token → subsystem.
type tokens map[string]string

func (t tokens) VerifyToken(_ context.Context, tok string) (gateway.ClientID, error) {
	s, ok := t[tok]
	if !ok {
		return gateway.ClientID{}, errors.New("unknown token")
	}
	return gateway.ParseSubsystemID(s)
}

const (
	provider = "VN-HUE/GOV/000.00.15.H57/LLTP"   // the judicial-records system
	client   = "VN-HUE/GOV/000.00.01.H57/MOTCUA" // the one-stop back office
	other    = "VN-HUE/GOV/000.00.01.H57/KHAC"
	svcID    = provider + "/phieu-lltp"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cid(s string) gateway.ClientID { c, _ := gateway.ParseClientID(s); return c }
func sid(s string) gateway.ServiceID {
	c, err := gateway.ParseServiceID(s)
	if err != nil {
		panic(err)
	}
	return c
}

// seed registers the provider and client members and subsystems, a
// published service v1 at backend, and a right for client on all of it.
func seed(t testing.TB, m *gateway.Manager, backend string) gateway.AccessRight {
	ctx := context.Background()
	for _, mem := range []string{"VN-HUE/GOV/000.00.15.H57", "VN-HUE/GOV/000.00.01.H57"} {
		must(t, m.PutMember(ctx, "admin", gateway.Member{ID: cid(mem), Name: "Sở " + mem, AgencyEID: mem[strings.LastIndex(mem, "/")+1:]}))
	}
	for _, s := range []string{provider, client, other} {
		must(t, m.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: cid(s)}))
	}
	must(t, m.PutService(ctx, "admin", gateway.Service{ID: sid(svcID), Title: "Phiếu lý lịch tư pháp", Description: "Tra cứu phiếu LLTP",
		LogBodies: true, Redact: []string{"so_dinh_danh"}}))
	v1 := sid(svcID + "/v1")
	must(t, m.PutVersion(ctx, "admin", v1, gateway.Version{BackendURL: backend, Spec: `{"openapi":"3.0.0"}`}))
	must(t, m.SetStatus(ctx, "admin", v1, gateway.Published, nil))
	r, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(svcID), LegalBasis: "Nghị định 278/2025"})
	must(t, err)
	return r
}

// node is one gateway node on a database.
type node struct {
	rt  *gateway.Runtime
	mgr *gateway.Manager
	srv *testServer
	log *gateway.MessageLog
}

type nodeOpts struct {
	name     string
	instance string
	poll     time.Duration
	now      func() time.Time
	cfg      func(*gateway.Config)
}

var testKey = func() *gateway.Key {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := gateway.NewKey(priv)
	return k
}()

func startNode(t testing.TB, d *db.DB, o nodeOpts) *node {
	t.Helper()
	if o.name == "" {
		o.name = "n1"
	}
	if o.instance == "" {
		o.instance = "VN-HUE"
	}
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: o.name, Key: testKey, SignInterval: time.Hour, Now: o.now})
	must(t, err)
	cfg := gateway.Config{Instance: o.instance, Node: o.name, Tokens: tokens{"tok-client": client, "tok-other": other},
		PollInterval: o.poll, Log: ml, Now: o.now, BreakerCooldown: time.Hour}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	rt, err := gateway.NewRuntime(context.Background(), d, cfg)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = rt.Run(ctx) }()
	mgr := gateway.NewManager(gateway.NewStore(d, o.now), o.now)
	mgr.OnChange(func() { must(t, rt.Reload(context.Background())) })
	srv := serveGateway(t, rt, nil)
	t.Cleanup(func() { srv.Close(); cancel(); wg.Wait() })
	return &node{rt: rt, mgr: mgr, srv: srv, log: ml}
}

// call sends method to path on n with the bearer token and headers.
func call(t testing.TB, base, method, path, token string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	return resp
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	return string(b)
}

func sqliteDB(t testing.TB) *db.DB { return dbtest.SQLite(t, migrations()) }

type gatewayDB struct{ *db.DB }

// federated is two gateways on loopback: B (instance VN-DNG) provides
// svc (kind) at backend and lets client call it, trusting A's gateway
// certificate for VN-HUE clients; A (instance VN-HUE, the seeded registry)
// routes VN-DNG to B over mTLS.
type federated struct {
	a, b     *node
	dbA, dbB *db.DB
	ca       *testCA
	certA    tls.Certificate
	srvB     *testServer
}

func federate(t *testing.T, backend, svc string, kind gateway.Kind, right gateway.AccessRight, cfgA func(*gateway.Config)) *federated {
	t.Helper()
	ctx := context.Background()
	f := &federated{ca: newCA(t), dbA: sqliteDB(t), dbB: sqliteDB(t)}
	now := time.Now()
	f.certA = f.ca.issue(t, "gateway VN-HUE", now.Add(-time.Hour), now.Add(time.Hour))
	certB := f.ca.issue(t, "gateway VN-DNG", now.Add(-time.Hour), now.Add(time.Hour))
	f.b = startNode(t, f.dbB, nodeOpts{name: "dng-1", instance: "VN-DNG", cfg: func(c *gateway.Config) { c.ClientCAs = f.ca.pool }})
	must(t, f.b.mgr.PutMember(ctx, "admin", gateway.Member{ID: cid("VN-DNG/GOV/000.00.00.G07"), Name: "Sở Tư pháp Đà Nẵng"}))
	must(t, f.b.mgr.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: cid("VN-DNG/GOV/000.00.00.G07/HOTICH")}))
	must(t, f.b.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(svc), Kind: kind, Title: "Trích lục hộ tịch"}))
	must(t, f.b.mgr.PutVersion(ctx, "admin", sid(svc+"/v2"), gateway.Version{BackendURL: backend}))
	must(t, f.b.mgr.SetStatus(ctx, "admin", sid(svc+"/v2"), gateway.Published, nil))
	right.Client, right.Service = client, sid(svc)
	_, err := f.b.mgr.Grant(ctx, "admin", right)
	must(t, err)
	must(t, f.b.mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: gateway.Fingerprint(f.certA.Leaf), Owner: gateway.PeerPrefix + "VN-HUE", NotAfter: f.certA.Leaf.NotAfter}))
	f.srvB = serveGateway(t, f.b.rt, gateway.ServerTLSConfig(certB))
	t.Cleanup(f.srvB.Close)

	peerTransport := gateway.NewTransport(&tls.Config{RootCAs: f.ca.pool, Certificates: []tls.Certificate{f.certA}})
	f.a = startNode(t, f.dbA, nodeOpts{name: "hue-1", instance: "VN-HUE", cfg: func(c *gateway.Config) {
		c.PeerTransport = peerTransport
		if cfgA != nil {
			cfgA(c)
		}
	}})
	seed(t, f.a.mgr, backend)
	must(t, f.a.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: f.srvB.URL}))
	return f
}

// testServer is the gateway's own HTTP server (h1) on a loopback port, as
// the binary runs it.
type testServer struct {
	URL string
	srv *h1.Server
	wg  sync.WaitGroup
}

// serveGateway serves h as the gateway does (over TLS when cfg is set)
// until Close.
func serveGateway(t testing.TB, h http.Handler, cfg *tls.Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s := &testServer{URL: "http://" + ln.Addr().String(), srv: &h1.Server{Handler: h, ProtocolError: gateway.ProtocolError}}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		s.URL = "https://" + ln.Addr().String()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); _ = s.srv.Serve(ln) }()
	return s
}

// Close stops the server and its connections.
func (s *testServer) Close() {
	s.srv.Close()
	s.wg.Wait()
}

// doctorCheck runs the doctor with cfg and returns its check named name.
func doctorCheck(t *testing.T, cfg gateway.DoctorConfig, name string) gateway.Check {
	t.Helper()
	for _, c := range gateway.Doctor(context.Background(), cfg) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check", name)
	return gateway.Check{}
}
