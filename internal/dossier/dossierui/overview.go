package dossierui

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/workflow"
)

// workRoles are the roles whose queues hold a dossier's open work in the
// shipped processes.
var workRoles = []identity.Role{identity.RoleOfficer, identity.RoleDivisionHead, identity.RoleHandler,
	identity.RoleAgencyHead, identity.RoleClerk}

type overviewRow struct {
	UnitLoad
	Name string
}

type overviewView struct {
	Agencies []option
	Agency   string
	Choose   bool // a province-wide viewer has not chosen an agency yet
	Rows     []overviewRow
	Total    UnitLoad
	// Partial: the counts leave out work assigned to a person (no
	// directory of people to find them, and no aggregate query).
	Partial bool
}

// overview shows leaders the open, near-breach and overdue work of the
// units of an agency.
func (p *Pages) overview(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work/overview", ActionOverview)
	if !ok {
		return
	}
	ctx := r.Context()
	v := overviewView{Agency: strings.TrimSpace(r.URL.Query().Get("agency"))}
	units, all := identity.UnitsFor(pr, ActionOverview)
	var scope []string
	if all {
		list, err := p.cat.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency})
		if err != nil {
			p.fail(w, r, "/work/overview", err)
			return
		}
		for _, a := range list {
			v.Agencies = append(v.Agencies, option{Value: a.EID, Label: a.Name})
		}
		if v.Agency == "" || !slices.ContainsFunc(v.Agencies, func(o option) bool { return o.Value == v.Agency }) {
			v.Agency, v.Choose = "", true
		} else {
			scope = []string{v.Agency}
		}
	} else {
		scope = units
	}
	// Each unit of the scope with its own units (an agency head's agency and
	// its divisions and office).
	var show []string
	for _, u := range scope {
		if !slices.Contains(show, u) {
			show = append(show, u)
		}
		children, err := p.cat.Agencies(ctx, catalog.AgencyQuery{ParentEID: u, Kind: catalog.KindUnit})
		if err != nil {
			p.fail(w, r, "/work/overview", err)
			return
		}
		for _, c := range children {
			if !slices.Contains(show, c.EID) {
				show = append(show, c.EID)
			}
		}
	}
	var loads []UnitLoad
	var err error
	if p.UnitLoads != nil {
		loads, err = p.UnitLoads(ctx, show)
	} else {
		loads, v.Partial, err = p.countLoads(ctx, show)
	}
	if err != nil {
		p.fail(w, r, "/work/overview", err)
		return
	}
	nm := p.names(ctx)
	for _, l := range loads {
		v.Rows = append(v.Rows, overviewRow{UnitLoad: l, Name: nm.Unit(l.Unit)})
		v.Total.Open += l.Open
		v.Total.NearBreach += l.NearBreach
		v.Total.Overdue += l.Overdue
	}
	p.shell.Render(w, r, p.pages["overview"], http.StatusOK, v)
}

// countLoads adds up, per unit, the workflow's inbox counts of the unit's
// role queues (work not assigned to anyone) and, when the directory of
// people is set, of the assigned work of the unit's officials. There is no
// aggregate query by unit yet (see the package report); this costs one
// count query per unit and per official.
func (p *Pages) countLoads(ctx context.Context, units []string) ([]UnitLoad, bool, error) {
	now := p.now()
	roles := make([]string, len(workRoles))
	for i, r := range workRoles {
		roles[i] = string(r)
	}
	out := make([]UnitLoad, 0, len(units))
	for _, u := range units {
		c, err := p.wf.InboxCounts(ctx, workflow.Actor{Roles: map[string][]string{u: roles}}, now)
		if err != nil {
			return nil, false, err
		}
		l := UnitLoad{Unit: u, Open: c.Queue, NearBreach: c.NearBreach, Overdue: c.Overdue}
		if p.People != nil {
			seen := map[string]bool{}
			for _, role := range workRoles {
				people, err := p.People.Grantees(ctx, role, u)
				if err != nil {
					return nil, false, err
				}
				for _, x := range people {
					if seen[x.ID] {
						continue
					}
					seen[x.ID] = true
					c, err := p.wf.InboxCounts(ctx, workflow.Actor{ID: x.ID}, now)
					if err != nil {
						return nil, false, err
					}
					l.Open += c.Assigned
					l.NearBreach += c.NearBreach
					l.Overdue += c.Overdue
				}
			}
		}
		out = append(out, l)
	}
	return out, p.People == nil, nil
}
