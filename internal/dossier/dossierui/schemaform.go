package dossierui

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/congso/congso/internal/dossier/eform"
)

// formField is one input of the procedure's e-form (see package eform).
type formField = eform.Field

func schemaFields(raw json.RawMessage) []formField { return eform.Fields(raw) }

func formData(fields []formField) json.RawMessage { return eform.Data(fields) }

func fieldOfPointer(ptr string) (string, bool) { return eform.FieldOfPointer(ptr) }

// fillFields sets each field's value from a posted form.
func fillFields(fields []formField, form url.Values) {
	for i := range fields {
		fields[i].Value = strings.TrimSpace(form.Get(fields[i].Name))
		if fields[i].Kind == "lines" || fields[i].Kind == "textarea" {
			fields[i].Value = strings.TrimSpace(strings.ReplaceAll(form.Get(fields[i].Name), "\r\n", "\n"))
		}
	}
}
