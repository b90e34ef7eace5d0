package workflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/congso/congso/internal/workflow"
)

// base is a minimal valid definition; the cases below break it one way each.
const base = `{"key": "t", "version": 1, "name": {"vi": "Thử"}, "initial": "a",
 "states": [
  {"key": "a", "name": {"vi": "A"}, "kind": "normal", "status": 1, "roles": ["r"],
   "actions": [{"key": "go", "name": {"vi": "Đi"}, "roles": ["r"], "next": "z"}]},
  %s
  {"key": "z", "name": {"vi": "Z"}, "kind": "final", "status": 10}]}`

func def(extra string) string { return strings.Replace(base, "%s", extra, 1) }

func TestDefinitionValidation(t *testing.T) {
	if _, err := workflow.ParseDefinition([]byte(def(""))); err != nil {
		t.Fatalf("base definition: %v", err)
	}
	fork := `{"key": "f", "name": {"vi": "F"}, "kind": "fork", "status": 4, "fork": {"branch_start": "b1"}},
  {"key": "b1", "name": {"vi": "B1"}, "kind": "normal", "status": 4, "roles": ["r"],
   "actions": [{"key": "ok", "name": {"vi": "OK"}, "roles": ["r"], "next": "j"}]},
  {"key": "j", "name": {"vi": "J"}, "kind": "join", "join": {"fork": "f", "next": "z", "on_refuse": "z"}},`
	forkFromA := strings.Replace(def(fork), `"next": "z"}]},`, `"next": "f"}]},`, 1)
	cases := []struct {
		name, doc, path, msg string
	}{
		{"unknown target state", strings.Replace(def(""), `"next": "z"`, `"next": "nowhere"`, 1),
			"/states/0/actions/0/next", `"nowhere" is not a state`},
		{"unreachable state", def(`{"key": "b", "name": {"vi": "B"}, "kind": "normal", "status": 4, "roles": ["r"],
   "actions": [{"key": "x", "name": {"vi": "X"}, "roles": ["r"], "next": "z"}]},`),
			"/states/1", "unreachable"},
		{"action without roles", strings.Replace(def(""), `"roles": ["r"], "next"`, `"roles": [], "next"`, 1),
			"/states/0/actions/0/roles", "no roles"},
		{"join without fork", def(`{"key": "j", "name": {"vi": "J"}, "kind": "join", "join": {"fork": "a", "next": "z", "on_refuse": "z"}},`),
			"/states/1/join/fork", "join without fork"},
		{"fork without join", strings.Replace(forkFromA, `"fork": "f", "next"`, `"fork": "a", "next"`, 1),
			"/states/1", "has no join"},
		{"branch leaving without its join", strings.Replace(forkFromA, `"roles": ["r"], "next": "j"`, `"roles": ["r"], "next": "z"`, 1),
			"/states/2/actions/0/next", "only leave through its join"},
		{"refusal outside a branch", strings.Replace(def(""), `"next": "z"}`, `"next": "z", "refuse": true}`, 1),
			"/states/0/actions/0/refuse", "refusal"},
		{"status out of range (schema)", strings.Replace(def(""), `"status": 1`, `"status": 11`, 1),
			"/states/0/status", "maximum"},
		{"unknown field (schema)", strings.Replace(def(""), `"status": 1,`, `"status": 1, "colour": "red",`, 1),
			"/states/0", "colour"},
		{"missing name (schema)", strings.Replace(def(""), `"name": {"vi": "Thử"},`, ``, 1),
			"", "name"},
		{"both next and stay", strings.Replace(def(""), `"next": "z"}`, `"next": "z", "stay": true}`, 1),
			"/states/0/actions/0", "both next and stay"},
		{"dead end", def(`{"key": "b", "name": {"vi": "B"}, "kind": "normal", "status": 4, "roles": ["r"], "actions": []},`),
			"/states/1/actions", "no actions"},
		{"owner cannot act", strings.Replace(def(""), `"status": 1, "roles": ["r"]`, `"status": 1, "roles": ["s"]`, 1),
			"/states/0/roles/0", `"s" owns state`},
		{"escalation names an unknown action", strings.Replace(def(""), `"status": 1,`,
			`"status": 1, "sla": {"value": 1, "unit": "working_days"}, "escalation": {"on_breach": {"action": "nope"}},`, 1),
			"/states/0/escalation/on_breach/action", "not available"},
		{"no way to a final state", strings.Replace(def(`{"key": "b", "name": {"vi": "B"}, "kind": "normal", "status": 4, "roles": ["r"],
   "actions": [{"key": "back", "name": {"vi": "Lại"}, "roles": ["r"], "next": "a"}]},`), `"next": "z"}]},`, `"next": "b"}]},`, 1),
			"/states/0", "cannot reach a final state"},
		{"unknown initial state", strings.Replace(def(""), `"initial": "a"`, `"initial": "q"`, 1),
			"/initial", "not a state"},
		{"duplicate state", def(`{"key": "a", "name": {"vi": "A2"}, "kind": "final", "status": 10},`),
			"/states/1/key", "duplicate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.ParseDefinition([]byte(tc.doc))
			if !errors.Is(err, workflow.ErrInvalidDefinition) {
				t.Fatalf("err = %v, want ErrInvalidDefinition", err)
			}
			var de *workflow.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *DefinitionError", err)
			}
			for _, p := range de.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("problems = %v; want one at %q mentioning %q", de.Problems, tc.path, tc.msg)
		})
	}
	if _, err := workflow.ParseDefinition([]byte(forkFromA)); err != nil {
		t.Fatalf("valid fork/join definition refused: %v", err)
	}
}

// §4: every state of the shipped processes declares its national status
// code, and the one-stop mapping is the one the national portal expects.
func TestShippedDefinitionsAndStatusCodes(t *testing.T) {
	docs, err := workflow.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d shipped definitions, want 3", len(docs))
	}
	defs := map[string]*workflow.Definition{}
	for name, raw := range docs {
		d, err := workflow.ParseDefinition(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defs[d.Key] = d
		for _, s := range d.States {
			if s.Kind != workflow.KindJoin && (s.Status < 1 || s.Status > 10) {
				t.Errorf("%s: state %s has status %d", d.Key, s.Key, s.Status)
			}
		}
	}
	want := map[string]int{
		"checking": 1, "assigning": 2, "appraising": 4, "approving": 4, "signing": 4, "transferring": 4, "issuing": 4,
		"returning": 9, "not_collected": 9, "returned": 10, "refused": 3, "supplement_at_reception": 5, "supplement": 5,
		"awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "archived": 9,
	}
	d := defs[workflow.OneStop]
	for key, code := range want {
		s, ok := d.State(key)
		if !ok || s.Status != code {
			t.Errorf("one-stop state %s: status %v, want %d", key, s, code)
		}
	}
	if len(d.States) != len(want) {
		t.Errorf("one-stop has %d states, the mapping covers %d", len(d.States), len(want))
	}
	for _, key := range []string{"supplement", "supplement_at_reception", "awaiting_payment"} {
		if s, _ := d.State(key); s.Kind != workflow.KindPaused {
			t.Errorf("%s must pause the clock (§6)", key)
		}
	}
	if f, ok := defs[workflow.OneStopInterAgency].InBranch("consult_review"); !ok || f != "consulting" {
		t.Errorf("consult_review belongs to fork %q, %v", f, ok)
	}
	if schema := workflow.Schema(); !strings.Contains(string(schema), "2020-12") {
		t.Error("Schema() does not return the JSON Schema")
	}
}
