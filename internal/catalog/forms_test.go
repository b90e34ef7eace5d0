package catalog_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// Issue 4: blank forms (mẫu đơn, tờ khai) to download from the procedure page.

// samplePDF is a small complete PDF.
var samplePDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newBlobs(t *testing.T) blob.Store {
	t.Helper()
	bs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// eachWithBlobs runs fn on every engine with a service that has a blob store.
func eachWithBlobs(t *testing.T, fn func(t *testing.T, svc *catalog.Service, bs blob.Store, d *db.DB), opts ...catalog.Option) {
	t.Helper()
	dbtest.Each(t, catalog.Migrations(), func(t *testing.T, d *db.DB) {
		bs := newBlobs(t)
		fn(t, catalog.NewService(d, clock, append([]catalog.Option{catalog.WithBlobs(bs)}, opts...)...), bs, d)
	})
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniffForm(t *testing.T) {
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 64)...)
	word := append(bytes.Clone(ole), []byte("W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t\x00")...)
	cases := []struct {
		name string
		data []byte
		want string // "" = refused
	}{
		{"pdf", samplePDF, catalog.MediaPDF},
		{"truncated pdf", samplePDF[:40], ""},
		{"html named pdf", []byte("<!DOCTYPE html><html><body>%PDF-</body></html>"), ""},
		{"docx", zipOf(t, map[string]string{"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}), catalog.MediaDOCX},
		{"odt", zipOf(t, map[string]string{"mimetype": catalog.MediaODT, "content.xml": "<office:document-content/>"}), catalog.MediaODT},
		{"ods is not odt", zipOf(t, map[string]string{"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}), ""},
		{"plain zip", zipOf(t, map[string]string{"a.txt": "hello"}), ""},
		{"doc", word, catalog.MediaDOC},
		{"ole2 without word stream", ole, ""},
		{"empty", nil, ""},
	}
	for _, c := range cases {
		got, err := catalog.SniffForm(c.data)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
		if err != nil && !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%s: error %v is not ErrInvalid", c.name, err)
		}
	}
}

func multipartBody(t *testing.T, filename string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", "x")
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), &body
}

var linkRe = regexp.MustCompile(`href="(/procedures/[^"]+/forms/[0-9]+[^"]*)"`)

func TestFormUploadDownload(t *testing.T) {
	eachWithBlobs(t, func(t *testing.T, svc *catalog.Service, bs blob.Store, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)
		const base = "/admin/catalog/procedures/1.004227/versions/1/documents/1/file"
		name := "Tờ khai đăng ký (Mẫu số 01).pdf"

		// No file yet: no link.
		_, _, body := page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		if strings.Contains(body, "Tải mẫu đơn, tờ khai") || linkRe.MatchString(body) {
			t.Fatal("a procedure without files shows a download link")
		}

		// Anonymous: sent to sign in, nothing stored.
		ct, b := multipartBody(t, name, samplePDF)
		if status, h, _ := page(t, srv, "POST", base, "", ct, b); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Fatalf("anonymous upload: %d %s", status, h.Get("Location"))
		}
		// An HTML page named .pdf is refused by its content.
		ct, b = multipartBody(t, "don.pdf", []byte("<html><script>alert(1)</script></html>"))
		status, _, body := page(t, srv, "POST", base, "*", ct, b)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Chỉ nhận tệp PDF, DOC, DOCX hoặc ODT") || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("html upload: %d\n%s", status, body)
		}
		// A PDF named .docx is refused too: the name must say what it is.
		ct, b = multipartBody(t, "don.docx", samplePDF)
		if status, _, _ := page(t, srv, "POST", base, "*", ct, b); status != http.StatusUnprocessableEntity {
			t.Fatalf("pdf named docx: %d", status)
		}
		if p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 1)); p.Documents[0].File != nil {
			t.Fatal("a refused upload was stored")
		}

		// The administrator uploads the blank form of a published version.
		ct, b = multipartBody(t, `C:\fakepath\`+name, samplePDF)
		status, h, _ := page(t, srv, "POST", base, "*", ct, b)
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/catalog/procedures/1.004227") {
			t.Fatalf("upload: %d %s", status, h.Get("Location"))
		}
		p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 1))
		f := p.Documents[0].File
		if f == nil || f.Hash != sha(samplePDF) || f.Name != name || f.MediaType != catalog.MediaPDF || f.Size != int64(len(samplePDF)) {
			t.Fatalf("stored reference: %+v", f)
		}
		if p.Status != catalog.StatusActive || len(must[[]catalog.Procedure](t)(svc.ProcedureVersions(ctx, "1.004227"))) != 1 {
			t.Errorf("uploading a form changed the published version: %s", p.Status)
		}
		// The admin page shows the file's name, size and SHA-256, with a way to remove it.
		_, _, body = page(t, srv, "GET", "/admin/catalog/procedures/1.004227", "*", "", nil)
		for _, want := range []string{name, sha(samplePDF), "/documents/1/file/delete", `enctype="multipart/form-data"`, `type="file"`} {
			if !strings.Contains(body, want) {
				t.Errorf("admin page lacks %q", want)
			}
		}

		// The public page links it next to the document (and only there), with its size.
		_, _, body = page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		links := linkRe.FindAllStringSubmatch(body, -1)
		if len(links) != 1 || links[0][1] != "/procedures/1.004227/forms/1" || !strings.Contains(body, "Tải mẫu đơn, tờ khai") ||
			!strings.Contains(body, "(PDF, "+catalog.FormatFileSize(int64(len(samplePDF)))+")") {
			t.Fatalf("public page links %v\n%s", links, body)
		}
		// In English too.
		req, _ := http.NewRequest("GET", srv.URL+"/procedures/1.004227", nil)
		req.Header.Set("Accept-Language", "en")
		res := must[*http.Response](t)(http.DefaultClient.Do(req))
		eb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(eb), "Download the blank form") {
			t.Error("English page lacks the download link")
		}

		// The download returns the same bytes with the right headers.
		res = must[*http.Response](t)(http.Get(srv.URL + "/procedures/1.004227/forms/1"))
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, samplePDF) {
			t.Fatalf("download: %d %q", res.StatusCode, got)
		}
		wantHeaders := map[string]string{
			"Content-Type":           "application/pdf",
			"X-Content-Type-Options": "nosniff",
			"ETag":                   `"` + sha(samplePDF) + `"`,
			"Content-Disposition": `attachment; filename="to khai dang ky (mau so 01).pdf"; ` +
				`filename*=UTF-8''T%E1%BB%9D%20khai%20%C4%91%C4%83ng%20k%C3%BD%20%28M%E1%BA%ABu%20s%E1%BB%91%2001%29.pdf`,
		}
		for k, v := range wantHeaders {
			if res.Header.Get(k) != v {
				t.Errorf("%s: %q, want %q", k, res.Header.Get(k), v)
			}
		}
		// Revalidation by hash.
		req, _ = http.NewRequest("GET", srv.URL+"/procedures/1.004227/forms/1", nil)
		req.Header.Set("If-None-Match", `"`+sha(samplePDF)+`"`)
		res = must[*http.Response](t)(http.DefaultClient.Do(req))
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %d", res.StatusCode)
		}
		// A document without a file, or beyond the list, has nothing to download.
		for _, path := range []string{"/procedures/1.004227/forms/2", "/procedures/1.004227/forms/9", "/procedures/1.004228/forms/1"} {
			if status, _, _ := page(t, srv, "GET", path, "", "", nil); status != http.StatusNotFound {
				t.Errorf("%s: %d", path, status)
			}
		}

		// A new version keeps the forms of the documents that stay.
		next := p
		next.Version, next.EffectiveFrom, next.Documents[0].File = 0, date("2026-06-01"), nil
		v2 := must[catalog.Procedure](t)(svc.SaveProcedure(ctx, next))
		if v2.Version != 2 || v2.Documents[0].File == nil || v2.Documents[0].File.Hash != sha(samplePDF) {
			t.Fatalf("new version: %d %+v", v2.Version, v2.Documents[0].File)
		}

		// Removing the file removes the link.
		if status, _, _ := page(t, srv, "POST", base+"/delete", "*", "application/x-www-form-urlencoded", strings.NewReader("csrf_token=x")); status != http.StatusSeeOther {
			t.Fatalf("remove: %d", status)
		}
		_, _, body = page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		if linkRe.MatchString(body) {
			t.Error("link still shown after removal")
		}
		if _, err := bs.Stat(ctx, sha(samplePDF)); err != nil {
			t.Errorf("the blob was deleted although version 2 uses it: %v", err)
		}
	})
}

func TestFormSizeLimit(t *testing.T) {
	eachWithBlobs(t, func(t *testing.T, svc *catalog.Service, _ blob.Store, _ *db.DB) {
		fixture(t, svc)
		srv := uiServer(t, svc)
		big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0"), 2000)...)
		big = append(big, "\n%%EOF\n"...)
		ct, b := multipartBody(t, "lon.pdf", big)
		status, _, body := page(t, srv, "POST", "/admin/catalog/procedures/1.004227/versions/1/documents/1/file", "*", ct, b)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Tệp lớn quá giới hạn 2 KB") {
			t.Fatalf("large upload: %d\n%s", status, body)
		}
		_, err := svc.AttachForm(context.Background(), "1.004227", 1, 1, "lon.pdf", bytes.NewReader(big))
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("AttachForm over the limit: %v", err)
		}
		if _, err := svc.AttachForm(context.Background(), "1.004227", 1, 1, "nho.pdf", bytes.NewReader(samplePDF)); err != nil {
			t.Errorf("AttachForm under the limit: %v", err)
		}
	}, catalog.WithMaxFormBytes(2000))
}

func TestFormsWithoutBlobStore(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		srv := uiServer(t, svc)
		ct, b := multipartBody(t, "don.pdf", samplePDF)
		status, _, body := page(t, srv, "POST", "/admin/catalog/procedures/1.004227/versions/1/documents/1/file", "*", ct, b)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Chưa cấu hình kho lưu trữ tệp") {
			t.Fatalf("upload without a store: %d\n%s", status, body)
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/procedures/1.004227", "*", "", nil)
		if !strings.Contains(body, `id="files-disabled"`) || strings.Contains(body, `type="file"`) {
			t.Error("admin page offers uploads without a store")
		}
		// A reference cannot be imported either.
		p := must[catalog.Procedure](t)(svc.ProcedureVersion(context.Background(), "1.004227", 1))
		p.Version, p.Status, p.EffectiveFrom = 0, catalog.StatusDraft, date("2026-06-01")
		p.Documents[0].File = &catalog.FormFile{Hash: sha(samplePDF), Name: "don.pdf"}
		if _, err := svc.SaveProcedure(context.Background(), p); !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), "documents[0].file") {
			t.Errorf("reference without a store: %v", err)
		}
	})
}

func TestFormReferencesImportExport(t *testing.T) {
	eachWithBlobs(t, func(t *testing.T, svc *catalog.Service, bs blob.Store, d *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		f := must[catalog.FormFile](t)(svc.AttachForm(ctx, "1.004227", 1, 1, "Mẫu số 01.pdf", bytes.NewReader(samplePDF)))
		var out bytes.Buffer
		if err := svc.Export(ctx, catalog.DatasetProcedures, catalog.FormatJSON, &out); err != nil {
			t.Fatal(err)
		}
		var exported []map[string]any
		if err := json.Unmarshal(out.Bytes(), &exported); err != nil {
			t.Fatal(err)
		}
		var ref map[string]any
		for _, p := range exported {
			if p["code"] == "1.004227" {
				ref, _ = p["documents"].([]any)[0].(map[string]any)["file"].(map[string]any)
			}
		}
		if ref["hash"] != f.Hash || ref["name"] != "Mẫu số 01.pdf" {
			t.Fatalf("export lacks the file reference: %v", ref)
		}
		other := func(t *testing.T, bs blob.Store) *catalog.Service {
			dst := catalog.NewService(dbtest.Open(t, d.Dialect(), catalog.Migrations()), clock, catalog.WithBlobs(bs))
			for _, ds := range catalog.Datasets()[:3] {
				var buf bytes.Buffer
				must[struct{}](t)(struct{}{}, svc.Export(ctx, ds, catalog.FormatJSON, &buf))
				must[catalog.ImportReport](t)(dst.Import(ctx, ds, catalog.FormatJSON, &buf, catalog.ImportOptions{}))
			}
			return dst
		}
		for _, format := range []catalog.Format{catalog.FormatJSON, catalog.FormatCSV} {
			var exp bytes.Buffer
			if err := svc.Export(ctx, catalog.DatasetProcedures, format, &exp); err != nil {
				t.Fatal(err)
			}
			// Into a database whose blob store lacks the file: a row error.
			dst := other(t, newBlobs(t))
			rep, err := dst.Import(ctx, catalog.DatasetProcedures, format, bytes.NewReader(exp.Bytes()), catalog.ImportOptions{})
			if !errors.Is(err, catalog.ErrImportRejected) || len(rep.Errors) != 1 || rep.Errors[0].Field != "documents[0].file.hash" ||
				rep.Errors[0].Code != catalog.CodeNotFound || rep.Errors[0].Line < 2 {
				t.Fatalf("%s import without the blob: %v %+v", format, err, rep.Errors)
			}
			// With the blob: the same export back.
			dst = other(t, bs)
			must[catalog.ImportReport](t)(dst.Import(ctx, catalog.DatasetProcedures, format, bytes.NewReader(exp.Bytes()), catalog.ImportOptions{}))
			var again bytes.Buffer
			if err := dst.Export(ctx, catalog.DatasetProcedures, format, &again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), exp.Bytes()) {
				t.Errorf("%s round trip differs:\n%s", format, firstDiff(exp.Bytes(), again.Bytes()))
			}
		}

		// An older export (no "file" members) keeps the stored reference;
		// an explicit null clears it, even on a published version.
		oldJSON := editDocs(t, out.Bytes(), func(code string, docs []map[string]any) {
			for _, doc := range docs {
				delete(doc, "file")
			}
		})
		rep, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, bytes.NewReader(oldJSON), catalog.ImportOptions{})
		if err != nil || rep.Unchanged != rep.Records {
			t.Fatalf("older export: %v %+v", err, rep)
		}
		if p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 1)); p.Documents[0].File == nil {
			t.Fatal("an older export erased the file reference")
		}
		nullJSON := editDocs(t, out.Bytes(), func(code string, docs []map[string]any) {
			if code == "1.004227" {
				docs[0]["file"] = nil
			}
		})
		rep, err = svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, bytes.NewReader(nullJSON), catalog.ImportOptions{})
		if err != nil || rep.Updated != 1 {
			t.Errorf("clearing import: %v %+v", err, rep)
		}
		if p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.004227", 1)); p.Documents[0].File != nil || p.Status != catalog.StatusActive {
			t.Errorf("null did not clear the reference: %+v", p.Documents[0].File)
		}
		// A published version still refuses other edits.
		edited := editDocs(t, out.Bytes(), func(code string, docs []map[string]any) {
			if code == "1.004227" {
				docs[0]["name"] = "Tờ khai khác"
			}
		})
		if _, err := svc.Import(ctx, catalog.DatasetProcedures, catalog.FormatJSON, bytes.NewReader(edited), catalog.ImportOptions{}); !errors.Is(err, catalog.ErrImportRejected) {
			t.Errorf("editing a published document: %v", err)
		}
	})
}

func TestDemoBlankForm(t *testing.T) {
	eachWithBlobs(t, func(t *testing.T, svc *catalog.Service, bs blob.Store, _ *db.DB) {
		ctx := context.Background()
		if err := catalog.LoadDemo(ctx, svc); err != nil {
			t.Fatal(err)
		}
		p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.009972", calendar.Date{}))
		f := p.Documents[0].File
		if f == nil || f.MediaType != catalog.MediaPDF || f.Name != "Đơn đề nghị cấp giấy phép xây dựng (Mẫu số 01).pdf" {
			t.Fatalf("demo form: %+v", f)
		}
		rc := must[io.ReadCloser](t)(bs.Get(ctx, f.Hash))
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || int64(len(data)) != f.Size {
			t.Fatal(err)
		}
		if mt, err := catalog.SniffForm(data); mt != catalog.MediaPDF || err != nil || !bytes.Contains(data, []byte("LiberationSerif")) {
			t.Errorf("demo form is not a PDF with the embedded font: %v", err)
		}
		for _, d := range p.Documents[1:] {
			if d.File != nil {
				t.Errorf("%s has a file", d.Name)
			}
		}
	})
}

// editDocs changes the documents of every record of a JSON export, leaving
// the other members as they are.
func editDocs(t *testing.T, export []byte, fn func(code string, docs []map[string]any)) []byte {
	t.Helper()
	var recs []map[string]json.RawMessage
	if err := json.Unmarshal(export, &recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var code string
		var docs []map[string]any
		json.Unmarshal(r["code"], &code)
		json.Unmarshal(r["documents"], &docs)
		fn(code, docs)
		r["documents"], _ = json.Marshal(docs)
	}
	b, _ := json.Marshal(recs)
	return b
}
