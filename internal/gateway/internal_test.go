package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

// The hash chain is defined on json.Marshal of the record: the hand-written
// encoder must produce the same bytes, or logs written before and after it
// would no longer verify.
func TestCanonicalJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	cases := []string{"", "plain", `{"so_dinh_danh":"***","a":[1,2]}`, "<script>&amp;</script>", "tab\there\nnew\rret\bbs\fff",
		"\x00\x01\x1f\x7f", "Sở Tư pháp — phiếu", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", `back\slash "quote"`, "\U0001F600"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		r := Record{Node: s, Seq: 42, At: at, DoneAt: at.Add(time.Millisecond), Client: s, Service: "VN/GOV/X/Y/svc", MessageID: s,
			RequestID: "r", UserID: s, Issue: s, Method: "GET", Path: s, Status: 200, ErrorType: s, RequestBytes: -1, ResponseBytes: 1 << 40,
			RequestHash: s, ResponseHash: s, RequestBody: s, ResponseBody: s, PrevHash: s, Hash: s}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendCanonical(nil); !bytes.Equal(got, want) {
			t.Fatalf("for %q:\n got %s\nwant %s", s, got, want)
		}
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	f.Add("a<b>&\u2028\xff", int64(7))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		r := Record{Node: s, Seq: n, At: time.Unix(n%1e10, 0).UTC(), Path: s, RequestBody: s, Status: int(n % 1000)}
		want, _ := json.Marshal(r)
		if got := r.appendCanonical(nil); !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}

func TestNewIDIsAUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := newID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q: not a fresh UUID v4", id)
		}
		seen[id] = true
	}
}

// readRootPartStart never panics, and what it returns is exactly the
// start of the message (it is sent on unchanged), on an error too.
func FuzzReadRootPartStart(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Type: text/xml\r\n\r\n<Envelope/>"), "b")
	f.Add([]byte("pre\r\n--b\r\nContent-Type: application/xop+xml; type=\"text/xml\"\r\nX: y\r\n\r\n"), "b")
	f.Add([]byte("--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Type: text/xml; charset=latin1\r\n\r\n"), "b")
	f.Fuzz(func(t *testing.T, msg []byte, boundary string) {
		if boundary == "" {
			return
		}
		got, err := readRootPartStart(bufio.NewReaderSize(bytes.NewReader(msg), 16), boundary, "")
		if !bytes.HasPrefix(msg, got) {
			t.Fatalf("returned %q (%v), not a prefix of the message", got, err)
		}
	})
}

// readSOAPAnswer never panics and loses no byte of an answer (what it read
// is the start of the answer, on an error too); withRequestHash keeps every
// byte after the insertion point, puts exactly one requestHash element
// of the gateway's, and keeps a well-formed answer well-formed.
func FuzzSOAPAnswer(f *testing.F) {
	env := `xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"`
	f.Add([]byte(`<?xml version="1.0"?><s:Envelope ` + env + `><s:Body><a/></s:Body></s:Envelope>`))
	f.Add([]byte(`<s:Envelope ` + env + ` xmlns:x="http://x-road.eu/xsd/xroad.xsd"><s:Header><x:id>1</x:id><x:requestHash algorithmId="a">h</x:requestHash><x:requestHash>g</x:requestHash></s:Header><s:Body/></s:Envelope>`))
	f.Add([]byte(`<s:Envelope ` + env + `><s:Header><!-- c --><o xmlns="urn:o"><x:requestHash xmlns:x="http://x-road.eu/xsd/xroad.xsd"/></o></s:Header></s:Envelope>`))
	f.Add([]byte(`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header/><Body/></Envelope>`))
	f.Add([]byte(`<s:Envelope ` + env + `><s:Header>`))
	f.Add([]byte(`<s:Envelope ` + env + `><s:Header/><s:Body/></s:Envelope>`))
	f.Add([]byte(`<s:Envelope ` + env + `>` + "\n" + `<s:Header a="/>" ` + "\t" + `/><s:Body/></s:Envelope>`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, err := readSOAPAnswer(bufio.NewReaderSize(bytes.NewReader(msg), 16))
		if !bytes.HasPrefix(msg, a.head) {
			t.Fatalf("read %q (%v), not a prefix of the answer", a.head, err)
		}
		if err != nil {
			return
		}
		const sum = "c3VtCg=="
		out := a.withRequestHash(sum)
		after := a.head[a.at:]
		if a.emptyHeader != "" {
			after = after[2:] // "/>" became "></P:Header>"
		}
		if !bytes.HasSuffix(out, after) {
			t.Fatalf("bytes after the insertion point changed: %q", out)
		}
		if n := bytes.Count(out, []byte(`algorithmId="`+HashAlgorithmSHA256+`">`+sum+`<`)); n != 1 {
			t.Fatalf("%d requestHash elements of the gateway's in %q", n, out)
		}
		if wellFormed(msg) && !wellFormed(append(out, msg[len(a.head):]...)) {
			t.Fatalf("a well-formed answer became malformed:\n%s\n%s", msg, out)
		}
	})
}

// wellFormed reports whether b is one XML element (and what may surround
// it), every tag closed.
func wellFormed(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return depth == 0 && roots == 1
		}
		if err != nil {
			return false
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}
