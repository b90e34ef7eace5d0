package identity

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Action names something a person may do, "<module>.<verb>". The action table
// says which roles allow it; a province-wide sysadmin grant allows everything.
type Action string

// Actions of the modules written so far. Other modules add theirs with
// [DefineAction] in a package-level var, next to the code that checks them:
//
//	var ActionReceive = identity.DefineAction("dossier.receive", identity.RoleOfficer)
var (
	// ActionCatalogEdit: create, change and retire catalog entries
	// (administrative units, agencies, units, fields, procedures).
	ActionCatalogEdit = DefineAction("catalog.edit", RoleCatalogAdmin)
	// ActionCatalogImport: bulk import of catalogs from CSV/JSON.
	ActionCatalogImport = DefineAction("catalog.import", RoleCatalogAdmin)
	// ActionUserView: list and read accounts with their positions and grants.
	ActionUserView = DefineAction("user.view")
	// ActionUserManage: create accounts, reset passwords, lock and disable,
	// add and end positions.
	ActionUserManage = DefineAction("user.manage")
	// ActionUserGrant: grant and revoke roles.
	ActionUserGrant = DefineAction("user.grant")

	// The one-stop steps, checked against the unit that holds the dossier.
	ActionDossierReceive = DefineAction("dossier.receive", RoleOfficer)
	ActionDossierAssign  = DefineAction("dossier.assign", RoleDivisionHead)
	ActionDossierProcess = DefineAction("dossier.process", RoleHandler)
	ActionDossierApprove = DefineAction("dossier.approve", RoleDivisionHead)
	ActionDossierSign    = DefineAction("dossier.sign", RoleAgencyHead)
	ActionDossierIssue   = DefineAction("dossier.issue", RoleClerk)
	ActionDossierReturn  = DefineAction("dossier.return", RoleOfficer)
	// ActionReportView: statistics and operations-center dashboards.
	ActionReportView = DefineAction("report.view", RoleLeader, RoleAgencyHead)
)

// policy is the action table. It is written during package initialisation
// (DefineAction in package-level vars) and read on every request.
var policy = struct {
	sync.RWMutex
	roles map[Action][]Role
}{roles: map[Action][]Role{}}

// DefineAction adds an action to the table, allowed to roles (besides
// sysadmin, which may do everything), and returns it. Defining an action again
// adds roles to it. It panics on an unknown role: the table is code.
func DefineAction(a Action, roles ...Role) Action {
	for _, r := range roles {
		if !r.Valid() {
			panic(fmt.Sprintf("identity: DefineAction(%q): unknown role %q", a, r))
		}
	}
	policy.Lock()
	defer policy.Unlock()
	cur := policy.roles[a]
	for _, r := range roles {
		if !slices.Contains(cur, r) {
			cur = append(cur, r)
		}
	}
	if cur == nil {
		cur = []Role{}
	}
	policy.roles[a] = cur
	return a
}

// ActionRoles returns the roles that allow a (sysadmin aside), and whether a
// is defined at all.
func ActionRoles(a Action) ([]Role, bool) {
	policy.RLock()
	defer policy.RUnlock()
	r, ok := policy.roles[a]
	return slices.Clone(r), ok
}

// Actions lists the defined actions, sorted.
func Actions() []Action {
	policy.RLock()
	defer policy.RUnlock()
	out := make([]Action, 0, len(policy.roles))
	for a := range policy.roles {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Can reports whether p may perform action on unitID. Use unitID
// [ProvinceWide] ("") for actions on no particular unit (province catalogs,
// accounts): only province-wide grants allow those. An undefined action is
// allowed to sysadmin only, so a typo fails closed for everybody else.
//
// ctx is for a later unit hierarchy (a grant on an agency covering its units),
// which will need the catalog.
func Can(ctx context.Context, p *Principal, action Action, unitID string) bool {
	if !p.Authenticated() {
		return false
	}
	if p.HasRole(RoleSysadmin, ProvinceWide) {
		return true
	}
	policy.RLock()
	roles := policy.roles[action]
	policy.RUnlock()
	for _, g := range p.Grants {
		if g.Active() && g.Covers(unitID) && slices.Contains(roles, g.Role) {
			return true
		}
	}
	return false
}

// Require returns nil when p may perform action on unitID, an error wrapping
// [ErrUnauthenticated] for the anonymous caller, and one wrapping
// [ErrForbidden] otherwise. Handlers call it first and pass its error to the
// HTTP error writer.
func Require(ctx context.Context, p *Principal, action Action, unitID string) error {
	if !p.Authenticated() {
		return fmt.Errorf("%s: %w", action, ErrUnauthenticated)
	}
	if !Can(ctx, p, action, unitID) {
		return fmt.Errorf("%s on unit %q: %w", action, unitID, ErrForbidden)
	}
	return nil
}

// UnitsFor tells where p may perform action: everywhere (all true), or only in
// the listed units. Lists (an inbox of dossiers) use it to filter their query.
func UnitsFor(p *Principal, action Action) (units []string, all bool) {
	if !p.Authenticated() {
		return nil, false
	}
	if p.HasRole(RoleSysadmin, ProvinceWide) {
		return nil, true
	}
	policy.RLock()
	roles := policy.roles[action]
	policy.RUnlock()
	for _, g := range p.Grants {
		if !g.Active() || !slices.Contains(roles, g.Role) {
			continue
		}
		if g.UnitID == ProvinceWide {
			return nil, true
		}
		if !slices.Contains(units, g.UnitID) {
			units = append(units, g.UnitID)
		}
	}
	return units, false
}
