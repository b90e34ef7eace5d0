package pdf

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// override returns form01 at a version and date, with its own heading.
func override(version int, from, heading string) []byte {
	return []byte(`{"key":"form01","version":` + string(rune('0'+version)) + `,"effective_from":"` + from + `","title":"Giấy tiếp nhận",
		"blocks":[{"type":"heading","text":"` + heading + `"},{"type":"paragraph","text":"Mã hồ sơ: {{.Dossier.Code}}"}]}`)
}

func TestRegistryPicksTemplateInForce(t *testing.T) {
	reg := newRegistry(t)
	if _, err := reg.RegisterJSON(override(2, "2026-03-01", "MẪU MỚI TỪ THÁNG BA")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at      time.Time
		version int
	}{
		{vn(2025, time.July, 1, 0, 0), 1},
		{vn(2026, time.February, 28, 23, 59), 1},
		{vn(2026, time.March, 1, 0, 0), 2},
		// 17:30 UTC on 28 February is 00:30 on 1 March in Vietnam.
		{time.Date(2026, time.February, 28, 17, 30, 0, 0, time.UTC), 2},
		{time.Date(2026, time.February, 28, 16, 59, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		tmpl, err := reg.Template(FormReceipt, tt.at)
		if err != nil {
			t.Fatalf("Template(%v): %v", tt.at, err)
		}
		if tmpl.Version() != tt.version {
			t.Errorf("Template(%v) = v%d, want v%d", tt.at, tmpl.Version(), tt.version)
		}
	}

	// The PDF shows the version in force.
	d := fixture()
	before, err := reg.Render(t.Context(), FormReceipt, vn(2026, time.February, 20, 9, 0), d)
	if err != nil {
		t.Fatal(err)
	}
	after, err := reg.Render(t.Context(), FormReceipt, vn(2026, time.March, 2, 9, 0), d)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdftotext(t, before); !strings.Contains(text, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ") {
		t.Errorf("before March: not the default template:\n%s", text)
	}
	if text := pdftotext(t, after); !strings.Contains(text, "MẪU MỚI TỪ THÁNG BA") {
		t.Errorf("from March: not the new version:\n%s", text)
	}

	// An exact version stays available for re-printing.
	v1, err := reg.Version(FormReceipt, 1)
	if err != nil || v1.Version() != 1 {
		t.Errorf("Version(1) = %v, %v", v1, err)
	}
}

func TestRegistryOverrideOnSameDateWinsByVersion(t *testing.T) {
	reg := newRegistry(t)
	if _, err := reg.RegisterJSON(override(2, "2025-07-01", "MẪU CỦA TỈNH")); err != nil {
		t.Fatal(err)
	}
	tmpl, err := reg.Template(FormReceipt, vn(2025, time.August, 1, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Version() != 2 {
		t.Errorf("got v%d, want the province's v2", tmpl.Version())
	}
}

func TestRegistryErrors(t *testing.T) {
	reg := newRegistry(t)
	if _, err := reg.Template("form99", vn(2026, time.January, 1, 0, 0)); !errors.Is(err, ErrUnknownForm) {
		t.Errorf("unknown form: err = %v", err)
	}
	if _, err := reg.Template(FormReceipt, vn(2025, time.June, 30, 23, 59)); !errors.Is(err, ErrNotInForce) {
		t.Errorf("before the first version: err = %v", err)
	}
	if _, err := reg.Version(FormReceipt, 7); !errors.Is(err, ErrNotInForce) {
		t.Errorf("missing version: err = %v", err)
	}
	if _, err := reg.RegisterJSON(override(1, "2026-01-01", "TRÙNG")); !errors.Is(err, ErrDuplicateTemplate) {
		t.Errorf("duplicate version: err = %v", err)
	}
	if _, err := reg.Render(t.Context(), "form99", vn(2026, time.January, 1, 0, 0), fixture()); !errors.Is(err, ErrUnknownForm) {
		t.Errorf("Render of an unknown form: err = %v", err)
	}
}

func TestNewRegistryHasAllForms(t *testing.T) {
	reg := sharedRegistry(t)
	var keys []string
	for _, tmpl := range reg.Templates() {
		keys = append(keys, tmpl.Key())
		if tmpl.Version() != 1 || tmpl.LegalBasis() == "" {
			t.Errorf("%s: version %d, legal basis %q", tmpl.Key(), tmpl.Version(), tmpl.LegalBasis())
		}
	}
	want := "form01 form02 form03 form04 form05 form06 form07"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("templates = %s, want %s", got, want)
	}
}

func TestLoadFS(t *testing.T) {
	var reg Registry // the zero value is usable
	fsys := fstest.MapFS{
		"province/a.json":     {Data: override(1, "2025-07-01", "MẪU MỘT")},
		"province/b.json":     {Data: override(2, "2026-01-01", "MẪU HAI")},
		"province/readme.txt": {Data: []byte("not a template")},
	}
	if err := reg.LoadFS(fsys, "province"); err != nil {
		t.Fatal(err)
	}
	if n := len(reg.Templates()); n != 2 {
		t.Errorf("loaded %d templates, want 2", n)
	}

	bad := fstest.MapFS{"p/broken.json": {Data: []byte(minimal(`[{"type":"paragraph","text":"{{.Nope}}"}]`))}}
	err := reg.LoadFS(bad, "p")
	if !errors.Is(err, ErrInvalidTemplate) || !strings.Contains(err.Error(), "p/broken.json") {
		t.Errorf("err = %v, want ErrInvalidTemplate naming the file", err)
	}
}
