package oidc

import (
	"context"
	"fmt"
	"slices"

	"github.com/congso/congso/internal/identity"
)

// Claims beyond the standard ones.
const (
	ClaimPersonalID = "cccd"             // citizen's personal ID number, scope cccd
	ClaimKind       = "congso_kind"      // "official" or "applicant"
	ClaimPositions  = "congso_positions" // [{title, unit_id, agency_id, agency_eid}], scope congso.roles
	ClaimRoles      = "congso_roles"     // [{role, unit_id}] (unit_id "" = province-wide), scope congso.roles
)

// PositionClaim is one active position in ClaimPositions.
type PositionClaim struct {
	Title     string `json:"title"`
	UnitID    string `json:"unit_id"`
	AgencyID  string `json:"agency_id,omitempty"`
	AgencyEID string `json:"agency_eid,omitempty"`
}

// RoleClaim is one active grant in ClaimRoles.
type RoleClaim struct {
	Role   string `json:"role"`
	UnitID string `json:"unit_id"`
}

// personClaims returns the userinfo claims of a person for the granted
// scopes. The personal ID number goes to citizens' (applicants') clients
// with scope cccd only; positions and roles to officials' with congso.roles.
func (p *Provider) personClaims(ctx context.Context, personID string, scopes []string) (map[string]any, error) {
	person, err := p.ids.GetPerson(ctx, personID)
	if err != nil {
		return nil, fmt.Errorf("claims of %s: %w", personID, err)
	}
	if person.StatusAt(p.cfg.Now()) == identity.StatusDisabled {
		return nil, fmt.Errorf("claims of %s: disabled: %w", personID, identity.ErrNotFound)
	}
	has := func(s string) bool { return slices.Contains(scopes, s) }
	c := map[string]any{"sub": person.ID, ClaimKind: string(person.Kind)}
	if has(ScopeProfile) {
		c["name"] = person.FullName
		c["preferred_username"] = person.Username
	}
	if has(ScopeEmail) && person.Email != "" {
		c["email"] = person.Email
		c["email_verified"] = false
	}
	if has(ScopePhone) && person.Phone != "" {
		c["phone_number"] = person.Phone
		c["phone_number_verified"] = false
	}
	if has(ScopePersonalID) && person.Kind == identity.KindApplicant && person.PersonalID != "" {
		c[ClaimPersonalID] = person.PersonalID
	}
	if has(ScopeRoles) && person.Kind == identity.KindOfficial {
		pos, roles, err := p.officialClaims(ctx, person)
		if err != nil {
			return nil, err
		}
		c[ClaimPositions], c[ClaimRoles] = pos, roles
	}
	return c, nil
}

func (p *Provider) officialClaims(ctx context.Context, person identity.Person) ([]PositionClaim, []RoleClaim, error) {
	pos := []PositionClaim{}
	for _, x := range person.Positions {
		if !x.Active() {
			continue
		}
		pc := PositionClaim{Title: x.Title, UnitID: x.UnitID, AgencyID: x.AgencyID}
		if x.AgencyID != "" {
			pc.AgencyEID = x.AgencyID
			if p.cfg.AgencyCode != nil {
				code, err := p.cfg.AgencyCode(ctx, x.AgencyID)
				if err != nil {
					return nil, nil, fmt.Errorf("agency e-ID of %s: %w", x.AgencyID, err)
				}
				pc.AgencyEID = code
			}
		}
		pos = append(pos, pc)
	}
	roles := []RoleClaim{}
	for _, g := range person.Grants {
		if g.Active() {
			roles = append(roles, RoleClaim{Role: string(g.Role), UnitID: g.UnitID})
		}
	}
	return pos, roles, nil
}
