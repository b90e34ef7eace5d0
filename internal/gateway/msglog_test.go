package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// appendMany appends n records concurrently through a running log and signs.
func appendMany(t *testing.T, d *db.DB, key *gateway.Key, n int) {
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: key, SignInterval: time.Hour})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ml.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			now := time.Now()
			must(t, ml.Append(context.Background(), gateway.Record{At: now, DoneAt: now, Client: client, Service: svcID, Method: "GET",
				Status: 200, Issue: fmt.Sprintf("H57-%03d", i), RequestID: fmt.Sprint(i)}))
		}(i)
	}
	wg.Wait()
	must(t, ml.Sign(context.Background()))
	cancel()
	<-done
}

// integration "better than X-Road": tamper-evident message log, batch-signed, verifiable export.
func TestMessageLogVerifiesAndFindsTampering(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	es256, err := gateway.NewKey(ecKey)
	must(t, err)
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		appendMany(t, d, es256, 150)
		rep, err := gateway.VerifyDB(ctx, d, []string{es256.Public})
		must(t, err)
		if !rep.OK() || rep.Records != 150 || rep.Unsigned != 0 || rep.Batches != 1 {
			t.Fatalf("intact log: %+v", rep)
		}
		// Someone with database access changes one exchange's outcome.
		must(t, gateway.TamperRecord(ctx, d, "n1", 42, func(r *gateway.Record) { r.Status = 403 }))
		rep, _ = gateway.VerifyDB(ctx, d, nil)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "record 42: content does not match") {
			t.Fatalf("altered record not found: %+v", rep.Problems)
		}
		// Recomputing the record's hash breaks the link to the next one and the batch root.
		must(t, gateway.DeleteRecord(ctx, d, "n1", 77))
		rep, _ = gateway.VerifyDB(ctx, d, nil)
		all := strings.Join(rep.Problems, "\n")
		if !strings.Contains(all, "record 78 follows 76") {
			t.Fatalf("deleted record not found: %s", all)
		}
		// A signature from another key is rejected when the key is pinned.
		_, priv, _ := ed25519Key()
		rep, _ = gateway.VerifyDB(ctx, d, []string{priv})
		if !strings.Contains(strings.Join(rep.Problems, "\n"), "signature is not valid") {
			t.Fatalf("untrusted key accepted: %v", rep.Problems)
		}
	})
}

func ed25519Key() (*gateway.Key, string, error) { return testKey, "AAAA" + testKey.Public[4:], nil }

func TestMessageLogArchiveForgedBatchRejected(t *testing.T) {
	d := sqliteDB(t)
	appendMany(t, d, testKey, 10)
	var buf bytes.Buffer
	must(t, gateway.Export(context.Background(), d, &buf))
	rep, err := gateway.Verify(bytes.NewReader(buf.Bytes()), nil)
	must(t, err)
	if !rep.OK() || rep.Records != 10 {
		t.Fatalf("%+v", rep)
	}
	// Rewrite a record and its hash consistently: the chain and root expose it.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		if strings.Contains(l, `"seq":5,`) {
			lines[i] = strings.Replace(l, `"status":200`, `"status":500`, 1)
		}
	}
	rep, _ = gateway.Verify(strings.NewReader(strings.Join(lines, "\n")), nil)
	if rep.OK() {
		t.Fatal("tampered archive verified")
	}
}

func TestRedact(t *testing.T) {
	got := gateway.Redact([]byte(`{"a":{"so_dinh_danh":"001099001234","x":[{"Phone":"0912"}]},"n":12345678901234567890}`), []string{"so_dinh_danh", "phone"})
	if strings.Contains(got, "001099001234") || strings.Contains(got, "0912") || !strings.Contains(got, "12345678901234567890") {
		t.Fatal(got)
	}
	if got := gateway.Redact([]byte("so_dinh_danh=001099001234"), []string{"so_dinh_danh"}); strings.Contains(got, "0010") {
		t.Fatal("non-JSON body logged although fields are to be redacted:", got)
	}
}

func TestSigningKeyPEM(t *testing.T) {
	p, err := gateway.GenerateKeyPEM()
	must(t, err)
	k, err := gateway.ParseKeyPEM(p)
	must(t, err)
	if k.Algorithm != "Ed25519" || len(k.ID) != 16 {
		t.Fatalf("%+v", k)
	}
	if _, err := gateway.ParseKeyPEM([]byte("nope")); err == nil {
		t.Fatal("garbage accepted")
	}
}

// The writer keeps its node's chain head in memory and checks it with a
// guarded UPDATE: when another process writes under the same node name
// (a misconfiguration, or a restart while the old process drains), the
// next batch continues from the real head, and the chain stays verifiable.
func TestMessageLogContinuesWhenAnotherWriterMovedTheHead(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		start := func() (*gateway.MessageLog, func()) {
			ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: time.Hour})
			must(t, err)
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { ml.Run(rctx); close(done) }()
			return ml, func() { cancel(); <-done }
		}
		a, stopA := start()
		b, stopB := start()
		rec := func(i int) gateway.Record {
			now := time.Now()
			return gateway.Record{At: now, DoneAt: now, Client: client, Service: svcID, Method: "GET", Status: 200, RequestID: fmt.Sprint(i)}
		}
		// Alternate between the two writers, in batches of several
		// records (the multi-row INSERTs of several sizes).
		n := 0
		for round := 0; round < 6; round++ {
			ml := a
			if round%2 == 1 {
				ml = b
			}
			var wg sync.WaitGroup
			for i := 0; i < 1+round*7; i++ {
				n++
				wg.Add(1)
				go func(i int) { defer wg.Done(); must(t, ml.Append(ctx, rec(i))) }(n)
			}
			wg.Wait()
		}
		stopA()
		stopB()
		rep, err := gateway.VerifyDB(ctx, d, nil)
		must(t, err)
		if !rep.OK() || rep.Records != int64(n) || rep.Unsigned != 0 {
			t.Fatalf("want %d intact, signed records: %+v", n, rep)
		}
		if st := a.Stats(); st.Records == 0 || st.Commits == 0 || st.Commits > st.Records {
			t.Fatalf("stats: %+v", st)
		}
	})
}

// integration "Tamper-evident message log" (one record per exchange): a
// commit whose answer is lost (the connection cut at COMMIT) is retried
// without writing its records twice, with and without a journal.
func TestMessageLogLostCommitReplyWritesOnce(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, journal := range []string{"", t.TempDir()} {
			node := "n-nojournal"
			if journal != "" {
				node = "n-journal"
			}
			ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: node, Key: testKey, SignInterval: time.Hour, JournalDir: journal})
			must(t, err)
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { ml.Run(rctx); close(done) }()
			gateway.LoseCommitReplies(1)
			var wg sync.WaitGroup
			for i := 0; i < 5; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					now := time.Now()
					must(t, ml.Append(ctx, gateway.Record{At: now, DoneAt: now, Client: client, Service: svcID, Method: "GET", Status: 200, RequestID: fmt.Sprintf("%s-%d", node, i)}))
				}(i)
			}
			wg.Wait()
			cancel()
			<-done
			gateway.LoseCommitReplies(0)
			recs, err := gateway.Search(ctx, d, gateway.Filter{Limit: 1000})
			must(t, err)
			seen := map[string]int{}
			for _, r := range recs {
				if r.Node == node {
					seen[r.RequestID]++
				}
			}
			if len(seen) != 5 {
				t.Fatalf("%s: %d exchanges logged: %v", node, len(seen), seen)
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%s: exchange %s logged %d times", node, id, n)
				}
			}
		}
		rep, err := gateway.VerifyDB(ctx, d, nil)
		must(t, err)
		if !rep.OK() || rep.Records != 10 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

// integration "Tamper-evident message log": a signing key that could not
// be registered when the node started (the database down) is registered
// with the next batch, so the batches verify.
func TestMessageLogRegistersItsKeyLater(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		_, err := d.Write().ExecContext(ctx, `ALTER TABLE gateway_keys RENAME TO gateway_keys_away`)
		must(t, err)
		ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: 20 * time.Millisecond})
		must(t, err)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { ml.Run(rctx); close(done) }()
		time.Sleep(50 * time.Millisecond) // the start's registration has failed
		_, err = d.Write().ExecContext(ctx, `ALTER TABLE gateway_keys_away RENAME TO gateway_keys`)
		must(t, err)
		now := time.Now()
		must(t, ml.Append(ctx, gateway.Record{At: now, DoneAt: now, Client: client, Service: svcID, Method: "GET", Status: 200, RequestID: "k-1"}))
		cancel()
		<-done
		rep, err := gateway.VerifyDB(ctx, d, nil)
		must(t, err)
		if !rep.OK() || rep.Records != 1 || rep.Unsigned != 0 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

// SOAP bodies are redacted too: the named elements' text and attributes
// become "***", the rest of the message is kept as it was (a start tag
// with a secret attribute is written again from its parsed form, its
// other attributes in double quotes); a body cut at the log's limit inside
// a secret leaks none of it.
func TestRedactXML(t *testing.T) {
	env := `<?xml version="1.0"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:lltp="urn:lltp">
 <soapenv:Body><lltp:TraCuu>
  <lltp:So_Dinh_Danh>001099001234</lltp:So_Dinh_Danh>
  <lltp:NguoiYeuCau soDienThoai="0912345678" loai='ca nhan'><lltp:Ten>Nguyễn Văn An</lltp:Ten></lltp:NguoiYeuCau>
  <lltp:HoSo><lltp:so_dinh_danh><![CDATA[079200001111]]></lltp:so_dinh_danh><lltp:Ma>H57-0001</lltp:Ma></lltp:HoSo>
 </lltp:TraCuu></soapenv:Body>
</soapenv:Envelope>`
	got := gateway.Redact([]byte(env), []string{"so_dinh_danh", "sodienthoai"})
	for _, leak := range []string{"001099001234", "0912345678", "079200001111"} {
		if strings.Contains(got, leak) {
			t.Fatalf("%s left in the log: %s", leak, got)
		}
	}
	for _, kept := range []string{`<lltp:So_Dinh_Danh>***</lltp:So_Dinh_Danh>`, `<lltp:NguoiYeuCau soDienThoai="***" loai="ca nhan">`, "Nguyễn Văn An", "H57-0001", `xmlns:lltp="urn:lltp"`} {
		if !strings.Contains(got, kept) {
			t.Fatalf("%q missing from %s", kept, got)
		}
	}
	// Cut inside a secret (the log keeps the first 64 KiB of a body).
	cut := env[:strings.Index(env, "0010990")+5]
	if got := gateway.Redact([]byte(cut), []string{"so_dinh_danh"}); strings.Contains(got, "00109") || !strings.HasSuffix(got, "***") {
		t.Fatalf("cut body: %s", got)
	}
	// Not XML, not JSON, and something to redact: only the size.
	if got := gateway.Redact([]byte("<<<so_dinh_danh=1"), []string{"so_dinh_danh"}); got != "[17 bytes not logged]" {
		t.Fatalf("broken text: %s", got)
	}
}

// Redaction never panics on any body and returns valid UTF-8, and a
// secret element's text never survives when the body parses.
func FuzzRedactXML(f *testing.F) {
	f.Add(`<a><so_dinh_danh>123</so_dinh_danh></a>`, "4567")
	f.Add(`<?xml version="1.0"?><e:E xmlns:e="urn:x"><e:B x='1'>`, "0912")
	f.Add(`<a b="c"`, "99")
	f.Fuzz(func(t *testing.T, prefix, secret string) {
		body := prefix + "<so_dinh_danh>" + secret + "</so_dinh_danh>"
		got := gateway.Redact([]byte(body), []string{"so_dinh_danh"})
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", body)
		}
		if len(secret) >= 4 && !strings.ContainsAny(secret, "<>&\"'") && !strings.Contains(prefix, secret) &&
			!strings.Contains(prefix, "<!") && !strings.Contains(prefix, "<?") && strings.Contains(got, secret) &&
			!strings.Contains(got, "<so_dinh_danh>***") && strings.HasPrefix(got, prefix) {
			t.Fatalf("secret %q left in %q", secret, got)
		}
	})
}
