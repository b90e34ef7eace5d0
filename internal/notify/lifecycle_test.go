package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/db"
)

// Each step of the lifecycle that concerns the applicant reaches them with
// the facts of that step (one-stop §3, §8), in the in-app text; steps
// inside the agency reach nobody.
func TestLifecycleNotifications(t *testing.T) {
	newDue := time.Date(2030, 1, 23, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		topic string
		edit  func(ev *dossier.Event)
		kind  notify.Kind // "" for none
		wants []string
	}{
		{"supplement back before reception", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status, ev.ReceivedAt, ev.DueAt = "supplement_received", "supplement_at_reception", "checking", dossier.StatusNew, time.Time{}, time.Time{}
		}, notify.KindResumed, []string{"Đã nhận hồ sơ bổ sung", "đang kiểm tra lại"}},
		{"supplement back during processing", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "supplement_received", "supplement", "appraising", dossier.StatusProcessing
		}, notify.KindResumed, []string{"Đã nhận đủ nội dung bổ sung", "tiếp tục giải quyết", "16/01/2030"}},
		{"payment confirmed", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "payment_confirmed", "awaiting_payment", "appraising", dossier.StatusProcessing
		}, notify.KindResumed, []string{"nghĩa vụ tài chính", "tiếp tục giải quyết"}},
		{"extension", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status, ev.Version, ev.DueAt = "extend", "appraising", "appraising", dossier.StatusProcessing, 20, newDue
		}, notify.KindExtended, []string{"xin lỗi", "16/01/2030", "Ngày hẹn trả mới: 23/01/2030", "Chờ ý kiến Sở Tài nguyên"}},
		{"payment requested", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "request_payment", "appraising", "awaiting_payment", dossier.StatusAwaitingPayment
		}, notify.KindPaymentRequested, []string{"75.000 đồng"}},
		{"fee paid", dossier.TopicFeePaid, func(ev *dossier.Event) { ev.Action, ev.FeeN = "", 1 },
			notify.KindPaymentReceived, []string{"Lệ phí cấp giấy phép: 75.000 đồng"}},
		{"withdrawn", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status, ev.Ended, ev.Version = "withdraw", "appraising", "withdrawn", dossier.StatusWithdrawn, true, 21
		}, notify.KindWithdrawn, []string{"đã được rút", "Đơn đề nghị rút ngày 05/01"}},
		{"stopped", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status, ev.Ended, ev.Version = "stop", "appraising", "stopped", dossier.StatusStopped, true, 22
		}, notify.KindStopped, []string{"dừng giải quyết", "Lý do: Đối tượng không thuộc diện cấp phép."}},
		{"assigned (internal)", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "assign", "assigning", "appraising", dossier.StatusProcessing
		}, "", nil},
		{"signed (internal)", dossier.TopicTransition, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "sign", "signing", "transferring", dossier.StatusProcessing
		}, "", nil},
		{"submitted (before the check)", dossier.TopicSubmitted, func(ev *dossier.Event) {
			ev.Action, ev.From, ev.To, ev.Status = "start", "", "checking", dossier.StatusNew
		}, "", nil},
	}
	each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, envOpt{})
		for i, c := range cases {
			cd := "K-" + string(rune('A'+i))
			f := factsFor(nhung())
			f.Notices = []notify.Notice{
				{Kind: "extension", CaseVersion: 20, Reason: "Chờ ý kiến Sở Tài nguyên và Môi trường.", PreviousDue: due, NewDue: newDue},
				{Kind: "withdrawal", CaseVersion: 21, Reason: "Đơn đề nghị rút ngày 05/01."},
				{Kind: "stop", CaseVersion: 22, Reason: "Đối tượng không thuộc diện cấp phép."},
			}
			e.dos.facts[cd] = f
			ev := receivedEvent()
			ev.Code, ev.Version = cd, 10
			c.edit(&ev)
			e.publish(c.topic, ev)
			e.drain()
			list, _, err := e.svc.List(ctx, "p-nhung", false, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			ds := e.deliveries(cd)
			if c.kind == "" {
				if len(ds) != 0 {
					t.Errorf("%s: notified %+v", c.name, ds)
				}
				continue
			}
			if len(ds) != 3 || len(list) == 0 || list[0].DossierCode != cd || list[0].Kind != c.kind {
				t.Errorf("%s: deliveries %+v, latest in-app %+v", c.name, ds, list)
				continue
			}
			contains(t, c.name, list[0].Title+" "+list[0].Body, c.wants...)
		}
	})
}

// With CONGSO_SMS_UNICODE=true the SMS keeps its diacritics.
func TestUnicodeSMS(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{sms: notify.SMSConfig{Unicode: true}})
		e.dos.facts[code] = factsFor(nhung())
		e.publish(dossier.TopicReceived, receivedEvent())
		e.drain()
		ms := e.gw.Messages()
		if len(ms) != 1 || !ms[0].Unicode || !strings.HasPrefix(ms[0].Text, "Hồ sơ "+code+" đã được tiếp nhận.") {
			t.Errorf("messages %+v", ms)
		}
	})
}

// The identity module's sign-in payload decodes into LoginEvent.
func TestIdentityLoginPayloadCompatible(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := json.Marshal(identity.LoginEvent{PersonID: "p1", SessionID: "s", Method: identity.MethodPassword, IP: "203.0.113.1", UserAgent: "UA", At: at})
	if err != nil {
		t.Fatal(err)
	}
	var le notify.LoginEvent
	if err := json.Unmarshal(b, &le); err != nil {
		t.Fatal(err)
	}
	if le != (notify.LoginEvent{PersonID: "p1", Method: "password", IP: "203.0.113.1", UserAgent: "UA", At: at}) || identity.TopicLogin != notify.TopicLogin {
		t.Errorf("decoded %+v from %s", le, b)
	}
}

// notify names the dossier topics without importing the dossier module.
func TestDossierTopicsMatch(t *testing.T) {
	if notify.TopicDossierReceived != dossier.TopicReceived || notify.TopicDossierTransition != dossier.TopicTransition ||
		notify.TopicDossierFeePaid != dossier.TopicFeePaid {
		t.Error("topic names differ from the dossier module's")
	}
}
