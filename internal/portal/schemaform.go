package portal

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/congso/congso/internal/dossier/eform"
)

// formField is one input of the procedure's e-form, generated the same way
// as on the officials' counter form (package eform): same input names, so a
// defect's JSON pointer maps to the same input on both.
type formField = eform.Field

func schemaFields(raw json.RawMessage) []formField { return eform.Fields(raw) }

func formData(fields []formField) json.RawMessage { return eform.Data(fields) }

func fieldOfPointer(ptr string) (string, bool) { return eform.FieldOfPointer(ptr) }

// fillFields sets each field's value from the draft's values.
func fillFields(fields []formField, values map[string]string) {
	for i := range fields {
		fields[i].Value = values[fields[i].Name]
	}
}

// formValue reads one posted input as the draft keeps it: trimmed, with
// line ends normalised for multi-line inputs.
func formValue(form url.Values, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(form.Get(name), "\r\n", "\n"))
}

func lines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
