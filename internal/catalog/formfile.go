package catalog

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"

	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/search"
)

// FormFile is the blank form (mẫu đơn, tờ khai) of a required document, a
// file applicants download and fill in: its content lives in the platform's
// blob store under Hash (SHA-256); the catalog keeps the reference. The
// media type and size are taken from the stored content, never from the
// client.
type FormFile struct {
	Hash      string `json:"hash"`
	Name      string `json:"name"`
	MediaType string `json:"media_type,omitempty"`
	Size      int64  `json:"size,omitempty"`
}

// The media types accepted for blank forms.
const (
	MediaPDF  = "application/pdf"
	MediaDOC  = "application/msword"
	MediaDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	MediaODT  = "application/vnd.oasis.opendocument.text"
)

// formExtensions are the file name extensions each media type may carry.
var formExtensions = map[string][]string{
	MediaPDF:  {".pdf"},
	MediaDOC:  {".doc"},
	MediaDOCX: {".docx"},
	MediaODT:  {".odt"},
}

// formKinds are the short names of the media types, for display ("PDF").
var formKinds = map[string]string{MediaPDF: "PDF", MediaDOC: "DOC", MediaDOCX: "DOCX", MediaODT: "ODT"}

// Kind returns the short name of the file's type ("PDF", "DOCX").
func (f FormFile) Kind() string {
	if k, ok := formKinds[f.MediaType]; ok {
		return k
	}
	return strings.ToUpper(strings.TrimPrefix(path.Ext(f.Name), "."))
}

// DefaultMaxFormBytes is the default size limit of a blank form file.
const DefaultMaxFormBytes = 10 << 20

// CodeUnavailable is the field error code of an upload refused because no
// file store is configured.
const CodeUnavailable = "unavailable"

// pdfTail is how far from the end of a PDF its %%EOF marker may be.
const pdfTail = 2048

var (
	ole2Magic    = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	wordDocument = utf16le("WordDocument")
)

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

// SniffForm finds the media type of a blank form from its content, not its
// name: a PDF (starts with %PDF- and ends with an %%EOF marker), a Word 97
// document (an OLE2 compound file with a WordDocument stream), a DOCX (a
// ZIP container with [Content_Types].xml and word/document.xml) or an ODT
// (a ZIP container whose mimetype entry says
// application/vnd.oasis.opendocument.text). Anything else is refused with a
// *ValidationError on field "file".
func SniffForm(data []byte) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		var p problems
		p.add("file", CodeInvalidValue, format, args...)
		return "", p.err()
	}
	switch {
	case len(data) == 0:
		return refuse("Tệp trống.")
	case bytes.HasPrefix(data, []byte("%PDF-")):
		if !bytes.Contains(data[max(0, len(data)-pdfTail):], []byte("%%EOF")) {
			return refuse("Tệp PDF không hoàn chỉnh (thiếu dấu kết thúc %%%%EOF).")
		}
		return MediaPDF, nil
	case bytes.HasPrefix(data, ole2Magic):
		if !bytes.Contains(data, wordDocument) {
			return refuse("Tệp Office cũ này không phải văn bản Word (.doc).")
		}
		return MediaDOC, nil
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return refuse("Tệp nén (DOCX/ODT) bị hỏng: %v.", err)
		}
		names := map[string]*zip.File{}
		for _, f := range zr.File {
			names[f.Name] = f
		}
		if names["[Content_Types].xml"] != nil && names["word/document.xml"] != nil {
			return MediaDOCX, nil
		}
		if f := names["mimetype"]; f != nil && names["content.xml"] != nil {
			rc, err := f.Open()
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(rc, 100))
				rc.Close()
				if strings.TrimSpace(string(b)) == MediaODT {
					return MediaODT, nil
				}
			}
		}
		return refuse("Tệp nén không phải văn bản DOCX hay ODT.")
	}
	return refuse("Chỉ nhận tệp PDF, DOC, DOCX hoặc ODT (kiểm tra theo nội dung tệp, không theo tên).")
}

// formBaseName keeps the last element of a client's file name (browsers on
// Windows may send a whole path).
func formBaseName(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSpace(name)
}

// checkFormFile checks a file reference; field is its path
// ("documents[0].file").
func (p *problems) checkFormFile(field string, f *FormFile) {
	if f == nil {
		return
	}
	if !blob.ValidHash(f.Hash) {
		p.add(field+".hash", CodeInvalidFormat, "Mã băm %q không hợp lệ: cần 64 chữ số hệ 16 viết thường (SHA-256).", clip(f.Hash, 80))
	}
	p.checkText(field+".name", f.Name, true, 255, false)
	if strings.ContainsAny(f.Name, `/\`) {
		p.add(field+".name", CodeInvalidChars, "Tên tệp không được chứa dấu / hoặc \\.")
	}
	if f.MediaType != "" {
		exts, ok := formExtensions[f.MediaType]
		switch {
		case !ok:
			p.add(field+".media_type", CodeInvalidValue, "Loại tệp %q không được nhận (PDF, DOC, DOCX, ODT).", clip(f.MediaType, 80))
		case !hasExt(f.Name, exts):
			p.add(field+".name", CodeInvalidValue, "Tên tệp %q không khớp loại tệp %s: cần đuôi %s.", clip(f.Name, 80), formKinds[f.MediaType], strings.Join(exts, ", "))
		}
	}
	if f.Size < 0 {
		p.add(field+".size", CodeInvalidValue, "Kích thước tệp không được âm.")
	}
}

func hasExt(name string, exts []string) bool {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return true
		}
	}
	return false
}

// stripFiles returns docs without their file references.
func stripFiles(docs []Document) []Document {
	out := make([]Document, len(docs))
	for i, d := range docs {
		d.File, d.fileSet = nil, false
		out[i] = d
	}
	return out
}

// sameFiles reports whether two versions reference the same form files.
func sameFiles(a, b Procedure) bool {
	if len(a.Documents) != len(b.Documents) {
		return false
	}
	for i := range a.Documents {
		fa, fb := a.Documents[i].File, b.Documents[i].File
		if (fa == nil) != (fb == nil) || (fa != nil && *fa != *fb) {
			return false
		}
	}
	return true
}

// keepFiles gives each document of docs that says nothing of its file
// (File nil and no explicit "file" member) the file of the matching
// document of from: the one with the same name, else the one at the same
// position if its name is no longer used. So editing a draft, or adding a
// version, keeps the blank forms of the documents that stay.
func keepFiles(docs, from []Document) {
	used := make([]bool, len(from))
	names := map[string]bool{}
	for _, d := range docs {
		names[d.Name] = true
	}
	open := func(d Document) bool { return d.File == nil && !d.fileSet }
	for i := range docs {
		if !open(docs[i]) {
			continue
		}
		for j, f := range from {
			if !used[j] && f.File != nil && f.Name == docs[i].Name {
				c := *f.File
				docs[i].File, used[j] = &c, true
				break
			}
		}
	}
	for i := range docs {
		if open(docs[i]) && i < len(from) && !used[i] && from[i].File != nil && !names[from[i].Name] {
			c := *from[i].File
			docs[i].File, used[i] = &c, true
		}
	}
}

// FormatFileSize writes a size for people: "850 B", "12 KB", "1,5 MB"
// (Vietnamese decimal comma).
func FormatFileSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%d KB", (n+512)/1024)
	}
	s := fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	return strings.Replace(s, ".", ",", 1)
}

// asciiName turns a Vietnamese file name into ASCII for the plain filename
// parameter of Content-Disposition: diacritics dropped and lower case ("Đơn" → "don"),
// other characters that need quoting replaced by "_".
func asciiName(s string) string {
	var b strings.Builder
	for _, r := range search.Fold(s) {
		switch {
		case r > unicode.MaxASCII || r < 0x20 || r == '"' || r == '\\' || r == 0x7f:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
