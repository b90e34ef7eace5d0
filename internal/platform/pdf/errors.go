package pdf

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for callers to test with errors.Is.
var (
	// ErrInvalidTemplate reports a template that fails validation. The error
	// returned is a *TemplateError listing every problem found.
	ErrInvalidTemplate = errors.New("pdf: invalid template")
	// ErrDuplicateTemplate reports a template registered twice with the same
	// key and version.
	ErrDuplicateTemplate = errors.New("pdf: duplicate template")
	// ErrUnknownForm reports a form key for which no template is registered.
	ErrUnknownForm = errors.New("pdf: unknown form")
	// ErrNotInForce reports that templates exist for a form but none is in
	// force at the requested date (or none has the requested version).
	ErrNotInForce = errors.New("pdf: no template in force")
	// ErrData reports data that does not fit a template: a field the
	// template names is missing, a table source is not a list, or a value
	// marked required is empty.
	ErrData = errors.New("pdf: data does not fit template")
)

// A TemplateError lists every problem found while validating one template,
// so that a province editing a template sees them all at once. It matches
// ErrInvalidTemplate with errors.Is.
type TemplateError struct {
	Key      string   // template key, when it could be read
	Version  int      // template version, when it could be read
	Problems []string // each problem, prefixed with the JSON path it concerns
}

// Error implements error.
func (e *TemplateError) Error() string {
	name := e.Key
	if name == "" {
		name = "(no key)"
	}
	if e.Version > 0 {
		name = fmt.Sprintf("%s v%d", name, e.Version)
	}
	return fmt.Sprintf("pdf: invalid template %s: %s", name, strings.Join(e.Problems, "; "))
}

// Is reports whether target is ErrInvalidTemplate.
func (e *TemplateError) Is(target error) bool { return target == ErrInvalidTemplate }
