package dossier_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// §9 upload checks and §3 step 2.1 digitization: content sniffing, size,
// readable PDF or image, hash echoed (the SHA-256 of the content), versions
// kept.
func TestUploadChecks(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	e := newEnvCfg(t, d, dossier.Config{MaxUploadBytes: 64 << 10})
	pdf := smallPDF("ban chup giay to")
	rejected := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, dossier.ErrRejectedFile},
		{"text named .pdf", []byte("Đây không phải PDF, chỉ là văn bản đổi tên."), dossier.ErrRejectedFile},
		{"HTML named .pdf", []byte("<html><script>alert(1)</script></html>"), dossier.ErrRejectedFile},
		{"fake PDF without end marker", []byte("%PDF-1.7\n1 0 obj << >> endobj\n" + strings.Repeat("x", 5000)), dossier.ErrRejectedFile},
		{"truncated PDF", pdf[:len(pdf)-10], dossier.ErrRejectedFile},
		{"PNG header only", smallPNG()[:20], dossier.ErrRejectedFile},
		{"JPEG magic and garbage", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x01}, 100)...), dossier.ErrRejectedFile},
		{"executable", append([]byte("MZ\x90\x00"), make([]byte, 200)...), dossier.ErrRejectedFile},
		{"too large", append(append([]byte{}, pdf[:len(pdf)-7]...), append(bytes.Repeat([]byte(" "), 70<<10), []byte("%%EOF\n")...)...), dossier.ErrTooLarge},
	}
	for _, tc := range rejected {
		_, err := e.s.PutFile(e.ctx, tc.name+".pdf", bytes.NewReader(tc.data))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := countBlobs(t, e); n != 0 {
		t.Fatalf("%d blobs stored by rejected uploads", n)
	}

	for _, tc := range []struct {
		name, mt string
		data     []byte
	}{{"scan.pdf", dossier.MediaPDF, pdf}, {"anh.png", dossier.MediaPNG, smallPNG()}, {"ảnh chụp.jpg", dossier.MediaJPEG, smallJPEG()}} {
		f, err := e.s.PutFile(e.ctx, `C:\Users\an\`+tc.name, bytes.NewReader(tc.data))
		if err != nil {
			t.Fatalf("%s refused: %v", tc.name, err)
		}
		sum := sha256.Sum256(tc.data)
		if f.Hash != hex.EncodeToString(sum[:]) || f.Size != int64(len(tc.data)) || f.MediaType != tc.mt || f.Name != tc.name {
			t.Fatalf("%s: %+v; want hash %x, size %d, %s", tc.name, f, sum, len(tc.data), tc.mt)
		}
		rc, err := e.blobs.Get(e.ctx, f.Hash)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(stored, tc.data) {
			t.Fatalf("%s stored differently", tc.name)
		}
	}

	if n := countBlobs(t, e); n != 3 {
		t.Fatalf("%d blobs after three accepted uploads, want 3", n)
	}

	// Digitizing components: versions by name, history kept, same file twice
	// harmless, ended dossiers closed, strangers refused.
	rc := e.receive("Bùi Thị Ngọc")
	scan1, err := e.s.AttachFile(e.ctx, dossier.AttachInput{DossierCode: rc.Code, Component: 1, Name: "don.pdf",
		Body: bytes.NewReader(smallPDF("ban 1")), Digitized: true, Actor: officer})
	if err != nil || scan1.Version != 1 || !scan1.Digitized {
		t.Fatalf("first scan: %+v, %v", scan1, err)
	}
	scan2, err := e.s.AttachFile(e.ctx, dossier.AttachInput{DossierCode: rc.Code, Component: 1, Name: "don.pdf",
		Body: bytes.NewReader(smallPDF("ban 2 ro hon")), Digitized: true, Actor: officer})
	if err != nil || scan2.Version != 2 {
		t.Fatalf("rescan: %+v, %v", scan2, err)
	}
	again, err := e.s.AttachFile(e.ctx, dossier.AttachInput{DossierCode: rc.Code, Component: 1, Name: "don.pdf", Hash: scan2.Hash,
		Digitized: true, Actor: officer})
	if err != nil || again.Version != 2 {
		t.Fatalf("same file again: %+v, %v; want version 2 unchanged", again, err)
	}
	got := e.get(rc.Code, officer)
	c := got.Components[0]
	if len(c.Files) != 1 || c.Files[0].Hash != scan2.Hash || len(c.History) != 1 || c.History[0].Hash != scan1.Hash || !c.Digitized() {
		t.Fatalf("component 1 = %+v; want the rescan current and the first scan in history", c)
	}
	files, err := e.s.ComponentFiles(e.ctx, rc.Code, 1, handler)
	if err != nil || len(files) != 2 {
		t.Fatalf("component files = %+v, %v", files, err)
	}
	f, r, err := e.s.OpenFile(e.ctx, rc.Code, scan1.Hash, head)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(b, smallPDF("ban 1")) || f.Version != 1 {
		t.Fatalf("old version download: %+v", f)
	}
	if _, err := e.s.AttachFile(e.ctx, dossier.AttachInput{DossierCode: rc.Code, Component: 9, Name: "x.pdf", Body: bytes.NewReader(pdf), Actor: officer}); !errors.Is(err, dossier.ErrNotFound) {
		t.Fatalf("unknown component: %v", err)
	}
	if _, err := e.s.AttachFile(e.ctx, dossier.AttachInput{DossierCode: rc.Code, Component: 1, Name: "x.pdf", Body: bytes.NewReader(pdf), Actor: stranger}); !errors.Is(err, dossier.ErrForbidden) {
		t.Fatalf("stranger: %v", err)
	}
	if _, _, err := e.s.OpenFile(e.ctx, rc.Code, strings.Repeat("c", 64), officer); !errors.Is(err, dossier.ErrNotFound) {
		t.Fatalf("file of no dossier: %v", err)
	}
}

// §9: the public lookup needs the code and the last four phone digits,
// shows status, procedure, dates and step names only, and answers an
// unknown code exactly as a wrong factor.
func TestLookup(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 3, 2, 9, 0))
		rc := e.receive("Nguyễn Thị Bí Mật")
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID,
			Comment: "Giao anh Hùng, lưu ý hộ ông Bí Mật ở 12 Lê Lợi"})
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "extend", Actor: handler, Comment: "Cần xác minh với ông Bí Mật",
			NewDue: at(2026, 3, 20, 17, 0)})

		v, err := e.s.Lookup(e.ctx, rc.Code, "5678")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != dossier.StatusProcessing || v.NationalStatus != 4 || v.ProcedureName == "" || !v.DueAt.Equal(at(2026, 3, 20, 17, 0)) {
			t.Fatalf("lookup = %+v", v)
		}
		var names []string
		for _, s := range v.Steps {
			names = append(names, s.Name)
		}
		if want := "Kiểm tra hồ sơ|Phân công xử lý|Thẩm định hồ sơ|Gia hạn, hẹn lại ngày trả kết quả"; strings.Join(names, "|") != want {
			t.Fatalf("steps = %v, want %s", names, want)
		}
		out := mustJSON(t, v)
		for _, secret := range []string{"Bí Mật", "0912", "345 678", "001090012345", "an@example.vn", "Lê Lợi", "head-1", "handler-1",
			"officer-1", "Hùng", division, desk} {
			if strings.Contains(out, secret) {
				t.Errorf("public lookup shows %q: %s", secret, out)
			}
		}

		_, wrong := e.s.Lookup(e.ctx, rc.Code, "5679")
		_, unknown := e.s.Lookup(e.ctx, center+"-260302-0999", "5678")
		_, malformed := e.s.Lookup(e.ctx, "'; DROP TABLE dossiers; --", "5678")
		for name, err := range map[string]error{"wrong factor": wrong, "unknown code": unknown, "malformed code": malformed} {
			if !errors.Is(err, dossier.ErrLookupFailed) || err.Error() != wrong.Error() {
				t.Errorf("%s: %v; want the same ErrLookupFailed as a wrong factor", name, err)
			}
		}
		if _, _, err := e.s.OpenResult(e.ctx, rc.Code, "5678", "x"); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("result before it is issued: %v", err)
		}
	})
}

// User text is data: markup, SQL and format verbs are stored and returned
// verbatim, and found again by search.
func TestInjectionStoredVerbatim(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		name := `Robert'); DROP TABLE dossiers;-- <script>alert("x")</script> %s %d {code}`
		addr := `' OR '1'='1' -- \"; SELECT pg_sleep(5); <img src=x onerror=alert(1)>`
		sub := e.completeSubmission("x")
		sub.Applicant.Name, sub.Applicant.Address = name, addr
		sub.FormData = []byte(`{"ho_ten":"<b>Robert</b>'; --","so_dinh_danh":"001090012345","dia_chi":"` + "\\\" OR 1=1; --\\u0000" + `"}`)
		sub.Representative = &dossier.Representative{Name: "Ông $(rm -rf /) `whoami`", Relation: "con trai"}
		rc, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer, Comment: "%v %n {{.}}"})
		if err != nil {
			t.Fatal(err)
		}
		got := e.get(rc.Code, officer)
		if got.Applicant.Name != name || got.Applicant.Address != addr || got.Representative.Name != "Ông $(rm -rf /) `whoami`" {
			t.Fatalf("stored %q / %q / %q", got.Applicant.Name, got.Applicant.Address, got.Representative.Name)
		}
		if string(got.FormData) != `{"ho_ten":"<b>Robert</b>'; --","so_dinh_danh":"001090012345","dia_chi":"\" OR 1=1; --\u0000"}` {
			t.Fatalf("form data = %s", got.FormData)
		}
		if got.Timeline[1].Comment != "%v %n {{.}}" {
			t.Fatalf("comment = %q", got.Timeline[1].Comment)
		}
		page, err := e.s.List(e.ctx, dossier.ListQuery{Actor: officer, Text: "robert drop"})
		if err != nil || len(page.Items) != 1 || page.Items[0].ApplicantName != name {
			t.Fatalf("search = %+v, %v", page, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM dossiers`); n != 1 {
			t.Fatalf("%d dossiers", n)
		}
	})
}
