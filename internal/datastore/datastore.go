package datastore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/search"
)

// Kind tells where a document came from.
type Kind string

// The kinds of document.
const (
	// KindComponent: a paper document of an earlier dossier, digitized by the
	// one-stop desk that received it (a copy of the applicant's own paper).
	KindComponent Kind = "component"
	// KindResult: a result (permit, certificate, decision) issued by an
	// agency and returned electronically.
	KindResult Kind = "result"
	// KindUpload: a file the applicant uploaded to the store.
	KindUpload Kind = "upload"
)

// Kinds lists the kinds in display order.
func Kinds() []Kind { return []Kind{KindResult, KindComponent, KindUpload} }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindComponent || k == KindResult || k == KindUpload }

// Deletable reports whether the applicant may delete a document of this
// kind for good. Results issued by an agency may only be hidden: the
// record stays (see docs/datastore.md, "Deletion").
func (k Kind) Deletable() bool { return k != KindResult }

// Issuer is the agency that issued a result or digitized a component (its
// e-ID and name), or what the applicant typed for an upload (name only).
type Issuer struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Document is one document of an applicant's store, with the metadata of
// its current version. Versions (oldest first) and Reuses are filled by
// [Service.Get].
type Document struct {
	ID    string `json:"id"`
	Owner string `json:"-"`
	Kind  Kind   `json:"kind"`
	// Title is what the applicant sees: the result's name, the component's
	// name, the upload's title.
	Title string `json:"title"`
	// DocType is the document type: the procedure's component name or a
	// catalog code; [Service.Pick] matches it.
	DocType string `json:"doc_type"`
	// Number is the result's number (its result code, "15/GPXD"), if any.
	Number        string `json:"number,omitempty"`
	DossierCode   string `json:"dossier_code,omitempty"`
	ProcedureCode string `json:"procedure_code,omitempty"`
	Issuer        Issuer `json:"issuer"`
	// Version is the number of the current version; Current describes it.
	Version   int       `json:"version"`
	Current   Version   `json:"current"`
	Hidden    bool      `json:"hidden,omitempty"`
	HiddenAt  time.Time `json:"hidden_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Versions  []Version `json:"versions,omitempty"`
	Reuses    []Reuse   `json:"reuses,omitempty"`
}

// Ref is the reference of the document's current version, to put in a
// dossier component's reuse_ref.
func (d *Document) Ref() string { return FormatRef(d.ID, d.Version) }

// Version is one version of a document: its file and the facts that may
// change from one version to the next (issue date, validity).
type Version struct {
	N          int           `json:"n"`
	IssuedOn   calendar.Date `json:"issued_on,omitzero"`
	ValidFrom  calendar.Date `json:"valid_from,omitzero"`
	ValidUntil calendar.Date `json:"valid_until,omitzero"`
	FileName   string        `json:"file_name"`
	Hash       string        `json:"hash"`
	MediaType  string        `json:"media_type"`
	Size       int64         `json:"size"`
	// SourceVersion is the version of the file or result in its dossier (0
	// for uploads).
	SourceVersion int       `json:"source_version,omitempty"`
	AddedBy       string    `json:"added_by"`
	AddedAt       time.Time `json:"added_at"`
}

// ValidOn reports whether the version is valid on day d: on or after
// ValidFrom and on or before ValidUntil (both inclusive; a zero bound is
// open, so a version without ValidUntil never expires).
func (v Version) ValidOn(d calendar.Date) bool {
	if !v.ValidFrom.IsZero() && d.Before(v.ValidFrom) {
		return false
	}
	return v.ValidUntil.IsZero() || !d.After(v.ValidUntil)
}

// Reuse records that a dossier cited a document of the store.
type Reuse struct {
	DossierCode string    `json:"dossier_code"`
	Component   int       `json:"component"`
	Version     int       `json:"version"`
	Agency      string    `json:"agency"`
	At          time.Time `json:"at"`
}

// Resolved is what [Service.Resolve] answers: the stored file a dossier
// component attaches when it reuses a document (the very same blob, by
// hash) and the document's metadata for the officer.
type Resolved struct {
	Ref         string        `json:"ref"`
	DocumentID  string        `json:"document_id"`
	Version     int           `json:"version"`
	Latest      bool          `json:"latest"`
	Kind        Kind          `json:"kind"`
	Title       string        `json:"title"`
	DocType     string        `json:"doc_type"`
	Number      string        `json:"number,omitempty"`
	DossierCode string        `json:"dossier_code,omitempty"`
	Issuer      Issuer        `json:"issuer"`
	IssuedOn    calendar.Date `json:"issued_on,omitzero"`
	ValidFrom   calendar.Date `json:"valid_from,omitzero"`
	ValidUntil  calendar.Date `json:"valid_until,omitzero"`
	FileName    string        `json:"file_name"`
	Hash        string        `json:"hash"`
	MediaType   string        `json:"media_type"`
	Size        int64         `json:"size"`
}

// Counts are the figures of one agency over a period that feed the
// digitization group of the Decision 766 index (one-stop.md §11).
type Counts struct {
	Agency string `json:"agency"`
	// ComponentsDigitized counts dossier components digitized at reception
	// (each component file once, whatever its later versions);
	// DossiersDigitized the dossiers with at least one.
	ComponentsDigitized int64 `json:"components_digitized"`
	DossiersDigitized   int64 `json:"dossiers_digitized"`
	// ResultsElectronic counts electronic results issued (each result code
	// of a dossier once); DossiersWithResult the dossiers with one.
	ResultsElectronic  int64 `json:"results_electronic"`
	DossiersWithResult int64 `json:"dossiers_with_result"`
	// Reuses counts components that cited a document of a personal data
	// store instead of a new file; DossiersReusing the dossiers with one.
	Reuses          int64 `json:"reuses"`
	DossiersReusing int64 `json:"dossiers_reusing"`
}

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: no such document in the owner's store (also when it
	// exists in someone else's store: the two are not told apart).
	ErrNotFound = errors.New("datastore: not found")
	// ErrUnauthenticated: nobody is signed in. HTTP 401.
	ErrUnauthenticated = errors.New("datastore: not signed in")
	// ErrInvalid: the input breaks a rule; a *ValidationError lists each
	// field. HTTP 422.
	ErrInvalid = errors.New("datastore: invalid input")
	// ErrNotAllowed: the document's kind does not allow the change (a new
	// version of an issued result, deleting for good a result). HTTP 409.
	ErrNotAllowed = errors.New("datastore: not allowed for this document")
	// ErrRejectedFile: an uploaded file is not an accepted, readable PDF,
	// JPEG or PNG. HTTP 422.
	ErrRejectedFile = errors.New("datastore: file rejected")
	// ErrTooLarge: an uploaded file exceeds the size limit. HTTP 413.
	ErrTooLarge = errors.New("datastore: file too large")
	// ErrBadRef: a reuse reference is malformed. HTTP 422.
	ErrBadRef = errors.New("datastore: malformed reference")
)

// FieldError is one problem with one input field. Code is stable
// ("required", "too_long", "invalid"...); Message is in Vietnamese.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists every problem of an input. It matches ErrInvalid,
// or ErrRejectedFile / ErrTooLarge when the file was the problem.
type ValidationError struct {
	Fields []FieldError
	kind   error
}

// Error joins the problems, for logs.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("datastore: invalid input:")
	for _, f := range e.Fields {
		fmt.Fprintf(&b, " %s: %s;", f.Field, f.Code)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) hold, and ErrRejectedFile or
// ErrTooLarge for a refused file.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || (e.kind != nil && target == e.kind)
}

type fieldErrors []FieldError

func (fe *fieldErrors) add(field, code, msg string) {
	*fe = append(*fe, FieldError{Field: field, Code: code, Message: msg})
}

// text checks a user-entered text: trimmed length, no control characters,
// valid UTF-8.
func (fe *fieldErrors) text(field, v string, required bool, max int) {
	switch {
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		fe.add(field, "invalid_chars", "Có ký tự không hợp lệ.")
	case required && strings.TrimSpace(v) == "":
		fe.add(field, "required", "Bắt buộc nhập.")
	case utf8.RuneCountInString(v) > max:
		fe.add(field, "too_long", fmt.Sprintf("Tối đa %d ký tự.", max))
	}
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

// RefPrefix starts every reference to a document of the store.
const RefPrefix = "ds:"

// FormatRef returns the reference of version v of document id:
// "ds:<id>:<v>".
func FormatRef(id string, v int) string { return RefPrefix + id + ":" + strconv.Itoa(v) }

// ParseRef splits a reference into the document ID and version. The
// version may be left out ("ds:<id>"), meaning the current one (0).
func ParseRef(ref string) (id string, version int, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(ref), RefPrefix)
	if !ok {
		return "", 0, fmt.Errorf("%w: %q does not start with %q", ErrBadRef, ref, RefPrefix)
	}
	id, v, hasV := strings.Cut(rest, ":")
	if !validID(id) {
		return "", 0, fmt.Errorf("%w: %q has no document id", ErrBadRef, ref)
	}
	if hasV {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", 0, fmt.Errorf("%w: %q has a bad version", ErrBadRef, ref)
		}
		version = n
	}
	return id, version, nil
}

// IsRef reports whether s looks like a reference to the store (a
// component's reuse_ref may hold other systems' references).
func IsRef(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), RefPrefix) }

// idLen is the length of a document ID: 16 lowercase hex digits (64
// random bits).
const idLen = 16

func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// matches reports how well a document matches a wanted document type: 2
// for the same type (diacritics and case aside), 1 when every word of it
// appears in the document's type or title, 0 otherwise. An empty want
// matches everything (1).
func matches(d *Document, want string) int {
	w := search.Fold(want)
	if strings.TrimSpace(w) == "" {
		return 1
	}
	if search.Fold(d.DocType) == w {
		return 2
	}
	hay := search.Fold(d.DocType + " " + d.Title + " " + d.Number)
	for _, t := range strings.Fields(w) {
		if !strings.Contains(hay, t) {
			return 0
		}
	}
	return 1
}
