package workflow

import (
	"embed"
	"errors"
	"fmt"

	"github.com/congso/congso/internal/platform/i18n"
)

// Sentinel errors; test with errors.Is. Errors about a transition are *Error
// values that also carry a stable code and a reason.
var (
	// ErrNotFound reports an unknown case, branch or definition.
	ErrNotFound = errors.New("workflow: not found")
	// ErrConflict reports that the case changed since the caller read it
	// (optimistic concurrency): reload and try again. HTTP 409.
	ErrConflict = errors.New("workflow: conflict")
	// ErrForbidden reports an actor without a role allowed to take the action
	// in the case's unit, or not the assignee of the step. HTTP 403.
	ErrForbidden = errors.New("workflow: forbidden")
	// ErrInvalidAction reports an action that is not available in the case's
	// current state (or on a case that has ended). HTTP 409.
	ErrInvalidAction = errors.New("workflow: invalid action")
	// ErrInvalidInput reports a missing or bad input for the action (comment,
	// attachments, signature, assignee, units, branches, new due date).
	// HTTP 422.
	ErrInvalidInput = errors.New("workflow: invalid input")
	// ErrInvalidDefinition reports a definition that fails validation; the
	// error is a *DefinitionError listing the problems.
	ErrInvalidDefinition = errors.New("workflow: invalid definition")
	// ErrExists reports a case ID already started, or a definition version
	// already published with different content.
	ErrExists = errors.New("workflow: already exists")
)

// Error is a refused transition: Kind is one of the sentinel errors, Code a
// stable identifier for clients ("workflow.forbidden.role"), Reason an
// English explanation for logs and developers, Args the values that the
// localized message (see [Error.Message]) fills in.
type Error struct {
	Kind   error
	Code   string
	Reason string
	Args   []any // name/value pairs for i18n
}

// Error returns the sentinel's text and the reason.
func (e *Error) Error() string { return fmt.Sprintf("%v: %s", e.Kind, e.Reason) }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// Message returns the user-facing message in lang (the catalog entry of
// Code, filled from Args).
func (e *Error) Message(lang i18n.Lang) string { return i18n.T(lang, e.Code, e.Args...) }

func refuse(kind error, code, reason string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Reason: reason, Args: args}
}

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}
