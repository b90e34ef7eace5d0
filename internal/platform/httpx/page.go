package httpx

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// Pagination limits, see [ParsePage].
const (
	DefaultLimit = 20
	MaxLimit     = 200
	// maxCursorLen bounds the opaque cursor a client may send back.
	maxCursorLen = 1024
)

// Page is a request for one page of a list: at most Limit items after the
// position that Cursor names ("" for the first page).
type Page struct {
	Limit  int
	Cursor string
}

// ParsePage reads the query parameters "limit" (1 to [MaxLimit], default
// [DefaultLimit]) and "cursor" (an opaque string from a previous response's
// "next"). A bad value gives a 400 [*Err] with code "invalid_query" that names
// the parameter.
func ParsePage(r *http.Request) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: DefaultLimit, Cursor: q.Get("cursor")}
	var fields []FieldError
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			fields = append(fields, FieldError{Field: "limit", Code: "out_of_range", Args: []any{"min", 1, "max", MaxLimit}})
		}
		p.Limit = n
	}
	if len(p.Cursor) > maxCursorLen || !isCursor(p.Cursor) {
		fields = append(fields, FieldError{Field: "cursor", Code: "invalid_format"})
	}
	if fields != nil {
		return Page{}, &Err{Status: http.StatusBadRequest, Code: "invalid_query", Fields: fields}
	}
	return p, nil
}

// isCursor reports whether s uses only the unpadded base64url alphabet that
// [EncodeCursor] produces.
func isCursor(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// EncodeCursor returns an opaque cursor holding v (typically the sort key of
// the last item of a page) as base64url-encoded JSON. A cursor is not secret
// and not signed: decode it only into plain values used as query parameters.
func EncodeCursor(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor decodes a cursor made by [EncodeCursor] into v. A cursor that
// does not decode gives a 400 [*Err] with code "invalid_query".
func DecodeCursor(cursor string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return &Err{Status: http.StatusBadRequest, Code: "invalid_query", Err: err,
			Fields: []FieldError{{Field: "cursor", Code: "invalid_format"}}}
	}
	return nil
}

// List is the response body of every list endpoint:
//
//	{"items": [...], "next": "opaque cursor", "total": 123}
//
// Items is always an array, never null. Next is omitted on the last page.
// Total is omitted when counting would be too costly.
type List[T any] struct {
	Items []T
	Next  string
	Total *int
}

// MarshalJSON encodes l as described on [List].
func (l List[T]) MarshalJSON() ([]byte, error) {
	items := l.Items
	if items == nil {
		items = []T{}
	}
	return json.Marshal(struct {
		Items []T    `json:"items"`
		Next  string `json:"next,omitempty"`
		Total *int   `json:"total,omitempty"`
	}{items, l.Next, l.Total})
}
