package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/platform/i18n"
)

// DefaultMaxJSONBytes is the largest request body [DecodeJSON] accepts.
const DefaultMaxJSONBytes = 1 << 20

// DecodeJSON decodes the JSON body of r into dst, accepting at most
// [DefaultMaxJSONBytes]. See [DecodeJSONLimit].
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return DecodeJSONLimit(w, r, dst, DefaultMaxJSONBytes)
}

// DecodeJSONLimit decodes the JSON body of r into dst. The body must be declared
// as application/json (or a +json type), be at most limit bytes long, hold
// exactly one JSON value, and name only fields that dst has. Otherwise it
// returns an [*Err] that [Error] turns into a precise problem: the offset of a
// syntax error, or the field and expected type of a wrongly typed value.
//
// Any other error means dst is not a pointer: a bug, answered with 500.
func DecodeJSONLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/json" && !strings.HasSuffix(mediaType, "+json") {
		return newErr(http.StatusUnsupportedMediaType, "unsupported_media_type", []any{"expected", "application/json"})
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return bodyTooLarge(tooLarge.Limit)
		}
		return newErr(http.StatusBadRequest, "trailing_data", []any{"offset", end})
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		invalid   *json.InvalidUnmarshalError
	)
	switch {
	case errors.Is(err, io.EOF):
		return newErr(http.StatusBadRequest, "empty_body", nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Err{Status: http.StatusBadRequest, Code: "invalid_json", Key: "error.invalid_json_eof", Err: err}
	case errors.As(err, &syntax):
		return &Err{Status: http.StatusBadRequest, Code: "invalid_json", Args: []any{"offset", syntax.Offset}, Err: err}
	case errors.As(err, &tooLarge):
		return bodyTooLarge(tooLarge.Limit)
	case errors.As(err, &wrongType):
		expected := jsonTypeName(wrongType.Type)
		e := &Err{Status: http.StatusBadRequest, Code: "invalid_type", Err: err,
			Args: []any{"field", wrongType.Field, "expected", expected}}
		if wrongType.Field == "" {
			e.Key = "error.invalid_type_root"
		} else {
			e.Fields = []FieldError{{Field: wrongType.Field, Code: "invalid_type", Args: []any{"expected", expected}}}
		}
		return e
	case errors.As(err, &invalid):
		return fmt.Errorf("httpx: decode JSON: %w", err)
	}
	// encoding/json reports unknown fields with a plain error.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, uerr := strconv.Unquote(name); uerr == nil {
			name = unquoted
		}
		return &Err{Status: http.StatusBadRequest, Code: "unknown_field", Args: []any{"field", name}, Err: err,
			Fields: []FieldError{{Field: name, Code: "unknown_field"}}}
	}
	// A value rejected by an UnmarshalJSON method, such as a malformed time.
	return &Err{Status: http.StatusBadRequest, Code: "invalid_json", Key: "error.invalid_value", Err: err}
}

// jsonTypeName names the JSON type that decodes into t, as a message key.
func jsonTypeName(t reflect.Type) i18n.Key {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "type.value"
	}
	switch t.Kind() {
	case reflect.String:
		return "type.string"
	case reflect.Bool:
		return "type.boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "type.integer"
	case reflect.Float32, reflect.Float64:
		return "type.number"
	case reflect.Struct, reflect.Map:
		return "type.object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "type.string" // []byte is base64 text
		}
		return "type.array"
	}
	return "type.value"
}

// WriteJSON answers with v encoded as JSON and the given status. If v cannot be
// encoded it answers 500 instead and returns the error, for the caller to log.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		err = fmt.Errorf("httpx: encode JSON response: %w", err)
		writeProblemBody(w, i18n.Default, renderProblem(i18n.Default, newErr(http.StatusInternalServerError, "", nil)))
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}
