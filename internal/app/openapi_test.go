package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/pquerna/otp/totp"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
)

// apiRoutes are the routes of the JSON API and the operational endpoints, as
// the Routes functions register them (file, then the patterns in the order
// they appear there). Add a route here when you add it to a Routes function:
// TestOpenAPIDocumentsEveryRoute then fails until openapi.json documents it,
// and it also fails when a listed file registers a route this table lacks.
var apiRoutes = []struct {
	file     string // relative to the repository root
	patterns []string
}{
	{"internal/app/app.go", []string{ // App.BuildHTTP
		"GET /healthz",
		"GET /readyz",
		"GET /metrics",
		"GET /api/openapi.json",
	}},
	{"internal/identity/http.go", []string{ // Handlers.Routes
		"POST /api/v1/session",
		"DELETE /api/v1/session",
		"POST /api/v1/session/mfa",
		"DELETE /api/v1/people/{id}/mfa",
		"GET /api/v1/me",
		"POST /api/v1/me/password",
		"GET /api/v1/me/sessions",
		"DELETE /api/v1/me/sessions/{sessionID}",
		"GET /api/v1/people",
		"POST /api/v1/people",
		"GET /api/v1/people/{id}",
		"POST /api/v1/people/{id}/status",
		"POST /api/v1/people/{id}/password",
		"DELETE /api/v1/people/{id}/sessions",
		"POST /api/v1/people/{id}/positions",
		"DELETE /api/v1/people/{id}/positions/{positionID}",
		"POST /api/v1/people/{id}/grants",
		"DELETE /api/v1/people/{id}/grants/{grantID}",
	}},
	{"internal/catalog/api.go", []string{ // Handlers.Routes
		"GET /api/v1/procedures",
		"POST /api/v1/procedures",
		"GET /api/v1/procedures/{code}",
		"PUT /api/v1/procedures/{code}",
		"GET /api/v1/procedures/{code}/versions",
		"POST /api/v1/procedures/{code}/versions/{version}/publish",
		"POST /api/v1/procedures/{code}/retire",
		"GET /api/v1/admin-units",
		"GET /api/v1/admin-units/{code}",
		"PUT /api/v1/admin-units/{code}",
		"GET /api/v1/agencies",
		"GET /api/v1/agencies/{eid}",
		"PUT /api/v1/agencies/{eid}",
		"GET /api/v1/fields",
		"PUT /api/v1/fields/{code}",
		"POST /api/v1/catalog/import",
		"GET /api/v1/catalog/export",
	}},
	{"internal/platform/calendar/calendardb/api.go", []string{ // Handlers.Routes
		"GET /api/v1/calendar/holidays",
		"GET /api/v1/calendar/working-days",
		"GET /api/v1/calendar/announcements",
		"GET /api/v1/calendar/announcements/{year}",
		"PUT /api/v1/calendar/announcements/{year}",
		"DELETE /api/v1/calendar/announcements/{year}",
	}},
}

// ---- the document ---------------------------------------------------------------

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// apiDoc is the parsed OpenAPI document.
type apiDoc struct {
	raw  []byte
	root map[string]any
}

// operation is one path and method of the document.
type operation struct {
	method string // upper case
	path   string // template, "/api/v1/people/{id}"
	op     map[string]any
	params []map[string]any // path-level and operation-level, $refs resolved
	re     *regexp.Regexp   // matches concrete paths
}

func (o operation) pattern() string { return o.method + " " + o.path }

func (o operation) id() string { s, _ := o.op["operationId"].(string); return s }

// servedDoc fetches the document the app serves.
func servedDoc(t *testing.T, srvURL string) *apiDoc {
	t.Helper()
	resp, err := http.Get(srvURL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	d := &apiDoc{raw: raw}
	if err := json.Unmarshal(raw, &d.root); err != nil {
		t.Fatalf("the OpenAPI document is not a JSON object: %v", err)
	}
	return d
}

// pointer resolves a JSON pointer ("/components/schemas/Problem") in the document.
func (d *apiDoc) pointer(ptr string) (any, bool) {
	var cur any = d.root
	if ptr == "" {
		return cur, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// deref follows $ref until it reaches an object without one.
func (d *apiDoc) deref(v map[string]any) map[string]any {
	for i := 0; i < 32; i++ {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		target, ok := d.pointer(strings.TrimPrefix(ref, "#"))
		m, isMap := target.(map[string]any)
		if !ok || !isMap {
			return nil
		}
		v = m
	}
	return nil
}

// operations lists every operation of the app's own document (openapi.json),
// sorted by path then method. Paths merged in from a module's fragment (the
// dossier module's) are checked by that module's own tests.
func (d *apiDoc) operations(t *testing.T) []operation {
	t.Helper()
	paths, _ := d.root["paths"].(map[string]any)
	var base struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &base); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, item := range paths {
		if _, own := base.Paths[path]; !own {
			continue
		}
		pi, _ := item.(map[string]any)
		var shared []any
		if p, ok := pi["parameters"].([]any); ok {
			shared = p
		}
		for _, m := range methods {
			op, ok := pi[m].(map[string]any)
			if !ok {
				continue
			}
			o := operation{method: strings.ToUpper(m), path: path, op: op}
			own, _ := op["parameters"].([]any)
			for _, p := range append(slices.Clone(shared), own...) {
				pm, _ := p.(map[string]any)
				if r := d.deref(pm); r != nil {
					o.params = append(o.params, r)
				} else {
					t.Errorf("%s: parameter %v does not resolve", o.pattern(), p)
				}
			}
			expr := regexp.QuoteMeta(path)
			expr = regexp.MustCompile(`\\\{[A-Za-z0-9_]+\\\}`).ReplaceAllString(expr, `[^/]+`)
			o.re = regexp.MustCompile("^" + expr + "$")
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	return ops
}

// response returns the documented response of op for status (an exact code,
// else a range such as "5XX", else "default"), $ref resolved.
func (d *apiDoc) response(op operation, status int) (map[string]any, bool) {
	rs, _ := op.op["responses"].(map[string]any)
	for _, key := range []string{strconv.Itoa(status), fmt.Sprintf("%dXX", status/100), "default"} {
		if r, ok := rs[key].(map[string]any); ok {
			return d.deref(r), true
		}
	}
	return nil, false
}

// walk calls fn with the location and value of every object in v.
func walk(v any, at string, fn func(at string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(at, x)
		for k, e := range x {
			walk(e, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, e := range x {
			walk(e, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// ---- tests of the document alone -----------------------------------------------

// TestOpenAPIDocumentIsWellFormed checks the served document: OpenAPI 3.1,
// references that resolve, and the conventions every operation follows.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	a, srv := testApp(t, db.SQLite)
	d := servedDoc(t, srv.URL)
	want, err := openAPIDocument(a.fragments())
	if err != nil || !bytes.Equal(d.raw, want) {
		t.Errorf("the served document differs from openapi.json merged with the module fragments (%v)", err)
	}
	if v, _ := d.root["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := d.root["info"].(map[string]any)
	desc, _ := info["description"].(string)
	if info["title"] == nil || info["version"] == nil {
		t.Error("info lacks title or version")
	}
	// The conventions a client needs are spelled out.
	for _, want := range []string{"Accept-Language", "`lang` cookie", "problem+json", `"items"`, `"next"`, `"total"`,
		"congso_session", "__Host-congso_session", "POST /api/v1/session", "X-CSRF-Token", "csrf_failed"} {
		if !strings.Contains(desc, want) {
			t.Errorf("info.description does not mention %s", want)
		}
	}
	if strings.Contains(strings.ToLower(string(d.raw)), "bearer") {
		t.Error("the document mentions bearer tokens, which the API does not offer")
	}

	// Every $ref resolves inside the document.
	refs := 0
	walk(d.root, "", func(at string, m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		refs++
		if !strings.HasPrefix(ref, "#") {
			t.Errorf("%s: $ref %q points outside the document", at, ref)
		} else if _, ok := d.pointer(strings.TrimPrefix(ref, "#")); !ok {
			t.Errorf("%s: $ref %q does not resolve", at, ref)
		}
	})
	if refs == 0 {
		t.Error("no $ref at all: the document cannot be complete")
	}

	// Every component schema compiles as JSON Schema 2020-12.
	v := newSchemaValidator(t, d)
	components, _ := d.root["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if len(schemas) == 0 {
		t.Fatal("no component schemas")
	}
	for name := range schemas {
		v.compile(t, "#/components/schemas/"+name)
	}

	ops := d.operations(t)
	if len(ops) == 0 {
		t.Fatal("no operations documented")
	}
	ids := map[string]string{}
	paramName := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range ops {
		id := o.id()
		if id == "" {
			t.Errorf("%s: no operationId", o.pattern())
		} else if other, dup := ids[id]; dup {
			t.Errorf("operationId %s used by %s and %s", id, other, o.pattern())
		}
		ids[id] = o.pattern()
		for _, k := range []string{"summary", "description"} {
			if s, _ := o.op[k].(string); strings.TrimSpace(s) == "" {
				t.Errorf("%s: no %s", o.pattern(), k)
			}
		}
		// Path parameters: declared, required, with an example (the routing
		// test uses it), and nothing declared that the path lacks.
		inPath := map[string]bool{}
		for _, m := range paramName.FindAllStringSubmatch(o.path, -1) {
			inPath[m[1]] = true
		}
		for _, p := range o.params {
			name, _ := p["name"].(string)
			if p["in"] != "path" {
				continue
			}
			if !inPath[name] {
				t.Errorf("%s: path parameter %s is not in the path", o.pattern(), name)
			}
			if p["required"] != true || p["example"] == nil {
				t.Errorf("%s: path parameter %s must be required and have an example", o.pattern(), name)
			}
			delete(inPath, name)
		}
		for name := range inPath {
			t.Errorf("%s: path parameter {%s} is not declared", o.pattern(), name)
		}
		// JSON request bodies refuse unknown members, as httpx.DecodeJSON does.
		if rb, ok := o.op["requestBody"].(map[string]any); ok {
			content, _ := rb["content"].(map[string]any)
			if j, ok := content["application/json"].(map[string]any); ok && o.id() != "importCatalog" {
				s := d.deref(j["schema"].(map[string]any))
				if s["additionalProperties"] != false {
					t.Errorf("%s: the JSON body schema must have additionalProperties: false", o.pattern())
				}
			}
		}
		// Responses: at least one success; every error is a problem.
		rs, _ := o.op["responses"].(map[string]any)
		success := false
		for code, r := range rs {
			if code[0] == '2' {
				success = true
				continue
			}
			if code[0] != '4' && code[0] != '5' {
				t.Errorf("%s: unexpected response key %s", o.pattern(), code)
				continue
			}
			resp := d.deref(r.(map[string]any))
			content, _ := resp["content"].(map[string]any)
			if o.pattern() == "GET /readyz" && code == "503" {
				continue // documented as plain JSON: the endpoint for load balancers
			}
			pj, ok := content["application/problem+json"].(map[string]any)
			if !ok || len(content) != 1 {
				t.Errorf("%s %s: an error response must be application/problem+json only", o.pattern(), code)
				continue
			}
			if !d.isProblem(pj["schema"]) {
				t.Errorf("%s %s: the error schema must be the Problem schema or extend it", o.pattern(), code)
			}
		}
		if !success {
			t.Errorf("%s: no 2xx response", o.pattern())
		}
	}
}

// isProblem reports whether schema is #/components/schemas/Problem or an
// allOf that includes it.
func (d *apiDoc) isProblem(schema any) bool {
	m, _ := schema.(map[string]any)
	if m == nil {
		return false
	}
	if m["$ref"] == "#/components/schemas/Problem" {
		return true
	}
	if ref, ok := m["$ref"].(string); ok {
		target, _ := d.pointer(strings.TrimPrefix(ref, "#"))
		return d.isProblem(target)
	}
	all, _ := m["allOf"].([]any)
	for _, s := range all {
		if d.isProblem(s) {
			return true
		}
	}
	return false
}

// TestOpenAPIDocumentsEveryRoute checks that every route of the table is
// documented with the same path and method, and that the table is complete
// for the files it cites.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	d := &apiDoc{raw: openapiJSON}
	if err := json.Unmarshal(openapiJSON, &d.root); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, o := range d.operations(t) {
		documented[o.pattern()] = true
	}
	listed := map[string]bool{}
	registered := regexp.MustCompile(`\.Handle(?:Func)?\("([A-Z]+ /[^"]*)"`)
	for _, f := range apiRoutes {
		for _, p := range f.patterns {
			listed[p] = true
			if !documented[p] {
				t.Errorf("%s (%s) is not in openapi.json", p, f.file)
			}
		}
		src, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(f.file)))
		if err != nil {
			t.Errorf("read %s: %v", f.file, err)
			continue
		}
		var inFile []string
		for _, m := range registered.FindAllStringSubmatch(string(src), -1) {
			inFile = append(inFile, m[1])
		}
		if !slices.Equal(inFile, f.patterns) {
			t.Errorf("%s registers\n\t%s\nbut the table lists\n\t%s\nupdate apiRoutes (and openapi.json)",
				f.file, strings.Join(inFile, "\n\t"), strings.Join(f.patterns, "\n\t"))
		}
	}
	for p := range documented {
		if !listed[p] {
			t.Errorf("openapi.json documents %s, which apiRoutes does not list", p)
		}
	}
}

// ---- calling the app ------------------------------------------------------------

// routedServer serves the app and tells, for each request, which ServeMux
// pattern handled it ("" when middleware answered before the mux).
type routedServer struct {
	*httptest.Server
	mu      sync.Mutex
	pending map[string]chan string
	seq     atomic.Int64
}

func newRoutedServer(t *testing.T, a *App) *routedServer {
	rs := &routedServer{pending: map[string]chan string{}}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Handler.ServeHTTP(w, r)
		// Every middleware copies the matched pattern back to the request it
		// was given (see httpx.KeepPattern), so it is known here.
		rs.mu.Lock()
		ch := rs.pending[r.Header.Get("X-Request-Id")]
		rs.mu.Unlock()
		if ch != nil {
			ch <- r.Pattern
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

// apiClient calls the app like a program would: a cookie jar, and the CSRF
// token of the latest API response sent back on unsafe requests.
type apiClient struct {
	t     *testing.T
	srv   *routedServer
	http  *http.Client
	token string
	// lang, when set, is sent as Accept-Language.
	lang string
}

func (rs *routedServer) client(t *testing.T, cookies bool) *apiClient {
	c := &apiClient{t: t, srv: rs, http: &http.Client{}}
	if cookies {
		c.http.Jar, _ = cookiejar.New(nil)
	}
	return c
}

// result is an answer of the app.
type result struct {
	status  int
	header  http.Header
	body    []byte
	pattern string // the ServeMux pattern that handled the request
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// code is the problem code of an error answer.
func (r result) code() string {
	var p struct{ Code string }
	json.Unmarshal(r.body, &p)
	return p.Code
}

// do sends a request: body, unless "", as JSON (a Content-Type among the
// extra headers, given as name and value pairs, overrides it).
func (c *apiClient) do(method, path, body string, hdr ...string) result {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" && method != "GET" {
		req.Header.Set("X-CSRF-Token", c.token)
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	id := fmt.Sprintf("openapi-test-%d", c.srv.seq.Add(1))
	req.Header.Set("X-Request-Id", id)
	ch := make(chan string, 1)
	c.srv.mu.Lock()
	c.srv.pending[id] = ch
	c.srv.mu.Unlock()
	defer func() {
		c.srv.mu.Lock()
		delete(c.srv.pending, id)
		c.srv.mu.Unlock()
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	res := result{status: resp.StatusCode, header: resp.Header, body: b}
	select {
	case res.pattern = <-ch:
	case <-time.After(10 * time.Second): // a safety net, not a wait: the handler has answered
		c.t.Fatalf("%s %s: the handler did not return", method, path)
	}
	if tok := resp.Header.Get("X-CSRF-Token"); tok != "" {
		c.token = tok
	}
	return res
}

// ---- validating answers against the document ----------------------------------

// schemaValidator compiles schemas of the document with JSON Schema 2020-12,
// the dialect of OpenAPI 3.1, asserting formats.
type schemaValidator struct {
	d     *apiDoc
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
}

const docURL = "urn:congso:openapi.json"

func newSchemaValidator(t *testing.T, d *apiDoc) *schemaValidator {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(d.raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	return &schemaValidator{d: d, c: c, cache: map[string]*jsonschema.Schema{}}
}

// compile compiles the schema at loc, "#/json/pointer" in the document.
func (v *schemaValidator) compile(t *testing.T, loc string) *jsonschema.Schema {
	t.Helper()
	if s, ok := v.cache[loc]; ok {
		return s
	}
	s, err := v.c.Compile(docURL + loc)
	if err != nil {
		t.Fatalf("compile %s: %v", loc, err)
	}
	v.cache[loc] = s
	return s
}

// undocumented lists the members of value, at any depth, that schema does
// not describe: the schemas leave objects open for clients, but an answer
// with a member the document lacks means the document is incomplete.
func (d *apiDoc) undocumented(schema map[string]any, value any, at string) []string {
	props, open := d.properties(schema, 0)
	var out []string
	switch x := value.(type) {
	case map[string]any:
		if open {
			return nil
		}
		for k, e := range x {
			s, ok := props[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, d.undocumented(s, e, at+"."+k)...)
		}
	case []any:
		items := d.items(schema, 0)
		if items == nil {
			return nil
		}
		for i, e := range x {
			out = append(out, d.undocumented(items, e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

// properties gathers the members a schema describes, through $ref, allOf,
// anyOf and oneOf; open is true when it describes none (a free-form object)
// or allows others.
func (d *apiDoc) properties(s map[string]any, depth int) (map[string]map[string]any, bool) {
	props := map[string]map[string]any{}
	if s == nil || depth > 16 {
		return props, true
	}
	described, open := false, false
	if ref, ok := s["$ref"].(string); ok {
		target, _ := d.pointer(strings.TrimPrefix(ref, "#"))
		m, _ := target.(map[string]any)
		p, o := d.properties(m, depth+1)
		for k, v := range p {
			props[k] = v
		}
		described, open = described || len(p) > 0, open || (o && len(p) > 0)
	}
	if p, ok := s["properties"].(map[string]any); ok {
		described = true
		for k, v := range p {
			props[k], _ = v.(map[string]any)
		}
	}
	if ap, ok := s["additionalProperties"]; ok && ap != false {
		open = true
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := s[key].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			p, o := d.properties(m, depth+1)
			for k, v := range p {
				if _, dup := props[k]; !dup {
					props[k] = v
				}
			}
			described, open = described || len(p) > 0, open || (o && len(p) > 0)
		}
	}
	return props, open || !described
}

// items finds the schema of the items of an array schema.
func (d *apiDoc) items(s map[string]any, depth int) map[string]any {
	if s == nil || depth > 16 {
		return nil
	}
	if it, ok := s["items"].(map[string]any); ok {
		return it
	}
	if ref, ok := s["$ref"].(string); ok {
		target, _ := d.pointer(strings.TrimPrefix(ref, "#"))
		m, _ := target.(map[string]any)
		return d.items(m, depth+1)
	}
	return nil
}

// checker validates the app's answers against the document and remembers
// which operations answered with success.
type checker struct {
	t    *testing.T
	d    *apiDoc
	v    *schemaValidator
	ops  []operation
	seen map[string]map[int]bool // pattern → statuses answered
}

func newChecker(t *testing.T, d *apiDoc) *checker {
	return &checker{t: t, d: d, v: newSchemaValidator(t, d), ops: d.operations(t), seen: map[string]map[int]bool{}}
}

// find returns the documented operation for a concrete method and path.
func (ck *checker) find(method, path string) (operation, bool) {
	// A literal segment wins over a parameter: compare the fewest parameters first.
	var best *operation
	for i, o := range ck.ops {
		if o.method == method && o.re.MatchString(path) {
			if best == nil || strings.Count(o.path, "{") < strings.Count(best.path, "{") {
				best = &ck.ops[i]
			}
		}
	}
	if best == nil {
		return operation{}, false
	}
	return *best, true
}

// check validates one answer: the route that handled it is the documented
// operation, its status is documented, and its body fits the documented
// schema with no undocumented member.
func (ck *checker) check(method, rawPath string, r result) {
	ck.t.Helper()
	path, _, _ := strings.Cut(rawPath, "?")
	o, ok := ck.find(method, path)
	if !ok {
		ck.t.Errorf("%s %s is not documented", method, path)
		return
	}
	where := fmt.Sprintf("%s %s → %d", method, rawPath, r.status)
	if r.pattern != "" && r.pattern != o.pattern() {
		ck.t.Errorf("%s: handled by route %q, documented as %q", where, r.pattern, o.pattern())
	}
	if ck.seen[o.pattern()] == nil {
		ck.seen[o.pattern()] = map[int]bool{}
	}
	ck.seen[o.pattern()][r.status] = true
	resp, ok := ck.d.response(o, r.status)
	if !ok {
		ck.t.Errorf("%s: status not documented\n%s", where, r.body)
		return
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(r.body)) != 0 {
			ck.t.Errorf("%s: documented without a body, answered %s", where, r.body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		ck.t.Errorf("%s: Content-Type %q not documented", where, r.header.Get("Content-Type"))
		return
	}
	if mt != "application/json" && mt != "application/problem+json" {
		return // text: nothing to validate
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		ck.t.Errorf("%s: body is not JSON: %v\n%s", where, err, r.body)
		return
	}
	loc := ck.location(o, r.status, mt)
	if err := ck.v.compile(ck.t, loc).Validate(inst); err != nil {
		ck.t.Errorf("%s: the body does not fit the documented schema:\n%v\n%s", where, err, clip(r.body))
	}
	var plain any
	json.Unmarshal(r.body, &plain)
	schema, _ := media["schema"].(map[string]any)
	if extra := ck.d.undocumented(schema, plain, "body"); len(extra) > 0 {
		sort.Strings(extra)
		ck.t.Errorf("%s: undocumented members %v", where, extra)
	}
}

// location is the JSON pointer, as a fragment, of the schema of a response.
func (ck *checker) location(o operation, status int, mediaType string) string {
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	rs, _ := o.op["responses"].(map[string]any)
	key := strconv.Itoa(status)
	if _, ok := rs[key]; !ok {
		key = fmt.Sprintf("%dXX", status/100)
	}
	base := "#/paths/" + esc.Replace(o.path) + "/" + strings.ToLower(o.method) + "/responses/" + key
	if r, ok := rs[key].(map[string]any); ok {
		if ref, ok := r["$ref"].(string); ok {
			base = ref
		}
	}
	return base + "/content/" + esc.Replace(mediaType) + "/schema"
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// fill puts each path parameter's example into the path template.
func fill(o operation) string {
	path := o.path
	for _, p := range o.params {
		if p["in"] == "path" {
			path = strings.ReplaceAll(path, "{"+p["name"].(string)+"}", url.PathEscape(fmt.Sprint(p["example"])))
		}
	}
	return path
}

// ---- routing --------------------------------------------------------------------

// TestOpenAPIEveryOperationIsRouted calls every documented operation as an
// anonymous client (path parameters from their examples, {} as the body) and
// checks that the app routes it to the matching ServeMux pattern, not to the
// catch-all that answers unknown API paths with 404 not_found, and that the
// answer is one the document describes.
func TestOpenAPIEveryOperationIsRouted(t *testing.T) {
	a, _ := testApp(t, db.SQLite)
	srv := newRoutedServer(t, a)
	d := servedDoc(t, srv.URL)
	ck := newChecker(t, d)
	c := srv.client(t, false)

	// What the catch-all answers, for an unknown path and for a method a
	// known path lacks.
	for _, probe := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/no-such-route", 404, "not_found"},
		{"PATCH", "/api/v1/people", 405, "method_not_allowed"},
		{"DELETE", "/api/v1/fields", 405, "method_not_allowed"},
	} {
		r := c.do(probe.method, probe.path, "")
		if r.status != probe.status || r.code() != probe.code || r.pattern != "/" || r.json(t)["instance"] != probe.path {
			t.Errorf("%s %s: %d %q via %q, want the catch-all's %d %s", probe.method, probe.path, r.status, r.code(), r.pattern, probe.status, probe.code)
		}
	}

	for _, o := range ck.ops {
		path := fill(o)
		body := ""
		if _, ok := o.op["requestBody"]; ok {
			body = "{}"
		}
		r := c.do(o.method, path, body)
		if r.pattern != o.pattern() {
			t.Errorf("%s %s was handled by %q, not by the route %q (%d %s)", o.method, path, r.pattern, o.pattern(), r.status, clip(r.body))
			continue
		}
		if r.status == http.StatusMethodNotAllowed || (r.status == 404 && r.code() == "not_found") {
			t.Errorf("%s %s: %d %s, the catch-all's answer", o.method, path, r.status, r.code())
		}
		ck.check(o.method, path, r)
	}
}

// ---- answers with data ----------------------------------------------------------

// TestOpenAPIResponsesMatchTheDocument drives every operation through a
// realistic session (an administrator building a small catalog, managing an
// account, editing the calendar) and validates every answer against the
// document: status, content type, schema (formats asserted) and members.
func TestOpenAPIResponsesMatchTheDocument(t *testing.T) {
	a, _ := testApp(t, db.SQLite)
	srv := newRoutedServer(t, a)
	d := servedDoc(t, srv.URL)
	ck := newChecker(t, d)
	ctx := context.Background()

	const adminPassword = "mot-mat-khau-dai-2026"
	admin, err := a.Identity.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "quantri",
		FullName: "Quản Trị Viên", Email: "quantri@example.gov.vn", Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.Grant(ctx, nil, admin.ID, identity.RoleSysadmin, identity.ProvinceWide); err != nil {
		t.Fatal(err)
	}

	// call sends a request, validates the answer and checks its status.
	call := func(c *apiClient, want int, method, path, body string, hdr ...string) result {
		t.Helper()
		r := c.do(method, path, body, hdr...)
		ck.check(method, path, r)
		if r.status != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.status, want, clip(r.body))
		}
		return r
	}
	str := func(r result, key string) string {
		t.Helper()
		s, _ := r.json(t)[key].(string)
		return s
	}
	anon := srv.client(t, false)
	c := srv.client(t, true)

	// Operations.
	call(anon, 200, "GET", "/healthz", "")
	call(anon, 200, "GET", "/readyz", "")
	call(anon, 200, "GET", "/metrics", "")
	call(anon, 200, "GET", "/api/openapi.json", "")

	// Signing in. English on request.
	anon.lang = "en"
	if r := call(anon, 401, "GET", "/api/v1/me", ""); r.header.Get("Content-Language") != "en" || r.code() != "unauthorized" {
		t.Errorf("English problem: %s %s", r.header.Get("Content-Language"), r.body)
	}
	anon.lang = ""
	call(anon, 422, "POST", "/api/v1/session", `{"username": "", "password": ""}`)
	call(anon, 400, "POST", "/api/v1/session", `{"username": "quantri", "password": "x", "remember": true}`)
	call(anon, 415, "POST", "/api/v1/session", `{"username": "quantri", "password": "x"}`, "Content-Type", "text/plain")
	call(c, 401, "POST", "/api/v1/session", `{"username": "QuanTri", "password": "sai-mat-khau-roi"}`)
	login := call(c, 201, "POST", "/api/v1/session", `{"username": "QuanTri", "password": "`+adminPassword+`"}`)
	if !strings.Contains(login.header.Get("Set-Cookie"), identity.CookieName+"=") {
		t.Errorf("sign-in sets no session cookie: %q", login.header.Values("Set-Cookie"))
	}
	// The token that came with the sign-in belongs to the session before it.
	stale := c.token
	r := call(c, 403, "POST", "/api/v1/me/password", `{"old_password": "x", "new_password": "y"}`, "X-CSRF-Token", stale)
	if r.code() != "csrf_failed" {
		t.Errorf("the token of the sign-in answer: %d %s", r.status, r.body)
	}
	me := call(c, 200, "GET", "/api/v1/me", "")
	if me.header.Get("X-CSRF-Token") == "" || me.header.Get("X-CSRF-Token") == stale {
		t.Error("GET /api/v1/me carries no fresh CSRF token")
	}
	call(c, 422, "POST", "/api/v1/me/password", `{"old_password": "sai-mat-khau", "new_password": "mot-mat-khau-khac-2026"}`)

	// Own sessions: a second device, then ended from the first.
	c2 := srv.client(t, true)
	call(c2, 201, "POST", "/api/v1/session", `{"username": "quantri", "password": "`+adminPassword+`"}`)
	var sessions struct {
		Items []struct {
			ID      string
			Current bool
		}
	}
	json.Unmarshal(call(c, 200, "GET", "/api/v1/me/sessions", "").body, &sessions)
	other := ""
	for _, s := range sessions.Items {
		if !s.Current {
			other = s.ID
		}
	}
	if len(sessions.Items) != 2 || other == "" {
		t.Fatalf("sessions: %+v", sessions)
	}
	call(c, 204, "DELETE", "/api/v1/me/sessions/"+other, "")
	call(c, 404, "DELETE", "/api/v1/me/sessions/"+other, "")
	call(c2, 401, "GET", "/api/v1/me", "")

	// Catalog: units with history, a field, agencies (one renamed).
	call(anon, 403, "PUT", "/api/v1/admin-units/01", `{"name": "Thái An", "level": "province", "kind": "tinh", "effective_from": "2000-01-01"}`)
	call(c, 200, "PUT", "/api/v1/admin-units/01", `{"name": "Thái An", "level": "province", "kind": "tinh", "effective_from": "2000-01-01"}`)
	call(c, 200, "PUT", "/api/v1/admin-units/00004", `{"code": "00004", "name": "Ba Đình", "level": "commune", "kind": "phuong", "parent_code": "01", "effective_from": "2025-07-01"}`)
	call(c, 200, "PUT", "/api/v1/admin-units/00001", `{"name": "Phúc Xá", "level": "commune", "kind": "phuong", "parent_code": "01", "effective_from": "2000-01-01", "effective_to": "2025-07-01", "successors": ["00004"]}`)
	call(c, 422, "PUT", "/api/v1/admin-units/00009", `{"code": "00010", "name": "Sai mã", "level": "commune", "kind": "xa", "parent_code": "01", "effective_from": "2025-07-01"}`)
	page := call(anon, 200, "GET", "/api/v1/admin-units?limit=1", "")
	if next := str(page, "next"); next == "" {
		t.Errorf("first page of two has no next: %s", page.body)
	} else {
		call(anon, 200, "GET", "/api/v1/admin-units?limit=1&cursor="+next, "")
	}
	call(anon, 200, "GET", "/api/v1/admin-units?include_history=1&level=commune&parent=01&q=phuc+xa", "")
	call(anon, 400, "GET", "/api/v1/admin-units?at=2025-13-01", "")
	old := call(anon, 200, "GET", "/api/v1/admin-units/00001", "")
	if cur, _ := old.json(t)["current"].([]any); len(cur) != 1 {
		t.Errorf("old unit resolves to %s", old.body)
	}
	call(anon, 200, "GET", "/api/v1/admin-units/00004?at=2026-01-01", "")
	call(anon, 404, "GET", "/api/v1/admin-units/99999", "")
	call(c, 200, "PUT", "/api/v1/fields/HT", `{"name": "Hộ tịch"}`)
	call(c, 422, "PUT", "/api/v1/fields/CT", `{"name": ""}`)
	call(anon, 200, "GET", "/api/v1/fields", "")
	call(c, 200, "PUT", "/api/v1/agencies/000.00.00.H41", `{"name": "Ủy ban nhân dân tỉnh Thái An", "kind": "agency", "level": "province", "admin_unit_code": "01", "effective_from": "2000-01-01"}`)
	call(c, 200, "PUT", "/api/v1/agencies/000.00.02.H41", `{"name": "Sở Tư pháp", "short_name": "STP", "kind": "agency", "level": "province", "parent_eid": "000.00.00.H41", "admin_unit_code": "01", "effective_from": "2000-01-01"}`)
	renamed := call(c, 200, "PUT", "/api/v1/agencies/000.00.02.H41", `{"eid": "000.00.12.H41", "name": "Sở Tư pháp", "short_name": "STP", "kind": "agency", "level": "province", "parent_eid": "000.00.00.H41", "admin_unit_code": "01", "effective_from": "2000-01-01"}`)
	if !strings.Contains(string(renamed.body), `"former_eids":["000.00.02.H41"]`) {
		t.Errorf("rename: %s", renamed.body)
	}
	if got := str(call(anon, 200, "GET", "/api/v1/agencies/000.00.02.H41", ""), "eid"); got != "000.00.12.H41" {
		t.Errorf("former e-ID resolves to %q", got)
	}
	call(anon, 404, "GET", "/api/v1/agencies/000.00.99.H41", "")
	call(anon, 200, "GET", "/api/v1/agencies?parent=000.00.00.H41&kind=agency&level=province&admin_unit=01&limit=5", "")
	call(c, 422, "PUT", "/api/v1/agencies/000.00.13.H41", `{"name": "Sở Mồ Côi", "kind": "agency", "level": "province", "parent_eid": "000.00.77.H41", "effective_from": "2000-01-01"}`)

	// Procedures: create published, a draft version, publish it, retire.
	proc := `{"code": "1.000001", "name": "Đăng ký khai sinh", "field_code": "HT", "level": "province",
		"competent_agency": "000.00.12.H41", "implementing_agency": "000.00.00.H41", "online_level": "full",
		"documents": [{"name": "Tờ khai đăng ký khai sinh", "form": "original", "quantity": 1, "template": "Mẫu số 01", "required": true}],
		"fees": [{"name": "Lệ phí", "amount": 8000, "paid_at": "reception"}],
		"duration": {"value": 5, "unit": "working_days"}, "legal_basis": ["Luật Hộ tịch 2014"],
		"form_schema": {"type": "object", "properties": {"ho_ten": {"type": "string", "title": "Họ tên"}}},
		"process_key": "default", "effective_from": "2026-01-01", "status": "active"}`
	call(anon, 403, "POST", "/api/v1/procedures", proc)
	created := call(c, 201, "POST", "/api/v1/procedures", proc)
	if created.header.Get("Location") != "/api/v1/procedures/1.000001" {
		t.Errorf("Location: %q", created.header.Get("Location"))
	}
	call(c, 409, "POST", "/api/v1/procedures", proc)
	call(c, 422, "POST", "/api/v1/procedures", `{"code": "1.000002", "name": "", "field_code": "XX", "level": "province", "online_level": "full", "duration": {"value": 5, "unit": "working_days"}, "effective_from": "2026-01-01", "status": "draft"}`)
	detail := call(anon, 200, "GET", "/api/v1/procedures/1.000001", "")
	// What a read answers cannot be saved back as it is (names, total_fee).
	if r := call(c, 400, "PUT", "/api/v1/procedures/1.000001", string(detail.body)); r.code() != "unknown_field" {
		t.Errorf("saving a read procedure back: %s", r.body)
	}
	draft := strings.Replace(strings.Replace(proc, `"status": "active"`, `"status": "draft"`, 1), `"effective_from": "2026-01-01"`, `"effective_from": "2026-07-01"`, 1)
	if v := call(c, 200, "PUT", "/api/v1/procedures/1.000001", draft).json(t)["version"]; v != float64(2) {
		t.Errorf("new draft is version %v", v)
	}
	call(c, 422, "PUT", "/api/v1/procedures/1.000001", strings.Replace(proc, `"code": "1.000001"`, `"code": "1.000009"`, 1))
	call(anon, 200, "GET", "/api/v1/procedures/1.000001/versions", "")
	call(c, 200, "GET", "/api/v1/procedures/1.000001/versions", "")
	call(anon, 404, "GET", "/api/v1/procedures/9.999999/versions", "")
	call(anon, 200, "GET", "/api/v1/procedures/1.000001?version=1", "")
	call(anon, 404, "GET", "/api/v1/procedures/1.000001?version=2", "") // a draft
	call(anon, 400, "GET", "/api/v1/procedures/1.000001?version=first", "")
	call(anon, 404, "GET", "/api/v1/procedures/1.000001?at=2025-01-01", "")
	call(anon, 200, "GET", "/api/v1/procedures?q=khai+sinh&field=HT&level=province&online=full&agency=000.00.02.H41&limit=1", "")
	call(c, 200, "GET", "/api/v1/procedures?latest=1&status=draft", "")
	call(anon, 403, "GET", "/api/v1/procedures?latest=1", "")
	call(anon, 422, "GET", "/api/v1/procedures?online=sometimes", "")
	call(anon, 400, "GET", "/api/v1/procedures?limit=0", "")
	call(c, 200, "POST", "/api/v1/procedures/1.000001/versions/2/publish", "")
	call(c, 409, "POST", "/api/v1/procedures/1.000001/versions/2/publish", "")
	call(c, 404, "POST", "/api/v1/procedures/1.000001/versions/7/publish", "")
	call(c, 422, "POST", "/api/v1/procedures/1.000001/retire", `{}`)
	call(c, 400, "POST", "/api/v1/procedures/1.000001/retire", `{"effective_to": "31/12/2027"}`)
	if s := str(call(c, 200, "POST", "/api/v1/procedures/1.000001/retire", `{"effective_to": "2027-01-01"}`), "status"); s != "retired" {
		t.Errorf("retired procedure has status %q", s)
	}
	call(c, 404, "POST", "/api/v1/procedures/9.999999/retire", `{"effective_to": "2027-01-01"}`)

	// Import and export.
	for _, kind := range []string{"admin-units", "fields", "agencies", "procedures"} {
		call(c, 200, "GET", "/api/v1/catalog/export?kind="+kind+"&format=json", "")
		r := call(c, 200, "GET", "/api/v1/catalog/export?kind="+kind+"&format=csv", "")
		if !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("export %s: Content-Disposition %q", kind, r.header.Get("Content-Disposition"))
		}
	}
	call(anon, 403, "GET", "/api/v1/catalog/export?kind=procedures&format=json", "")
	call(anon, 200, "GET", "/api/v1/catalog/export?kind=fields&format=json", "")
	call(anon, 400, "GET", "/api/v1/catalog/export?kind=people&format=xml", "")
	call(anon, 403, "POST", "/api/v1/catalog/import?kind=fields&format=json", `[]`)
	call(c, 400, "POST", "/api/v1/catalog/import?kind=fields&format=json&dry_run=maybe", `[]`)
	if r := call(c, 200, "POST", "/api/v1/catalog/import?kind=fields&format=json&dry_run=1", `[{"code": "CT", "name": "Chứng thực"}]`); r.json(t)["created"] != float64(1) {
		t.Errorf("dry run: %s", r.body)
	}
	call(c, 200, "POST", "/api/v1/catalog/import?kind=fields&format=csv", "code,name\nCT,Chứng thực\n", "Content-Type", "text/csv")
	rejected := call(c, 422, "POST", "/api/v1/catalog/import?kind=fields&format=json", `[{"code": "", "name": "Không mã"}, {"code": "X", "color": "red"}]`)
	if rejected.code() != "catalog.import_rejected" {
		t.Errorf("rejected import: %s", rejected.body)
	}

	// Accounts.
	call(anon, 401, "GET", "/api/v1/people", "")
	call(c, 422, "POST", "/api/v1/people", `{}`)
	person := call(c, 201, "POST", "/api/v1/people", `{"kind": "official", "username": "TranThiB", "full_name": "Trần Thị B",
		"email": "tranthib@example.gov.vn", "phone": "0912 345 678", "personal_id": "001234567890", "password": "mat-khau-tam-thoi-2026"}`)
	pid := str(person, "id")
	if person.header.Get("Location") != "/api/v1/people/"+pid {
		t.Errorf("Location: %q", person.header.Get("Location"))
	}
	call(c, 409, "POST", "/api/v1/people", `{"kind": "official", "username": "tranthib", "full_name": "Trần Thị B"}`)
	call(c, 201, "POST", "/api/v1/people", `{"kind": "applicant", "username": "nguoidan", "full_name": "Lê Văn C"}`)
	pageOne := call(c, 200, "GET", "/api/v1/people?limit=1", "")
	if next := str(pageOne, "next"); next != "" {
		call(c, 200, "GET", "/api/v1/people?limit=1&cursor="+next, "")
	} else {
		t.Errorf("people: no next page: %s", pageOne.body)
	}
	call(c, 200, "GET", "/api/v1/people?q=tran&kind=official&status=active&role=sysadmin", "")
	call(c, 400, "GET", "/api/v1/people?kind=robot", "")
	call(c, 404, "GET", "/api/v1/people/0190f5a2-7c4e-7a3b-9c1d-2e3f4a5b6c7d", "")
	pos := call(c, 201, "POST", "/api/v1/people/"+pid+"/positions", `{"title": "Chuyên viên", "unit_id": "000.00.12.H41", "agency_id": "000.00.00.H41", "started_at": "2026-01-02T08:00:00Z"}`)
	call(c, 422, "POST", "/api/v1/people/"+pid+"/positions", `{"title": "Chuyên viên", "unit_id": "H99.99"}`)
	grant := call(c, 201, "POST", "/api/v1/people/"+pid+"/grants", `{"role": "handler", "unit_id": "000.00.12.H41"}`)
	call(c, 409, "POST", "/api/v1/people/"+pid+"/grants", `{"role": "handler", "unit_id": "000.00.12.H41"}`)
	call(c, 422, "POST", "/api/v1/people/"+pid+"/grants", `{"role": "sysadmin", "unit_id": "000.00.12.H41"}`)
	call(c, 200, "GET", "/api/v1/people/"+pid, "")
	b := srv.client(t, true)
	if r := call(b, 201, "POST", "/api/v1/session", `{"username": "tranthib", "password": "mat-khau-tam-thoi-2026"}`); r.json(t)["must_change_password"] != true {
		t.Errorf("temporary password: %s", r.body)
	}
	call(b, 403, "GET", "/api/v1/people", "")
	if n := call(c, 200, "DELETE", "/api/v1/people/"+pid+"/sessions", "").json(t)["revoked"]; n != float64(1) {
		t.Errorf("revoked %v sessions", n)
	}
	call(c, 204, "DELETE", "/api/v1/people/"+pid+"/grants/"+str(grant, "id"), "")
	call(c, 404, "DELETE", "/api/v1/people/"+pid+"/grants/0190f5a2-7c4e-7a3b-9c1d-2e3f4a5b6c7d", "")
	call(c, 204, "DELETE", "/api/v1/people/"+pid+"/positions/"+str(pos, "id"), "")
	call(c, 404, "DELETE", "/api/v1/people/"+pid+"/positions/0190f5a2-7c4e-7a3b-9c1d-2e3f4a5b6c7d", "")
	call(c, 200, "GET", "/api/v1/people/"+pid, "") // with ended and revoked history
	call(c, 422, "POST", "/api/v1/people/"+pid+"/password", `{"password": "ngan"}`)
	call(c, 204, "POST", "/api/v1/people/"+pid+"/password", `{"password": "mat-khau-moi-hon-2026", "must_change": false}`)
	call(c, 422, "POST", "/api/v1/people/"+pid+"/status", `{"status": "asleep"}`)
	call(c, 204, "POST", "/api/v1/people/"+pid+"/status", `{"status": "locked"}`)
	call(c, 200, "GET", "/api/v1/people?status=locked", "")
	call(c, 409, "POST", "/api/v1/people/"+admin.ID+"/status", `{"status": "disabled"}`)
	var adminGrants struct{ Grants []struct{ ID string } }
	json.Unmarshal(call(c, 200, "GET", "/api/v1/people/"+admin.ID, "").body, &adminGrants)
	if len(adminGrants.Grants) != 1 {
		t.Fatalf("admin grants: %+v", adminGrants)
	}
	call(c, 409, "DELETE", "/api/v1/people/"+admin.ID+"/grants/"+adminGrants.Grants[0].ID, "")

	// Calendar.
	if r := call(anon, 200, "GET", "/api/v1/calendar/holidays?year=2026", ""); r.json(t)["announcement"] == nil {
		t.Errorf("2026 has a shipped announcement: %s", r.body)
	}
	call(anon, 200, "GET", "/api/v1/calendar/holidays?year=2031", "")
	call(anon, 200, "GET", "/api/v1/calendar/holidays", "")
	call(anon, 400, "GET", "/api/v1/calendar/holidays?year=1800", "")
	call(anon, 200, "GET", "/api/v1/calendar/working-days?from=2026-02-12&days=5", "")
	call(anon, 200, "GET", "/api/v1/calendar/working-days?from=2026-02-12T15:30:00%2B07:00&days=0", "")
	call(anon, 400, "GET", "/api/v1/calendar/working-days", "")
	call(anon, 200, "GET", "/api/v1/calendar/announcements", "")
	call(anon, 200, "GET", "/api/v1/calendar/announcements/2026", "")
	call(anon, 404, "GET", "/api/v1/calendar/announcements/2031", "")
	call(anon, 400, "GET", "/api/v1/calendar/announcements/next", "")
	ann := `{"year": 2031, "title": "Lịch nghỉ Tết 2031", "replaces": false, "days_off": [{"name": "Tết Nguyên đán", "from": "2031-01-22", "to": "2031-01-28"}], "working_days": ["2031-02-08"], "source": "Thử nghiệm"}`
	call(anon, 401, "PUT", "/api/v1/calendar/announcements/2031", ann)
	stored := call(c, 200, "PUT", "/api/v1/calendar/announcements/2031", ann, "If-Match", `"0"`)
	if stored.header.Get("ETag") == "" {
		t.Error("PUT announcement: no ETag")
	}
	call(c, 409, "PUT", "/api/v1/calendar/announcements/2031", ann, "If-Match", `"0"`)
	call(c, 400, "PUT", "/api/v1/calendar/announcements/2031", ann, "If-Match", "0")
	call(c, 422, "PUT", "/api/v1/calendar/announcements/2031", `{"year": 2030, "title": "", "days_off": [{"from": "2031-13-01"}]}`)
	if r := call(c, 200, "GET", "/api/v1/calendar/announcements/2031", ""); r.header.Get("ETag") != stored.header.Get("ETag") {
		t.Errorf("GET announcement: ETag %q, PUT gave %q", r.header.Get("ETag"), stored.header.Get("ETag"))
	}
	call(c, 200, "GET", "/api/v1/calendar/holidays?year=2031", "")
	call(c, 200, "GET", "/api/v1/calendar/announcements", "")
	call(c, 204, "DELETE", "/api/v1/calendar/announcements/2031", "")
	call(c, 404, "DELETE", "/api/v1/calendar/announcements/2031", "")

	// A second factor: an official enrolled in TOTP signs in with a code,
	// then the administrator removes the enrolment (a lost phone).
	const mfaPassword = "mat-khau-co-ma-otp-2026"
	mfaPerson, err := a.Identity.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "otp",
		FullName: "Người Dùng OTP", Password: mfaPassword})
	if err != nil {
		t.Fatal(err)
	}
	enr, err := a.Identity.BeginMFAEnrolment(ctx, mfaPerson.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(enr.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.ConfirmMFAEnrolment(ctx, &identity.Principal{PersonID: mfaPerson.ID, Username: "otp"}, code); err != nil {
		t.Fatal(err)
	}
	m := srv.client(t, true)
	call(m, 202, "POST", "/api/v1/session", `{"username": "otp", "password": "`+mfaPassword+`"}`)
	call(m, 401, "GET", "/api/v1/me", "")
	call(m, 401, "POST", "/api/v1/session/mfa", `{"code": "000000x"}`)
	code, _ = totp.GenerateCode(enr.Secret, time.Now().Add(30*time.Second)) // a code not used yet
	call(m, 201, "POST", "/api/v1/session/mfa", `{"code": "`+code+`"}`)
	call(m, 200, "GET", "/api/v1/me", "")
	call(c, 204, "DELETE", "/api/v1/people/"+mfaPerson.ID+"/mfa", "")

	// Own password, then sign out.
	call(c, 204, "POST", "/api/v1/me/password", `{"old_password": "`+adminPassword+`", "new_password": "mot-mat-khau-khac-2026"}`)
	call(c, 204, "DELETE", "/api/v1/session", "")
	call(c, 401, "GET", "/api/v1/me", "")
	call(anon, 204, "DELETE", "/api/v1/session", "")

	// Every documented operation answered with success at least once.
	for _, o := range ck.ops {
		ok := false
		for status := range ck.seen[o.pattern()] {
			ok = ok || status/100 == 2
		}
		if !ok {
			t.Errorf("%s (%s) was never exercised with success", o.pattern(), o.id())
		}
	}
}
