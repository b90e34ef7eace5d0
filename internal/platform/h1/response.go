package h1

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// bufferLimit is how much of an answer's body is held before its header
// goes out: an answer that fits and ends is sent with a Content-Length,
// a longer one (or a flushed one) chunked.
const bufferLimit = 4 << 10

// response is the handler's http.ResponseWriter.
type response struct {
	c      *conn
	req    *request
	header http.Header

	mu          sync.Mutex // the connection's writer: a body reader may send 100 Continue
	wroteHeader bool
	status      int
	committed   bool  // status line and header are in the writer
	length      int64 // declared Content-Length, or -1
	written     int64
	buf         []byte
	chunked     bool
	noBody      bool
	trailers    []string
	closeAfter  bool
	err         error
	done        bool // the handler returned: the connection is no longer its own
}

// errHandlerDone is what a ResponseWriter answers once its handler has
// returned: its connection may carry another exchange by then.
var errHandlerDone = errors.New("h1: ResponseWriter used after its handler returned")

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.writeHeader(code)
	}
}

func (w *response) writeHeader(code int) {
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.wroteHeader {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// 100 is sent when the body is first read; an HTTP/1.0 client
		// gets no 1xx at all (RFC 9110 §15.2).
		if code != http.StatusContinue && w.err == nil && w.req.proto11 {
			w.writeStatusLine(code)
			w.writeFields(false, true)
			w.c.bw.WriteString("\r\n")
			w.err = w.c.bw.Flush()
		}
		return
	}
	w.wroteHeader, w.status, w.length = true, code, -1
	if code == http.StatusSwitchingProtocols { // no upgrades here
		w.closeAfter = true
	}
	if vs := w.header["Content-Length"]; len(vs) > 0 {
		n, ok := parseLength(vs[0])
		for _, v := range vs[1:] {
			ok = ok && v == vs[0]
		}
		if ok {
			w.length = n
			w.header["Content-Length"] = vs[:1]
		} else {
			delete(w.header, "Content-Length")
		}
	}
	w.noBody = w.req.method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified || code < 200
}

func (w *response) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		if w.req.method == http.MethodHead {
			if !w.committed && len(w.buf) < sniffLen { // for Content-Type, as a GET would have it
				w.bufferBody(p[:min(len(p), sniffLen-len(w.buf))])
			}
			w.written += int64(len(p))
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if len(w.buf)+len(p) <= bufferLimit {
			w.bufferBody(p)
			return len(p), nil
		}
		w.commit(false, p)
		if len(w.buf) > 0 {
			w.writeBody(w.buf)
			w.buf = w.buf[:0]
		}
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// bufferBody holds p until the header goes out (at most bufferLimit).
func (w *response) bufferBody(p []byte) {
	if w.buf == nil {
		if w.c.bodyBuf == nil {
			w.c.bodyBuf = make([]byte, 0, bufferLimit)
		}
		w.buf = w.c.bodyBuf[:0]
	}
	w.buf = append(w.buf, p...)
}

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

func (w *response) WriteString(s string) (int, error) {
	// Through Write: the buffer above copies, so no aliasing of s.
	return w.Write(unsafeBytes(s))
}

func (w *response) writeBody(p []byte) {
	if w.err != nil || len(p) == 0 {
		return
	}
	bw := w.c.bw
	if w.chunked {
		bw.Write(strconv.AppendInt(w.c.scratch[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, w.err = bw.WriteString("\r\n")
		return
	}
	_, w.err = bw.Write(p)
}

// commit writes the status line and header. final: the handler is done,
// so the body's length is known; sniff: the body's first bytes, for
// Content-Type. The fields the server adds (Content-Length,
// Transfer-Encoding, Content-Type, Date, Connection) go straight to the
// writer, not into the handler's map, as net/http does.
func (w *response) commit(final bool, sniff []byte) {
	w.committed = true
	h := w.header
	delete(h, "Transfer-Encoding") // the server frames the body
	if len(w.buf) > 0 {
		sniff = w.buf
	}
	length := int64(-1) // a Content-Length to add
	switch {
	case w.status == http.StatusNoContent || w.status < 200:
		delete(h, "Content-Length")
	case w.status == http.StatusNotModified || w.length >= 0:
	case final && (w.req.method != http.MethodHead || w.written > 0) && !(w.req.proto11 && w.hasTrailers()):
		// Known length, unless trailers are due (as net/http: chunked).
		w.length, length = w.written, w.written
	case w.noBody:
	case w.req.proto11:
		w.chunked = true
		for _, v := range h["Trailer"] {
			for _, k := range strings.Split(v, ",") {
				if k = trimOWS(k); isTokenString(k) {
					w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
				}
			}
		}
	default: // HTTP/1.0 without a length: the end of the connection ends the body
		w.closeAfter = true
	}
	ctype := ""
	bodyAllowed := w.status >= 200 && w.status != http.StatusNoContent && w.status != http.StatusNotModified // a HEAD's too
	if _, ok := h["Content-Type"]; !ok && bodyAllowed && len(sniff) > 0 && h.Get("Content-Encoding") == "" {
		ctype = http.DetectContentType(sniff)
	}
	_, hasDate := h["Date"]
	for _, v := range h["Connection"] {
		if strings.Contains(strings.ToLower(v), "close") {
			w.closeAfter = true
		}
	}
	connection := "" // replaces the handler's Connection
	switch {
	case w.closeAfter || w.req.close || w.c.srv.closing.Load():
		connection, w.closeAfter = "close", true
	case !w.req.proto11:
		connection = "keep-alive"
	}
	w.writeStatusLine(w.status)
	w.writeFields(connection != "", false)
	bw := w.c.bw
	if length >= 0 {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(w.c.scratch[:0], length, 10))
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if ctype != "" {
		bw.WriteString("Content-Type: ")
		bw.WriteString(ctype)
		bw.WriteString("\r\n")
	}
	if !hasDate {
		bw.WriteString("Date: ")
		bw.WriteString(httpDate())
		bw.WriteString("\r\n")
	}
	if connection != "" {
		bw.WriteString("Connection: ")
		bw.WriteString(connection)
		bw.WriteString("\r\n")
	}
	_, w.err = bw.WriteString("\r\n")
}

func (w *response) writeStatusLine(code int) {
	if code < len(statusLines) && statusLines[code] != "" {
		w.c.bw.WriteString(statusLines[code])
		return
	}
	w.c.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
}

// writeFields writes the header, dropping fields with a malformed name
// (and Connection when noConnection, and the framing fields in an interim
// 1xx answer) and turning line breaks in values into spaces (no response
// splitting).
func (w *response) writeFields(noConnection, interim bool) {
	bw := w.c.bw
	for k, vs := range w.header {
		if !isTokenString(k) || noConnection && k == "Connection" ||
			interim && (k == "Content-Length" || k == "Transfer-Encoding") { // (a 1xx has no body: no framing)
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(oneLine(v))
			bw.WriteString("\r\n")
		}
	}
}

// oneLine turns the line breaks of a field value into spaces.
func oneLine(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return v
}

// hasTrailers reports whether the handler declared trailers, with a
// Trailer field or a name with http.TrailerPrefix.
func (w *response) hasTrailers() bool {
	if _, ok := w.header["Trailer"]; ok {
		return true
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// finish completes the answer after the handler returned and reports
// whether it went out whole.
func (w *response) finish() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, nil)
		if !w.noBody {
			w.writeBody(w.buf)
		}
	}
	w.buf = nil
	if w.chunked && w.err == nil {
		bw := w.c.bw
		bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			for _, v := range w.header[k] {
				bw.WriteString(k + ": " + oneLine(v) + "\r\n")
			}
		}
		for k, vs := range w.header {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && isTokenString(name) {
				for _, v := range vs {
					bw.WriteString(name + ": " + oneLine(v) + "\r\n")
				}
			}
		}
		_, w.err = bw.WriteString("\r\n")
	}
	if w.length >= 0 && w.written < w.length && !w.noBody {
		w.closeAfter = true // the client counts on bytes that will not come
		return false
	}
	return w.err == nil
}

// seal ends the handler's use of w without answering (it panicked).
func (w *response) seal() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Flush sends what is buffered (http.Flusher).
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the error (http.ResponseController).
func (w *response) FlushError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.writeHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false, nil)
		if !w.noBody {
			w.writeBody(w.buf)
		}
		w.buf = w.buf[:0]
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// SetReadDeadline sets the connection's read deadline, which bounds the
// reading of the request body (http.ResponseController). It holds until
// the handler returns; after that it is refused, so that a goroutine the
// handler left cannot cut the next request on the connection.
func (w *response) SetReadDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errHandlerDone
	}
	return w.c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline
// (http.ResponseController). It holds until the answer is sent.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errHandlerDone
	}
	w.c.writeDeadline = true
	return w.c.nc.SetWriteDeadline(t)
}

// EnableFullDuplex is a no-op (http.ResponseController): the request body
// can always be read while the answer is written.
func (w *response) EnableFullDuplex() error { return nil }

// writeContinue sends 100 Continue, unless the answer already started.
func (w *response) writeContinue() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.done:
		return errHandlerDone
	case w.wroteHeader || w.err != nil:
		return w.err
	}
	w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	w.err = w.c.bw.Flush()
	return w.err
}

// statusLines holds the status lines of the registered codes.
var statusLines = func() []string {
	out := make([]string, 600)
	for code := range out {
		if t := http.StatusText(code); t != "" {
			out[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	return out
}()

// httpDate is the current time in the Date format, computed once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateCache{sec: sec, s: now.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.s
}

type dateCache struct {
	sec int64
	s   string
}

var cachedDate atomic.Pointer[dateCache]

func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
