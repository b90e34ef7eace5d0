package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// TLS modes of the SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); required, not opportunistic
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the same host or network
)

// SMTPConfig configures the email channel (CONGSO_SMTP_*). Host empty
// disables email.
type SMTPConfig struct {
	Host     string // CONGSO_SMTP_HOST
	Port     int    // CONGSO_SMTP_PORT (default 587; 465 for TLS mode "tls")
	From     string // CONGSO_SMTP_FROM: envelope and header sender address
	FromName string // CONGSO_SMTP_FROM_NAME: display name (default: the notification sender)
	Username string // CONGSO_SMTP_USERNAME: AUTH PLAIN when set
	Password string // CONGSO_SMTP_PASSWORD
	TLS      string // CONGSO_SMTP_TLS: starttls (default) | tls | none
	Helo     string // CONGSO_SMTP_HELO: name given in EHLO (default "localhost")
	// Timeout bounds one whole send (CONGSO_SMTP_TIMEOUT, default 30s).
	Timeout time.Duration
	// TLSConfig, when set, is used for STARTTLS and implicit TLS (tests pass
	// their own root CAs); ServerName defaults to Host.
	TLSConfig *tls.Config
}

// Email is one message to send.
type Email struct {
	To        string
	ToName    string
	Subject   string
	Text      string // plain-text part
	HTML      string // HTML part ("" for text only)
	MessageID string // stable per delivery: "<…@…>"
	Lang      string // Content-Language
}

// EmailSender sends email; *SMTPSender is the real one.
type EmailSender interface {
	// SendEmail sends m and returns the Message-ID the server accepted.
	// Errors that retrying cannot fix wrap ErrPermanent.
	SendEmail(ctx context.Context, m Email) (string, error)
}

// SMTPSender sends email through an SMTP server (submission with STARTTLS,
// implicit TLS, or a plain relay), one connection per message.
type SMTPSender struct {
	cfg  SMTPConfig
	from mail.Address
	now  func() time.Time
}

// NewSMTPSender checks cfg and returns a sender. It does no I/O.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("notify: CONGSO_SMTP_TLS must be starttls, tls or none, not %q: %w", cfg.TLS, ErrInvalid)
	}
	if cfg.Host == "" {
		return nil, fmt.Errorf("notify: CONGSO_SMTP_HOST is empty: %w", ErrInvalid)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: CONGSO_SMTP_FROM %q: %v: %w", cfg.From, err, ErrInvalid)
	}
	if cfg.FromName != "" {
		from.Name = cfg.FromName
	}
	if cfg.Helo == "" {
		cfg.Helo = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTPSender{cfg: cfg, from: *from, now: time.Now}, nil
}

// SendEmail delivers m to the configured server.
func (s *SMTPSender) SendEmail(ctx context.Context, m Email) (string, error) {
	if m.MessageID == "" {
		m.MessageID = NewMessageID(s.from.Address)
	}
	msg, err := BuildMessage(s.from, m, s.now())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	tlsCfg := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tlsCfg = s.cfg.TLSConfig.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = s.cfg.Host
		}
	}
	var conn net.Conn
	if s.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return "", fmt.Errorf("smtp connect %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return "", smtpErr("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.Helo); err != nil {
		return "", smtpErr("EHLO", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return "", fmt.Errorf("smtp %s does not offer STARTTLS (set CONGSO_SMTP_TLS=none only for a trusted relay): %w", addr, ErrPermanent)
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return "", smtpErr("STARTTLS", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return "", smtpErr("AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return "", smtpErr("MAIL FROM", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return "", smtpErr("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return "", smtpErr("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return "", smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return "", smtpErr("end of DATA", err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return m.MessageID, nil
}

// smtpErr wraps err; 5xx replies are permanent.
func smtpErr(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("smtp %s: %w (%w)", step, err, ErrPermanent)
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// NewMessageID returns a random Message-ID in the domain of address.
func NewMessageID(address string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "<" + hex.EncodeToString(b[:]) + "@" + domainOf(address) + ">"
}

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 && i < len(address)-1 {
		return address[i+1:]
	}
	return "localhost"
}

// BuildMessage renders m as an RFC 5322 message: UTF-8 headers encoded per
// RFC 2047, a multipart/alternative body with a quoted-printable text part
// and (if any) HTML part, CRLF line ends.
func BuildMessage(from mail.Address, m Email, now time.Time) ([]byte, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("recipient %q: %v: %w", m.To, err, ErrPermanent)
	}
	to.Name = m.ToName
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from.String())
	h("To", to.String())
	h("Subject", encodeHeader(m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	if m.MessageID != "" {
		h("Message-ID", m.MessageID)
	}
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	if m.Lang != "" {
		h("Content-Language", m.Lang)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, text string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, fmt.Errorf("build message: %w", err)
		}
		if err := writeQP(pw, p.text); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("build message: %w", err)
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("encode body: %w", err)
	}
	return nil
}

// encodeHeader encodes a header value per RFC 2047 (Q encoding, UTF-8)
// when it is not printable ASCII, as encoded words short enough that each
// folded line stays within 78 characters; a rune is never split between
// words.
func encodeHeader(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	const maxEncoded = 55 // "Subject: =?utf-8?q?" + 55 + "?=": 76
	var words []string
	var cur strings.Builder
	for _, r := range s {
		var enc strings.Builder
		for _, b := range []byte(string(r)) {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', strings.IndexByte("!*+-/", b) >= 0:
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		if cur.Len()+enc.Len() > maxEncoded {
			words = append(words, cur.String())
			cur.Reset()
		}
		cur.WriteString(enc.String())
	}
	words = append(words, cur.String())
	for i, w := range words {
		words[i] = "=?utf-8?q?" + w + "?="
	}
	return strings.Join(words, "\r\n ")
}
