package gateway

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// The X-Road SOAP profile (message protocol 4.0) for legacy partners.
//
// A SOAP call is POST / (or POST /soap) with Content-Type text/xml and a
// SOAP 1.1 envelope whose Header carries the X-Road fields, or a
// multipart/related message (attachments, or MTOM) whose first part is
// that envelope. The runtime reads the message only up to the end of that
// Header (at most MaxSOAPHeaderBytes) and on to the Body's child, whose
// name must match the service code ([checkSOAPBody]), maps the fields to
// a ClientID and a ServiceID, and runs the REST profile's pipeline ([Runtime.call]): authentication (the
// certificate or token must belong to the header's client), service
// lifecycle, access right (as method POST on the service path "/"), quota,
// circuit breaker, timeouts and body limits, message log and metrics. The
// bytes already read and the rest of the stream then go, unchanged and
// never buffered, to the version's backend URL as a POST with the caller's
// Content-Type and SOAPAction; the answer streams back unchanged but for
// the xrd:requestHash element the gateway puts at the end of its Header
// ([Runtime.soapRequestHash]). Services of other instances go to the peer
// gateway's SOAP endpoint (its URL + "/"), whose answer's requestHash is
// checked.
//
// Errors are SOAP 1.1 Faults (HTTP 500, text/xml) whose faultcode is the
// X-Road category the REST profile answers for the same problem, and whose
// detail holds the request id; X-Road-Error and X-Road-Request-Id (and
// Retry-After for quotas and an open circuit) are also sent as HTTP headers.

// The XML namespaces of the SOAP profile.
const (
	// NamespaceSOAPEnvelope is SOAP 1.1's envelope namespace.
	NamespaceSOAPEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
	// NamespaceXRoad holds the X-Road header fields (client, service, id…).
	NamespaceXRoad = "http://x-road.eu/xsd/xroad.xsd"
	// NamespaceIdentifiers holds the parts of X-Road identifiers and the
	// objectType attribute.
	NamespaceIdentifiers = "http://x-road.eu/xsd/identifiers"

	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// SOAPProtocolVersion is the X-Road message protocol version accepted.
const SOAPProtocolVersion = "4.0"

// MaxSOAPHeaderBytes bounds what is read of a SOAP message before its
// Header ends (XML declaration, Envelope start tag and Header included).
const MaxSOAPHeaderBytes = 64 << 10

// Errors of [ReadSOAPHeader].
var (
	// ErrBadSOAP: the message is not a SOAP 1.1 envelope with a valid
	// X-Road header; the error says what is wrong.
	ErrBadSOAP = errors.New("gateway: malformed X-Road SOAP message")
	// ErrSOAPHeaderTooLarge: the Header does not end within MaxSOAPHeaderBytes.
	ErrSOAPHeaderTooLarge = errors.New("gateway: SOAP header too large")
)

// SOAPHeader holds the X-Road fields of a SOAP request's Header.
type SOAPHeader struct {
	// Client is a member (objectType MEMBER, Subsystem empty) or a
	// subsystem (objectType SUBSYSTEM).
	Client ClientID
	// Service is objectType SERVICE; its version (serviceVersion) is
	// optional and, when present, a version label such as v1.
	Service ServiceID
	// ID is the message id (xrd:id, required); UserID and Issue are optional.
	ID, UserID, Issue string
	// ProtocolVersion is always SOAPProtocolVersion in a parsed header.
	ProtocolVersion string
}

// ReadSOAPHeader reads a SOAP 1.1 envelope from r up to the end of its
// Header, reading at most MaxSOAPHeaderBytes, and returns the X-Road
// fields and the bytes it took from r: head followed by the rest of r is
// the message as sent. A UTF-8 byte order mark before the envelope is
// skipped (and kept in head). Errors wrap ErrBadSOAP,
// ErrSOAPHeaderTooLarge, or the error of r.
func ReadSOAPHeader(r *bufio.Reader) (h SOAPHeader, head []byte, err error) {
	return readSOAPRequest(r, false)
}

// maxSOAPBodyLookahead bounds what is read of a SOAP request after its
// Header: the Body's start tag and its first child element must begin
// within it, and a second child is looked for only there.
const maxSOAPBodyLookahead = 64 << 10

// readSOAPRequest is ReadSOAPHeader; with body, it then reads on, as
// X-Road does, to check the SOAP Body ([checkSOAPBody]). head is what it
// read, on an error too.
func readSOAPRequest(r *bufio.Reader, body bool) (h SOAPHeader, head []byte, err error) {
	rec := &byteRecorder{r: r, max: MaxSOAPHeaderBytes}
	rec.skipBOM()
	d := xml.NewDecoder(rec) // rec is an io.ByteReader: the decoder reads no further than it needs
	h, err = parseSOAPHeader(d)
	inBody := false
	if err == nil && body {
		inBody = true
		rec.max = len(rec.buf) + maxSOAPBodyLookahead
		err = checkSOAPBody(d, rec, h.Service.Code)
	}
	if err == nil {
		return h, rec.buf, nil
	}
	switch {
	case rec.full && inBody:
		err = fmt.Errorf("%w: the SOAP Body and its first element must start within %d bytes of the Header's end", ErrSOAPHeaderTooLarge, maxSOAPBodyLookahead)
	case rec.full:
		err = fmt.Errorf("%w: the Header must end within the first %d bytes", ErrSOAPHeaderTooLarge, MaxSOAPHeaderBytes)
	case rec.err != nil && !errors.Is(rec.err, io.EOF):
		err = fmt.Errorf("gateway: reading the SOAP message: %w", rec.err)
	case errors.Is(err, ErrBadSOAP):
	case rec.err != nil && inBody:
		err = fmt.Errorf("%w: the message ends before the end of its SOAP Body", ErrBadSOAP)
	case rec.err != nil:
		err = fmt.Errorf("%w: the message ends before its SOAP Header ends", ErrBadSOAP)
	default:
		err = fmt.Errorf("%w: not well-formed XML: %s", ErrBadSOAP, clip(strings.TrimPrefix(err.Error(), "XML syntax error on ")))
	}
	return SOAPHeader{}, rec.buf, err
}

// checkSOAPBody reads on from the end of the Header, as X-Road's
// SoapUtils does: the Header must be followed by the Body, whose child is
// the operation (document/literal), named after the service: its local
// name must start with the xrd:service's serviceCode, or the call could
// run an operation no access right covers. The Body must have exactly one
// child element; the message is streamed, never buffered (it may be
// 100 MB), so a second child is looked for only within
// maxSOAPBodyLookahead bytes after the Header: when the first child is
// longer than that, only its name is checked. d reads from rec, whose
// bound is set; an error of rec.full past the first child's start tag is
// that case and is no error.
func checkSOAPBody(d *xml.Decoder, rec *byteRecorder, code string) error {
	el, err := nextElement(d, "the SOAP Body")
	if err != nil {
		return err
	}
	if el.Name.Space != NamespaceSOAPEnvelope || el.Name.Local != "Body" {
		return badSOAP("the SOAP Header must be followed by the SOAP Body")
	}
	child, err := nextElement(d, "the SOAP Body's child element (the operation)")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(child.Name.Local, code) {
		return badSOAP("service code does not match in header and body: the Body's element %s must be named after the service code %s", clip(child.Name.Local), code)
	}
	if err := d.Skip(); err != nil {
		if rec.full {
			return nil // too long to look past it: only its name is checked
		}
		return err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			if rec.full {
				return nil
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return badSOAP("the SOAP Body must have exactly one child element, not %s and %s", clip(child.Name.Local), clip(t.Name.Local))
		case xml.EndElement: // the Body's
			return nil
		case xml.Directive:
			return badSOAP("document type declarations are not allowed")
		}
	}
}

// byteRecorder hands the XML decoder one byte at a time and keeps them,
// up to max.
type byteRecorder struct {
	r    *bufio.Reader
	buf  []byte
	max  int
	full bool
	err  error
}

func (b *byteRecorder) ReadByte() (byte, error) {
	if len(b.buf) >= b.max {
		b.full = true
		return 0, ErrSOAPHeaderTooLarge
	}
	c, err := b.r.ReadByte()
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return 0, err
	}
	b.buf = append(b.buf, c)
	return c, nil
}

// skipBOM takes a UTF-8 byte order mark (XML 1.0 section 4.3.3) at the
// start of the stream, keeping it in buf: the decoder never sees it.
func (b *byteRecorder) skipBOM() {
	if p, err := b.r.Peek(3); err == nil && string(p) == "\ufeff" {
		b.buf = append(b.buf, p...)
		_, _ = b.r.Discard(3)
	}
}

func (b *byteRecorder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c, err := b.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = c
	return 1, nil
}

func badSOAP(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSOAP}, args...)...)
}

// nextElement returns the next start element at this level, skipping
// comments, processing instructions and white space; it refuses a DTD,
// text, and the end of the enclosing element (what says what was wanted).
func nextElement(d *xml.Decoder, what string) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, badSOAP("%s is missing", what)
		case xml.Directive:
			return xml.StartElement{}, badSOAP("document type declarations are not allowed")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, badSOAP("text where %s was expected", what)
			}
		}
	}
}

func parseSOAPHeader(d *xml.Decoder) (SOAPHeader, error) {
	var h SOAPHeader
	env, err := nextElement(d, "the Envelope")
	if err != nil {
		return h, err
	}
	switch {
	case env.Name.Space == nsSOAP12 && env.Name.Local == "Envelope":
		return h, badSOAP("SOAP 1.2 is not supported: send a SOAP 1.1 envelope (namespace %s)", NamespaceSOAPEnvelope)
	case env.Name.Space != NamespaceSOAPEnvelope || env.Name.Local != "Envelope":
		return h, badSOAP("the root element must be a SOAP 1.1 Envelope (namespace %s)", NamespaceSOAPEnvelope)
	}
	hdr, err := nextElement(d, "the SOAP Header")
	if err != nil {
		return h, err
	}
	if hdr.Name.Space != NamespaceSOAPEnvelope || hdr.Name.Local != "Header" {
		return h, badSOAP("the envelope must start with a SOAP Header holding the X-Road fields")
	}
	seen := map[string]bool{}
	for {
		tok, err := d.Token()
		if err != nil {
			return h, err
		}
		var el xml.StartElement
		switch t := tok.(type) {
		case xml.EndElement: // the Header's end (the decoder checks the pairing)
			return h, checkSOAPHeader(&h, seen)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return h, badSOAP("text in the SOAP Header")
			}
			continue
		case xml.Directive:
			return h, badSOAP("document type declarations are not allowed")
		case xml.StartElement:
			el = t
		default:
			continue
		}
		name := el.Name.Local
		switch {
		case el.Name.Space != NamespaceXRoad:
			// Other header blocks (security, represented party…) are the
			// provider's business; they travel unchanged.
			if err := d.Skip(); err != nil {
				return h, err
			}
			continue
		case name != "client" && name != "service" && name != "id" && name != "userId" && name != "issue" && name != "protocolVersion":
			if err := d.Skip(); err != nil { // requestHash, requestHash of responses…
				return h, err
			}
			continue
		case seen[name]:
			return h, badSOAP("the X-Road header field %s appears twice", name)
		}
		seen[name] = true
		switch name {
		case "client":
			typ, f, err := readXRoadID(d, el, "client", "MEMBER", "SUBSYSTEM")
			if err != nil {
				return h, err
			}
			if h.Client, err = clientOf(typ, f); err != nil {
				return h, err
			}
		case "service":
			_, f, err := readXRoadID(d, el, "service", "SERVICE")
			if err != nil {
				return h, err
			}
			if h.Service, err = serviceOf(f); err != nil {
				return h, err
			}
		default:
			v, err := readText(d, name)
			if err != nil {
				return h, err
			}
			switch name {
			case "id":
				h.ID = v
			case "userId":
				h.UserID = v
			case "issue":
				h.Issue = v
			case "protocolVersion":
				h.ProtocolVersion = v
			}
			if !ValidHeaderValue(v) {
				return h, badSOAP("the X-Road header field %s must hold at most 255 printable characters", name)
			}
		}
	}
}

// checkSOAPHeader checks the required fields once the Header ended.
func checkSOAPHeader(h *SOAPHeader, seen map[string]bool) error {
	for _, f := range []string{"client", "service", "id", "protocolVersion"} {
		if !seen[f] {
			return badSOAP("the SOAP Header has no X-Road field %s (namespace %s)", f, NamespaceXRoad)
		}
	}
	if h.ID == "" {
		return badSOAP("the X-Road field id is empty")
	}
	if h.ProtocolVersion != SOAPProtocolVersion {
		return badSOAP("protocolVersion %q is not supported: this gateway speaks X-Road message protocol %s", clip(h.ProtocolVersion), SOAPProtocolVersion)
	}
	return nil
}

// readText reads the text content of a simple element up to its end.
func readText(d *xml.Decoder, name string) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > 4*maxIDPart {
				return "", badSOAP("the X-Road header field %s is too long", name)
			}
			b.Write(t)
		case xml.StartElement:
			return "", badSOAP("the X-Road header field %s must hold text only", name)
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}

// readXRoadID reads an identifier element (client or service): its
// objectType, one of kinds, and its parts by local name.
func readXRoadID(d *xml.Decoder, start xml.StartElement, what string, kinds ...string) (string, map[string]string, error) {
	typ := ""
	for _, a := range start.Attr {
		if a.Name.Local == "objectType" && (a.Name.Space == NamespaceIdentifiers || a.Name.Space == "") {
			typ = strings.TrimSpace(a.Value)
		}
	}
	ok := false
	for _, k := range kinds {
		ok = ok || typ == k
	}
	if !ok {
		return "", nil, badSOAP("%s: objectType must be %s, not %q", what, strings.Join(kinds, " or "), clip(typ))
	}
	parts := map[string]string{}
	for {
		tok, err := d.Token()
		if err != nil {
			return "", nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return typ, parts, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return "", nil, badSOAP("%s: text outside the identifier's parts", what)
			}
		case xml.Directive:
			return "", nil, badSOAP("document type declarations are not allowed")
		case xml.StartElement:
			name := t.Name.Local
			switch name {
			case "xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion":
			default:
				return "", nil, badSOAP("%s: unexpected element %q", what, clip(name))
			}
			if t.Name.Space != NamespaceIdentifiers {
				return "", nil, badSOAP("%s: %s must be in namespace %s", what, name, NamespaceIdentifiers)
			}
			if _, dup := parts[name]; dup {
				return "", nil, badSOAP("%s: %s appears twice", what, name)
			}
			v, err := readText(d, what+"/"+name)
			if err != nil {
				return "", nil, err
			}
			parts[name] = v
		}
	}
}

func checkParts(what string, parts map[string]string, names ...string) error {
	for _, n := range names {
		v, ok := parts[n]
		if !ok {
			return badSOAP("%s: %s is missing", what, n)
		}
		if !ValidIDPart(v) {
			return badSOAP("%s: %s is empty, too long or has a forbidden character", what, n)
		}
	}
	return nil
}

func clientOf(typ string, p map[string]string) (ClientID, error) {
	names := []string{"xRoadInstance", "memberClass", "memberCode"}
	_, sub := p["subsystemCode"]
	switch {
	case typ == "SUBSYSTEM":
		names = append(names, "subsystemCode")
	case sub:
		return ClientID{}, badSOAP("client: a MEMBER has no subsystemCode")
	}
	if _, ok := p["serviceCode"]; ok {
		return ClientID{}, badSOAP("client: serviceCode belongs to a service")
	}
	if _, ok := p["serviceVersion"]; ok {
		return ClientID{}, badSOAP("client: serviceVersion belongs to a service")
	}
	if err := checkParts("client", p, names...); err != nil {
		return ClientID{}, err
	}
	return ClientID{Instance: p["xRoadInstance"], Class: p["memberClass"], Member: p["memberCode"], Subsystem: p["subsystemCode"]}, nil
}

func serviceOf(p map[string]string) (ServiceID, error) {
	if _, ok := p["subsystemCode"]; !ok {
		return ServiceID{}, badSOAP("service: subsystemCode is missing (services belong to subsystems here)")
	}
	if err := checkParts("service", p, "xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode"); err != nil {
		return ServiceID{}, err
	}
	s := ServiceID{Provider: ClientID{Instance: p["xRoadInstance"], Class: p["memberClass"], Member: p["memberCode"], Subsystem: p["subsystemCode"]},
		Code: p["serviceCode"]}
	if v, ok := p["serviceVersion"]; ok {
		if !IsVersion(v) {
			return ServiceID{}, badSOAP("service: serviceVersion %q is not a version label such as v1 or v2.1", clip(v))
		}
		s.Version = v
	}
	return s, nil
}

// soapReadBuffer is the read buffer in front of a SOAP request body; it
// stays in the stream to the backend.
const soapReadBuffer = 16 << 10

// soapBody is what goes to the backend: the bytes read for the header,
// then the rest of the client's stream.
type soapBody struct {
	io.Reader
	io.Closer
}

// serveSOAP reads a SOAP call up to the end of its Header, proves its
// client and runs the shared pipeline.
func (rt *Runtime) serveSOAP(w *statusWriter, r *http.Request, snap *snapshot, ex *exchange) *Fault {
	ex.soap = true
	boundary, start, f := soapContentType(r.Header.Get("Content-Type"))
	if f != nil {
		return f
	}
	if r.ContentLength > rt.cfg.MaxBodyBytes {
		return fault(http.StatusRequestEntityTooLarge, FaultBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", rt.cfg.MaxBodyBytes))
	}
	// Anonymous callers are refused before any XML is read; authenticate
	// does the real check once the header names the client.
	if (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) && (rt.cfg.Tokens == nil || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")) {
		return fault(http.StatusUnauthorized, FaultAuthentication, "authenticate with a registered client certificate or a bearer token")
	}
	// The body timeout covers the header too. A network deadline: wall time.
	_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Now().Add(rt.cfg.BodyTimeout))
	br := bufio.NewReaderSize(r.Body, soapReadBuffer)
	var parts []byte // multipart: what precedes the envelope
	if boundary != "" {
		var err error
		if parts, err = readRootPartStart(br, boundary, start); err != nil {
			return soapReadFault(r, err)
		}
	}
	h, head, err := readSOAPRequest(br, true)
	if err != nil {
		return soapReadFault(r, err)
	}
	if parts != nil {
		head = append(parts, head...)
	}
	ex.service, ex.messageID, ex.userID, ex.issue = h.Service, h.ID, h.UserID, h.Issue
	if !h.Client.IsSubsystem() {
		return fault(http.StatusBadRequest, FaultBadRequest, "client "+h.Client.String()+" is a MEMBER: calls are made by subsystems (objectType SUBSYSTEM)")
	}
	client, f := rt.authenticate(r, snap, h.Client.String(), ex)
	if f != nil {
		f.Message = strings.Replace(f.Message, HeaderClient+" does not match", "the SOAP header's client does not match", 1)
		return f
	}
	ex.client, ex.cs = client, client.String()
	ex.us = h.Service.Unversioned().String()
	ex.qkey = ex.cs + "|" + ex.us
	switch h.Service.Code {
	case "listMethods", "allowedMethods", "getWsdl", "getOpenAPI":
		if h.Service.Provider.Instance == rt.cfg.Instance && snap.services[ex.us] == nil {
			p := h.Service.Provider.String()
			return fault(http.StatusNotFound, FaultUnknownService, "SOAP metadata services are not provided: use GET /r1/"+p+"/listMethods, /r1/"+p+"/allowedMethods or /r1/"+p+"/getOpenAPI?serviceCode=CODE (the WSDL)")
		}
	}
	r.Body = soapBody{Reader: io.MultiReader(bytes.NewReader(head), br), Closer: r.Body}
	return rt.call(w, r, snap, ex)
}

// soapReadFault maps an error of ReadSOAPHeader to a fault.
func soapReadFault(r *http.Request, err error) *Fault {
	var ne net.Error
	switch {
	case errors.Is(err, ErrSOAPHeaderTooLarge):
		return fault(http.StatusRequestEntityTooLarge, FaultBodyTooLarge, strings.TrimPrefix(err.Error(), "gateway: "))
	case errors.Is(err, ErrBadSOAP):
		return fault(http.StatusBadRequest, FaultBadRequest, strings.TrimPrefix(err.Error(), "gateway: "))
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fault(http.StatusRequestTimeout, FaultBodyTimeout, "the request body did not arrive in time")
	case r.Context().Err() != nil: // (a failed read cancels it too: timeouts first)
		return fault(499, FaultCanceled, "the client closed the connection")
	}
	return fault(http.StatusBadRequest, FaultBadRequest, "the request body could not be read")
}

// soapContentType accepts text/xml (SOAP 1.1) in UTF-8, and SOAP with
// attachments: multipart/related whose root part is that envelope
// (type text/xml) or its XOP form (MTOM: type application/xop+xml with
// start-info text/xml); for those it returns the boundary and the root
// part's Content-ID if the start parameter names it.
func soapContentType(ct string) (boundary, start string, f *Fault) {
	bad := func(msg string) (string, string, *Fault) {
		return "", "", fault(http.StatusBadRequest, FaultBadRequest, msg)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return bad("a SOAP request needs Content-Type text/xml")
	}
	switch mt {
	case "text/xml":
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return bad("the SOAP message must be encoded in UTF-8")
		}
		return "", "", nil
	case "multipart/related":
		typ := strings.ToLower(params["type"])
		switch {
		case params["boundary"] == "" || len(params["boundary"]) > 70:
			return bad("multipart/related needs a boundary of 1 to 70 characters")
		case typ == "text/xml":
		case typ == "application/xop+xml" && strings.HasPrefix(strings.ToLower(params["start-info"]), "text/xml"):
		default:
			return bad("multipart/related SOAP messages need type text/xml (attachments) or application/xop+xml with start-info text/xml (MTOM)")
		}
		return params["boundary"], params["start"], nil
	case "application/soap+xml":
		return bad("SOAP 1.2 is not supported: send a SOAP 1.1 envelope as text/xml")
	}
	return bad("a SOAP request needs Content-Type text/xml, not " + clip(mt))
}

// readRootPartStart reads a multipart/related message up to its first
// part's content (the SOAP envelope): the preamble, the first delimiter
// and the part's header, which must say text/xml or application/xop+xml
// and, when start is set, carry that Content-ID (the root part comes
// first, as SOAP stacks send it). It finds the part a MIME parser finds
// (RFC 2046 section 5.1.1): lines are read whole, however long, and a
// delimiter line is "--" + boundary followed only by spaces or tabs, then
// CRLF or LF. The part's Content-Transfer-Encoding must be 7bit, 8bit or
// binary (the default is 7bit): the gateway reads the envelope as it is
// sent, so an encoded one (quoted-printable, base64) would not be the
// envelope the backend decodes. It returns the bytes read, to be sent on
// unchanged (on an error too).
func readRootPartStart(br *bufio.Reader, boundary, start string) ([]byte, error) {
	var got []byte
	// line returns the next line without its line break (LF, or CRLF).
	line := func() (string, error) {
		n := len(got)
		for {
			b, err := br.ReadSlice('\n')
			got = append(got, b...)
			if len(got) > MaxSOAPHeaderBytes {
				return "", fmt.Errorf("%w: the first part must begin within the first %d bytes", ErrSOAPHeaderTooLarge, MaxSOAPHeaderBytes)
			}
			if err == bufio.ErrBufferFull {
				continue // the line goes on: judged once whole
			}
			if err != nil {
				if err == io.EOF {
					return "", badSOAP("the message ends before its first part")
				}
				return "", err
			}
			l := strings.TrimSuffix(string(got[n:len(got)-1]), "\r")
			return l, nil
		}
	}
	// isDelim: a delimiter line (RFC 2046: transport padding allowed).
	isDelim := func(l, delim string) bool {
		return strings.HasPrefix(l, delim) && strings.TrimRight(l[len(delim):], " \t") == ""
	}
	delim := "--" + boundary
	for {
		l, err := line()
		if err != nil {
			return got, err
		}
		if isDelim(l, delim) {
			break
		}
		if isDelim(l, delim+"--") {
			return got, badSOAP("the multipart message has no part")
		}
	}
	var partType, partID, partCTE string
	seen := map[string]bool{}
	last := ""
	for {
		l, err := line()
		if err != nil {
			return got, err
		}
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' { // a folded header line continues the last one
			v := " " + strings.TrimSpace(l)
			switch last {
			case "":
				return got, badSOAP("malformed header line in the first part")
			case "content-type":
				partType += v
			case "content-id":
				partID += v
			case "content-transfer-encoding":
				partCTE += v
			}
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return got, badSOAP("malformed header line in the first part")
		}
		last = strings.ToLower(strings.TrimSpace(k))
		switch last {
		case "content-type", "content-id", "content-transfer-encoding":
			if seen[last] {
				return got, badSOAP("the first part has two %s header fields", clip(strings.TrimSpace(k)))
			}
			seen[last] = true
		}
		switch v = strings.TrimSpace(v); last {
		case "content-type":
			partType = v
		case "content-id":
			partID = v
		case "content-transfer-encoding":
			partCTE = v
		}
	}
	mt, params, err := mime.ParseMediaType(partType)
	switch cte := strings.ToLower(strings.TrimSpace(partCTE)); {
	case start != "" && strings.Trim(partID, "<>") != strings.Trim(start, "<>"):
		return got, badSOAP("the first part (Content-ID %s) is not the start part %s: put the envelope first", clip(partID), clip(start))
	case err != nil:
		return got, badSOAP("the first part needs a Content-Type (text/xml, or application/xop+xml for MTOM)")
	case mt != "text/xml" && mt != "application/xop+xml":
		return got, badSOAP("the first part must be the SOAP envelope (text/xml, or application/xop+xml for MTOM), not %s", clip(mt))
	case params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8"):
		return got, badSOAP("the SOAP message must be encoded in UTF-8")
	case cte != "" && cte != "7bit" && cte != "8bit" && cte != "binary":
		return got, badSOAP("the first part's Content-Transfer-Encoding %s is not supported: send the envelope unencoded (8bit or binary)", clip(partCTE))
	}
	return got, nil
}

// HashAlgorithmSHA256 is the algorithmId of the requestHash element the
// gateway puts in SOAP answers: XML Encryption's name for SHA-256.
const HashAlgorithmSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

// soapAnswer is the start of a SOAP answer, as read by readSOAPAnswer.
type soapAnswer struct {
	// head holds the bytes read, to go on (changed or not) before the rest.
	head []byte
	// at is where the envelope's Header ends in head (before its end
	// tag), or, with no Header, where the Body starts.
	at       int
	noHeader bool
	// emptyHeader is the qualified name of an empty Header element
	// (<P:Header/>), whose "/>" is at at.
	emptyHeader string
	// hashes are the requestHash elements of the Header, [start, end) in
	// head; hash and alg are the first one's value and algorithmId.
	hashes    [][2]int
	hash, alg string
}

// readSOAPAnswer reads an answer's SOAP 1.1 envelope up to the end of its
// Header (or the start of its Body when it has none), reading at most
// MaxSOAPHeaderBytes. The bytes read are in a.head, on an error too. Errors
// wrap ErrBadSOAP (not an envelope), ErrSOAPHeaderTooLarge, or the error
// of br (io.EOF: the answer ended first).
func readSOAPAnswer(br *bufio.Reader) (a soapAnswer, err error) {
	rec := &byteRecorder{r: br, max: MaxSOAPHeaderBytes}
	defer func() {
		a.head = rec.buf
		switch {
		case err == nil:
		case rec.full:
			err = ErrSOAPHeaderTooLarge
		case rec.err != nil:
			err = rec.err
		case !errors.Is(err, ErrBadSOAP):
			err = fmt.Errorf("%w: %v", ErrBadSOAP, err)
		}
	}()
	rec.skipBOM()
	bom := len(rec.buf) // the decoder's offsets start after it
	d := xml.NewDecoder(rec)
	env, err := nextElement(d, "the Envelope")
	if err != nil {
		return a, err
	}
	if env.Name.Space != NamespaceSOAPEnvelope || env.Name.Local != "Envelope" {
		return a, badSOAP("not a SOAP 1.1 envelope")
	}
	// The decoder reads byte by byte: its offset (+ bom) before a token is
	// where that token starts in rec.buf.
	at := bom + int(d.InputOffset())
	el, err := nextElement(d, "the Body")
	if err != nil {
		return a, err
	}
	if el.Name.Space != NamespaceSOAPEnvelope || el.Name.Local != "Header" {
		a.at, a.noHeader = at, true
		return a, nil
	}
	if end := bom + int(d.InputOffset()); end >= 2 && string(rec.buf[end-2:end]) == "/>" {
		// <P:Header/>: it is opened and closed around the element. Its
		// tag begins at the last '<' (an attribute value holds none).
		open := bytes.LastIndexByte(rec.buf[:end], '<')
		name := rec.buf[open+1 : end-2]
		if i := bytes.IndexAny(name, " \t\r\n"); i >= 0 {
			name = name[:i]
		}
		a.at, a.emptyHeader = end-2, string(name)
		return a, nil
	}
	for {
		at := bom + int(d.InputOffset())
		tok, err := d.Token()
		if err != nil {
			return a, err
		}
		switch t := tok.(type) {
		case xml.EndElement: // the Header's
			a.at = at
			return a, nil
		case xml.StartElement:
			if t.Name.Space != NamespaceXRoad || t.Name.Local != "requestHash" {
				if err := d.Skip(); err != nil {
					return a, err
				}
				continue
			}
			v, err := readText(d, "requestHash")
			if err != nil {
				return a, err
			}
			if a.hashes == nil {
				a.hash = v
				for _, at := range t.Attr {
					if at.Name.Local == "algorithmId" {
						a.alg = strings.TrimSpace(at.Value)
					}
				}
			}
			a.hashes = append(a.hashes, [2]int{at, bom + int(d.InputOffset())})
		}
	}
}

// withRequestHash returns the head with the gateway's requestHash element
// (sum, base64) at the end of the Header, in place of any the service
// wrote; an envelope without a Header gets one.
func (a soapAnswer) withRequestHash(sum string) []byte {
	el := `<xrd:requestHash xmlns:xrd="` + NamespaceXRoad + `" algorithmId="` + HashAlgorithmSHA256 + `">` + sum + `</xrd:requestHash>`
	rest := a.head[a.at:]
	switch {
	case a.noHeader:
		el = `<SOAP-ENV:Header xmlns:SOAP-ENV="` + NamespaceSOAPEnvelope + `">` + el + `</SOAP-ENV:Header>`
	case a.emptyHeader != "":
		el = ">" + el + "</" + a.emptyHeader + ">"
		rest = rest[2:] // the "/>"
	}
	b := make([]byte, 0, len(a.head)+len(el))
	last := 0
	for _, h := range a.hashes {
		b = append(b, a.head[last:h[0]]...)
		last = h[1]
	}
	b = append(b, a.head[last:a.at]...)
	b = append(b, el...)
	return append(b, rest...)
}

// soapAnswerType reports whether an answer of this Content-Type is a SOAP
// 1.1 message in UTF-8, and its boundary if it is multipart/related.
func soapAnswerType(ct string) (boundary, start string, ok bool) {
	if ct == "" {
		return "", "", false
	}
	boundary, start, f := soapContentType(ct)
	return boundary, start, f == nil
}

// soapRequestHash puts the request's hash in a SOAP answer's Header, as
// an X-Road security server does (xrd:requestHash), or, for a peer
// gateway's answer, checks the one the peer put there: an answer to
// another request is refused (FaultInconsistentResponse). Only known once
// the whole request was read (the X-Road-Request-Hash header too). An
// answer that is not a SOAP envelope passes unchanged. A read error is
// returned: nothing was sent to the client yet.
func (rt *Runtime) soapRequestHash(ex *exchange, resp *http.Response) error {
	if !ex.reqBody.done() || resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	boundary, start, ok := soapAnswerType(resp.Header.Get("Content-Type"))
	if !ok {
		return nil
	}
	br := bufio.NewReaderSize(resp.Body, 4096)
	var parts []byte
	var a soapAnswer
	var err error
	if boundary != "" {
		parts, err = readRootPartStart(br, boundary, start)
	}
	if err == nil {
		a, err = readSOAPAnswer(br)
	}
	head := append(parts, a.head...)
	switch {
	case err == nil:
	case errors.Is(err, ErrBadSOAP) || errors.Is(err, ErrSOAPHeaderTooLarge):
		// Not an envelope the gateway can read: it goes as it came.
		resp.Body = soapBody{Reader: io.MultiReader(bytes.NewReader(head), br), Closer: resp.Body}
		return nil
	case err == io.EOF:
		// The answer ended first: it goes as it came, whole.
		resp.Body = soapBody{Reader: bytes.NewReader(head), Closer: resp.Body}
		return nil
	default:
		return err // cut short or too slow: answered as a failed call
	}
	sum := ex.reqBody.sumB64()
	if ex.peer {
		if a.hashes != nil && (a.alg != HashAlgorithmSHA256 || a.hash != sum) {
			return fault(http.StatusBadGateway, FaultInconsistentResponse, "the peer gateway's answer is not for this request: its requestHash differs")
		}
	} else {
		withHash := a.withRequestHash(sum)
		if resp.ContentLength >= 0 {
			resp.ContentLength += int64(len(withHash) - len(a.head))
			resp.Header["Content-Length"] = []string{itoa(resp.ContentLength)}
		}
		head = append(parts, withHash...)
	}
	resp.Body = soapBody{Reader: io.MultiReader(bytes.NewReader(head), br), Closer: resp.Body}
	return nil
}

// writeSOAPFault answers f as a SOAP 1.1 Fault in X-Road's form: HTTP 500,
// faultcode the category, faultstring the message, detail the request id.
func writeSOAPFault(w http.ResponseWriter, f *Fault, requestID string) {
	h := w.Header()
	h.Set(HeaderError, f.Type)
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if requestID != "" {
		h.Set(HeaderRequestID, requestID)
	}
	msg := f.Message
	if f.RetryAfter > 0 {
		h.Set("Retry-After", itoa(int64(f.RetryAfter)))
		msg += " (retry after " + itoa(int64(f.RetryAfter)) + " s)"
	}
	status := http.StatusInternalServerError
	if f.Type == FaultCanceled {
		status = 499 // nobody reads it; logged as the REST profile logs it
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + NamespaceSOAPEnvelope + `"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>`)
	_ = xml.EscapeText(&b, []byte(f.Type))
	b.WriteString(`</faultcode><faultstring>`)
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString(`</faultstring><faultactor></faultactor><detail><faultDetail xmlns="">`)
	_ = xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</faultDetail></detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n")
	h.Set("Content-Length", itoa(int64(b.Len())))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// faultStatus is the REST status of a fault category (for the faults a
// peer gateway answers in SOAP, always with HTTP 500).
func faultStatus(category string) int {
	switch category {
	case FaultBadRequest:
		return http.StatusBadRequest
	case FaultBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case FaultBodyTimeout:
		return http.StatusRequestTimeout
	case FaultQuota:
		return http.StatusTooManyRequests
	case FaultCanceled:
		return 499
	case FaultAuthentication, FaultUnknownClient:
		return http.StatusUnauthorized
	case FaultUnknownService:
		return http.StatusNotFound
	case FaultServiceDisabled:
		return http.StatusGone
	case FaultAccessDenied:
		return http.StatusForbidden
	case FaultServiceFailed, FaultPeerUnreachable, FaultInconsistentResponse:
		return http.StatusBadGateway
	case FaultServiceTimeout:
		return http.StatusGatewayTimeout
	case FaultCircuitOpen, FaultDatabase:
		return http.StatusServiceUnavailable
	}
	if strings.HasPrefix(category, "Client.") {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
