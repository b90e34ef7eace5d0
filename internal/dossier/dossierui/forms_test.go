package dossierui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// The dossier page links the forms its state allows, and the links serve
// them as PDF attachments with the rights of the page.
func TestFormLinks(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()
		base := "/work/dossiers/" + code + "/forms/"

		page := e.get("/work/dossiers/"+code, officer)
		if page.status != http.StatusOK {
			t.Fatalf("dossier page: %d", page.status)
		}
		for _, want := range []string{`href="` + base + `01.pdf"`, "In phiếu tiếp nhận (mẫu 01)",
			`href="` + base + `06.pdf"`, "Phiếu kiểm soát quá trình (mẫu 06)"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("dossier page lacks %s", want)
			}
		}
		if strings.Contains(page.body, base+"03.pdf") || strings.Contains(page.body, base+"05.pdf") {
			t.Errorf("a received dossier links the refusal or stop forms")
		}

		res := e.get(base+"01.pdf", officer)
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(res.body, "%PDF-") ||
			res.header.Get("Content-Disposition") != "attachment; filename="+code+"-01.pdf" {
			t.Fatalf("form 01: %d %s %s %.20q", res.status, res.header.Get("Content-Type"), res.header.Get("Content-Disposition"), res.body)
		}
		if res := e.get(base+"03.pdf", officer); res.status != http.StatusConflict || !strings.Contains(res.body, "Không thể in mẫu 03") {
			t.Errorf("form 03 of a received dossier: %d, want 409 with the reason", res.status)
		}
		if res := e.get(base+"01.pdf", nil); res.status != http.StatusSeeOther ||
			res.location() != "/login?next="+url.QueryEscape(base+"01.pdf") {
			t.Errorf("anonymous: %d %s", res.status, res.location())
		}
		if res := e.get(base+"01.pdf", stranger); res.status != http.StatusForbidden {
			t.Errorf("official of another desk: %d, want 403", res.status)
		}
		if res := e.get(base+"01.txt", officer); res.status != http.StatusNotFound {
			t.Errorf("form without .pdf: %d, want 404", res.status)
		}
	})
}
