package workflow

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/congso/congso/internal/platform/calendar"
)

// Text is a display name in Vietnamese (required) and English.
type Text struct {
	VI string `json:"vi"`
	EN string `json:"en,omitempty"`
}

// DurationUnit is the unit of an SLA. The values are the catalog's, so a
// procedure's statutory duration converts directly.
type DurationUnit string

// The SLA units: working days on the calendar, or office hours.
const (
	WorkingDays DurationUnit = "working_days"
	Hours       DurationUnit = "hours"
)

// Duration is an SLA: Value working days (the deadline is the close of office
// hours of the Value-th working day after the start's day; 0 means the same
// day) or Value office hours.
type Duration struct {
	Value int          `json:"value"`
	Unit  DurationUnit `json:"unit"`
}

// After returns the deadline of something started at t with this duration.
func (d Duration) After(cal *calendar.Calendar, t time.Time) time.Time {
	if d.Unit == Hours {
		return cal.AddWorkingHours(t, time.Duration(d.Value)*time.Hour).UTC()
	}
	return cal.AddWorkingDays(t, d.Value).UTC()
}

// String returns the duration in Vietnamese ("15 ngày làm việc", "4 giờ").
func (d Duration) String() string {
	if d.Unit == Hours {
		return strconv.Itoa(d.Value) + " giờ"
	}
	return strconv.Itoa(d.Value) + " ngày làm việc"
}

// StateKind says how the engine treats a state.
type StateKind string

// The state kinds.
const (
	// KindNormal is a step where someone acts.
	KindNormal StateKind = "normal"
	// KindFinal ends the case: no actions, no deadline.
	KindFinal StateKind = "final"
	// KindPaused stops the case's clock while the case is in it (supplement
	// request, financial obligation); each stay is stored as a pause interval.
	KindPaused StateKind = "paused"
	// KindFork starts parallel branches, one per agency/unit given by the
	// action that enters it; the case stays in the fork state until its join
	// resolves.
	KindFork StateKind = "fork"
	// KindJoin is where branches end. It is never a case's resting state: when
	// every branch has finished the case moves to Join.Next, and as soon as one
	// branch refuses it moves to Join.OnRefuse.
	KindJoin StateKind = "join"
)

// Requirement is an input an action cannot be taken without.
type Requirement string

// The requirements.
const (
	NeedComment     Requirement = "comment"
	NeedAttachments Requirement = "attachments"
	NeedSignature   Requirement = "signature"
)

// Escalation says what happens around a deadline: a warning WarnBeforeHours
// office hours before it, and OnBreach when it passes.
type Escalation struct {
	WarnBeforeHours int     `json:"warn_before_hours,omitempty"`
	OnBreach        *Breach `json:"on_breach,omitempty"`
}

// warnLead is the warning lead time (0 when none).
func (e *Escalation) warnLead() time.Duration {
	if e == nil {
		return 0
	}
	return time.Duration(e.WarnBeforeHours) * time.Hour
}

// Breach is the reaction to a passed deadline: notify holders of roles (an
// escalation event on the outbox) and, for a step deadline, optionally take
// Action on the system's behalf.
type Breach struct {
	Notify []string `json:"notify,omitempty"`
	Action string   `json:"action,omitempty"`
}

// Action is something a holder of one of Roles may do in a state.
type Action struct {
	Key   string   `json:"key"`
	Name  Text     `json:"name"`
	Roles []string `json:"roles"`
	// Unit, when set, names the unit slot in which Roles are checked instead
	// of the state's unit: the one-stop desk withdraws a case that is at the
	// division.
	Unit string `json:"unit,omitempty"`
	// Next is the state the case (or branch) moves to. Exactly one of Next
	// and Stay is set.
	Next string `json:"next,omitempty"`
	// Stay keeps the current state (reassign, extension): the action is still
	// recorded in the history and bumps the case version.
	Stay     bool          `json:"stay,omitempty"`
	Requires []Requirement `json:"requires,omitempty"`
	// SendBack marks a return to an earlier step (disagreement).
	SendBack bool `json:"send_back,omitempty"`
	// Refuse marks a branch's refusal: the join moves the case to its
	// OnRefuse state at once.
	Refuse bool `json:"refuse,omitempty"`
	// Assign sets the case's assignee from Input.Assignee.
	Assign bool `json:"assign,omitempty"`
	// ExtendsDue sets a new total due date from Input.NewDue (extension with
	// apology letter); it must be taken before the current due date.
	ExtendsDue bool `json:"extends_due,omitempty"`
	// SetsUnits lists the unit slots that Input.Units may set.
	SetsUnits []string `json:"sets_units,omitempty"`
	// Outcome, when set, is recorded on the case (for example "approved" or
	// "rejected") for the dossier module and statistics.
	Outcome string `json:"outcome,omitempty"`
}

func (a *Action) requires(r Requirement) bool { return slices.Contains(a.Requires, r) }

// CommonAction is an action available in several states (withdraw, stop,
// extend): in the states listed in In, or when In is empty in every normal,
// paused and fork state outside fork branches.
type CommonAction struct {
	Action
	In []string `json:"in,omitempty"`
}

// Fork declares the parallel branches a fork state starts.
type Fork struct {
	// BranchStart is the first state of every branch.
	BranchStart string `json:"branch_start"`
	// BranchSLA is each branch's default deadline; the action entering the
	// fork may give each branch its own.
	BranchSLA *Duration `json:"branch_sla,omitempty"`
}

// Join declares where the branches of Fork end and where the case goes next.
type Join struct {
	Fork     string `json:"fork"`
	Next     string `json:"next"`
	OnRefuse string `json:"on_refuse"`
}

// State is one step of a process.
type State struct {
	Key  string    `json:"key"`
	Name Text      `json:"name"`
	Kind StateKind `json:"kind"`
	// Status is the national portal's (DVCQG) status code 1–10 of a case in
	// this state (requirements §4); join states have none.
	Status int `json:"status,omitempty"`
	// Unit names the unit slot of the case that owns the state ("desk",
	// "division", "agency"); empty means the case's main unit.
	Unit string `json:"unit,omitempty"`
	// Roles are the roles whose inbox shows a case in this state.
	Roles []string `json:"roles,omitempty"`
	// ForAssignee puts the work in the assignee's inbox instead of the role
	// queue; holders of Roles may then act only if they are the assignee.
	ForAssignee bool        `json:"for_assignee,omitempty"`
	SLA         *Duration   `json:"sla,omitempty"`
	Escalation  *Escalation `json:"escalation,omitempty"`
	Actions     []Action    `json:"actions,omitempty"`
	Fork        *Fork       `json:"fork,omitempty"`
	Join        *Join       `json:"join,omitempty"`
}

// Definition is a versioned, declarative process. A case pins (Key, Version)
// when it starts; publishing a new version never changes running cases.
type Definition struct {
	Key         string `json:"key"`
	Version     int    `json:"version"`
	Name        Text   `json:"name"`
	Description string `json:"description,omitempty"`
	Initial     string `json:"initial"`
	// ClockStarts is the state whose first entry starts the total clock
	// (valid reception, requirements §6); empty means at start.
	ClockStarts string `json:"clock_starts,omitempty"`
	// ClockStops is the state whose first entry stops the total clock
	// (processing finished); final states stop it too.
	ClockStops string `json:"clock_stops,omitempty"`
	// Cutoff, "HH:MM", makes a clock started at or after that time of day (or
	// on a day off) count from the next working day.
	Cutoff string `json:"cutoff,omitempty"`
	// SLA is the default total duration; a case may override it with its
	// procedure's statutory duration.
	SLA           *Duration      `json:"sla,omitempty"`
	Escalation    *Escalation    `json:"escalation,omitempty"`
	States        []State        `json:"states"`
	CommonActions []CommonAction `json:"common_actions,omitempty"`

	idx *index // built by Validate
}

// index is the compiled form of a valid definition.
type index struct {
	states  map[string]*State
	actions map[string][]*Action // per state, own actions then common ones
	region  map[string]string    // branch state → its fork state
	joinOf  map[string]string    // fork state → its join state
	cutoff  time.Duration        // -1 when none
}

// State returns the state named key. Like every lookup method, it needs a
// definition that passed Validate (ParseDefinition validates).
func (d *Definition) State(key string) (*State, bool) {
	if d.idx == nil {
		return nil, false
	}
	s, ok := d.idx.states[key]
	return s, ok
}

// Actions returns the actions available in state (its own, then the common
// actions that apply there).
func (d *Definition) Actions(state string) []*Action {
	if d.idx == nil {
		return nil
	}
	return d.idx.actions[state]
}

func (d *Definition) action(state, key string) *Action {
	for _, a := range d.idx.actions[state] {
		if a.Key == key {
			return a
		}
	}
	return nil
}

// InBranch reports whether state belongs to the branches of a fork, and
// which.
func (d *Definition) InBranch(state string) (fork string, ok bool) {
	if d.idx == nil {
		return "", false
	}
	fork, ok = d.idx.region[state]
	return fork, ok
}

// Problem is one thing wrong with a definition, located by a JSON pointer
// into the definition document ("/states/3/actions/1/next").
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String returns "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// DefinitionError lists every problem found in a definition. It matches
// ErrInvalidDefinition with errors.Is.
type DefinitionError struct {
	Key      string
	Version  int
	Problems []Problem
}

// Error lists the problems.
func (e *DefinitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "workflow: invalid definition %s v%d: ", e.Key, e.Version)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidDefinition) true.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidDefinition }

//go:embed definition.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of definition documents, for
// editors and the admin console.
func Schema() []byte { return slices.Clone(schemaJSON) }

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	const url = "https://congso.vn/schema/workflow-definition.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// ParseDefinition decodes and validates a definition document: first against
// the JSON Schema, then the semantic checks of [Definition.Validate]. A
// failure is a *DefinitionError naming the path of each problem.
func ParseDefinition(raw []byte) (*Definition, error) {
	sch, err := compiledSchema()
	if err != nil {
		return nil, fmt.Errorf("workflow: compile definition schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &DefinitionError{Problems: []Problem{{Path: "", Message: "not JSON: " + err.Error()}}}
	}
	if err := sch.Validate(doc); err != nil {
		var probs []Problem
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			probs = schemaProblems(ve, nil)
		} else {
			probs = []Problem{{Message: err.Error()}}
		}
		key, version := peekKey(doc)
		return nil, &DefinitionError{Key: key, Version: version, Problems: probs}
	}
	var d Definition
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, &DefinitionError{Problems: []Problem{{Message: err.Error()}}}
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func peekKey(doc any) (string, int) {
	m, _ := doc.(map[string]any)
	k, _ := m["key"].(string)
	var v int
	if n, ok := m["version"].(json.Number); ok {
		i, _ := n.Int64()
		v = int(i)
	}
	return k, v
}

var printer = message.NewPrinter(language.English)

// schemaProblems flattens a schema validation error into its leaf causes.
func schemaProblems(ve *jsonschema.ValidationError, out []Problem) []Problem {
	if len(ve.Causes) == 0 {
		path := ""
		for _, p := range ve.InstanceLocation {
			path += "/" + strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
		}
		return append(out, Problem{Path: path, Message: ve.ErrorKind.LocalizedString(printer)})
	}
	for _, c := range ve.Causes {
		out = schemaProblems(c, out)
	}
	return out
}

// Validate checks the semantic rules a schema cannot express and compiles
// the definition for the engine. Every problem is reported with its path:
// unknown or duplicate states and actions, unreachable states, states that
// cannot reach a final state, actions without roles, inbox roles that cannot
// act, fork/join mismatches (a join without its fork, a branch that never
// reaches its join, actions entering a branch from outside), escalations
// naming unknown or unusable actions, and clock states that do not exist.
func (d *Definition) Validate() error {
	v := &validator{d: d}
	v.run()
	if len(v.probs) > 0 {
		d.idx = nil
		return &DefinitionError{Key: d.Key, Version: d.Version, Problems: v.probs}
	}
	return nil
}

type validator struct {
	d     *Definition
	probs []Problem
	pos   map[string]int // state key → index in States
}

func (v *validator) addf(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func statePath(i int) string     { return "/states/" + strconv.Itoa(i) }
func actionPath(i, j int) string { return statePath(i) + "/actions/" + strconv.Itoa(j) }
func commonPath(j int) string    { return "/common_actions/" + strconv.Itoa(j) }

// edge is one way out of a state, with the path of what declares it.
type edge struct {
	to   string
	path string
}

func (v *validator) run() {
	d := v.d
	idx := &index{states: map[string]*State{}, actions: map[string][]*Action{}, region: map[string]string{}, joinOf: map[string]string{}, cutoff: -1}
	v.pos = map[string]int{}
	if d.Key == "" {
		v.addf("/key", "key is required")
	}
	if d.Version < 1 {
		v.addf("/version", "version must be at least 1")
	}
	if d.Name.VI == "" {
		v.addf("/name/vi", "a Vietnamese name is required")
	}
	for i := range d.States {
		s := &d.States[i]
		if _, dup := idx.states[s.Key]; dup {
			v.addf(statePath(i)+"/key", "duplicate state %q", s.Key)
			continue
		}
		idx.states[s.Key] = s
		v.pos[s.Key] = i
	}
	known := func(path, key, what string) *State {
		s, ok := idx.states[key]
		if !ok {
			v.addf(path, "%s %q is not a state of this definition", what, key)
		}
		return s
	}

	// Per-state rules.
	for i := range d.States {
		s := &d.States[i]
		p := statePath(i)
		if s.Name.VI == "" {
			v.addf(p+"/name/vi", "a Vietnamese name is required")
		}
		switch s.Kind {
		case KindNormal, KindPaused, KindFork, KindFinal:
			if s.Status < 1 || s.Status > 10 {
				v.addf(p+"/status", "status must be the national portal code 1–10")
			}
		case KindJoin:
			if s.Status != 0 {
				v.addf(p+"/status", "a join state has no status (the case never rests in it)")
			}
		default:
			v.addf(p+"/kind", "unknown kind %q", s.Kind)
		}
		if (s.Fork != nil) != (s.Kind == KindFork) {
			v.addf(p+"/fork", "a fork block belongs exactly to fork states")
		}
		if (s.Join != nil) != (s.Kind == KindJoin) {
			v.addf(p+"/join", "a join block belongs exactly to join states")
		}
		if s.Kind == KindFinal || s.Kind == KindJoin {
			if len(s.Actions) > 0 {
				v.addf(p+"/actions", "a %s state has no actions", s.Kind)
			}
			if len(s.Roles) > 0 || s.ForAssignee {
				v.addf(p+"/roles", "a %s state has no owner", s.Kind)
			}
			if s.SLA != nil || s.Escalation != nil {
				v.addf(p+"/sla", "a %s state has no deadline", s.Kind)
			}
		}
		if s.ForAssignee && len(s.Roles) == 0 {
			v.addf(p+"/roles", "a state for the assignee names the assignee's role")
		}
		if s.Escalation != nil && s.SLA == nil {
			v.addf(p+"/escalation", "escalation without a state SLA")
		}
		if s.Kind == KindFork && s.Escalation != nil {
			v.addf(p+"/escalation", "a fork state's deadlines are its branches'")
		}
		if s.Kind == KindFork && s.SLA != nil {
			v.addf(p+"/sla", "a fork state's deadlines are its branches'")
		}
		seen := map[string]bool{}
		for j := range s.Actions {
			a := &s.Actions[j]
			if seen[a.Key] {
				v.addf(actionPath(i, j)+"/key", "duplicate action %q in state %q", a.Key, s.Key)
			}
			seen[a.Key] = true
			idx.actions[s.Key] = append(idx.actions[s.Key], a)
			v.checkAction(a, actionPath(i, j), known)
		}
		if s.Fork != nil {
			if bs := known(p+"/fork/branch_start", s.Fork.BranchStart, "branch start"); bs != nil && bs.Kind != KindNormal {
				v.addf(p+"/fork/branch_start", "a branch starts in a normal state, not %s", bs.Kind)
			}
		}
		if s.Join != nil {
			if f := known(p+"/join/fork", s.Join.Fork, "fork"); f != nil {
				if f.Kind != KindFork {
					v.addf(p+"/join/fork", "join names %q, which is not a fork state (join without fork)", s.Join.Fork)
				} else if prev, dup := idx.joinOf[f.Key]; dup {
					v.addf(p+"/join/fork", "fork %q already joins at %q", f.Key, prev)
				} else {
					idx.joinOf[f.Key] = s.Key
				}
			}
			for _, t := range []struct{ field, key string }{{"next", s.Join.Next}, {"on_refuse", s.Join.OnRefuse}} {
				if ts := known(p+"/join/"+t.field, t.key, "join target"); ts != nil && (ts.Kind == KindJoin) {
					v.addf(p+"/join/"+t.field, "a join cannot lead to another join")
				}
			}
		}
	}
	for i := range d.States {
		if s := &d.States[i]; s.Kind == KindFork {
			if _, ok := idx.joinOf[s.Key]; !ok {
				v.addf(statePath(i), "fork %q has no join state naming it", s.Key)
			}
		}
	}

	// Branch regions: the states reachable from a fork's branch start without
	// passing its join.
	own := func(key string) []edge {
		var es []edge
		i := v.pos[key]
		for j, a := range d.States[i].Actions {
			if a.Next != "" {
				es = append(es, edge{a.Next, actionPath(i, j) + "/next"})
			}
		}
		return es
	}
	for fk, jk := range idx.joinOf {
		f := idx.states[fk]
		start := f.Fork.BranchStart
		if _, ok := idx.states[start]; !ok {
			continue
		}
		reached := map[string]bool{}
		queue := []string{start}
		joined := false
		for len(queue) > 0 {
			k := queue[0]
			queue = queue[1:]
			if reached[k] {
				continue
			}
			reached[k] = true
			if prev, taken := idx.region[k]; taken && prev != fk {
				v.addf(statePath(v.pos[k]), "state belongs to the branches of both %q and %q", prev, fk)
			}
			idx.region[k] = fk
			for _, e := range own(k) {
				t, ok := idx.states[e.to]
				switch {
				case !ok:
				case e.to == jk:
					joined = true
				case t.Kind == KindJoin:
					v.addf(e.path, "a branch of fork %q cannot end at the join of another fork", fk)
				case t.Kind != KindNormal:
					v.addf(e.path, "a branch of fork %q can only leave through its join (not to %s state %q)", fk, t.Kind, e.to)
				default:
					queue = append(queue, e.to)
				}
			}
		}
		if !joined {
			v.addf(statePath(v.pos[fk])+"/fork/branch_start", "the branches of fork %q never reach its join %q", fk, jk)
		}
	}

	// Common actions.
	for j := range d.CommonActions {
		ca := &d.CommonActions[j]
		p := commonPath(j)
		v.checkAction(&ca.Action, p, known)
		targets := ca.In
		if len(targets) == 0 {
			for _, s := range d.States {
				if _, inBranch := idx.region[s.Key]; !inBranch && (s.Kind == KindNormal || s.Kind == KindPaused || s.Kind == KindFork) {
					targets = append(targets, s.Key)
				}
			}
		}
		for n, k := range targets {
			s := known(p+"/in/"+strconv.Itoa(n), k, "state")
			if s == nil {
				continue
			}
			if s.Kind == KindFinal || s.Kind == KindJoin {
				v.addf(p+"/in/"+strconv.Itoa(n), "a common action cannot apply to %s state %q", s.Kind, k)
				continue
			}
			if ca.Next == k {
				continue // a self-loop would be "stay"; not offered in its own target
			}
			if slices.ContainsFunc(idx.actions[k], func(a *Action) bool { return a.Key == ca.Key }) {
				v.addf(p+"/key", "action %q is already declared in state %q", ca.Key, k)
				continue
			}
			idx.actions[k] = append(idx.actions[k], &ca.Action)
		}
	}

	// Edges of the whole graph, for region, reachability and liveness checks.
	edges := map[string][]edge{}
	for k, acts := range idx.actions {
		for _, a := range acts {
			if a.Next != "" {
				edges[k] = append(edges[k], edge{a.Next, v.pathOfAction(k, a)})
			}
		}
	}
	for fk, jk := range idx.joinOf {
		f := idx.states[fk]
		edges[fk] = append(edges[fk], edge{f.Fork.BranchStart, ""}, edge{jk, ""})
		j := idx.states[jk]
		edges[jk] = append(edges[jk], edge{j.Join.Next, ""}, edge{j.Join.OnRefuse, ""})
	}

	// Actions may enter a branch only through its fork, and leave it only
	// through its join.
	for k, es := range edges {
		for _, e := range es {
			if e.path == "" {
				continue
			}
			t, ok := idx.states[e.to]
			if !ok {
				continue
			}
			from, to := idx.region[k], idx.region[e.to]
			switch {
			case t.Kind == KindJoin && idx.states[t.Join.Fork] != nil && from != t.Join.Fork:
				v.addf(e.path, "only the branches of fork %q may end at join %q", t.Join.Fork, e.to)
			case to != "" && from != to:
				v.addf(e.path, "state %q is inside the branches of fork %q and can only be entered by that fork", e.to, to)
			case from != "" && to == "" && t.Kind != KindJoin:
				v.addf(e.path, "a branch of fork %q can only leave through its join", from)
			}
		}
	}
	for k, acts := range idx.actions {
		for _, a := range acts {
			if a.Refuse && (idx.region[k] == "" || a.Next != idx.joinOf[idx.region[k]]) {
				v.addf(v.pathOfAction(k, a)+"/refuse", "a refusal belongs to a branch action that ends at the join")
			}
			if a.Next != "" && idx.states[a.Next] != nil && idx.states[a.Next].Kind == KindFork && idx.region[k] != "" {
				v.addf(v.pathOfAction(k, a)+"/next", "forks cannot be nested")
			}
		}
	}

	// Owners, dead ends, escalation.
	for i := range d.States {
		s := &d.States[i]
		p := statePath(i)
		acts := idx.actions[s.Key]
		if (s.Kind == KindNormal || s.Kind == KindPaused) && len(acts) == 0 {
			v.addf(p+"/actions", "state %q has no actions (make it final)", s.Key)
		}
		if (s.Kind == KindNormal || s.Kind == KindPaused) && len(s.Roles) == 0 {
			v.addf(p+"/roles", "state %q needs the roles whose inbox shows it", s.Key)
		}
		for n, r := range s.Roles {
			if !slices.ContainsFunc(acts, func(a *Action) bool { return slices.Contains(a.Roles, r) }) {
				v.addf(p+"/roles/"+strconv.Itoa(n), "role %q owns state %q but may take none of its actions", r, s.Key)
			}
		}
		if s.Escalation != nil && s.Escalation.OnBreach != nil && s.Escalation.OnBreach.Action != "" {
			ap := p + "/escalation/on_breach/action"
			a := actionIn(idx, s.Key, s.Escalation.OnBreach.Action)
			switch {
			case a == nil:
				v.addf(ap, "action %q is not available in state %q", s.Escalation.OnBreach.Action, s.Key)
			case a.requires(NeedAttachments) || a.requires(NeedSignature) || a.Assign || a.ExtendsDue || len(a.SetsUnits) > 0:
				v.addf(ap, "action %q needs inputs the system cannot give when a deadline passes", a.Key)
			case a.Next != "" && idx.states[a.Next] != nil && idx.states[a.Next].Kind == KindFork:
				v.addf(ap, "the system cannot start a fork (branches are given by a person)")
			}
		}
	}
	if d.Escalation != nil && d.Escalation.OnBreach != nil && d.Escalation.OnBreach.Action != "" {
		v.addf("/escalation/on_breach/action", "the total deadline can notify but not move the case; put automatic moves on a state")
	}

	// Initial and clock states.
	if s := known("/initial", d.Initial, "initial state"); s != nil {
		if s.Kind == KindFinal || s.Kind == KindJoin || s.Kind == KindFork {
			v.addf("/initial", "a case cannot start in a %s state", s.Kind)
		}
		if idx.region[s.Key] != "" {
			v.addf("/initial", "a case cannot start inside a fork's branches")
		}
	}
	for _, c := range []struct{ path, key string }{{"/clock_starts", d.ClockStarts}, {"/clock_stops", d.ClockStops}} {
		if c.key == "" {
			continue
		}
		if s := known(c.path, c.key, "clock state"); s != nil && (s.Kind == KindJoin || idx.region[s.Key] != "") {
			v.addf(c.path, "the clock starts and stops on the main path, not in a join or branch")
		}
	}
	if d.Cutoff != "" {
		t, err := time.Parse("15:04", d.Cutoff)
		if err != nil {
			v.addf("/cutoff", "cutoff must be HH:MM")
		} else {
			idx.cutoff = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		}
	}
	if len(v.probs) > 0 {
		return
	}

	// Reachability from the initial state.
	reached := map[string]bool{}
	queue := []string{d.Initial}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if reached[k] {
			continue
		}
		reached[k] = true
		for _, e := range edges[k] {
			queue = append(queue, e.to)
		}
		if s := idx.states[k]; s.Escalation != nil && s.Escalation.OnBreach != nil {
			if a := actionIn(idx, k, s.Escalation.OnBreach.Action); a != nil && a.Next != "" {
				queue = append(queue, a.Next)
			}
		}
	}
	for i, s := range d.States {
		if !reached[s.Key] {
			v.addf(statePath(i), "state %q is unreachable from the initial state %q", s.Key, d.Initial)
		}
	}
	// Liveness: every state can still reach a final state.
	live := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, s := range d.States {
			if live[s.Key] {
				continue
			}
			ok := s.Kind == KindFinal
			for _, e := range edges[s.Key] {
				// A fork lives through its join, not its branch start.
				if s.Kind == KindFork && e.to == s.Fork.BranchStart {
					continue
				}
				if live[e.to] {
					ok = true
				}
			}
			if ok {
				live[s.Key] = true
				changed = true
			}
		}
	}
	for i, s := range d.States {
		if reached[s.Key] && !live[s.Key] {
			v.addf(statePath(i), "state %q cannot reach a final state", s.Key)
		}
	}
	if len(v.probs) == 0 {
		d.idx = idx
	}
}

func actionIn(idx *index, state, key string) *Action {
	for _, a := range idx.actions[state] {
		if a.Key == key {
			return a
		}
	}
	return nil
}

// pathOfAction finds where action a (own or common) of state k is declared.
func (v *validator) pathOfAction(k string, a *Action) string {
	i := v.pos[k]
	for j := range v.d.States[i].Actions {
		if &v.d.States[i].Actions[j] == a {
			return actionPath(i, j)
		}
	}
	for j := range v.d.CommonActions {
		if &v.d.CommonActions[j].Action == a {
			return commonPath(j)
		}
	}
	return statePath(i)
}

func (v *validator) checkAction(a *Action, p string, known func(path, key, what string) *State) {
	if a.Name.VI == "" {
		v.addf(p+"/name/vi", "a Vietnamese name is required")
	}
	if len(a.Roles) == 0 {
		v.addf(p+"/roles", "action %q has no roles: nobody could take it", a.Key)
	}
	switch {
	case a.Next != "" && a.Stay:
		v.addf(p, "action %q has both next and stay", a.Key)
	case a.Next == "" && !a.Stay:
		v.addf(p+"/next", "action %q needs a next state (or stay)", a.Key)
	case a.Next != "":
		known(p+"/next", a.Next, "next state")
	}
	if a.ExtendsDue && !a.Stay {
		v.addf(p+"/extends_due", "an extension keeps the state (stay)")
	}
	if a.SendBack && a.Stay {
		v.addf(p+"/send_back", "a send-back moves to an earlier state")
	}
}
