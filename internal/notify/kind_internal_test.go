package notify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Every action of the shipped process definitions (internal/workflow/
// definitions) gives the notification the applicant must get, and the
// internal steps (assign, approve, sign…) give none: one-stop §3.
func TestKindOfShippedDefinitions(t *testing.T) {
	type action struct {
		Key  string `json:"key"`
		Next string `json:"next"`
		Stay bool   `json:"stay"`
	}
	type state struct {
		Key     string   `json:"key"`
		Kind    string   `json:"kind"`
		Actions []action `json:"actions"`
	}
	type def struct {
		States []state `json:"states"`
		Common []struct {
			action
			In []string `json:"in"`
		} `json:"common_actions"`
	}
	// The dossier module's status of each state of the shipped definitions
	// (dossier.StatusOf).
	status := map[string]string{"checking": "new", "supplement_at_reception": "supplement_requested", "refused": "refused",
		"assigning": "received", "appraising": "processing", "supplement": "supplement", "awaiting_payment": "awaiting_payment",
		"approving": "processing", "signing": "processing", "transferring": "processing", "issuing": "processing",
		"processing": "processing", "consulting": "processing", "consult_review": "processing", "drafting_refusal": "processing",
		"returning": "result_ready", "not_collected": "not_collected", "returned": "returned", "archived": "archived",
		"withdrawn": "withdrawn", "stopped": "stopped", "consult_join": "processing"}
	want := map[string]Kind{
		"request_supplement": KindSupplementRequested, "supplement_received": KindResumed, "payment_confirmed": KindResumed,
		"request_payment": KindPaymentRequested, "extend": KindExtended, "withdraw": KindWithdrawn, "stop": KindStopped,
		"return": KindReturned, "checking/refuse": KindRefused, "issue": KindResultReady, "processing/draft_result": "",
		"signing/sign": "", // one-stop-same-day: sign → returning is the result
	}
	files, _ := filepath.Glob("../workflow/definitions/*.json")
	if len(files) == 0 {
		t.Fatal("no definitions found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d def
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		check := func(from string, a action) {
			to := a.Next
			if a.Stay {
				to = from
			}
			st, ok := status[to]
			if !ok {
				t.Errorf("%s: state %s has no status in this test", f, to)
			}
			got, _ := kindOf(TopicDossierTransition, dossierEvent{Action: a.Key, From: from, To: to, Status: st})
			exp, ok := want[from+"/"+a.Key]
			if !ok {
				exp = want[a.Key]
			}
			if from == "signing" && a.Key == "sign" && to == "returning" {
				exp = KindResultReady
			}
			if got != exp {
				t.Errorf("%s: %s --%s--> %s gives %q, want %q", filepath.Base(f), from, a.Key, to, got, exp)
			}
		}
		for _, s := range d.States {
			for _, a := range s.Actions {
				check(s.Key, a)
			}
		}
		for _, c := range d.Common {
			for _, in := range c.In {
				check(in, c.action)
			}
		}
	}
	if k, ok := kindOf(TopicDossierReceived, dossierEvent{Action: "receive"}); !ok || k != KindReceived {
		t.Errorf("received topic: %q", k)
	}
	if k, ok := kindOf(TopicDossierFeePaid, dossierEvent{FeeN: 1}); !ok || k != KindPaymentReceived {
		t.Errorf("fee paid topic: %q", k)
	}
	if _, ok := kindOf("dossier.submitted", dossierEvent{}); ok {
		t.Errorf("a submission before the check notifies nobody")
	}
}

func TestNormalizePhoneAndMask(t *testing.T) {
	for in, want := range map[string]string{"0912 345 678": "84912345678", "+84 912.345.678": "84912345678",
		"84912345678": "84912345678", "(091) 2345-678": "84912345678", "091234567": "", "abc": "", "1912345678": ""} {
		got, ok := NormalizePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if m := mask(ChannelSMS, "84912345678"); m != "84*******78" {
		t.Errorf("mask phone %q", m)
	}
	if m := mask(ChannelEmail, "nhung@example.vn"); m != "n***@example.vn" {
		t.Errorf("mask email %q", m)
	}
}
