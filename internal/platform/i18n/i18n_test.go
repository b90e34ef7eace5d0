package i18n

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/text/unicode/norm"
)

func readCatalog(t *testing.T, lang Lang) map[string]string {
	t.Helper()
	data, err := platformMessages.ReadFile("messages/" + string(lang) + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return m
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	vi, en := readCatalog(t, Vietnamese), readCatalog(t, English)
	for k := range vi {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in vi.json but not in en.json", k)
		}
	}
	for k := range en {
		if _, ok := vi[k]; !ok {
			t.Errorf("key %q is in en.json but not in vi.json", k)
		}
	}
	if err := Check(); err != nil {
		t.Errorf("shared catalogs are inconsistent:\n%v", err)
	}
}

func TestCatalogTextIsNFCAndNotEmpty(t *testing.T) {
	// Vietnamese text must be precomposed (NFC) so that it compares, searches
	// and renders the same everywhere.
	for _, lang := range Langs() {
		for k, v := range readCatalog(t, lang) {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s %q: empty text", lang, k)
			}
			if !norm.NFC.IsNormalString(v) {
				t.Errorf("%s %q: text is not NFC: %q", lang, k, v)
			}
		}
	}
}

func TestCheckReportsMissingKeysAndPlaceholderMismatch(t *testing.T) {
	var b Bundle
	if err := b.Add(Vietnamese, map[string]string{"a": "Xin chào {name}", "b": "Chỉ tiếng Việt"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(English, map[string]string{"a": "Hello {user}", "c": "English only"}); err != nil {
		t.Fatal(err)
	}
	err := b.Check()
	if err == nil {
		t.Fatal("Check() = nil, want errors")
	}
	for _, want := range []string{`"b" missing in en`, `"c" missing in vi`, `"a": placeholders`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v\nwant it to mention %s", err, want)
		}
	}
}

func TestT(t *testing.T) {
	var b Bundle
	must(t, b.Add(Vietnamese, map[string]string{
		"greet":   "Xin chào {name}, bạn có {n} hồ sơ.",
		"vi_only": "Chỉ có tiếng Việt",
		"braces":  "Giữ {unknown} và {",
	}))
	must(t, b.Add(English, map[string]string{"greet": "Hello {name}, you have {n} dossiers."}))

	tests := []struct {
		lang Lang
		key  string
		args []any
		want string
	}{
		{Vietnamese, "greet", []any{"name", "An", "n", 3}, "Xin chào An, bạn có 3 hồ sơ."},
		{English, "greet", []any{"n", 3, "name", "An"}, "Hello An, you have 3 dossiers."},
		{English, "vi_only", nil, "Chỉ có tiếng Việt"},
		{English, "no.such.key", nil, "no.such.key"},
		{Vietnamese, "braces", []any{"other", 1}, "Giữ {unknown} và {"},
		{Vietnamese, "greet", []any{"name"}, "Xin chào {name}, bạn có {n} hồ sơ."},
		{Lang("fr"), "greet", []any{"name", "An", "n", 1}, "Xin chào An, bạn có 1 hồ sơ."},
	}
	for _, tt := range tests {
		if got := b.T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%s, %q, %v) = %q, want %q", tt.lang, tt.key, tt.args, got, tt.want)
		}
	}
}

func TestSharedCatalogsTranslateErrors(t *testing.T) {
	if got := T(Vietnamese, "error.not_found"); got != "Không tìm thấy nội dung được yêu cầu." {
		t.Errorf("vi error.not_found = %q", got)
	}
	if got := T(English, "error.unknown_field", "field", "age"); got != `The field "age" is not supported.` {
		t.Errorf("en error.unknown_field = %q", got)
	}
	args := []any{"field", "age", "expected", Key("type.integer")}
	if got := T(English, "error.invalid_type", args...); got != `The field "age" must be an integer.` {
		t.Errorf("en error.invalid_type with Key arg = %q", got)
	}
	if got := T(Vietnamese, "error.invalid_type", args...); got != `Trường "age" phải là số nguyên.` {
		t.Errorf("vi error.invalid_type with Key arg = %q", got)
	}
	if args[3] != Key("type.integer") {
		t.Error("T modified the caller's arguments")
	}
	if !Has("error.internal") || Has("error.no_such_code") {
		t.Error("Has does not reflect the catalog")
	}
}

func TestAddRejectsConflictsAndUnsupportedLanguages(t *testing.T) {
	var b Bundle
	must(t, b.Add(Vietnamese, map[string]string{"k": "một"}))
	if err := b.Add(Vietnamese, map[string]string{"k": "một"}); err != nil {
		t.Errorf("re-adding identical text: %v", err)
	}
	if err := b.Add(Vietnamese, map[string]string{"k": "hai", "new": "mới"}); err == nil {
		t.Error("conflicting text accepted")
	}
	if b.Has("new") {
		t.Error("a failed Add left keys behind")
	}
	if err := b.Add(Lang("fr"), map[string]string{"k": "un"}); err == nil {
		t.Error("unsupported language accepted")
	}
}

func TestRegisterFS(t *testing.T) {
	fsys := fstest.MapFS{
		"messages/vi.json": {Data: []byte(`{"i18ntest.hello": "Xin chào {name}"}`)},
		"messages/en.json": {Data: []byte(`{"i18ntest.hello": "Hello {name}"}`)},
		"broken/vi.json":   {Data: []byte(`{"i18ntest.n": 1}`)},
		"broken/en.json":   {Data: []byte(`{}`)},
		"half/vi.json":     {Data: []byte(`{}`)},
	}
	must(t, RegisterFS(fsys, "messages"))
	if got := T(English, "i18ntest.hello", "name", "Bình"); got != "Hello Bình" {
		t.Errorf("registered message = %q", got)
	}
	if err := Check(); err != nil {
		t.Errorf("Check after RegisterFS: %v", err)
	}
	var b Bundle
	if err := b.AddFS(fsys, "broken"); err == nil {
		t.Error("catalog with a non-string value accepted")
	}
	if err := b.AddFS(fsys, "half"); err == nil {
		t.Error("catalog directory without en.json accepted")
	}
}

func TestFromRequest(t *testing.T) {
	tests := []struct {
		name, cookie, accept string
		want                 Lang
	}{
		{"nothing", "", "", Vietnamese},
		{"cookie wins over header", "en", "vi", English},
		{"cookie vi", "vi", "en", Vietnamese},
		{"unsupported cookie ignored", "fr", "en-US", English},
		{"region tag", "", "en-GB", English},
		{"q-values order", "", "vi;q=0.5, en;q=0.8", English},
		{"first wins on tie", "", "en, vi", English},
		{"browser default", "", "en-US,en;q=0.9,vi;q=0.8", English},
		{"vietnamese browser", "", "vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", Vietnamese},
		{"unsupported skipped", "", "fr-FR, de;q=0.9, en;q=0.2", English},
		{"q=0 means not acceptable", "", "en;q=0", Vietnamese},
		{"malformed q ignored", "", "en;q=abc", Vietnamese},
		{"out of range q ignored", "", "en;q=2", Vietnamese},
		{"wildcard", "", "*", Vietnamese},
		{"case-insensitive", "", "EN-us", English},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.cookie != "" {
				r.Header.Set("Cookie", CookieName+"="+tt.cookie)
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if got := FromRequest(r); got != tt.want {
				t.Errorf("FromRequest(cookie=%q, Accept-Language=%q) = %q, want %q", tt.cookie, tt.accept, got, tt.want)
			}
		})
	}
}

func TestLangs(t *testing.T) {
	if got := Langs(); got[0] != Default || !slices.Contains(got, English) {
		t.Errorf("Langs() = %v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
