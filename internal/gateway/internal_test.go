package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
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
// start of the message (it is sent on unchanged).
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
		if err == nil && !bytes.HasPrefix(msg, got) {
			t.Fatalf("returned %q, not a prefix of the message", got)
		}
	})
}
