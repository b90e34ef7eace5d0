package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestChainOrder(t *testing.T) {
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := Chain(mw("a"), mw("b"), mw("c"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		order = append(order, "handler")
	}))
	serve(h, httptest.NewRequest("GET", "/", nil))
	if got := strings.Join(order, ","); got != "a,b,c,handler" {
		t.Errorf("order = %s", got)
	}
}

func TestAssignRequestID(t *testing.T) {
	var seen string
	h := AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestID(r.Context())
	}))
	tests := []struct {
		incoming string
		keep     bool
	}{
		{"3f2a9c1e-7b4d-4e8a-9c1f-2d3e4f5a6b7c", true},
		{"lb:1-abc.def_2", true},
		{"", false},
		{"evil\nlevel=ERROR", false},
		{"x y", false},
		{strings.Repeat("a", 129), false},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.incoming != "" {
			r.Header.Set(RequestIDHeader, tt.incoming)
		}
		rec := serve(h, r)
		out := rec.Header().Get(RequestIDHeader)
		if out == "" || out != seen {
			t.Errorf("incoming %q: header %q, context %q", tt.incoming, out, seen)
		}
		if tt.keep && out != tt.incoming {
			t.Errorf("sane incoming id %q replaced by %q", tt.incoming, out)
		}
		if !tt.keep {
			if out == tt.incoming || !saneRequestID(out) {
				t.Errorf("insane incoming id %q gave %q", tt.incoming, out)
			}
			if ids[out] {
				t.Errorf("generated id %q twice", out)
			}
			ids[out] = true
		}
	}
}

func TestAccessLog(t *testing.T) {
	logger, logs := newLogger()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dossiers/{code}", func(w http.ResponseWriter, r *http.Request) {
		Logger(r.Context()).Info("inside handler")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "hello")
	})
	h := Chain(AssignRequestID, AccessLog(logger), BodyLimit(1<<10))(mux)
	r := httptest.NewRequest("GET", "/dossiers/D-1?token=s3cret&lang=vi", nil)
	r.Header.Set(RequestIDHeader, "rid-1")
	serve(h, r)

	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("got %d log lines, want 2:\n%s", len(recs), logs)
	}
	if recs[0]["msg"] != "inside handler" || recs[0]["request_id"] != "rid-1" {
		t.Errorf("handler log = %v", recs[0])
	}
	a := recs[1]
	want := map[string]any{
		"msg": "http request", "request_id": "rid-1", "method": "GET", "path": "/dossiers/D-1",
		"route": "GET /dossiers/{code}", "status": 202.0, "bytes": 5.0,
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("access log %s = %v, want %v", k, a[k], v)
		}
	}
	if _, ok := a["duration_ms"].(float64); !ok {
		t.Errorf("access log has no duration_ms: %v", a)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("access log leaks the query string:\n%s", logs)
	}
}

func TestRecover(t *testing.T) {
	logger, logs := newLogger()
	h := Chain(AssignRequestID, AccessLog(logger), SecurityHeaders(false), Recover)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", "attachment; filename=secret.pdf")
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "half-made"})
		panic("nil map in dossier")
	}))
	r := httptest.NewRequest("GET", "/boom", nil)
	r.Header.Set(RequestIDHeader, "rid-p")
	rec := serve(h, r)
	p := problemOf(t, rec)
	if rec.Code != 500 || p.Code != "internal" || strings.Contains(rec.Body.String(), "nil map") {
		t.Errorf("status %d, body %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Disposition") != "" || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("headers set before the panic survived: %v", rec.Header())
	}
	if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get(RequestIDHeader) != "rid-p" {
		t.Errorf("headers from outer middleware lost: %v", rec.Header())
	}
	var logged bool
	for _, l := range logs.records(t) {
		if l["msg"] == "panic serving request" {
			logged = l["panic"] == "nil map in dossier" && l["request_id"] == "rid-p" &&
				strings.Contains(l["stack"].(string), "TestRecover")
		}
		if l["msg"] == "http request" && l["status"] != 500.0 {
			t.Errorf("access log status = %v", l["status"])
		}
	}
	if !logged {
		t.Errorf("panic not logged with request id and stack:\n%s", logs)
	}
}

func TestRecoverAfterResponseStartedAbortsConnection(t *testing.T) {
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"items":[`)
		panic("half way")
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	serve(h, httptest.NewRequest("GET", "/", nil))
	t.Error("Recover returned normally after a late panic")
}

func TestRecoverOverRealServer(t *testing.T) {
	srv := httptest.NewServer(Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(errors.New("boom"))
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, hsts := range []bool{false, true} {
		rec := serve(SecurityHeaders(hsts)(ok), httptest.NewRequest("GET", "/", nil))
		h := rec.Header()
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows inline script: %q", csp)
		}
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if !strings.Contains(h.Get("Permissions-Policy"), "camera=()") {
			t.Errorf("Permissions-Policy = %q", h.Get("Permissions-Policy"))
		}
		if got := h.Get("Strict-Transport-Security"); (got != "") != hsts {
			t.Errorf("hsts=%v: Strict-Transport-Security = %q", hsts, got)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	h := BodyLimit(16)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			Error(w, r, err)
			return
		}
		io.WriteString(w, "read")
	}))
	rec := serve(h, httptest.NewRequest("POST", "/", strings.NewReader("small")))
	if rec.Code != 200 || rec.Body.String() != "read" {
		t.Errorf("small body: %d %s", rec.Code, rec.Body)
	}

	// Declared too large: refused before the handler.
	rec = serve(h, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 17))))
	if p := problemOf(t, rec); p.Status != 413 || p.Detail != "Nội dung yêu cầu vượt quá giới hạn 16 B." {
		t.Errorf("declared large body: %+v", p)
	}

	// Length not declared (chunked): refused when the handler reads past it.
	r := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(strings.Repeat("x", 40))))
	r.ContentLength = -1
	rec = serve(h, r)
	if p := problemOf(t, rec); p.Status != 413 || p.Code != "body_too_large" {
		t.Errorf("undeclared large body: %+v", p)
	}
}

func TestKeepPatternThroughForeignMiddleware(t *testing.T) {
	type k struct{}
	foreign := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), k{}, 1)))
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	var seen string
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			seen = r.Pattern
		})
	}
	Chain(outer, foreign)(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/7", nil))
	if seen != "" {
		t.Fatalf("without KeepPattern the pattern should be lost, got %q", seen)
	}
	Chain(outer, KeepPattern(foreign), KeepPattern(foreign))(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/7", nil))
	if seen != "GET /things/{id}" {
		t.Fatalf("pattern = %q, want GET /things/{id}", seen)
	}
}
