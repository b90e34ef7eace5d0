package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// protoError is a request the server answers with status and closes.
type protoError struct {
	status int
	reason string
}

func (e *protoError) Error() string { return strconv.Itoa(e.status) + " " + e.reason }

func bad(reason string) error { return &protoError{http.StatusBadRequest, reason} }

// request is what readRequest read of a request's line and header.
type request struct {
	method, target string
	proto11        bool
	url            *url.URL
	header         http.Header
	host           string
	contentLength  int64 // -1: chunked
	close          bool
	expectContinue bool
	body           *body // nil: no body; else bodyv

	// One allocation for what lives as long as the request.
	bodyv body
	resp  response
}

// scratch is a connection's reusable space for reading a request: the
// target and the header values are gathered in bytes and made one string.
type scratch struct {
	bytes  []byte
	fields []fieldRef
}

// fieldRef is a header field read: its canonical name and where its value
// is in scratch.bytes.
type fieldRef struct {
	name       string
	start, end int
}

// readRequest reads a request line and header from br, at most max bytes
// of them. A malformed request is a *protoError; anything else is the
// connection's error (nobody left to answer).
func readRequest(br *bufio.Reader, max int, sc *scratch) (*request, error) {
	budget := max
	var line []byte
	var err error
	for i := 0; ; i++ { // RFC 9112 §2.2: ignore empty lines before the request line
		if line, err = readLine(br, &budget, http.StatusRequestURITooLong); err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
		if i == 4 {
			return nil, bad("empty lines instead of a request line")
		}
	}
	req := &request{}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, bad("malformed request line")
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, bad("malformed request line")
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	if !isToken(method) {
		return nil, bad("malformed method")
	}
	switch string(version) {
	case "HTTP/1.1":
		req.proto11 = true
	case "HTTP/1.0":
	default:
		if len(version) == 8 && bytes.HasPrefix(version, []byte("HTTP/")) && isDigit(version[5]) && version[6] == '.' && isDigit(version[7]) {
			return nil, &protoError{http.StatusHTTPVersionNotSupported, "HTTP version not supported"}
		}
		return nil, bad("malformed HTTP version")
	}
	req.method = internMethod(method)
	if req.method == http.MethodConnect {
		return nil, &protoError{http.StatusNotImplemented, "CONNECT is not supported"}
	}
	star := len(target) == 1 && target[0] == '*'
	switch {
	case star && req.method == http.MethodOptions:
	case target[0] == '/' || bytes.HasPrefix(target, []byte("http://")) || bytes.HasPrefix(target, []byte("https://")):
	default:
		return nil, bad("malformed request target")
	}

	// The target and the values go to sc.bytes, to become one string.
	sc.bytes = append(sc.bytes[:0], target...)
	sc.fields = sc.fields[:0]
	defer func() {
		if cap(sc.bytes) > 8<<10 { // a large header once is no reason to keep its room
			sc.bytes = nil
		}
		if cap(sc.fields) > 256 {
			sc.fields = nil
		}
	}()
	for {
		line, err := readLine(br, &budget, http.StatusRequestHeaderFieldsTooLarge)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		name, v, reason := splitField(line)
		if reason != "" {
			return nil, bad(reason)
		}
		k := commonHeaderKey(name)
		if k == "" {
			k = textproto.CanonicalMIMEHeaderKey(string(name))
		}
		start := len(sc.bytes)
		sc.bytes = append(sc.bytes, v...)
		sc.fields = append(sc.fields, fieldRef{k, start, len(sc.bytes)})
	}
	all := string(sc.bytes)
	req.target = all[:len(target)]
	req.header = make(http.Header, len(sc.fields))
	vals := make([]string, len(sc.fields)) // the fields' value slices, most of one
	for i, f := range sc.fields {
		v := all[f.start:f.end]
		if vv, ok := req.header[f.name]; ok {
			req.header[f.name] = append(vv, v)
			continue
		}
		vals[i] = v
		req.header[f.name] = vals[i : i+1 : i+1]
	}

	if star {
		req.url = &url.URL{Path: "*"}
	} else {
		u, err := url.ParseRequestURI(req.target)
		if err != nil {
			return nil, bad("malformed request target")
		}
		req.url = u
	}
	return req, req.semantics(br)
}

// semantics checks the header fields that frame the request and sets up
// its body.
func (req *request) semantics(br *bufio.Reader) error {
	h := req.header
	hosts := h["Host"]
	switch {
	case len(hosts) > 1:
		return bad("more than one Host")
	case len(hosts) == 0 && req.proto11:
		return bad("missing Host")
	case len(hosts) == 1:
		if !validHost(hosts[0]) {
			return bad("malformed Host")
		}
		req.host = hosts[0]
	}
	if req.url.Host != "" { // absolute form: its authority wins (RFC 9112 §3.2.2)
		if !validHost(req.url.Host) {
			return bad("malformed host in the request target")
		}
		req.host = req.url.Host
	}
	keepAlive := false
	for _, v := range h["Connection"] {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			tok = trimOWS(tok)
			req.close = req.close || asciiEqualFold(tok, "close")
			keepAlive = keepAlive || asciiEqualFold(tok, "keep-alive")
		}
	}
	if !req.proto11 && !keepAlive {
		req.close = true
	}

	te, cl := h["Transfer-Encoding"], h["Content-Length"]
	switch {
	case len(te) > 0 && len(cl) > 0:
		return bad("both Transfer-Encoding and Content-Length")
	case len(te) > 0:
		if !req.proto11 {
			return bad("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(te) != 1 || !asciiEqualFold(trimOWS(te[0]), "chunked") {
			return &protoError{http.StatusNotImplemented, "transfer coding not implemented (only chunked)"}
		}
		req.contentLength = -1
		req.body = &req.bodyv
		req.body.br, req.body.chunked = br, true
	case len(cl) > 0:
		n, ok := parseLength(cl[0])
		for _, v := range cl[1:] {
			if v != cl[0] {
				ok = false
			}
		}
		if !ok {
			return bad("malformed Content-Length")
		}
		req.contentLength = n
		if n > 0 {
			req.body = &req.bodyv
			req.body.br, req.body.remain = br, n
		}
	}
	if ex := h["Expect"]; len(ex) > 0 {
		if len(ex) != 1 || !asciiEqualFold(ex[0], "100-continue") {
			return &protoError{http.StatusExpectationFailed, "unsupported Expect"}
		}
		// An HTTP/1.0 client cannot take a 1xx answer: its 100-continue
		// is ignored (RFC 9110 §10.1.1).
		req.expectContinue = req.body != nil && req.proto11
	}
	return nil
}

// build makes the http.Request the handler sees.
func (req *request) build(ctx context.Context, c *conn) *http.Request {
	r := &http.Request{
		Method: req.method, URL: req.url, Header: req.header, Host: req.host, RequestURI: req.target,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: req.contentLength, Close: req.close,
		RemoteAddr: c.raddr, TLS: c.tls, Body: http.NoBody,
	}
	if !req.proto11 {
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	}
	if req.body != nil {
		r.Body = req.body
		if req.contentLength < 0 {
			r.TransferEncoding = []string{"chunked"}
		}
	}
	return r.WithContext(ctx)
}

// readLine reads a line ended by LF (CRLF or a bare LF, RFC 9112 §2.2)
// and returns it without its end, refusing a bare CR and anything past
// budget (answered with tooLong).
func readLine(br *bufio.Reader, budget *int, tooLong int) ([]byte, error) {
	line, err := readRaw(br, budget, tooLong)
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, bad("bare CR")
	}
	return line, nil
}

// readChunkLine reads a line of the chunked framing, which must end with
// CRLF: a bare LF there is refused (RFC 9112 §7.1, erratum 7633), as a
// front end that reads it otherwise could be fed a hidden request.
func readChunkLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := readRaw(br, budget, http.StatusBadRequest)
	if err != nil {
		return nil, noEOF(err)
	}
	n := len(line)
	if n < 2 || line[n-2] != '\r' || bytes.IndexByte(line[:n-2], '\r') >= 0 {
		return nil, errMalformedChunk
	}
	return line[:n-2], nil
}

// readRaw reads a line up to and with its LF, at most budget bytes of
// it. The line is br's own buffer, good until the next read, unless it
// was longer than the buffer.
func readRaw(br *bufio.Reader, budget *int, tooLong int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: gather it, within the budget.
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > *budget {
				return nil, &protoError{tooLong, "request line or header too large"}
			}
			line, err = br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, &protoError{tooLong, "request line or header too large"}
	}
	return line, nil
}

// splitField splits a header or trailer field line into its name and its
// value without the surrounding whitespace, refusing a folded line, a
// name that is not a token (so no whitespace before the colon) and
// control characters in the value.
func splitField(line []byte) (name, value []byte, reason string) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, "folded header line"
	}
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !isToken(line[:i]) {
		return nil, nil, "malformed header line"
	}
	v := bytes.Trim(line[i+1:], " \t")
	for _, b := range v {
		if b < ' ' && b != '\t' || b == 0x7f {
			return nil, nil, "control character in a header value"
		}
	}
	return line[:i], v, ""
}

// asciiEqualFold reports whether s is lower (ASCII lower case) in any
// ASCII case. Unlike strings.EqualFold it folds no other letter: the
// Kelvin sign is not a k, so "chun\u212Aed" is not chunked (as net/http
// reads it: framing fields must not mean more here than there).
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// trimOWS trims the optional white space of HTTP (spaces and tabs), and
// nothing else: not a no-break space nor any other Unicode space.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseLength parses a Content-Length: digits only, at most 18 of them.
func parseLength(v string) (int64, bool) {
	v = trimOWS(v)
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// tokenChars marks the bytes of an RFC 9110 token.
var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

func isTokenString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return true
}

// validHost accepts the bytes a URI authority may hold (RFC 3986).
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if tokenChars[c] && c != '|' && c != '^' && c != '`' && c != '#' || strings.IndexByte(":[]@;=,()", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// internMethod returns the common methods without allocating.
func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return http.MethodGet
	case "POST":
		return http.MethodPost
	case "PUT":
		return http.MethodPut
	case "DELETE":
		return http.MethodDelete
	case "HEAD":
		return http.MethodHead
	case "PATCH":
		return http.MethodPatch
	case "OPTIONS":
		return http.MethodOptions
	case "CONNECT":
		return http.MethodConnect
	}
	return string(m)
}

// body reads a request body of known length or chunked off the
// connection. It is safe for use by several goroutines (a transport may
// read it while the handler writes the answer).
type body struct {
	mu      sync.Mutex
	br      *bufio.Reader
	remain  int64 // known length: bytes left
	chunked bool
	left    int64 // chunked: bytes left in the current chunk
	crlf    bool  // chunked: the CRLF after a chunk's data is due
	// excess is the chunked framing read beyond a fair share of the data
	// (net/http's rule, CVE-2023-39326): 1-byte chunks with kilobytes of
	// extensions would make a small body cost megabytes of reading.
	excess int64
	eof    bool
	closed bool
	err    error
	cont   *response // Expect: 100-continue not yet answered
	// ended (eof) and done (eof or closed) are readable without mu: the
	// watcher and the server must not wait for a Read blocked on the
	// network.
	ended, done atomic.Bool
}

var errMalformedChunk = errors.New("h1: malformed chunked request body")

// errChunkOverhead: the chunked framing outweighs the data by more than
// maxChunkExcess bytes (as net/http, which refuses past 16 KiB).
var errChunkOverhead = errors.New("h1: chunked request body with too much framing for its data")

const maxChunkExcess = 16 << 10

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *body) read(p []byte) (int, error) {
	switch {
	case b.eof:
		return 0, io.EOF
	case b.err != nil:
		return 0, b.err
	}
	if b.cont != nil {
		if err := b.cont.writeContinue(); err != nil {
			b.err = err
			return 0, err
		}
		b.cont = nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !b.chunked {
		if int64(len(p)) > b.remain {
			p = p[:b.remain]
		}
		n, err := b.br.Read(p)
		b.remain -= int64(n)
		if b.remain == 0 {
			b.setEOF()
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			b.err = err
		}
		return n, err
	}
	for b.left == 0 {
		if err := b.nextChunk(); err != nil {
			if err != io.EOF {
				b.err = err
			}
			return 0, err
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 {
		b.crlf = true
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *body) setEOF() {
	b.eof = true
	b.ended.Store(true)
	b.done.Store(true)
}

// nextChunk reads the end of the last chunk and the next chunk's size
// line; at the last chunk it reads the trailer and returns io.EOF.
func (b *body) nextChunk() error {
	budget := 4 << 10
	if b.crlf {
		line, err := readChunkLine(b.br, &budget)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return errMalformedChunk
		}
		b.crlf = false
	}
	line, err := readChunkLine(b.br, &budget)
	if err != nil {
		return err
	}
	b.excess += int64(len(line)) + 2 // and the CRLF after the data (as net/http counts)
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		for _, c := range line[i:] { // chunk extensions: ignored, but no control characters
			if c < ' ' && c != '\t' || c == 0x7f {
				return errMalformedChunk
			}
		}
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return errMalformedChunk
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return errMalformedChunk
		}
	}
	if n > 0 {
		// Each chunk is owed 16 bytes of framing and twice its size.
		if b.excess = max(b.excess-16-2*n, 0); b.excess > maxChunkExcess {
			return errChunkOverhead
		}
		b.left = n
		return nil
	}
	// The last chunk: the trailer fields (checked, then dropped) up to an
	// empty line.
	budget = 64 << 10
	for {
		line, err := readChunkLine(b.br, &budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			b.setEOF()
			return io.EOF
		}
		if _, _, reason := splitField(line); reason != "" {
			return errMalformedChunk
		}
	}
}

// noEOF turns the errors of reading a chunked framing line into what the
// body's reader sees.
func noEOF(err error) error {
	var pe *protoError
	switch {
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case errors.As(err, &pe):
		return errMalformedChunk
	}
	return err
}

func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.done.Store(true)
	b.mu.Unlock()
	return nil
}

// atEOF reports whether nothing more will be read off the connection for
// this body (read to its end or closed).
func (b *body) atEOF() bool { return b.done.Load() }

// readToEnd reports whether the body was read to its end.
func (b *body) readToEnd() bool { return b.ended.Load() }

// finish reads and drops what the handler left of the body, at most
// limit bytes, and reports whether the connection can carry another
// request. The body reads nothing after it.
func (b *body) finish(limit int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.done.Store(true)
	if b.eof {
		return true
	}
	if b.err != nil || b.cont != nil {
		// A client that awaits 100 Continue has not sent the body.
		return false
	}
	if !b.chunked {
		if b.remain > limit {
			return false // not worth reading: the connection closes
		}
		n, err := b.br.Discard(int(b.remain))
		b.remain -= int64(n)
		if err != nil {
			b.err = err
			return false
		}
		b.setEOF()
		return true
	}
	for {
		if b.left == 0 {
			switch err := b.nextChunk(); {
			case err == io.EOF:
				return true
			case err != nil:
				b.err = err
				return false
			}
		}
		if b.left > limit {
			return false
		}
		n, err := b.br.Discard(int(b.left))
		b.left -= int64(n)
		limit -= int64(n)
		if err != nil {
			b.err = err
			return false
		}
		b.crlf = true
	}
}

// commonHeaders are the header names most requests carry, in their
// canonical form (textproto.CanonicalMIMEHeaderKey's: "X-Road-Userid").
var commonHeaders = [...]string{
	"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language",
	"Authorization", "Connection", "Content-Length", "Content-Type",
	"Transfer-Encoding", "Expect", "Cookie", "Traceparent", "Tracestate",
	"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
	"X-Road-Client", "X-Road-Id", "X-Road-Userid", "X-Road-Issue",
	"X-Road-Request-Id", "X-Road-Request-Hash", "X-Request-Id",
	"Soapaction", "If-None-Match", "If-Modified-Since", "Cache-Control",
	"Content-Encoding", "Origin", "Referer",
}

// commonByLen indexes commonHeaders by length, with their lower case.
var commonByLen = func() (t [20][][2]string) {
	for _, k := range commonHeaders {
		t[len(k)] = append(t[len(k)], [2]string{strings.ToLower(k), k})
	}
	return
}()

// commonHeaderKey returns the canonical form of a common header name,
// whatever its case, without allocating; "" for other names.
func commonHeaderKey(name []byte) string {
	if len(name) >= len(commonByLen) {
		return ""
	}
next:
	for _, k := range commonByLen[len(name)] {
		lower := k[0]
		for i, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[i] {
				continue next
			}
		}
		return k[1]
	}
	return ""
}
