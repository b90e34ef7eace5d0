package identity

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/congso/congso/internal/platform/db"
)

// AuditContactChanged records a change of a person's email or phone.
const AuditContactChanged = "identity.person.contact_changed"

// UpdateContact sets the email and phone of a person: by the person
// themselves (first sign-in through the national e-ID, own profile) or by
// someone allowed user.manage. Empty values clear the field.
func (s *Service) UpdateContact(ctx context.Context, by *Principal, personID, email, phone string) error {
	if !by.Authenticated() || by.PersonID != personID {
		if err := Require(ctx, by, ActionUserManage, ProvinceWide); err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
	}
	email, phone = strings.TrimSpace(email), normalizePhone(phone)
	var errs ValidationError
	if email != "" {
		if len(email) > maxEmailLen {
			errs = append(errs, FieldError{Field: "email", Code: "too_long", Args: []any{"max", maxEmailLen}})
		} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
			errs = append(errs, FieldError{Field: "email", Code: "invalid_email"})
		}
	}
	if phone != "" && !validPhone(phone) {
		errs = append(errs, FieldError{Field: "phone", Code: "invalid_phone"})
	}
	if err := errs.orNil(); err != nil {
		return fmt.Errorf("update contact: %w", err)
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		p, err := getPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		old := p
		p.Email, p.Phone = email, phone
		if _, err := tx.ExecContext(ctx, `UPDATE identity_people SET email = $2, phone = $3, search_text = $4, updated_at = $5
			WHERE id = $1`, personID, email, phone, personSearchText(p), s.now()); err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		return s.audit(ctx, tx, AuditContactChanged, by.actorID(), personID, map[string]any{
			"email_changed": old.Email != email, "phone_changed": old.Phone != phone})
	})
}
