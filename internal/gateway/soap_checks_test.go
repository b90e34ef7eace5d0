package gateway_test

import (
	"bufio"
	"context"
	"encoding/xml"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// In a multipart/related message, the envelope the gateway authenticates
// is the root part a standard MIME parser (the backend's) reads: lines
// longer than the read buffer are judged whole, a delimiter line is
// "--boundary" + optional spaces or tabs + CRLF or LF (so "--MIME\r\r\n"
// is not one), and a root part sent quoted-printable (or in any transfer
// encoding other than 7bit, 8bit or binary) is refused, since its decoded
// envelope is not the one the gateway read.
func TestSOAPMultipartRootPartIsTheOneChecked(t *testing.T) {
	type seen struct{ client, service string }
	var mu sync.Mutex
	var got []seen
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, _ := io.ReadAll(r.Body)
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		root, ok := firstPart(string(msg), params["boundary"])
		if !ok {
			http.Error(w, "no part", 400)
			return
		}
		h, _, err := gateway.ReadSOAPHeader(bufio.NewReader(strings.NewReader(root)))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, seen{h.Client.String(), h.Service.String()})
		mu.Unlock()
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte("<ok/>"))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL)

	checked := soapEnvelope(okFields(), soapRequestBody) // client, soapSvc: authenticated and allowed
	forged := okFields()
	forged.Client, forged.Service = other, provider+"/xoa-phieu/v1" // another client, a service never granted
	hidden := soapEnvelope(forged, soapRequestBody)
	tail := "\r\n--MIME\r\nContent-Type: text/xml; charset=UTF-8\r\n\r\n" + hidden + "\r\n--MIME--\r\n"
	const ct = `multipart/related; type="text/xml"; boundary=MIME`
	qf := forged
	qf.Client = ""
	qf.Service = soapSvc + "/v1"
	qf.Extra = `<!-- =2D=2D=3E` + xroadID("client", other) + `=3C!=2D=2D -->` +
		`<o:x xmlns:o="urn:o">=3C!=2D=2D</o:x>` + xroadID("client", client) + `<o:x xmlns:o="urn:o">=2D=2D=3E</o:x>`
	qpEnvelope := soapEnvelope(qf, soapRequestBody)
	for _, c := range []struct{ name, msg string }{
		// 16 KiB of preamble then "--MIME" on one line.
		{"long preamble line", strings.Repeat("x", 16<<10) + "--MIME\r\nContent-Type: text/xml\r\n\r\n" + checked + tail},
		{"CR-padded delimiter", "--MIME\r\r\nContent-Type: text/xml\r\n\r\n" + checked + tail},
		// Raw, the forged client is in a comment; decoded, the real one is.
		{"quoted-printable root part", "--MIME\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qpEnvelope + "\r\n--MIME--\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(c.msg), ct)
			body := readAll(t, resp)
			mu.Lock()
			defer mu.Unlock()
			for _, g := range got {
				if g.client != client || g.service != soapSvc+"/v1" {
					t.Fatalf("the gateway checked %s calling %s/v1, the backend's MIME parser got an envelope of %s calling %s (answer %d %s)",
						client, soapSvc, g.client, g.service, resp.StatusCode, body)
				}
			}
		})
	}
}

// firstPart is a reference MIME reader (RFC 2046/2045): the first part
// after the first line "--boundary" + optional LWSP + CRLF, decoded if it
// is quoted-printable. Go's mime/multipart gives the same part in the
// CR-padded and quoted-printable cases (it refuses lines over 4 KiB).
func firstPart(msg, boundary string) (string, bool) {
	delim := "--" + boundary
	isDelim := func(line string) bool {
		l := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		return strings.TrimRight(l, " \t") == delim
	}
	lines := strings.SplitAfter(msg, "\n")
	i := 0
	for i < len(lines) && !isDelim(lines[i]) {
		i++
	}
	qp := false
	for i++; i < len(lines) && lines[i] != "\r\n" && lines[i] != "\n"; i++ {
		k, v, _ := strings.Cut(lines[i], ":")
		qp = qp || strings.EqualFold(strings.TrimSpace(k), "Content-Transfer-Encoding") && strings.EqualFold(strings.TrimSpace(v), "quoted-printable")
	}
	if i >= len(lines) {
		return "", false
	}
	content := strings.Join(lines[i+1:], "")
	if j := strings.Index(content, "\r\n"+delim); j >= 0 {
		content = content[:j]
	}
	if qp {
		b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(content)))
		if err != nil {
			return "", false
		}
		content = string(b)
	}
	return content, true
}

// As X-Road does, the gateway refuses (Client.BadRequest, before the
// backend is reached) a Body whose child is not named after the
// xrd:service's serviceCode, or that has a second child (found within the
// bounded look-ahead after the Header): a right on one operation never runs
// another operation of the same endpoint.
func TestSOAPBodyMustMatchServiceCode(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// doc/literal: the operation is the Body's child
		s := string(b)
		i := strings.Index(s, "<SOAP-ENV:Body>") + len("<SOAP-ENV:Body>")
		op := s[i+1 : i+strings.IndexAny(s[i:], " />")]
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte("<ok/>"))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL)
	ctx := context.Background()
	// Two operations of one endpoint, one service code each; a right on one.
	for _, code := range []string{"traCuuPhieu", "xoaPhieu"} {
		id := provider + "/" + code
		must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(id), Kind: gateway.SOAP, Title: code}))
		must(t, n.mgr.PutVersion(ctx, "admin", sid(id+"/v1"), gateway.Version{BackendURL: backend.URL + "/ws/lltp"}))
		must(t, n.mgr.SetStatus(ctx, "admin", sid(id+"/v1"), gateway.Published, nil))
	}
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(provider + "/traCuuPhieu")})
	must(t, err)

	f := okFields()
	f.Service = provider + "/traCuuPhieu/v1"
	for _, body := range []string{
		`<ns1:xoaPhieu xmlns:ns1="urn:lltp"><soPhieu>7</soPhieu></ns1:xoaPhieu>`,
		`<ns1:traCuuPhieu xmlns:ns1="urn:lltp"/><ns1:xoaPhieu xmlns:ns1="urn:lltp"><soPhieu>7</soPhieu></ns1:xoaPhieu>`,
	} {
		resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(soapEnvelope(f, body)), xmlUTF8)
		b := readAll(t, resp)
		mu.Lock()
		reached := append([]string(nil), ops...)
		mu.Unlock()
		if resp.StatusCode == 200 || len(reached) > 0 {
			t.Fatalf("a right on traCuuPhieu ran %v on the backend: %d %s", reached, resp.StatusCode, b)
		}
	}
}

// The value of a secret attribute never reaches the log, whatever its
// name's characters, the spacing between attributes, or the values of
// the other attributes; the redacted body stays well-formed.
func TestRedactXMLAttributesAlwaysRedacted(t *testing.T) {
	for _, c := range []struct {
		name, body, field string
	}{
		{"non-ASCII field name", `<a sốĐịnhDanh="001099001234"/>`, "sốĐịnhDanh"},
		{"no space before the attribute", `<a loai="cccd"so_dinh_danh="001099001234"/>`, "so_dinh_danh"},
		{"value that looks like an attribute", `<a tên=' so_dinh_danh="' so_dinh_danh="001099001234"/>`, "so_dinh_danh"},
	} {
		got := gateway.Redact([]byte(c.body), []string{c.field})
		if strings.Contains(got, "001099001234") {
			t.Errorf("%s: the secret is in the log: %s", c.name, got)
		}
		if !wellFormed(got) {
			t.Errorf("%s: not well-formed: %s", c.name, got)
		}
	}
	// The other attributes keep their values, escaped again.
	got := gateway.Redact([]byte(`<p:a xmlns:p="urn:p" p:ghi-chu='a "b" &amp; &lt;c&gt;' so_dinh_danh="1"><p:so_dinh_danh>2</p:so_dinh_danh></p:a>`), []string{"so_dinh_danh"})
	if want := `<p:a xmlns:p="urn:p" p:ghi-chu="a &#34;b&#34; &amp; &lt;c&gt;" so_dinh_danh="***"><p:so_dinh_danh>***</p:so_dinh_danh></p:a>`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// wellFormed reports whether s is a well-formed XML document.
func wellFormed(s string) bool {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// A secret attribute's value never survives redaction of a well-formed
// body, and the redacted body is well-formed.
func FuzzRedactXMLAttributes(f *testing.F) {
	f.Add(`a loai="cccd"`, "001099001234")
	f.Add(`sốĐịnhDanh='x' tên=' so_dinh_danh="'`, "0912345678")
	f.Add(`x:y="1" xmlns:x="urn:x"`, "abcd")
	f.Fuzz(func(t *testing.T, attrs, secret string) {
		body := `<a ` + attrs + ` so_dinh_danh="` + secret + `"><b/></a>`
		if !wellFormed(body) {
			return
		}
		tok, _ := xml.NewDecoder(strings.NewReader(body)).Token()
		el, _ := tok.(xml.StartElement)
		if len(el.Attr) == 0 || el.Attr[len(el.Attr)-1].Name.Local != "so_dinh_danh" {
			return // the attribute is not one (attrs ended the tag)
		}
		got := gateway.Redact([]byte(body), []string{"so_dinh_danh"})
		if !wellFormed(got) {
			t.Fatalf("%q redacted to %q: not well-formed", body, got)
		}
		if len(secret) >= 4 && !strings.ContainsAny(secret, "<>&\"'\t\r\n") && !strings.Contains(attrs, secret) &&
			!strings.Contains(`<a  so_dinh_danh="***"><b/></a>`, secret) && strings.Contains(got, secret) {
			t.Fatalf("secret %q left in %q", secret, got)
		}
	})
}

// A UTF-8 byte order mark may start an XML document (XML 1.0 §4.3.3): a
// request envelope that starts with one is accepted, and an answer that
// starts with one gets the xrd:requestHash all the same.
func TestSOAPByteOrderMark(t *testing.T) {
	const answer = "\ufeff" + `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><kq/></soap:Body></soap:Envelope>`
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", xmlUTF8)
		w.Write([]byte(answer))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL)
	env := soapEnvelope(okFields(), soapRequestBody)

	resp := soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader("\ufeff"+env), xmlUTF8)
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Errorf("request with a BOM: %d %s", resp.StatusCode, b)
	}
	resp = soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(env), xmlUTF8)
	b := readAll(t, resp)
	if resp.StatusCode != 200 || answerRequestHash(t, b) != b64sum(env) {
		t.Errorf("answer with a BOM got no requestHash: %d %q", resp.StatusCode, b)
	}
}
