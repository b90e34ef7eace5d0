package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/fakes/smsgw"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
)

// clock is a settable clock shared by the dispatcher and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Ahead of the wall clock, so events published with the real time are due.
	return &clock{t: time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// ---- SMTP server ----------------------------------------------------------

// received is a message an SMTP server accepted.
type received struct {
	From string
	To   []string
	Data []byte
}

// mailServer is a real SMTP server (go-smtp) on loopback that records what
// it accepts.
type mailServer struct {
	mu   sync.Mutex
	msgs []received
	srv  *smtp.Server
	addr string
	// user/pass, when set, are required (AUTH PLAIN).
	user, pass string
}

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{srv: m}, nil }

type mailSession struct {
	srv  *mailServer
	auth bool
	cur  received
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.auth = true
		return nil
	}), nil
}
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from}
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	s.srv.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        { s.cur = received{} }
func (s *mailSession) Logout() error { return nil }

func (m *mailServer) Messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

// startMail starts an SMTP server on addr ("127.0.0.1:0" for any port),
// with STARTTLS when tlsCfg is set. It stops at the end of the test.
func startMail(t *testing.T, addr string, tlsCfg *tls.Config, user, pass string) *mailServer {
	t.Helper()
	m := &mailServer{user: user, pass: pass}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen smtp: %v", err)
	}
	s := smtp.NewServer(m)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.TLSConfig = tlsCfg
	s.AllowInsecureAuth = tlsCfg == nil
	m.srv, m.addr = s, l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return m
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	fmt.Sscan(p, &n)
	return h, n
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// parsed is a received email decoded the way a mail client does.
type parsed struct {
	Subject, From, To string
	Header            mail.Header
	Text, HTML        string
}

func decodeMail(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	p := parsed{Subject: subj, Header: msg.Header}
	from, err := msg.Header.AddressList("From")
	if err != nil {
		t.Fatalf("From: %v", err)
	}
	p.From = from[0].Name + " <" + from[0].Address + ">"
	p.To = msg.Header.Get("To")
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		if part.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("part encoding %q", part.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatalf("decode part: %v", err)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cp["charset"] != "utf-8" {
			t.Fatalf("charset %q", cp["charset"])
		}
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
		switch ct {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	return p
}

// ---- the applicant's side -------------------------------------------------

// dossiers is an in-memory notify.Dossiers.
type dossiers struct {
	mu    sync.Mutex
	facts map[string]notify.DossierFacts
	err   error
}

func (d *dossiers) DossierFacts(_ context.Context, code string) (notify.DossierFacts, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return notify.DossierFacts{}, d.err
	}
	f, ok := d.facts[code]
	if !ok {
		return notify.DossierFacts{}, fmt.Errorf("dossier %s: %w", code, notify.ErrNotFound)
	}
	return f, nil
}

type accounts map[string]notify.Contact

func (a accounts) AccountContact(_ context.Context, id string) (notify.Contact, error) {
	c, ok := a[id]
	if !ok {
		return notify.Contact{}, notify.ErrNotFound
	}
	return c, nil
}

const code = "000.00.12.H12-261201-0001"

var due = time.Date(2030, 1, 16, 10, 0, 0, 0, time.UTC)

func nhung() notify.Contact {
	return notify.Contact{AccountID: "p-nhung", Name: "Nguyễn Thị Hồng Nhung", Email: "nhung@example.vn", Phone: "0912 345 678", Lang: "vi"}
}

func factsFor(c notify.Contact) notify.DossierFacts {
	return notify.DossierFacts{Contact: c, ProcedureName: "Cấp giấy phép xây dựng nhà ở riêng lẻ",
		ReceivedAt: time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC), DueAt: due,
		Fees: []notify.Fee{{Name: "Lệ phí cấp giấy phép", Amount: 75000}}}
}

// env is one test's platform: database, dispatcher, service, SMTP server
// and SMS gateway.
type env struct {
	t     *testing.T
	db    *db.DB
	clk   *clock
	disp  *outbox.Dispatcher
	svc   *notify.Service
	mail  *mailServer
	gw    *smsgw.Gateway
	dos   *dossiers
	accts accounts
}

type envOpt struct {
	smtpAddr    string // default: a running server
	noMail      bool   // start no SMTP server
	maxAttempts int
	sms         notify.SMSConfig
}

func migrations() []db.Migration { return append(outbox.Migrations(), notify.Migrations()...) }

func newEnv(t *testing.T, d *db.DB, o envOpt) *env {
	t.Helper()
	e := &env{t: t, db: d, clk: newClock(), dos: &dossiers{facts: map[string]notify.DossierFacts{}}, accts: accounts{}}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
	e.disp = outbox.NewDispatcher(d, outbox.Config{Now: e.clk.Now, Jitter: func() float64 { return 0.99 }, Logger: logger,
		MaxAttempts: 10, BackoffBase: 2 * time.Second, BackoffMax: time.Hour})
	addr := o.smtpAddr
	if addr == "" && !o.noMail {
		e.mail = startMail(t, "127.0.0.1:0", nil, "", "")
		addr = e.mail.addr
	}
	host, port := hostPort(t, addr)
	e.gw = smsgw.New("test-key", "UBND TINH")
	gs := httptest.NewServer(e.gw)
	t.Cleanup(gs.Close)
	sms := o.sms
	if sms.URL == "" {
		sms.URL = gs.URL
	}
	if sms.Brandname == "" {
		sms.Brandname = "UBND TINH"
	}
	if sms.APIKey == "" {
		sms.APIKey = "test-key"
	}
	cfg := notify.Config{
		SMTP:    notify.SMTPConfig{Host: host, Port: port, From: "khongtraloi@dichvucong.example.vn", TLS: notify.TLSNone, Timeout: 5 * time.Second},
		SMS:     sms,
		BaseURL: "https://dichvucong.example.vn", Sender: "UBND tỉnh Mẫu", MaxAttempts: o.maxAttempts,
		Now: e.clk.Now, Logger: logger,
	}
	svc, err := notify.New(d, cfg, notify.Deps{Dossiers: e.dos, Accounts: e.accts})
	if err != nil {
		t.Fatalf("notify.New: %v", err)
	}
	e.svc = svc
	svc.Subscribe(e.disp)
	if err := e.disp.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// publish publishes a dossier event as the dossier module does.
func (e *env) publish(topic string, ev dossier.Event) {
	e.t.Helper()
	if ev.At.IsZero() {
		ev.At = e.clk.Now()
	}
	err := e.db.Tx(context.Background(), func(tx *db.Tx) error {
		return outbox.Publish(context.Background(), tx, outbox.Event{Topic: topic, Key: ev.Code, Payload: ev, At: ev.At})
	})
	if err != nil {
		e.t.Fatalf("publish: %v", err)
	}
}

func (e *env) drain() int {
	e.t.Helper()
	n, err := e.disp.Drain(context.Background())
	if err != nil {
		e.t.Fatalf("drain: %v", err)
	}
	return n
}

func (e *env) deliveries(code string) []notify.Delivery {
	e.t.Helper()
	ds, err := e.svc.ForDossier(context.Background(), code)
	if err != nil {
		e.t.Fatalf("ForDossier: %v", err)
	}
	return ds
}

func byChannel(ds []notify.Delivery, ch notify.Channel) []notify.Delivery {
	var out []notify.Delivery
	for _, d := range ds {
		if d.Channel == ch {
			out = append(out, d)
		}
	}
	return out
}

// lastEvent reads back the last outbox event of topic as a handler gets it.
func (e *env) lastEvent(topic string) outbox.Event {
	e.t.Helper()
	var ev outbox.Event
	var payload string
	err := e.db.Read().QueryRowContext(context.Background(), `SELECT id, topic, event_key, payload, created_at FROM outbox_events
	WHERE topic = $1 ORDER BY id DESC LIMIT 1`, topic).Scan(&ev.ID, &ev.Topic, &ev.Key, &payload, &ev.At)
	if err != nil {
		e.t.Fatalf("last %s event: %v", topic, err)
	}
	ev.Payload = []byte(payload)
	return ev
}

func receivedEvent() dossier.Event {
	return dossier.Event{Code: code, CaseID: code, ProcedureCode: "1.009994", Channel: dossier.ChannelOnline, Action: "receive",
		From: "checking", To: "assigning", Status: dossier.StatusReceived, NationalStatus: 2, Version: 2,
		ReceivedAt: time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC), DueAt: due}
}

func each(t *testing.T, fn func(t *testing.T, d *db.DB)) { dbtest.Each(t, migrations(), fn) }

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}
