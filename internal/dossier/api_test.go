package dossier_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/httpx"
)

// apiEnv serves the JSON API; requests name their user in X-Test-User.
type apiEnv struct {
	*env
	srv *httptest.Server
}

var users = map[string]*identity.Principal{}

func init() {
	for _, p := range []*identity.Principal{officer, head, handler, handler2, director, clerk, stranger} {
		users[p.PersonID] = p
	}
}

func newAPI(t *testing.T, d *db.DB) *apiEnv {
	t.Helper()
	e := newEnv(t, d)
	mux := http.NewServeMux()
	dossier.NewHandlers(e.s).Routes(mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := users[r.Header.Get("X-Test-User")]; p != nil {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(httpx.AssignRequestID(h))
	t.Cleanup(srv.Close)
	return &apiEnv{env: e, srv: srv}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r reply) problem(t *testing.T) httpx.Problem {
	t.Helper()
	var p httpx.Problem
	r.decode(t, &p)
	return p
}

func (a *apiEnv) do(t *testing.T, method, path, user string, body any, header ...string) reply {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ct = &b.buf, b.ct
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("X-Test-User", user)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

type multipartBody struct {
	buf bytes.Buffer
	ct  string
}

func multipartFile(t *testing.T, fields map[string]string, name string, data []byte) *multipartBody {
	t.Helper()
	var m multipartBody
	w := multipart.NewWriter(&m.buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	m.ct = w.FormDataContentType()
	return &m
}

// The JSON API over HTTP: completeness check, reception with an
// idempotency key, the errors of §13 (every field listed, wrong role with
// the reason, action not possible, stale version), uploads with the hash
// echoed, lists and the public lookup.
func TestAPI(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		a := newAPI(t, d)
		a.clock.Set(at(2026, 3, 2, 9, 0))

		// Check: every defect at once, in Vietnamese.
		incomplete := map[string]any{"procedure_code": permitCode, "channel": 1,
			"applicant":  map[string]any{"type": "citizen", "name": "Nguyễn Văn An", "personal_id": "001090012345", "phone": "0912345678"},
			"form_data":  map[string]any{"ho_ten": "Nguyễn Văn An"},
			"components": []map[string]any{{"n": 1, "provided": "copy"}}}
		r := a.do(t, "POST", "/api/v1/dossiers/check", "officer-1", incomplete)
		var rep dossier.CheckReport
		r.decode(t, &rep)
		if r.status != 200 || rep.Complete || len(rep.Defects) != 5 {
			t.Fatalf("check: %d %s; want 5 defects (2 form fields, wrong form, 2 missing documents)", r.status, r.body)
		}
		if r := a.do(t, "POST", "/api/v1/dossiers/check", "", incomplete); r.status != 401 {
			t.Fatalf("anonymous check: %d", r.status)
		}

		// Receiving it is refused with the same list (422).
		body := map[string]any{}
		for k, v := range incomplete {
			body[k] = v
		}
		body["receiving_agency"], body["receiving_unit"], body["division_unit"] = center, desk, division
		r = a.do(t, "POST", "/api/v1/dossiers", "officer-1", body)
		p := r.problem(t)
		// Empty required form fields count as incompleteness (like missing
		// documents), so a refusal or supplement request is still possible.
		if r.status != 422 || p.Code != "dossier.incomplete" || len(p.Errors) != 5 {
			t.Fatalf("receive incomplete (form and documents): %d %s; want all 5 defects", r.status, r.body)
		}
		body["form_data"] = map[string]any{"ho_ten": "Nguyễn Văn An", "so_dinh_danh": "001090012345", "dia_chi": "Huế"}
		r = a.do(t, "POST", "/api/v1/dossiers", "officer-1", body)
		p = r.problem(t)
		if r.status != 422 || p.Code != "dossier.incomplete" || len(p.Errors) != 3 {
			t.Fatalf("receive incomplete: %d %s", r.status, r.body)
		}
		// Invalid fields: all listed, each with a message.
		bad := map[string]any{"procedure_code": permitCode, "channel": 7, "applicant": map[string]any{"type": "x", "phone": "?"},
			"receiving_agency": "??", "receiving_unit": desk}
		r = a.do(t, "POST", "/api/v1/dossiers", "officer-1", bad)
		p = r.problem(t)
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
			if f.Message == "" {
				t.Errorf("field %s without message", f.Field)
			}
		}
		for _, want := range []string{"division_unit", "receiving_agency", "channel", "applicant.type", "applicant.name", "applicant.phone", "form_data/ho_ten"} {
			if !slices.Contains(fields, want) {
				t.Errorf("422 does not list %s: %v", want, fields)
			}
		}
		if r.status != 422 || p.Code != "dossier.invalid" || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("invalid receive: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		if r := a.do(t, "POST", "/api/v1/dossiers", "officer-1", map[string]any{"unknown": 1}); r.status != 400 {
			t.Fatalf("unknown field: %d", r.status)
		}

		// Upload, then receive with an idempotency key; the retry replays.
		pdf := smallPDF("ban ve")
		r = a.do(t, "POST", "/api/v1/dossiers/files", "officer-1", multipartFile(t, nil, "ban-ve.pdf", pdf))
		var up dossier.File
		r.decode(t, &up)
		sum := sha256.Sum256(pdf)
		if r.status != 201 || up.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("upload: %d %s; want the SHA-256 echoed", r.status, r.body)
		}
		good := map[string]any{"procedure_code": permitCode, "channel": 1, "receiving_agency": center, "receiving_unit": desk, "division_unit": division,
			"applicant": map[string]any{"type": "citizen", "name": "Nguyễn Văn An", "personal_id": "001090012345", "phone": "0912 345 678"},
			"form_data": map[string]any{"ho_ten": "Nguyễn Văn An", "so_dinh_danh": "001090012345", "dia_chi": "Huế"},
			"components": []map[string]any{{"n": 1, "provided": "original"}, {"n": 2, "provided": "copy"},
				{"n": 3, "provided": "electronic", "files": []map[string]any{{"name": "ban-ve.pdf", "hash": up.Hash}}}}}
		first := a.do(t, "POST", "/api/v1/dossiers", "officer-1", good, "Idempotency-Key", "k-1")
		var rc dossier.Receipt
		first.decode(t, &rc)
		if first.status != 201 || rc.Code != center+"-260302-0001" || first.header.Get("Location") != "/api/v1/dossiers/"+rc.Code {
			t.Fatalf("receive: %d %s", first.status, first.body)
		}
		again := a.do(t, "POST", "/api/v1/dossiers", "officer-1", good, "Idempotency-Key", "k-1")
		if again.status != 201 || again.header.Get(dossier.ReplayedHeader) != "true" || !bytes.Equal(again.body, first.body) {
			t.Fatalf("retry: %d %q %s", again.status, again.header.Get(dossier.ReplayedHeader), again.body)
		}
		good["channel"] = 3
		if r := a.do(t, "POST", "/api/v1/dossiers", "officer-1", good, "Idempotency-Key", "k-1"); r.status != 422 || r.problem(t).Code != "dossier.idempotency_key_reused" {
			t.Fatalf("reused key: %d %s", r.status, r.body)
		}
		if n := a.count(`SELECT COUNT(*) FROM dossiers`); n != 1 {
			t.Fatalf("%d dossiers after retries", n)
		}
		base := "/api/v1/dossiers/" + rc.Code

		// Wrong role: 403 with the reason in Vietnamese.
		r = a.do(t, "POST", base+"/actions", "officer-1", map[string]any{"action": "assign", "assignee": "handler-1"})
		p = r.problem(t)
		if r.status != 403 || p.Code != "workflow.forbidden.role" || !strings.Contains(p.Detail, "division_head") || !strings.Contains(p.Detail, division) {
			t.Fatalf("wrong role: %d %s", r.status, r.body)
		}
		// Not possible in this state: 409.
		r = a.do(t, "POST", base+"/actions", "officer-1", map[string]any{"action": "return"})
		if r.status != 409 || r.problem(t).Code != "workflow.invalid_action.not_available" {
			t.Fatalf("action not in state: %d %s", r.status, r.body)
		}
		// The right person, with the version seen; then the stale version: 409.
		r = a.do(t, "POST", base+"/actions", "head-1", map[string]any{"action": "assign", "assignee": "handler-1", "expected_version": rc.Version},
			"Idempotency-Key", "a-1")
		var res dossier.ActResult
		r.decode(t, &res)
		if r.status != 200 || res.State != "appraising" || res.Version != rc.Version+1 {
			t.Fatalf("assign: %d %s", r.status, r.body)
		}
		r = a.do(t, "POST", base+"/actions", "head-1", map[string]any{"action": "reassign", "assignee": "handler-2", "expected_version": rc.Version})
		if p := r.problem(t); r.status != 409 || p.Code != "workflow.conflict" || p.Detail == "" {
			t.Fatalf("stale version: %d %s", r.status, r.body)
		}
		if r := a.do(t, "POST", base+"/actions", "head-1", map[string]any{"action": "assign", "assignee": "handler-1", "expected_version": rc.Version},
			"Idempotency-Key", "a-1"); r.status != 200 || r.header.Get(dossier.ReplayedHeader) != "true" {
			t.Fatalf("retried action: %d %s", r.status, r.body)
		}
		// Extension without reason and date: 422 listing both.
		r = a.do(t, "POST", base+"/actions", "handler-1", map[string]any{"action": "extend"})
		if p := r.problem(t); r.status != 422 || len(p.Errors) != 2 {
			t.Fatalf("extension without reason: %d %s", r.status, r.body)
		}
		// Supplement request endpoint.
		r = a.do(t, "POST", base+"/supplement-request", "handler-1", map[string]any{"reason": "Bản vẽ thiếu mặt cắt",
			"defects": []map[string]any{{"field": "components.3", "message": "Thiếu bản vẽ mặt cắt"}}})
		r.decode(t, &res)
		if r.status != 200 || res.NationalStatus != 5 || res.Notice == nil || res.Notice.Form != "02" {
			t.Fatalf("supplement request: %d %s", r.status, r.body)
		}

		// Digitization upload: fake PDF refused (422 on "file"), a real one
		// stored with its hash.
		r = a.do(t, "POST", base+"/components/1/files", "officer-1", multipartFile(t, map[string]string{"digitized": "true"}, "don.pdf", []byte("%PDF-1.4 not really")))
		if p := r.problem(t); r.status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "file" {
			t.Fatalf("fake PDF: %d %s", r.status, r.body)
		}
		scan := smallPDF("don de nghi")
		r = a.do(t, "POST", base+"/components/1/files", "officer-1", multipartFile(t, map[string]string{"digitized": "true"}, "don.pdf", scan))
		var f dossier.File
		r.decode(t, &f)
		sum = sha256.Sum256(scan)
		if r.status != 201 || f.Hash != hex.EncodeToString(sum[:]) || !f.Digitized || f.MediaType != "application/pdf" {
			t.Fatalf("scan upload: %d %s", r.status, r.body)
		}
		r = a.do(t, "GET", base+"/files/"+f.Hash, "handler-1", nil)
		if r.status != 200 || !bytes.Equal(r.body, scan) || r.header.Get("Content-Type") != "application/pdf" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("download: %d %v", r.status, r.header)
		}
		r = a.do(t, "GET", base+"/components/1/files", "officer-1", nil)
		if r.status != 200 || !strings.Contains(string(r.body), f.Hash) {
			t.Fatalf("component files: %d %s", r.status, r.body)
		}

		// Reading: the dossier with timeline and the reader's actions.
		r = a.do(t, "GET", base, "officer-1", nil)
		var got dossier.Dossier
		r.decode(t, &got)
		if r.status != 200 || got.Code != rc.Code || len(got.Timeline) != 4 || len(got.Actions) == 0 || got.Actions[0].Key != "supplement_received" {
			t.Fatalf("get: %d timeline %d actions %+v", r.status, len(got.Timeline), got.Actions)
		}
		if r := a.do(t, "GET", base, "stranger-1", nil); r.status != 403 {
			t.Fatalf("stranger reads: %d", r.status)
		}
		if r := a.do(t, "GET", base, "", nil); r.status != 401 {
			t.Fatalf("anonymous reads: %d", r.status)
		}
		if r := a.do(t, "GET", "/api/v1/dossiers/"+center+"-260302-0404", "officer-1", nil); r.status != 404 {
			t.Fatalf("unknown dossier: %d", r.status)
		}
		r = a.do(t, "GET", "/api/v1/dossiers?q=nguyen+van+an&status=supplement", "officer-1", nil)
		var list struct {
			Items []dossier.Summary `json:"items"`
		}
		r.decode(t, &list)
		if r.status != 200 || len(list.Items) != 1 || list.Items[0].Code != rc.Code {
			t.Fatalf("search: %d %s", r.status, r.body)
		}
		r = a.do(t, "GET", "/api/v1/dossiers/inbox?kind=queue", "officer-1", nil)
		if r.status != 200 || !strings.Contains(string(r.body), rc.Code) {
			t.Fatalf("officer's queue: %d %s", r.status, r.body)
		}

		// Public lookup: right digits, wrong digits, unknown code.
		r = a.do(t, "GET", "/api/v1/lookup?code="+rc.Code+"&phone4=5678", "", nil)
		if r.status != 200 || strings.Contains(string(r.body), "Nguyễn") || strings.Contains(string(r.body), "0912") {
			t.Fatalf("lookup: %d %s", r.status, r.body)
		}
		wrong := a.do(t, "GET", "/api/v1/lookup?code="+rc.Code+"&phone4=0000", "", nil)
		unknown := a.do(t, "GET", "/api/v1/lookup?code="+center+"-260302-0777&phone4=5678", "", nil)
		pw, pu := wrong.problem(t), unknown.problem(t)
		if wrong.status != 404 || unknown.status != 404 || pw.Detail != pu.Detail || pw.Code != pu.Code || pw.Title != pu.Title {
			t.Fatalf("wrong factor %d %s vs unknown code %d %s; want the same answer", wrong.status, wrong.body, unknown.status, unknown.body)
		}
		if r := a.do(t, "GET", "/api/v1/lookup?code="+rc.Code+"&phone4=56", "", nil); r.status != 422 {
			t.Fatalf("short factor: %d", r.status)
		}

		// Refusal of a new submission.
		refusal := map[string]any{"procedure_code": permitCode, "channel": 1, "receiving_agency": center, "receiving_unit": desk,
			"applicant": map[string]any{"type": "citizen", "name": "Trần B", "personal_id": "001090012346", "phone": "0987654321"},
			"form_data": map[string]any{"ho_ten": "Trần B", "so_dinh_danh": "001090012346", "dia_chi": "Huế"},
			"reason":    "Không thuộc thẩm quyền"}
		r = a.do(t, "POST", "/api/v1/dossiers/refusals", "officer-1", refusal)
		r.decode(t, &res)
		if r.status != 201 || res.NationalStatus != 3 || !res.Ended {
			t.Fatalf("refusal: %d %s", r.status, r.body)
		}
	})
}

// English clients get English messages.
func TestAPIEnglish(t *testing.T) {
	a := newAPI(t, dbtest.SQLite(t, migrations()))
	r := a.do(t, "GET", "/api/v1/lookup?code=X&phone4=1234", "", nil, "Accept-Language", "en")
	if p := r.problem(t); r.status != 404 || !strings.Contains(p.Detail, "No dossier matches") {
		t.Fatalf("english lookup: %d %s", r.status, r.body)
	}
}
