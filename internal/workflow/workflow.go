package workflow

import (
	"slices"
	"time"
)

// ProvinceWide is the unit key of role grants that apply in every unit (the
// identity module's convention).
const ProvinceWide = ""

// Actor is the person taking an action, with the roles they hold per unit
// (key ProvinceWide for province-wide grants).
type Actor struct {
	ID    string
	Roles map[string][]string
}

// Has reports whether the actor holds role in unit, directly or
// province-wide.
func (a Actor) Has(role, unit string) bool {
	return slices.Contains(a.Roles[unit], role) || slices.Contains(a.Roles[ProvinceWide], role)
}

// roleFor returns the first of roles the actor holds in unit.
func (a Actor) roleFor(roles []string, unit string) (string, bool) {
	for _, r := range roles {
		if a.Has(r, unit) {
			return r, true
		}
	}
	return "", false
}

// SystemActorID is the actor recorded for automatic moves (deadline
// escalations, joins).
const SystemActorID = "system"

// Attachment is a file attached to a transition: its name and the content
// address (SHA-256) of the blob, so the history shows exactly which version
// was attached.
type Attachment struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
	Size int64  `json:"size,omitempty"`
}

// BranchSpec is one branch of a fork, given by the action entering it: Key
// names it within the case (default: Unit), Unit owns it, and its deadline is
// Due if set, else SLA from the time of the fork, else the fork's BranchSLA.
type BranchSpec struct {
	Key  string
	Unit string
	SLA  *Duration
	Due  time.Time
}

// Input is a request to take an action on a case.
type Input struct {
	CaseID string
	Action string
	// Branch names the fork branch acted on; empty for the main path.
	Branch string
	Actor  Actor
	// ExpectedVersion is the case version (for a branch action: the branch
	// version) the caller saw; a different current version gives ErrConflict.
	// Zero means "whatever is current" (the update is still atomic).
	ExpectedVersion int64
	Comment         string
	Attachments     []Attachment
	// Signature references the digital signature (for example the hash of
	// the signed document) for actions that require one.
	Signature string
	// Assignee is the person an assign action gives the case to.
	Assignee string
	// Units sets unit slots the action declares in SetsUnits.
	Units map[string]string
	// Branches are the branches of the fork the action enters.
	Branches []BranchSpec
	// SLA, when set and this action starts the case's clock, replaces the
	// case's total SLA for the due date (the dossier module applies the
	// reception cutoff to a dossier recorded earlier and received now).
	SLA *Duration
	// NewDue is the new total due date of an extension.
	NewDue time.Time
	// Now is the time of the action; zero means the service's clock.
	Now time.Time

	system bool // automatic move: roles are not checked
}

// StartCase starts a case of a definition.
type StartCase struct {
	// CaseID identifies the case; empty means a new UUID. The dossier module
	// passes its dossier ID.
	CaseID string
	// Ref is a human reference shown in inboxes (the dossier code).
	Ref string
	// DefinitionKey and DefinitionVersion pick the process; version 0 means
	// the latest published version, which the case then pins.
	DefinitionKey     string
	DefinitionVersion int
	// Unit is the main unit; Units fills named slots ("desk", "division",
	// "agency"); a state whose slot is unset belongs to Unit.
	Unit  string
	Units map[string]string
	Actor Actor
	// StartedAt is the time of the start; zero means the service's clock.
	StartedAt time.Time
	// SLA overrides the definition's total duration (the procedure's
	// statutory duration); Due overrides both.
	SLA *Duration
	Due time.Time
}

// Case is a running or ended process instance.
type Case struct {
	ID                string
	Ref               string
	DefinitionKey     string
	DefinitionVersion int
	State             string
	// Status is the national portal's code of State.
	Status  int
	Version int64
	// Unit owns the current state; Units holds every slot.
	Unit     string
	Units    map[string]string
	Assignee string
	Outcome  string
	SLA      *Duration
	// StartedAt is when the case started, ClockStartedAt when the total clock
	// started (reception), FinishedAt when it stopped (result ready or the
	// case ended), EndedAt when the case reached a final state.
	StartedAt      time.Time
	ClockStartedAt time.Time
	FinishedAt     time.Time
	EndedAt        time.Time
	// DueAt is the total deadline (the appointment date), zero before the
	// clock starts; it moves with pauses and extensions.
	DueAt time.Time
	// StateEnteredAt and StateDueAt describe the current step.
	StateEnteredAt time.Time
	StateDueAt     time.Time
	// PausedAt is the start of the open pause, zero when running.
	PausedAt time.Time
	// PausedTotal is the office time of all closed pauses.
	PausedTotal time.Duration
	// ForkSeq counts forks entered; Branches are those of the current (or
	// last) fork.
	ForkSeq  int
	Branches []Branch
}

// Ended reports whether the case reached a final state.
func (c *Case) Ended() bool { return !c.EndedAt.IsZero() }

// Branch is one parallel branch of a fork, owned by one agency/unit.
type Branch struct {
	Key      string
	Fork     string
	ForkSeq  int
	Unit     string
	State    string
	Version  int64
	Assignee string
	// Outcome is "" while open, then "done", "refused" or "cancelled".
	Outcome        string
	DueAt          time.Time
	StateEnteredAt time.Time
	StateDueAt     time.Time
	StartedAt      time.Time
	EndedAt        time.Time
}

// Branch outcomes.
const (
	BranchDone      = "done"
	BranchRefused   = "refused"
	BranchCancelled = "cancelled"
)

// HistoryEntry is one line of a case's timeline.
type HistoryEntry struct {
	ID          int64
	CaseID      string
	Version     int64 // case version after the entry
	Branch      string
	Action      string
	From, To    string
	Status      int
	ActorID     string
	Role        string
	Unit        string
	At          time.Time
	Comment     string
	Attachments []Attachment
	Signature   string
	SendBack    bool
	DueAt       time.Time // total deadline after the entry
	Detail      map[string]any
}

// Pause is one interval during which the case's clock stood still.
type Pause struct {
	Seq       int
	State     string
	Reason    string
	StartedAt time.Time
	EndedAt   time.Time     // zero while open
	Working   time.Duration // office time paused, set when it ends
}

// EscalationRecord is a warning or breach the engine recorded for a deadline.
type EscalationRecord struct {
	ID         int64
	CaseID     string
	Scope      string // "case", "state:<key>" or "branch:<key>:<state>"
	Branch     string
	State      string
	Kind       string // "warning" or "breach"
	DueAt      time.Time
	At         time.Time
	Notify     []string
	Unit       string
	AutoAction string
}

// Result is what a transition did.
type Result struct {
	Case *Case
	// From and To are the states before and after on the path acted on (the
	// branch's states for a branch action).
	From, To string
	// Joined reports that the action finished the fork (all branches done,
	// or one refused) and moved the case on.
	Joined  bool
	Entries []HistoryEntry
}

// ActionInfo is an action an actor may take now, for the UI.
type ActionInfo struct {
	Branch   string
	Key      string
	Name     Text
	Requires []Requirement
	SendBack bool
	Assign   bool
	Extends  bool
	Fork     bool // entering a fork: the UI asks for branches
	Next     string
}
