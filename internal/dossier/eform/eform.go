// Package eform turns a procedure's e-form (tờ khai), a JSON Schema, into
// HTML inputs and back into the form data document, for the officials'
// counter form and the citizens' application form alike: both name inputs
// "fd." + the dotted property path, so a defect's JSON pointer below
// "form_data" maps to the same input on both (FieldOfPointer).
package eform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Field is one input generated from a procedure's form schema (the
// e-form, tờ khai). Only simple types become inputs: strings (text, date,
// email), numbers, integers, booleans, enumerations and lists of strings
// (one per line); nested objects are flattened into their fields, so
// "ben_nam.ho_ten" is the input of {"ben_nam": {"ho_ten": ...}}. Other
// shapes are left out: the server's check still reports them.
type Field struct {
	Name     string   // input name: "fd." + the dotted path
	Path     []string // property names from the top
	Label    string
	Group    string // title of the enclosing object, if any
	Kind     string // text, textarea, date, email, number, integer, boolean, enum, lines
	Required bool
	Enum     []string
	Min, Max string // number bounds, for the input's attributes
	MaxLen   int
	Value    string
	Err      string
}

// schemaProp is the part of a JSON Schema property the form reads.
type schemaProp struct {
	Type             any             `json:"type"`
	Title            string          `json:"title"`
	Format           string          `json:"format"`
	Enum             []any           `json:"enum"`
	Minimum          *float64        `json:"minimum"`
	Maximum          *float64        `json:"maximum"`
	ExclusiveMinimum *float64        `json:"exclusiveMinimum"`
	MaxLength        int             `json:"maxLength"`
	Required         []string        `json:"required"`
	Properties       json.RawMessage `json:"properties"`
	Items            *schemaProp     `json:"items"`
}

func (s schemaProp) typ() string {
	switch t := s.Type.(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x, ok := x.(string); ok && x != "null" {
				return x
			}
		}
	}
	if len(s.Properties) > 0 {
		return "object"
	}
	if len(s.Enum) > 0 {
		return "string"
	}
	return ""
}

// Fields lists the inputs of a form schema in the order its
// properties are written (JSON objects are unordered for encoding/json, so
// the properties are read token by token).
func Fields(raw json.RawMessage) []Field {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var top schemaProp
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	return objectFields(top, nil, "", nil)
}

func objectFields(obj schemaProp, path []string, group string, out []Field) []Field {
	if len(obj.Properties) == 0 || len(path) > 4 {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(obj.Properties))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := t.(string)
		var prop schemaProp
		if dec.Decode(&prop) != nil {
			return out
		}
		p := append(append([]string{}, path...), name)
		label := prop.Title
		if label == "" {
			label = name
		}
		required := false
		for _, r := range obj.Required {
			required = required || r == name
		}
		f := Field{Name: "fd." + strings.Join(p, "."), Path: p, Label: label, Group: group, Required: required, MaxLen: prop.MaxLength}
		switch prop.typ() {
		case "object":
			out = objectFields(prop, p, label, out)
			continue
		case "string":
			switch {
			case len(prop.Enum) > 0:
				f.Kind = "enum"
				for _, e := range prop.Enum {
					f.Enum = append(f.Enum, fmt.Sprint(e))
				}
			case prop.Format == "date":
				f.Kind = "date"
			case prop.Format == "email":
				f.Kind = "email"
			case prop.MaxLength > 300:
				f.Kind = "textarea"
			default:
				f.Kind = "text"
			}
		case "number", "integer":
			f.Kind = prop.typ()
			if prop.Minimum != nil {
				f.Min = strconv.FormatFloat(*prop.Minimum, 'f', -1, 64)
			}
			if prop.Maximum != nil {
				f.Max = strconv.FormatFloat(*prop.Maximum, 'f', -1, 64)
			}
		case "boolean":
			f.Kind = "boolean"
		case "array":
			if prop.Items == nil || prop.Items.typ() != "string" {
				continue
			}
			f.Kind = "lines"
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// Data builds the form data document from the fields' values. Empty
// inputs are left out, so the schema's "required" reports them; a number
// that does not parse is kept as typed, so the schema reports its type
// and the officer sees what was typed.
func Data(fields []Field) json.RawMessage {
	doc := map[string]any{}
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		var v any = f.Value
		switch f.Kind {
		case "number":
			if n, err := strconv.ParseFloat(strings.ReplaceAll(f.Value, ",", "."), 64); err == nil {
				v = n
			}
		case "integer":
			if n, err := strconv.ParseInt(f.Value, 10, 64); err == nil {
				v = n
			}
		case "boolean":
			v = f.Value == "true"
		case "lines":
			list := []any{}
			for _, l := range lines(f.Value) {
				list = append(list, l)
			}
			v = list
		}
		m := doc
		for _, k := range f.Path[:len(f.Path)-1] {
			sub, ok := m[k].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[k] = sub
			}
			m = sub
		}
		m[f.Path[len(f.Path)-1]] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// FieldOfPointer maps a defect's JSON pointer below "form_data" to the
// input name of the field ("form_data/ben_nam/ho_ten" → "fd.ben_nam.ho_ten").
func FieldOfPointer(ptr string) (string, bool) {
	rest, ok := strings.CutPrefix(ptr, "form_data/")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return "fd." + strings.Join(parts, "."), true
}

// lines splits a multi-line input into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
