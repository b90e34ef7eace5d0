package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
)

// ActionClientManage allows registering and changing OAuth clients
// (system administrators only).
var ActionClientManage = identity.DefineAction("oauth_client.manage")

// newSecret returns a client secret: 32 random bytes, base64url.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (p *Provider) now() time.Time { return p.cfg.Now().UTC().Truncate(time.Microsecond) }

func actor(by *identity.Principal) string {
	if by.Authenticated() {
		return by.PersonID
	}
	return identity.ActorSystem
}

func (p *Provider) clientAudit(ctx context.Context, tx *db.Tx, action string, by *identity.Principal, c Client, detail map[string]any) error {
	return p.cfg.Audit(ctx, tx, audit.Entry{At: p.now(), Actor: actor(by), Action: action, ObjectType: "oauth_client",
		ObjectID: c.ID, Detail: detail, IP: identity.ClientFrom(ctx).IP, RequestID: httpx.RequestID(ctx)})
}

func clientDetail(c Client) map[string]any {
	return map[string]any{"name": c.Name, "redirect_uris": c.RedirectURIs, "post_logout_redirect_uris": c.PostLogoutRedirectURIs,
		"grant_types": c.GrantTypes, "scopes": c.Scopes, "audience": c.Audience, "public": c.Public,
		"first_party": c.FirstParty, "disabled": c.Disabled}
}

// CreateClient registers a client on the authority of by (nil: the system,
// e.g. the command line). For a confidential client it returns the secret,
// which is shown once and stored only hashed. Errors: [ClientError]
// (ErrInvalidClient), ErrClientExists, identity.ErrForbidden.
func (p *Provider) CreateClient(ctx context.Context, by *identity.Principal, in ClientInput) (Client, string, error) {
	if by != nil {
		if err := identity.Require(ctx, by, ActionClientManage, identity.ProvinceWide); err != nil {
			return Client{}, "", err
		}
	}
	if err := in.normalize(true); err != nil {
		return Client{}, "", fmt.Errorf("create client: %w", err)
	}
	now := p.now()
	c := Client{ID: in.ID, Name: in.Name, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, Audience: in.Audience, Public: in.Public, FirstParty: in.FirstParty,
		Disabled: in.Disabled, CreatedAt: now, UpdatedAt: now}
	var secret string
	if !c.Public {
		var err error
		if secret, err = newSecret(); err != nil {
			return Client{}, "", err
		}
		c.SecretHash, c.SecretRotatedAt = HashSecret(secret), &now
	}
	err := p.db.Tx(ctx, func(tx *db.Tx) error {
		if err := insertClient(ctx, tx, c, actor(by)); err != nil {
			return err
		}
		return p.clientAudit(ctx, tx, AuditClientCreated, by, c, clientDetail(c))
	})
	p.store.forget(c.ID)
	if err != nil {
		return Client{}, "", fmt.Errorf("create client %s: %w", c.ID, err)
	}
	return c, secret, nil
}

// UpdateClient replaces a client's registration (all but its id and secret).
// Making a confidential client public drops its secret; making a public one
// confidential requires [Provider.RotateSecret] afterwards.
func (p *Provider) UpdateClient(ctx context.Context, by *identity.Principal, id string, in ClientInput) (Client, error) {
	if by != nil {
		if err := identity.Require(ctx, by, ActionClientManage, identity.ProvinceWide); err != nil {
			return Client{}, err
		}
	}
	if err := in.normalize(false); err != nil {
		return Client{}, fmt.Errorf("update client: %w", err)
	}
	var c Client
	err := p.db.Tx(ctx, func(tx *db.Tx) error {
		old, err := getClient(ctx, tx, id)
		if err != nil {
			return err
		}
		c = old
		c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs = in.Name, in.RedirectURIs, in.PostLogoutRedirectURIs
		c.GrantTypes, c.Scopes, c.Audience = in.GrantTypes, in.Scopes, in.Audience
		c.Public, c.FirstParty, c.Disabled, c.UpdatedAt = in.Public, in.FirstParty, in.Disabled, p.now()
		if c.Public {
			c.SecretHash, c.SecretRotatedAt = "", nil
		}
		if err := updateClient(ctx, tx, c); err != nil {
			return err
		}
		detail := map[string]any{"before": clientDetail(old), "after": clientDetail(c)}
		return p.clientAudit(ctx, tx, AuditClientUpdated, by, c, detail)
	})
	p.store.forget(id)
	if err != nil {
		return Client{}, fmt.Errorf("update client %s: %w", id, err)
	}
	return c, nil
}

// RotateSecret gives a confidential client a new secret, returned once; the
// old one stops working at once.
func (p *Provider) RotateSecret(ctx context.Context, by *identity.Principal, id string) (string, error) {
	if by != nil {
		if err := identity.Require(ctx, by, ActionClientManage, identity.ProvinceWide); err != nil {
			return "", err
		}
	}
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	err = p.db.Tx(ctx, func(tx *db.Tx) error {
		c, err := getClient(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Public {
			return &ClientError{Field: "public", Code: "not_allowed"}
		}
		now := p.now()
		c.SecretHash, c.SecretRotatedAt, c.UpdatedAt = HashSecret(secret), &now, now
		if err := updateClient(ctx, tx, c); err != nil {
			return err
		}
		return p.clientAudit(ctx, tx, AuditClientSecret, by, c, nil)
	})
	p.store.forget(id)
	if err != nil {
		return "", fmt.Errorf("rotate secret of %s: %w", id, err)
	}
	return secret, nil
}

// Client returns one registered client.
func (p *Provider) Client(ctx context.Context, id string) (Client, error) {
	c, err := getClient(ctx, p.db.Read(), id)
	if err != nil {
		return Client{}, fmt.Errorf("client %s: %w", id, err)
	}
	return c, nil
}

// Clients lists the registered clients by id.
func (p *Provider) Clients(ctx context.Context) ([]Client, error) {
	return listClients(ctx, p.db.Read())
}

// consented reports whether the person already agreed to give the client
// every scope in want.
func (p *Provider) consented(ctx context.Context, personID, clientID string, want []string) (bool, error) {
	have, err := getConsent(ctx, p.db.Read(), personID, clientID)
	if err != nil {
		return false, err
	}
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false, nil
		}
	}
	return true, nil
}

// recordConsent stores the person's agreement, audited.
func (p *Provider) recordConsent(ctx context.Context, personID, clientID string, scopes []string) error {
	return p.db.Tx(ctx, func(tx *db.Tx) error {
		old, err := getConsent(ctx, tx, personID, clientID)
		if err != nil {
			return err
		}
		all := slices.Clone(old)
		for _, s := range scopes {
			if !slices.Contains(all, s) {
				all = append(all, s)
			}
		}
		if err := putConsent(ctx, tx, personID, clientID, all, p.now()); err != nil {
			return err
		}
		return p.cfg.Audit(ctx, tx, audit.Entry{At: p.now(), Actor: personID, Action: AuditConsentGiven, ObjectType: "person",
			ObjectID: personID, Detail: map[string]any{"client_id": clientID, "scopes": scopes},
			IP: identity.ClientFrom(ctx).IP, RequestID: httpx.RequestID(ctx)})
	})
}

// errorsIsClient reports the registry's own errors.
func errorsIsClient(err error) bool {
	return errors.Is(err, ErrClientNotFound) || errors.Is(err, ErrClientExists) || errors.Is(err, ErrInvalidClient)
}
