package h1

import (
	"bufio"
	"net/textproto"
	"strings"
	"testing"
)

// TestCommonHeaderKey: the fast path gives what
// textproto.CanonicalMIMEHeaderKey gives, in any case, without
// allocating, and nothing for other names.
func TestCommonHeaderKey(t *testing.T) {
	// The names the gateway's traffic carries, spelt as people write them.
	names := []string{
		"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language",
		"Authorization", "Connection", "Content-Length", "Content-Type",
		"Transfer-Encoding", "Expect", "Cookie", "Traceparent", "Tracestate",
		"X-Forwarded-For", "X-Road-Client", "X-Road-Id", "X-Road-UserId",
		"X-Road-Issue", "X-Road-Request-Id", "X-Road-Request-Hash",
		"X-Request-Id", "SOAPAction", "If-None-Match", "If-Modified-Since",
	}
	names = append(names, commonHeaders[:]...)
	for _, name := range names {
		want := textproto.CanonicalMIMEHeaderKey(name)
		for _, spelling := range []string{name, strings.ToLower(name), strings.ToUpper(name), want, swapCase(name)} {
			if got := commonHeaderKey([]byte(spelling)); got != want {
				t.Errorf("commonHeaderKey(%q) = %q, want %q", spelling, got, want)
			}
		}
	}
	for _, name := range []string{"", "X", "Hos", "Hostt", "Host-", "X-Road-Ids", "Content_Length", "Content-Lengtg", "Accept-Encodinh", "X-Road-Request-Hasg", strings.Repeat("a", 40)} {
		if got := commonHeaderKey([]byte(name)); got != "" {
			t.Errorf("commonHeaderKey(%q) = %q", name, got)
		}
	}
	b := []byte("x-road-request-hash")
	if n := testing.AllocsPerRun(100, func() { commonHeaderKey(b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 32
		case 'A' <= c && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

// TestReadRequestAllocs keeps the reading of a typical proxied request
// lean: the header names above cost nothing.
func TestReadRequestAllocs(t *testing.T) {
	raw := "GET /r1/VN/GOV/000.00.00.H01/tax/v1/status?id=1 HTTP/1.1\r\nHost: lgsp.example.vn\r\nUser-Agent: agency/1.0\r\n" +
		"Accept: application/json\r\nAccept-Encoding: gzip\r\nX-Road-Client: VN/GOV/000.00.00.H02/dossier\r\n" +
		"X-Road-Id: 4b3c\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n"
	r := strings.NewReader(raw)
	br := bufio.NewReader(r)
	var sc scratch
	n := testing.AllocsPerRun(200, func() {
		r.Reset(raw)
		br.Reset(r)
		if _, err := readRequest(br, 1<<16, &sc); err != nil {
			t.Fatal(err)
		}
	})
	// The request, one string for the target and the values, the URL, the
	// header map and its values' slice.
	if n > 6 {
		t.Errorf("%v allocations per request", n)
	}
	t.Logf("%v allocations per request", n)
}
