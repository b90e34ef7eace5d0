package notify_test

import (
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/i18n"
)

// Every kind renders in both languages with every part filled, nothing
// missing, and the Vietnamese text keeps its diacritics.
func TestEveryTemplateRendersInBothLanguages(t *testing.T) {
	tpl, err := notify.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range notify.Languages {
		for _, k := range notify.Kinds() {
			m, err := tpl.Render(lang, k, notify.SampleData(lang, k))
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, k, err)
			}
			for part, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML, "sms": m.SMS, "inapp": m.InApp} {
				if strings.TrimSpace(s) == "" || strings.Contains(s, "<no value>") || strings.Contains(s, "%!") {
					t.Errorf("%s/%s %s: %q", lang, k, part, s)
				}
			}
			if k != notify.KindLogin {
				contains(t, lang+"/"+string(k)+" text", m.Text, "000.00.12.H12-261201-0001", "Nguyễn Thị Hồng Nhung")
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
				t.Errorf("%s/%s: HTML without lang", lang, k)
			}
			if lang == "vi" && k != notify.KindLogin && !strings.Contains(strings.ToLower(m.Subject+m.Text), "hồ sơ") {
				t.Errorf("vi/%s lacks Vietnamese text: %q", k, m.Subject)
			}
		}
	}
	if m, _ := tpl.Render("fr", notify.KindReceived, notify.SampleData("fr", notify.KindReceived)); !strings.HasPrefix(m.Subject, "Đã tiếp nhận") {
		t.Errorf("an unknown language falls back to Vietnamese: %q", m.Subject)
	}
}

// An operator's edited template replaces the embedded one; a broken edit
// stops the start with the file's name.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "vi"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("templates/vi/received.txt")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), `{{define "subject"}}Đã tiếp nhận hồ sơ {{.Code}}{{end}}`,
		`{{define "subject"}}[Sở Xây dựng] Đã nhận hồ sơ {{.Code}}{{end}}`, 1)
	if edited == string(src) {
		t.Fatal("subject line not found in the embedded template")
	}
	if err := os.WriteFile(filepath.Join(dir, "vi", "received.txt"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := tpl.Render("vi", notify.KindReceived, notify.SampleData("vi", notify.KindReceived))
	if m.Subject != "[Sở Xây dựng] Đã nhận hồ sơ 000.00.12.H12-261201-0001" {
		t.Errorf("overridden subject %q", m.Subject)
	}
	if m, _ := tpl.Render("en", notify.KindReceived, notify.SampleData("en", notify.KindReceived)); m.Subject != "Dossier 000.00.12.H12-261201-0001 received" {
		t.Errorf("other templates stay embedded: %q", m.Subject)
	}

	broken := strings.Replace(edited, `{{.Code}}`, `{{.Cod}}`, 1)
	_ = os.WriteFile(filepath.Join(dir, "vi", "received.txt"), []byte(broken), 0o644)
	if _, err := notify.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "received") {
		t.Errorf("broken template: %v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, "vi", "received.txt"), []byte(`{{define "subject"}}x{{end}}`), 0o644)
	if _, err := notify.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), `no block "text"`) {
		t.Errorf("template without a block: %v", err)
	}
}

func TestUnaccent(t *testing.T) {
	in := "Hồ sơ ĐÃ được tiếp nhận – Lệ phí 75.000 ₫ “ưu tiên”"
	if got := notify.Unaccent(in); got != `Ho so DA duoc tiep nhan - Le phi 75.000 VND "uu tien"` {
		t.Errorf("Unaccent = %q", got)
	}
}

// A long Vietnamese subject is encoded per RFC 2047 in folded lines that a
// mail reader decodes back intact.
func TestBuildMessageLongSubject(t *testing.T) {
	subj := strings.Repeat("Thông báo dừng giải quyết hồ sơ của Ông/Bà ", 4)
	raw, err := notify.BuildMessage(mail.Address{Name: "UBND tỉnh", Address: "a@b.vn"},
		notify.Email{To: "c@d.vn", ToName: "Lê Thị Ánh", Subject: subj, Text: "Nội dung", HTML: "<p>Nội dung</p>", MessageID: "<1@b.vn>"},
		time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 && !strings.HasPrefix(line, "Content-Type") {
			t.Errorf("line longer than 78: %q", line)
		}
	}
	m := decodeMail(t, raw)
	if m.Subject != subj {
		t.Errorf("subject %q", m.Subject)
	}
	if to, _ := mail.ParseAddress(m.To); to == nil || to.Name != "Lê Thị Ánh" {
		t.Errorf("To %q", m.To)
	}
	if _, err := notify.BuildMessage(mail.Address{Address: "a@b.vn"}, notify.Email{To: "not an address"}, time.Now()); !errors.Is(err, notify.ErrPermanent) {
		t.Errorf("bad recipient: %v", err)
	}
}

// Submission over STARTTLS with AUTH PLAIN, as a provincial mail server
// requires; a server without STARTTLS is refused rather than sending the
// password in clear; bad credentials are a permanent failure.
func TestSMTPStartTLSAndAuth(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	srv := startMail(t, "127.0.0.1:0", srvTLS, "notify", "mật-khẩu")
	host, port := hostPort(t, srv.addr)
	cfg := notify.SMTPConfig{Host: host, Port: port, From: "khongtraloi@dichvucong.example.vn", FromName: "UBND tỉnh Mẫu",
		Username: "notify", Password: "mật-khẩu", TLS: notify.TLSStartTLS, TLSConfig: cliTLS, Timeout: 5 * time.Second}
	s, err := notify.NewSMTPSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := s.SendEmail(ctx, notify.Email{To: "nhung@example.vn", Subject: "Thử nghiệm", Text: "Xin chào", HTML: "<p>Xin chào</p>"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "Message-ID: "+id) {
		t.Fatalf("received %d messages", len(msgs))
	}
	if got := decodeMail(t, msgs[0].Data); got.Subject != "Thử nghiệm" || strings.TrimSpace(got.Text) != "Xin chào" {
		t.Errorf("decoded %+v", got)
	}

	bad := cfg
	bad.Password = "sai"
	s2, _ := notify.NewSMTPSender(bad)
	if _, err := s2.SendEmail(ctx, notify.Email{To: "nhung@example.vn", Subject: "x", Text: "x"}); !errors.Is(err, notify.ErrPermanent) {
		t.Errorf("bad password: %v, want a permanent error", err)
	}

	plain := startMail(t, "127.0.0.1:0", nil, "notify", "mật-khẩu")
	h2, p2 := hostPort(t, plain.addr)
	noTLS := cfg
	noTLS.Host, noTLS.Port = h2, p2
	s3, _ := notify.NewSMTPSender(noTLS)
	if _, err := s3.SendEmail(ctx, notify.Email{To: "nhung@example.vn", Subject: "x", Text: "x"}); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("server without STARTTLS: %v", err)
	}
	if len(plain.Messages()) != 0 {
		t.Errorf("a message went out without TLS")
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"CONGSO_SMTP_HOST": "mail.tinh.gov.vn", "CONGSO_SMTP_PORT": "465", "CONGSO_SMTP_TLS": "TLS",
		"CONGSO_SMTP_FROM": "khongtraloi@tinh.gov.vn", "CONGSO_SMTP_USERNAME": "u", "CONGSO_SMTP_PASSWORD": "p",
		"CONGSO_SMS_URL": "https://sms.example.vn/api", "CONGSO_SMS_BRANDNAME": "UBND TINH", "CONGSO_SMS_API_KEY": "k",
		"CONGSO_SMS_UNICODE": "true", "CONGSO_NOTIFY_MAX_ATTEMPTS": "5", "CONGSO_SMS_TIMEOUT": "5s"}
	c, err := notify.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Port != 465 || c.SMTP.TLS != notify.TLSImplicit || c.SMS.Brandname != "UBND TINH" || !c.SMS.Unicode ||
		c.MaxAttempts != 5 || c.SMS.Timeout != 5*time.Second || c.SMTP.Password != "p" {
		t.Errorf("config %+v", c)
	}
	env["CONGSO_SMTP_TLS"] = "maybe"
	env["CONGSO_SMTP_PORT"] = "x"
	env["CONGSO_SMS_BRANDNAME"] = ""
	_, err = notify.ConfigFromEnv(func(k string) string { return env[k] })
	for _, want := range []string{"CONGSO_SMTP_TLS", "CONGSO_SMTP_PORT", "CONGSO_SMS_BRANDNAME"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	c, err = notify.ConfigFromEnv(func(string) string { return "" })
	if err != nil || c.SMTP.Host != "" || c.SMS.URL != "" {
		t.Errorf("nothing set: %+v, %v", c, err)
	}
}

func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(notify.MessagesFS(), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Error(err)
	}
}
