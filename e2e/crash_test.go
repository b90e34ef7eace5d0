package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// apiClient is an official signed in to the JSON API with the session cookie,
// sending back the CSRF token the API hands out.
type apiClient struct {
	base  string
	http  *http.Client
	mu    sync.Mutex
	token string
}

func newAPIClient(t *testing.T, base, user string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &apiClient{base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	if code, body := c.do("POST", "/api/v1/session", "application/json", strings.NewReader(`{"username":"`+user+`","password":"demo-congso-2026"}`), nil); code != 200 && code != 201 {
		t.Fatalf("sign in %s: %d %s", user, code, body)
	}
	if code, body := c.do("GET", "/api/v1/me", "", nil, nil); code != 200 {
		t.Fatalf("me: %d %s", code, body)
	}
	return c
}

func (c *apiClient) do(method, path, ctype string, body io.Reader, hdr map[string]string) (int, string) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, err.Error()
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c.mu.Lock()
	if c.token != "" {
		req.Header.Set("X-CSRF-Token", c.token)
	}
	c.mu.Unlock()
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if tok := resp.Header.Get("X-CSRF-Token"); tok != "" && resp.Request.URL.Path != "/api/v1/session" {
		c.mu.Lock()
		c.token = tok
		c.mu.Unlock()
	}
	return resp.StatusCode, string(b)
}

const tinyPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// TestCrashDuringReceptionLosesNothing receives dossiers over the API from
// several clients with idempotency keys, kills the server with SIGKILL in the
// middle, restarts it on the same data and reconciles: every acknowledged
// dossier is there, and retrying every request with its key yields exactly
// one dossier per key (issue 3: "a crash between any two steps loses nothing
// acknowledged"; one-stop.md §5: codes unique for life).
func TestCrashDuringReceptionLosesNothing(t *testing.T) {
	if os.Getenv("CONGSO_BROWSER_TESTS") == "" {
		t.Skip("CONGSO_BROWSER_TESTS not set (scripts/test sets it)")
	}
	dir := t.TempDir()
	s := startServer(t, "CONGSO_DATA="+dir)
	c := newAPIClient(t, s.URL, "motcua")

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "don.pdf")
	fw.Write([]byte(tinyPDF))
	mw.Close()
	code, body := c.do("POST", "/api/v1/dossiers/files", mw.FormDataContentType(), &buf, nil)
	if code != 200 && code != 201 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var f struct{ Name, Hash string }
	json.Unmarshal([]byte(body), &f)
	file := []map[string]string{{"name": f.Name, "hash": f.Hash}}
	request := func(i int) string {
		m := map[string]any{
			"procedure_code": "1.009972", "channel": 1,
			// The provincial public service center's desk receives it for the
			// construction department's licensing division (demo e-IDs).
			"receiving_agency": "000.00.13.H99", "receiving_unit": "000.01.13.H99", "division_unit": "000.02.07.H99",
			"applicant": map[string]any{"type": "citizen", "name": fmt.Sprintf("Người nộp %d", i), "personal_id": "001090012345", "phone": "0912345678", "address": "Huế"},
			"form_data": map[string]any{"chu_dau_tu": "Nguyễn Văn An", "dia_diem": "Thửa 12", "dien_tich": 85.5, "so_tang": 3},
			"components": []map[string]any{{"n": 1, "provided": "electronic", "files": file}, {"n": 2, "provided": "copy"},
				{"n": 3, "provided": "electronic", "files": file}, {"n": 4, "provided": "copy"}},
		}
		if i < 0 { // a completeness check takes no placement
			delete(m, "receiving_agency")
			delete(m, "receiving_unit")
			delete(m, "division_unit")
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	if code, body := c.do("POST", "/api/v1/dossiers/check", "application/json", strings.NewReader(request(-1)), nil); code != 200 || !strings.Contains(body, `"complete":true`) {
		t.Fatalf("the test's request is not complete: %d %s", code, body)
	}

	// Load from 4 clients; SIGKILL once some dossiers were acknowledged.
	const total = 200
	acked := map[string]string{} // idempotency key → dossier code
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				key := fmt.Sprintf("crash-test-%04d", i)
				code, body := c.do("POST", "/api/v1/dossiers", "application/json", strings.NewReader(request(i)), map[string]string{"Idempotency-Key": key})
				if code == 201 || code == 200 {
					var d struct{ Code string }
					json.Unmarshal([]byte(body), &d)
					mu.Lock()
					acked[key] = d.Code
					mu.Unlock()
				}
			}
		}()
	}
	killed := false
	for i := 0; i < total; i++ {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 30 && !killed {
			s.cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if !killed {
		t.Fatalf("the server was never killed (%d acknowledged)", len(acked))
	}
	s.cmd.Wait()
	t.Logf("acknowledged before and around the crash: %d of %d", len(acked), total)

	// Restart on the same data folder (a new port) and reconcile.
	s2 := restartServer(t, dir)
	c2 := newAPIClient(t, s2.URL, "motcua")
	for key, code := range acked {
		if st, body := c2.do("GET", "/api/v1/dossiers/"+code, "", nil, nil); st != 200 {
			t.Errorf("acknowledged dossier %s (%s) lost after the crash: %d %s", code, key, st, body)
		}
	}
	codes := map[string]string{}
	for i := 0; i < total; i++ {
		key := fmt.Sprintf("crash-test-%04d", i)
		st, body := c2.do("POST", "/api/v1/dossiers", "application/json", strings.NewReader(request(i)), map[string]string{"Idempotency-Key": key})
		if st != 201 && st != 200 {
			t.Fatalf("retry %s: %d %s", key, st, body)
		}
		var d struct{ Code string }
		json.Unmarshal([]byte(body), &d)
		if prev, ok := acked[key]; ok && prev != d.Code {
			t.Errorf("retry of acknowledged %s gave %s, first answer was %s", key, d.Code, prev)
		}
		if other, dup := codes[d.Code]; dup {
			t.Errorf("keys %s and %s share dossier %s", other, key, d.Code)
		}
		codes[d.Code] = key
	}
	// Exactly one dossier per key: the list holds `total` dossiers.
	st, body := c2.do("GET", "/api/v1/dossiers?limit=200", "", nil, nil)
	var page struct {
		Items []struct{ Code string }
		Next  string
	}
	json.Unmarshal([]byte(body), &page)
	n := len(page.Items)
	for page.Next != "" && st == 200 {
		st, body = c2.do("GET", "/api/v1/dossiers?limit=200&cursor="+page.Next, "", nil, nil)
		page.Next = ""
		json.Unmarshal([]byte(body), &page)
		n += len(page.Items)
	}
	if n != total {
		t.Fatalf("%d dossiers stored for %d idempotency keys", n, total)
	}
}

// restartServer starts the binary again on an existing data folder.
func restartServer(t *testing.T, dir string) *server {
	t.Helper()
	return startServer(t, "CONGSO_DATA="+dir)
}
