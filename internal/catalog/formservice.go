package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/db"
)

// formChecker describes the stored blob named hash as a form file (media
// type and size, name left empty), or fails with a *ValidationError.
type formChecker func(ctx context.Context, hash string) (FormFile, error)

// FormsEnabled reports whether blank form files can be uploaded and
// downloaded (a blob store was given with [WithBlobs]).
func (s *Service) FormsEnabled() bool { return s.blobs != nil }

// MaxFormBytes is the size limit of a blank form file.
func (s *Service) MaxFormBytes() int64 { return s.maxFormBytes }

// errNoStore is the refusal of a file when no blob store is configured.
func errNoStore(field string) error {
	var p problems
	p.add(field, CodeUnavailable, "Chưa cấu hình kho lưu trữ tệp nên không thể lưu mẫu đơn, tờ khai; hãy liên hệ quản trị hệ thống.")
	return p.err()
}

// checkFormBlob checks that the blob store holds hash and that its content
// is an accepted blank form; nil when no store is configured.
func (s *Service) checkFormBlob(ctx context.Context, hash string) (FormFile, error) {
	if s.blobs == nil {
		return FormFile{}, errNoStore("file")
	}
	var p problems
	info, err := s.blobs.Stat(ctx, hash)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		p.add("file.hash", CodeNotFound, "Kho lưu trữ không có tệp mã băm %s; hãy tải tệp lên trước.", hash)
		return FormFile{}, p.err()
	case err != nil:
		return FormFile{}, fmt.Errorf("stat form file %s: %w", hash, err)
	case info.Size > s.maxFormBytes:
		p.add("file.size", CodeTooLong, "Tệp %s lớn quá %s.", hash, FormatFileSize(s.maxFormBytes))
		return FormFile{}, p.err()
	}
	rc, err := s.blobs.Get(ctx, hash)
	if err != nil {
		return FormFile{}, fmt.Errorf("read form file %s: %w", hash, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, s.maxFormBytes+1))
	if err != nil {
		return FormFile{}, fmt.Errorf("read form file %s: %w", hash, err)
	}
	mt, err := SniffForm(data)
	if err != nil {
		return FormFile{}, err
	}
	return FormFile{Hash: hash, MediaType: mt, Size: int64(len(data))}, nil
}

// checkFileRefs completes and checks the file references of p: a hash some
// stored version of the code already references is taken as it is (with
// its media type and size), another one is checked in the blob store.
func checkFileRefs(ctx context.Context, p *Procedure, stored map[int]Procedure, files formChecker, bad *problems) {
	known := map[string]FormFile{}
	for _, v := range stored {
		for _, d := range v.Documents {
			if d.File != nil {
				known[d.File.Hash] = *d.File
			}
		}
	}
	for i := range p.Documents {
		f := p.Documents[i].File
		if f == nil || !blob.ValidHash(f.Hash) {
			continue // malformed hashes are reported by Validate
		}
		field := fmt.Sprintf("documents[%d].file", i)
		got, ok := known[f.Hash]
		if !ok {
			if files == nil {
				bad.add(field, CodeUnavailable, "Chưa cấu hình kho lưu trữ tệp nên không thể tham chiếu mẫu đơn, tờ khai.")
				continue
			}
			var err error
			if got, err = files(ctx, f.Hash); err != nil {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					bad.add(field, CodeInvalidValue, "Không đọc được tệp %s: %v", f.Hash, err)
					continue
				}
				for _, e := range ve.Errors {
					bad.add(field+strings.TrimPrefix(e.Field, "file"), e.Code, "%s", e.Message)
				}
				continue
			}
			known[f.Hash] = got
		}
		c := *f
		c.MediaType, c.Size = got.MediaType, got.Size
		if !hasExt(c.Name, formExtensions[c.MediaType]) {
			bad.add(field+".name", CodeInvalidValue, "Tên tệp %q không khớp loại tệp %s: cần đuôi %s.", clip(c.Name, 80),
				formKinds[c.MediaType], strings.Join(formExtensions[c.MediaType], ", "))
		}
		p.Documents[i].File = &c
	}
}

// AttachForm stores a blank form file for document n (1-based) of version
// version of a procedure, replacing any previous one. The content is
// checked by sniffing (PDF, DOC, DOCX or ODT), and its size against the
// limit. Published versions take files too: a blank form is not part of
// the legal content frozen at publication. It fails with a
// *ValidationError on field "file" when the file is refused or no blob
// store is configured, ErrNotFound for an unknown version or document.
func (s *Service) AttachForm(ctx context.Context, code string, version, n int, name string, r io.Reader) (FormFile, error) {
	if s.blobs == nil {
		return FormFile{}, errNoStore("file")
	}
	var p problems
	name = formBaseName(name)
	p.checkText("file", name, true, 255, false)
	if err := p.err(); err != nil {
		return FormFile{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.maxFormBytes+1))
	if err != nil {
		return FormFile{}, fmt.Errorf("read form file %q: %w", name, err)
	}
	if int64(len(data)) > s.maxFormBytes {
		p.add("file", CodeTooLong, "Tệp lớn quá giới hạn %s.", FormatFileSize(s.maxFormBytes))
		return FormFile{}, p.err()
	}
	mt, err := SniffForm(data)
	if err != nil {
		return FormFile{}, err
	}
	if !hasExt(name, formExtensions[mt]) {
		p.add("file", CodeInvalidValue, "Nội dung tệp %q là %s nhưng tên tệp không có đuôi %s; hãy đổi tên tệp cho đúng.", clip(name, 80),
			formKinds[mt], strings.Join(formExtensions[mt], ", "))
		return FormFile{}, p.err()
	}
	info, err := s.blobs.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return FormFile{}, fmt.Errorf("store form file %q: %w", name, err)
	}
	f := FormFile{Hash: info.Hash, Name: name, MediaType: mt, Size: info.Size}
	return f, s.setForm(ctx, code, version, n, &f)
}

// RemoveForm removes the blank form file of document n (1-based) of a
// procedure version. The blob stays in the store (other versions may use
// it).
func (s *Service) RemoveForm(ctx context.Context, code string, version, n int) error {
	return s.setForm(ctx, code, version, n, nil)
}

func (s *Service) setForm(ctx context.Context, code string, version, n int, f *FormFile) error {
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := lockCatalog(ctx, tx); err != nil {
			return err
		}
		p, err := getProcedureVersion(ctx, tx, code, version)
		if err != nil {
			return err
		}
		if n < 1 || n > len(p.Documents) {
			return fmt.Errorf("procedure %s version %d document %d: %w", code, version, n, ErrNotFound)
		}
		p.Documents[n-1].File = f
		if err := updateDocuments(ctx, tx, p); err != nil {
			return err
		}
		return bumpRevision(ctx, tx)
	})
}

// Form returns the blank form file of document n (1-based) of p and opens
// its content; the caller closes it. It fails with ErrNotFound when the
// document has no file or no blob store is configured.
func (s *Service) Form(ctx context.Context, p Procedure, n int) (FormFile, io.ReadCloser, error) {
	if s.blobs == nil || n < 1 || n > len(p.Documents) || p.Documents[n-1].File == nil {
		return FormFile{}, nil, fmt.Errorf("form %d of procedure %s version %d: %w", n, p.Code, p.Version, ErrNotFound)
	}
	f := *p.Documents[n-1].File
	rc, err := s.blobs.Get(ctx, f.Hash)
	if errors.Is(err, blob.ErrNotFound) {
		return FormFile{}, nil, fmt.Errorf("form %d of procedure %s: blob %s: %w", n, p.Code, f.Hash, ErrNotFound)
	}
	if err != nil {
		return FormFile{}, nil, fmt.Errorf("open form %d of procedure %s: %w", n, p.Code, err)
	}
	return f, rc, nil
}
