package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// one-stop §3 step 1.1 and step 2: the applicant is told by SMS, email and
// in-app; a redelivered event (at-least-once outbox) must not reach them
// twice.
func TestEventDeliveredTwiceSendsOneEmailAndOneSMS(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()

		// The same event again, as the outbox does after a lost
		// acknowledgement, then the delivery events again too.
		ev := e.lastEvent(dossier.TopicReceived)
		for range 2 {
			if err := e.svc.HandleDossierEvent(ctx, ev); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
		}
		e.drain()
		del := e.lastEvent(notify.TopicDeliver)
		if err := e.svc.HandleDeliver(ctx, del); err != nil {
			t.Fatalf("redelivered send: %v", err)
		}

		if got := len(e.mail.Messages()); got != 1 {
			t.Errorf("emails received = %d, want 1", got)
		}
		if got := len(e.gw.Messages()); got != 1 {
			t.Errorf("SMS received = %d, want 1", got)
		}
		ds := e.deliveries(code)
		if len(ds) != 3 {
			t.Fatalf("deliveries = %+v, want in-app, SMS, email", ds)
		}
		for _, dl := range ds {
			if dl.Status != notify.StatusSent || dl.SentAt.IsZero() || dl.Kind != notify.KindReceived {
				t.Errorf("delivery %+v: want sent, kind received", dl)
			}
		}
		sms := byChannel(ds, notify.ChannelSMS)[0]
		if sms.Recipient != "84*******78" || sms.ProviderID != e.gw.Messages()[0].ID {
			t.Errorf("SMS delivery recipient %q provider %q; gateway id %q", sms.Recipient, sms.ProviderID, e.gw.Messages()[0].ID)
		}
		if em := byChannel(ds, notify.ChannelEmail)[0]; em.Recipient != "n***@example.vn" || em.Subject != "Đã tiếp nhận hồ sơ "+code {
			t.Errorf("email delivery %+v", em)
		}
		list, _, err := e.svc.List(ctx, "p-nhung", false, 10, 0)
		if err != nil || len(list) != 1 {
			t.Fatalf("in-app list = %+v, %v; want one", list, err)
		}
	})
}

// The receipt by email: Vietnamese diacritics survive the trip through a
// real SMTP server (RFC 2047 subject, quoted-printable UTF-8 parts), and an
// English-speaking applicant gets the English text (one-stop §3 step 2.1).
func TestReceiptEmailInBothLanguages(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{})
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		msgs := e.mail.Messages()
		if len(msgs) != 1 {
			t.Fatalf("emails = %d", len(msgs))
		}
		if msgs[0].From != "khongtraloi@dichvucong.example.vn" || len(msgs[0].To) != 1 || msgs[0].To[0] != "nhung@example.vn" {
			t.Errorf("envelope %q → %q", msgs[0].From, msgs[0].To)
		}
		m := decodeMail(t, msgs[0].Data)
		if m.Subject != "Đã tiếp nhận hồ sơ "+code {
			t.Errorf("subject %q", m.Subject)
		}
		if strings.Contains(string(msgs[0].Data), "Đã") {
			t.Errorf("raw message carries unencoded UTF-8 (must be RFC 2047 / quoted-printable)")
		}
		if m.From != "UBND tỉnh Mẫu <khongtraloi@dichvucong.example.vn>" {
			t.Errorf("From %q", m.From)
		}
		if m.Header.Get("Message-ID") == "" || m.Header.Get("Content-Language") != "vi" {
			t.Errorf("headers %v", m.Header)
		}
		// 16/01/2030 10:00 UTC is 17:00 in Hanoi, same day.
		contains(t, "text part", m.Text, "Kính gửi Ông/Bà Nguyễn Thị Hồng Nhung,", "Mã hồ sơ: "+code,
			"Thủ tục: Cấp giấy phép xây dựng nhà ở riêng lẻ", "Ngày hẹn trả kết quả: 16/01/2030",
			"https://dichvucong.example.vn/lookup?code="+code, "Trân trọng,\nUBND tỉnh Mẫu")
		contains(t, "HTML part", m.HTML, `<html lang="vi">`, "Nguyễn Thị Hồng Nhung", "Ngày hẹn trả kết quả: <strong>16/01/2030</strong>",
			`href="https://dichvucong.example.vn/lookup?code=`+code+`"`)
		sms := e.gw.Messages()[0]
		if sms.Text != "Ho so "+code+" da duoc tiep nhan. Ngay hen tra ket qua: 16/01/2030. Tra cuu: https://dichvucong.example.vn/lookup?code="+code {
			t.Errorf("SMS text %q", sms.Text)
		}
		if sms.Phone != "84912345678" || sms.Brandname != "UBND TINH" {
			t.Errorf("SMS to %q as %q", sms.Phone, sms.Brandname)
		}

		// English.
		en := nhung()
		en.Lang, en.Name, en.Email = "en", "Trần Văn Ánh", "anh@example.vn"
		e.dos.facts["X-2"] = factsFor(en)
		ev := receivedEvent()
		ev.Code = "X-2"
		e.publish(dossier.TopicReceived, ev)
		e.drain()
		msgs = e.mail.Messages()
		if len(msgs) != 2 {
			t.Fatalf("emails = %d", len(msgs))
		}
		m = decodeMail(t, msgs[1].Data)
		if m.Subject != "Dossier X-2 received" || m.Header.Get("Content-Language") != "en" {
			t.Errorf("English subject %q", m.Subject)
		}
		contains(t, "English text", m.Text, "Dear Trần Văn Ánh,", "Result due on: 16/01/2030", "Procedure: Cấp giấy phép xây dựng nhà ở riêng lẻ")
		contains(t, "English HTML", m.HTML, `<html lang="en">`, "Trần Văn Ánh")
	})
}

// A send that fails because the SMTP server is down is retried with backoff
// and arrives once the server is back; the timeline shows the attempts.
func TestSMTPDownThenUpDeliversAfterRetry(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		addr := freeAddr(t)
		e := newEnv(t, d, envOpt{smtpAddr: addr})
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()

		em := byChannel(e.deliveries(code), notify.ChannelEmail)
		if len(em) != 1 || em[0].Status != notify.StatusPending || em[0].Attempts != 1 || em[0].LastError == "" {
			t.Fatalf("after a refused connection: %+v", em)
		}
		if len(e.gw.Messages()) != 1 {
			t.Errorf("the SMS must not wait for the email")
		}
		// Nothing is retried before the backoff ends.
		if n := e.drain(); n != 0 {
			t.Errorf("drain before backoff ran %d deliveries", n)
		}

		srv := startMail(t, addr, nil, "", "")
		e.clk.Add(3 * time.Second) // attempt 1's backoff is at most 2s
		e.drain()
		if got := len(srv.Messages()); got != 1 {
			t.Fatalf("emails after the server came back = %d, want 1", got)
		}
		em = byChannel(e.deliveries(code), notify.ChannelEmail)
		if em[0].Status != notify.StatusSent || em[0].Attempts != 2 || em[0].LastError != "" {
			t.Errorf("after retry: %+v", em[0])
		}
		if !strings.Contains(string(srv.Messages()[0].Data), em[0].ProviderID) {
			t.Errorf("provider id %q is not the message's Message-ID", em[0].ProviderID)
		}
	})
}

// The SMS gateway fails on demand: a temporary failure is retried; after
// MaxAttempts the delivery is failed and visible; an operator's retry sends
// it; a permanent refusal fails at once.
func TestSMSGatewayFailingOnDemand(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{maxAttempts: 3})
		c := nhung()
		c.Email = ""
		e.dos.facts[code] = factsFor(c)

		// One failure, then success.
		e.gw.FailNext(1, http.StatusServiceUnavailable)
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		sms := byChannel(e.deliveries(code), notify.ChannelSMS)[0]
		if sms.Status != notify.StatusPending || !strings.Contains(sms.LastError, "503") {
			t.Fatalf("after a 503: %+v", sms)
		}
		e.clk.Add(3 * time.Second)
		e.drain()
		sms = byChannel(e.deliveries(code), notify.ChannelSMS)[0]
		if sms.Status != notify.StatusSent || sms.Attempts != 2 || len(e.gw.Messages()) != 1 {
			t.Fatalf("after recovery: %+v, %d messages", sms, len(e.gw.Messages()))
		}

		// Down for good: three attempts, then failed.
		e.gw.FailNext(-1, http.StatusServiceUnavailable)
		ev := receivedEvent()
		ev.Action, ev.To, ev.Status, ev.Version = "request_supplement", "supplement", dossier.StatusSupplement, 5
		e.publish(dossier.TopicTransition, ev)
		for range 4 {
			e.drain()
			e.clk.Add(time.Minute)
		}
		sms = byChannel(e.deliveries(code), notify.ChannelSMS)[1]
		if sms.Status != notify.StatusFailed || sms.Attempts != 3 {
			t.Fatalf("after 3 failures: %+v", sms)
		}
		failed, err := e.svc.Failed(ctx, 10, 0)
		if err != nil || len(failed) != 1 || failed[0].ID != sms.ID {
			t.Fatalf("Failed() = %+v, %v", failed, err)
		}
		if e.gw.Requests() != 5 {
			t.Errorf("gateway requests = %d, want 2 + 3", e.gw.Requests())
		}

		// The operator retries once the gateway is back.
		e.gw.Recover()
		if err := e.svc.Retry(ctx, sms.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Retry(ctx, sms.ID); !errors.Is(err, notify.ErrNotFound) {
			t.Errorf("retrying a pending delivery: %v, want ErrNotFound", err)
		}
		e.drain()
		if got := len(e.gw.Messages()); got != 2 {
			t.Fatalf("messages after retry = %d", got)
		}
		if sms = byChannel(e.deliveries(code), notify.ChannelSMS)[1]; sms.Status != notify.StatusSent {
			t.Errorf("after retry: %+v", sms)
		}
	})
}

// A refusal the gateway will never accept (brandname not registered) fails
// at the first attempt instead of retrying for hours.
func TestSMSPermanentErrorFailsAtOnce(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{sms: notify.SMSConfig{Brandname: "UNKNOWN"}})
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		sms := byChannel(e.deliveries(code), notify.ChannelSMS)[0]
		if sms.Status != notify.StatusFailed || sms.Attempts != 1 || !strings.Contains(sms.LastError, `code "02"`) {
			t.Fatalf("delivery %+v", sms)
		}
		if got := len(byChannel(e.deliveries(code), notify.ChannelEmail)); got != 1 || len(e.mail.Messages()) != 1 {
			t.Errorf("email must still go")
		}
	})
}

// Preferences per channel are respected; without an account the applicant
// gets SMS and email (if an address is given), never in-app.
func TestPreferencesRespected(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		p, err := e.svc.Preferences(ctx, "p-nhung")
		if err != nil || p != notify.DefaultPreferences() {
			t.Fatalf("defaults = %+v, %v", p, err)
		}
		if err := e.svc.SetPreferences(ctx, "p-nhung", notify.Preferences{InApp: true}); err != nil {
			t.Fatal(err)
		}
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		ds := e.deliveries(code)
		if len(ds) != 1 || ds[0].Channel != notify.ChannelInApp || len(e.mail.Messages()) != 0 || len(e.gw.Messages()) != 0 {
			t.Fatalf("with SMS and email off: %+v", ds)
		}

		// Turn SMS back on: the next event is texted.
		if err := e.svc.SetPreferences(ctx, "p-nhung", notify.Preferences{InApp: true, SMS: true}); err != nil {
			t.Fatal(err)
		}
		ev := receivedEvent()
		ev.Action, ev.From, ev.To, ev.Status, ev.Version = "extend", "appraising", "appraising", dossier.StatusProcessing, 6
		e.publish(dossier.TopicTransition, ev)
		e.drain()
		if len(e.gw.Messages()) != 1 || len(e.mail.Messages()) != 0 {
			t.Errorf("after turning SMS on: %d SMS, %d emails", len(e.gw.Messages()), len(e.mail.Messages()))
		}

		// No account (a counter dossier) and no email address.
		counter := notify.Contact{Name: "Lê Văn Tám", Phone: "0987654321"}
		e.dos.facts["C-1"] = factsFor(counter)
		ev = receivedEvent()
		ev.Code = "C-1"
		e.publish(dossier.TopicReceived, ev)
		e.drain()
		ds = e.deliveries("C-1")
		if len(ds) != 1 || ds[0].Channel != notify.ChannelSMS || ds[0].Status != notify.StatusSent {
			t.Errorf("counter applicant without email: %+v", ds)
		}
	})
}

// The supplement request lists every item asked, at once (one-stop §3 1.1,
// §13 "a new defect each round"), in every channel.
func TestSupplementRequestListsEveryItem(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		f := factsFor(nhung())
		f.Notices = []notify.Notice{
			{Kind: "supplement_request", CaseVersion: 1, Items: []string{"Cũ"}},
			{Kind: "supplement_request", CaseVersion: 7, Reason: "Bản vẽ chưa đúng tỉ lệ.",
				Items: []string{"Bản vẽ mặt bằng tỉ lệ 1/100", "Bản sao sổ đỏ có chứng thực"}},
		}
		e.dos.facts[code] = f
		ev := receivedEvent()
		ev.Action, ev.From, ev.To, ev.Status, ev.Version, ev.Paused = "request_supplement", "appraising", "supplement", dossier.StatusSupplement, 7, true
		e.publish(dossier.TopicTransition, ev)
		e.drain()
		m := decodeMail(t, e.mail.Messages()[0].Data)
		if m.Subject != "Hồ sơ "+code+" cần bổ sung" {
			t.Errorf("subject %q", m.Subject)
		}
		contains(t, "text", m.Text, "1. Bản vẽ mặt bằng tỉ lệ 1/100", "2. Bản sao sổ đỏ có chứng thực", "Ghi chú của cán bộ: Bản vẽ chưa đúng tỉ lệ.")
		contains(t, "html", m.HTML, "<li>Bản vẽ mặt bằng tỉ lệ 1/100</li><li>Bản sao sổ đỏ có chứng thực</li>")
		if strings.Contains(m.Text, "Cũ") {
			t.Errorf("an earlier round's item leaked into the notice")
		}
		contains(t, "SMS", e.gw.Messages()[0].Text, "can bo sung 2 noi dung: Ban ve mat bang ti le 1/100; Ban sao so do co chung thuc.")
		list, _, _ := e.svc.List(ctx, "p-nhung", true, 10, 0)
		if len(list) != 1 {
			t.Fatalf("in-app: %+v", list)
		}
		contains(t, "in-app", list[0].Body, "Bản vẽ mặt bằng tỉ lệ 1/100; Bản sao sổ đỏ có chứng thực")
		if list[0].Link != "/my/dossiers/"+code || list[0].DossierCode != code {
			t.Errorf("in-app link %q", list[0].Link)
		}
	})
}

// A user text with HTML is escaped in the HTML part, kept as is elsewhere.
func TestUserTextEscapedInHTML(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{})
		f := factsFor(nhung())
		f.Notices = []notify.Notice{{Kind: "refusal", CaseVersion: 3, Reason: `Thiếu <script>alert("x")</script> chữ ký`}}
		e.dos.facts[code] = f
		ev := receivedEvent()
		ev.Action, ev.From, ev.To, ev.Status, ev.Version, ev.Ended = "refuse", "checking", "refused", dossier.StatusRefused, 3, true
		e.publish(dossier.TopicTransition, ev)
		e.drain()
		m := decodeMail(t, e.mail.Messages()[0].Data)
		if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
			t.Errorf("HTML part does not escape the reason:\n%s", m.HTML)
		}
		contains(t, "text", m.Text, `Lý do: Thiếu <script>alert("x")</script> chữ ký`)
	})
}

// A dossier the facts source does not know is dropped; a failing source is
// retried (the event is not lost).
func TestContactLookupFailureIsRetried(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{})
		e.dos.err = errors.New("database unavailable")
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		if len(e.deliveries(code)) != 0 {
			t.Fatal("deliveries without facts")
		}
		e.dos.mu.Lock()
		e.dos.err = nil
		e.dos.mu.Unlock()
		e.clk.Add(3 * time.Second)
		e.drain()
		if len(e.deliveries(code)) != 3 || len(e.mail.Messages()) != 1 {
			t.Errorf("after the source recovered: %+v", e.deliveries(code))
		}
		ev := receivedEvent()
		ev.Code = "UNKNOWN"
		e.publish(dossier.TopicReceived, ev)
		e.drain()
		st, err := e.disp.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Pending != 0 || s.Dead != 0 {
				t.Errorf("subscription %s/%s: %d pending, %d dead", s.Topic, s.Name, s.Pending, s.Dead)
			}
		}
	})
}

// identity.login: the owner is told by in-app and email, never SMS.
func TestLoginNotification(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		e.accts["p-nhung"] = notify.Contact{Name: "Nguyễn Thị Hồng Nhung", Email: "nhung@example.vn", Phone: "0912345678"}
		err := d.Tx(ctx, func(tx *db.Tx) error {
			return outbox.Publish(ctx, tx, outbox.Event{Topic: notify.TopicLogin, Key: "p-nhung", At: e.clk.Now(),
				Payload: notify.LoginEvent{PersonID: "p-nhung", At: time.Date(2030, 1, 2, 1, 30, 0, 0, time.UTC),
					Method: "password", IP: "203.0.113.9", UserAgent: "Mozilla/5.0 Firefox/140"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		e.drain()
		if len(e.gw.Messages()) != 0 {
			t.Errorf("a sign-in was texted")
		}
		msgs := e.mail.Messages()
		if len(msgs) != 1 {
			t.Fatalf("emails = %d", len(msgs))
		}
		m := decodeMail(t, msgs[0].Data)
		contains(t, "login mail", m.Text, "Thời điểm: 08:30 02/01/2030", "Địa chỉ IP: 203.0.113.9", "Phương thức: password")
		list, _, err := e.svc.List(ctx, "p-nhung", false, 10, 0)
		if err != nil || len(list) != 1 || list[0].Kind != notify.KindLogin {
			t.Fatalf("in-app = %+v, %v", list, err)
		}
	})
}

// The in-app inbox: newest first, paging, unread filter, mark read, and
// nobody marks another account's notification.
func TestInAppInbox(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		e.dos.facts[code] = factsFor(nhung())
		// Drained one by one: the outbox does not order events, the inbox
		// lists in the order notifications were recorded.
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		ev := receivedEvent()
		ev.Action, ev.From, ev.To, ev.Status, ev.Version = "issue", "issuing", "returning", dossier.StatusResultReady, 9
		e.publish(dossier.TopicTransition, ev)
		e.drain()
		ev.Action, ev.From, ev.To, ev.Status, ev.Version, ev.Ended = "return", "returning", "returned", dossier.StatusReturned, 10, true
		e.publish(dossier.TopicTransition, ev)
		e.drain()
		n, _ := e.svc.UnreadCount(ctx, "p-nhung")
		if n != 3 {
			t.Fatalf("unread = %d", n)
		}
		page1, next, err := e.svc.List(ctx, "p-nhung", false, 2, 0)
		if err != nil || len(page1) != 2 || next == 0 || page1[0].Kind != notify.KindReturned || page1[1].Kind != notify.KindResultReady {
			t.Fatalf("page 1 = %+v next %d, %v", page1, next, err)
		}
		page2, next2, _ := e.svc.List(ctx, "p-nhung", false, 2, next)
		if len(page2) != 1 || next2 != 0 || page2[0].Kind != notify.KindReceived {
			t.Fatalf("page 2 = %+v next %d", page2, next2)
		}
		if err := e.svc.MarkRead(ctx, "someone-else", page1[0].ID); !errors.Is(err, notify.ErrNotFound) {
			t.Errorf("another account marking: %v", err)
		}
		if err := e.svc.MarkRead(ctx, "p-nhung", page1[0].ID); err != nil {
			t.Fatal(err)
		}
		unread, _, _ := e.svc.List(ctx, "p-nhung", true, 10, 0)
		if len(unread) != 2 {
			t.Errorf("unread after one read: %d", len(unread))
		}
		if k, _ := e.svc.MarkAllRead(ctx, "p-nhung"); k != 2 {
			t.Errorf("mark all read = %d", k)
		}
		if n, _ := e.svc.UnreadCount(ctx, "p-nhung"); n != 0 {
			t.Errorf("unread = %d", n)
		}

		// Retention: rows recorded before the cutoff go, pending ones stay.
		if n, err := e.svc.Purge(ctx, e.clk.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("purge before anything: %d, %v", n, err)
		}
		if n, err := e.svc.Purge(ctx, e.clk.Now().Add(time.Hour)); err != nil || n != 9 {
			t.Errorf("purge = %d, %v; want 3 events × 3 channels", n, err)
		}
		if ds := e.deliveries(code); len(ds) != 0 {
			t.Errorf("left after purge: %+v", ds)
		}
	})
}
