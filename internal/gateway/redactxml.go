package gateway

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"unicode/utf8"
)

// redactXML replaces, in an XML body (a SOAP message), the text of every
// element and the value of every attribute whose local name is one of
// fields (case-insensitive) with "***", leaving the rest byte for byte. A
// body cut short (the log keeps at most 64 KiB) is redacted up to where it
// ends. ok is false when the body is not XML.
func redactXML(body []byte, fields []string) (out string, ok bool) {
	if t := bytes.TrimLeft(body, " \t\r\n\ufeff"); len(t) == 0 || t[0] != '<' || !utf8.Valid(body) {
		return "", false
	}
	secret := func(local string) bool {
		for _, f := range fields {
			if strings.EqualFold(f, local) {
				return true
			}
		}
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var b strings.Builder
	copied := int64(0) // body[:copied] is in b
	depth := 0         // > 0: inside an element whose text is secret
	tokens := 0
	for {
		start := d.InputOffset()
		tok, err := d.RawToken()
		end := d.InputOffset()
		if err == io.EOF {
			break
		}
		if err != nil {
			if tokens == 0 {
				return "", false
			}
			if depth == 0 {
				b.Write(body[copied:start]) // up to the last whole token
			} else {
				b.Write(body[copied:start])
				b.WriteString("***")
			}
			return b.String(), true
		}
		tokens++
		switch t := tok.(type) {
		case xml.StartElement:
			if depth > 0 || secret(t.Name.Local) {
				depth++
			}
			for _, a := range t.Attr {
				if secret(a.Name.Local) {
					b.Write(body[copied:start])
					writeStartTag(&b, t, secret, bytes.HasSuffix(body[start:end], []byte("/>")))
					copied = end
					break
				}
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		case xml.CharData:
			if depth > 0 && len(bytes.TrimSpace(t)) > 0 {
				b.Write(body[copied:start])
				b.WriteString("***")
				copied = end
			}
		}
	}
	b.Write(body[copied:])
	return b.String(), true
}

// writeStartTag writes a start tag rebuilt from the decoder's token
// (RawToken: names keep their prefix as written), with the values of the
// attributes whose local name is secret as "***" and the others escaped
// again; empty is for a tag written <a/>. Only the white space between
// attributes and their quotes may differ from the original tag: the
// bytes of the tag are never searched, so no attribute's value can hide
// another from it.
func writeStartTag(b *strings.Builder, t xml.StartElement, secret func(string) bool, empty bool) {
	name := func(n xml.Name) string {
		if n.Space != "" {
			return n.Space + ":" + n.Local
		}
		return n.Local
	}
	b.WriteString("<" + name(t.Name))
	for _, a := range t.Attr {
		b.WriteString(" " + name(a.Name) + `="`)
		if secret(a.Name.Local) {
			b.WriteString("***")
		} else {
			_ = xml.EscapeText(b, []byte(a.Value)) // quotes, <, &, and line breaks as references
		}
		b.WriteString(`"`)
	}
	if empty {
		b.WriteString("/>")
	} else {
		b.WriteString(">")
	}
}
