package dossier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG for image.DecodeConfig
	_ "image/png"  // registers PNG for image.DecodeConfig
	"io"
	"net/http"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
)

// The media types accepted for documents and results.
const (
	MediaPDF  = "application/pdf"
	MediaJPEG = "image/jpeg"
	MediaPNG  = "image/png"
)

// pdfTail is how far from the end of a PDF its last %%EOF marker may be
// (the specification asks for it within the last 1024 bytes; some writers
// pad more).
const pdfTail = 2048

// sniff checks that data is a PDF, JPEG or PNG by its content, not by its
// name or the client's claim (§9: upload checks), and that it is readable:
// a PDF starts with %PDF- and has an end-of-file marker near its end (a
// truncated upload has none); an image's header decodes and its size is
// sane. It returns the media type.
func sniff(data []byte, maxPixels int64) (string, error) {
	if len(data) == 0 {
		return "", refuse(ErrRejectedFile, "dossier.upload.empty", "empty file")
	}
	mt := http.DetectContentType(data)
	switch mt {
	case MediaPDF:
		tail := data[max(0, len(data)-pdfTail):]
		if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(tail, []byte("%%EOF")) {
			return "", refuse(ErrRejectedFile, "dossier.upload.unreadable_pdf", "not a complete PDF (no %%EOF at its end)")
		}
	case MediaJPEG, MediaPNG:
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || "image/"+format != mt {
			return "", refuse(ErrRejectedFile, "dossier.upload.unreadable_image", fmt.Sprintf("image does not decode: %v", err))
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
			return "", refuse(ErrRejectedFile, "dossier.upload.image_size", fmt.Sprintf("image %dx%d out of bounds", cfg.Width, cfg.Height))
		}
	default:
		return "", refuse(ErrRejectedFile, "dossier.upload.type", "content type "+mt+" not accepted", "type", mt)
	}
	return mt, nil
}

// PutFile checks an uploaded file (content type by sniffing, size, a
// readable PDF or image) and stores it in the blob store. The returned
// File's Hash is the SHA-256 of the content, to be echoed to the client so
// it can verify the upload, and names the file in components, attachments
// and results. Nothing refers to the blob yet.
func (s *Service) PutFile(ctx context.Context, name string, r io.Reader) (File, error) {
	var ds defects
	name = baseName(name)
	ds.checkText("name", name, true, 255, false)
	if err := ds.err(); err != nil {
		return File{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.cfg.MaxUploadBytes+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return File{}, refuse(ErrTooLarge, "dossier.upload.too_large", "file too large", "limit", formatSize(s.cfg.MaxUploadBytes))
		}
		return File{}, fmt.Errorf("read upload %q: %w", name, err)
	}
	if int64(len(data)) > s.cfg.MaxUploadBytes {
		return File{}, refuse(ErrTooLarge, "dossier.upload.too_large", "file too large", "limit", formatSize(s.cfg.MaxUploadBytes))
	}
	mt, err := sniff(data, s.cfg.MaxImagePixels)
	if err != nil {
		return File{}, err
	}
	info, err := s.blobs.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return File{}, fmt.Errorf("store upload %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != info.Hash {
		return File{}, fmt.Errorf("store upload %q: blob store returned hash %s for different content", name, info.Hash)
	}
	return File{Name: name, Hash: info.Hash, Size: info.Size, MediaType: mt}, nil
}

func formatSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d byte", n)
}

// AttachInput adds a file to the N-th component of a dossier: Body is
// uploaded and checked (or Hash names a file already stored with PutFile).
// Digitized marks a scan of a paper document made by the one-stop officer
// (§3 step 2.1, the 766 index's digitization).
type AttachInput struct {
	DossierCode string
	Component   int
	Name        string
	Body        io.Reader
	Hash        string
	Digitized   bool
	Actor       *identity.Principal
}

// AttachFile stores and checks a file and adds it to a component as the
// next version of its name (the previous version stays in the history).
// The actor needs dossier.receive (one-stop officers digitizing) or
// dossier.process in one of the dossier's units; the dossier must not have
// ended.
func (s *Service) AttachFile(ctx context.Context, in AttachInput) (File, error) {
	r, err := loadDossier(ctx, s.db.Read(), in.DossierCode, false)
	if err != nil {
		return File{}, err
	}
	units, err := dossierUnits(ctx, s.db.Read(), r.id)
	if err != nil {
		return File{}, err
	}
	if err := require(ctx, in.Actor, units, identity.ActionDossierReceive, identity.ActionDossierProcess); err != nil {
		return File{}, err
	}
	var f File
	if in.Body != nil {
		if f, err = s.PutFile(ctx, in.Name, in.Body); err != nil {
			return File{}, err
		}
	} else {
		if f, err = s.storedFile(ctx, in.Name, in.Hash); err != nil {
			return File{}, err
		}
	}
	f.Digitized, f.AddedBy = in.Digitized, actorID(in.Actor)
	now := ts(s.now())
	f.AddedAt = now
	var out File
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		r, err := loadDossier(ctx, tx, in.DossierCode, lockClause(tx))
		if err != nil {
			return err
		}
		if r.Ended() {
			return refuse(ErrInvalidAction, "dossier.ended", "dossier "+r.Code+" has ended")
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dossier_components WHERE dossier_id = $1 AND n = $2`, r.id, in.Component).Scan(&n); err != nil {
			return fmt.Errorf("component %d: %w", in.Component, err)
		}
		if n == 0 {
			return refuse(ErrNotFound, "dossier.component_not_found", fmt.Sprintf("no component %d", in.Component), "n", in.Component)
		}
		if out, err = addFile(ctx, tx, r.id, in.Component, f, false); err != nil {
			return err
		}
		out.Name, out.MediaType = f.Name, f.MediaType
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actorID(in.Actor), Action: AuditFileAdd, ObjectType: AuditObjectType,
			ObjectID: r.Code, Unit: r.Unit, Detail: map[string]any{"component": in.Component, "name": out.Name, "hash": out.Hash,
				"version": out.Version, "digitized": out.Digitized}})
	})
	return out, err
}

// storedFile describes a blob already stored, for a reference by hash.
func (s *Service) storedFile(ctx context.Context, name, hash string) (File, error) {
	var ds defects
	ds.checkText("name", name, true, 255, false)
	if !validHash(hash) {
		ds.add("hash", CodeInvalidFormat, "Mã băm tệp phải là SHA-256 (64 ký tự hex thường).")
	}
	if err := ds.err(); err != nil {
		return File{}, err
	}
	rc, err := s.blobs.Get(ctx, hash)
	if err != nil {
		if isBlobNotFound(err) {
			return File{}, &ValidationError{Defects: []Defect{{Field: "hash", Code: CodeFileNotFound, Message: "Tệp chưa được tải lên."}}}
		}
		return File{}, err
	}
	defer rc.Close()
	// Re-sniff a referenced blob too: only checked files become documents.
	head, err := io.ReadAll(io.LimitReader(rc, s.cfg.MaxUploadBytes+1))
	if err != nil {
		return File{}, fmt.Errorf("read blob %s: %w", hash, err)
	}
	mt, err := sniff(head, s.cfg.MaxImagePixels)
	if err != nil {
		return File{}, err
	}
	return File{Name: baseName(name), Hash: hash, Size: int64(len(head)), MediaType: mt}, nil
}

// ComponentFiles returns every version of the files of component n (all
// components when n is 0), by component, name and version.
func (s *Service) ComponentFiles(ctx context.Context, code string, n int, actor *identity.Principal) ([]File, error) {
	r, err := s.viewable(ctx, code, actor)
	if err != nil {
		return nil, err
	}
	fs, err := loadFiles(ctx, s.db.Read(), r.id, n)
	if err != nil {
		return nil, err
	}
	out := make([]File, len(fs))
	for i, f := range fs {
		out[i] = f.File
	}
	return out, nil
}

// OpenFile opens a file of a dossier (a component file, an attachment of
// an action or a result) by hash, for officials who may view the dossier.
// The caller closes the reader.
func (s *Service) OpenFile(ctx context.Context, code, hash string, actor *identity.Principal) (File, io.ReadCloser, error) {
	r, err := s.viewable(ctx, code, actor)
	if err != nil {
		return File{}, nil, err
	}
	f, ok, err := s.fileOf(ctx, r, hash)
	if err != nil {
		return File{}, nil, err
	}
	if !ok {
		return File{}, nil, refuse(ErrNotFound, "dossier.file_not_found", "no file "+hash+" in "+code)
	}
	rc, err := s.blobs.Get(ctx, hash)
	if err != nil {
		return File{}, nil, fmt.Errorf("open %s: %w", hash, err)
	}
	return f, rc, nil
}

// fileOf finds a file that belongs to the dossier: a component file, a
// result file or an attachment in the history.
func (s *Service) fileOf(ctx context.Context, r *row, hash string) (File, bool, error) {
	if !validHash(hash) {
		return File{}, false, nil
	}
	q := s.db.Read()
	var f File
	err := q.QueryRowContext(ctx, `SELECT name, version, hash, size, media_type, digitized, reused, added_by, added_at
FROM dossier_files WHERE dossier_id = $1 AND hash = $2 ORDER BY id LIMIT 1`, r.id, hash).
		Scan(&f.Name, &f.Version, &f.Hash, &f.Size, &f.MediaType, &f.Digitized, &f.Reused, &f.AddedBy, &f.AddedAt)
	if err == nil {
		return f, true, nil
	}
	if !isNoRows(err) {
		return File{}, false, fmt.Errorf("file %s: %w", hash, err)
	}
	res, err := loadResults(ctx, q, r.id, true)
	if err != nil {
		return File{}, false, err
	}
	for _, x := range res {
		if x.File.Hash == hash {
			return x.File, true, nil
		}
	}
	hist, err := s.wf.History(ctx, r.CaseID)
	if err != nil {
		return File{}, false, err
	}
	for _, h := range hist {
		for _, a := range h.Attachments {
			if a.Hash == hash {
				mt, size, err := s.blobType(ctx, hash)
				if err != nil {
					return File{}, false, fmt.Errorf("attachment %s: %w", hash, err)
				}
				return File{Name: a.Name, Hash: hash, Size: size, MediaType: mt, AddedBy: h.ActorID, AddedAt: h.At}, true, nil
			}
		}
	}
	return File{}, false, nil
}

// blobType sniffs the media type of a stored blob from its first bytes.
func (s *Service) blobType(ctx context.Context, hash string) (string, int64, error) {
	info, err := s.blobs.Stat(ctx, hash)
	if err != nil {
		return "", 0, err
	}
	rc, err := s.blobs.Get(ctx, hash)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", 0, err
	}
	return http.DetectContentType(head[:n]), info.Size, nil
}
