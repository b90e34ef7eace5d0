package datastore

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
	"path"
	"slices"
	"strings"
)

// The media types accepted in the store: the dossier module's (a document
// uploaded here can be attached to a dossier as it is).
const (
	MediaPDF  = "application/pdf"
	MediaJPEG = "image/jpeg"
	MediaPNG  = "image/png"
)

// pdfTail is how far from the end of a PDF its last %%EOF may be.
const pdfTail = 2048

func fileErr(kind error, code, msg string) error {
	return &ValidationError{Fields: []FieldError{{Field: "file", Code: code, Message: msg}}, kind: kind}
}

// sniff checks by content (not by name or the client's claim) that data
// is a complete PDF, or a JPEG or PNG whose header decodes to a sane size,
// as the dossier module does, and returns the media type.
func sniff(data []byte, maxPixels int64) (string, error) {
	if len(data) == 0 {
		return "", fileErr(ErrRejectedFile, "empty", "Tệp rỗng.")
	}
	mt := http.DetectContentType(data)
	switch mt {
	case MediaPDF:
		tail := data[max(0, len(data)-pdfTail):]
		if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(tail, []byte("%%EOF")) {
			return "", fileErr(ErrRejectedFile, "unreadable", "Tệp PDF không đầy đủ hoặc không đọc được.")
		}
	case MediaJPEG, MediaPNG:
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || "image/"+format != mt {
			return "", fileErr(ErrRejectedFile, "unreadable", "Ảnh không đọc được.")
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
			return "", fileErr(ErrRejectedFile, "image_size", "Kích thước ảnh không hợp lệ.")
		}
	default:
		return "", fileErr(ErrRejectedFile, "type", "Chỉ nhận tệp PDF, JPEG hoặc PNG.")
	}
	return mt, nil
}

// baseName keeps the last element of a client's file name.
func baseName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// checkFile reads and checks an uploaded file: name, size, type by
// content, readable. Nothing is stored yet.
func (s *Service) checkFile(name string, r io.Reader) ([]byte, Version, error) {
	var fe fieldErrors
	name = baseName(name)
	if name == "" {
		name = "tep"
	}
	fe.text("file", name, true, 255)
	if err := fe.err(); err != nil {
		return nil, Version{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.cfg.MaxUploadBytes+1))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, Version{}, s.tooLarge()
		}
		return nil, Version{}, fmt.Errorf("read upload %q: %w", name, err)
	}
	if int64(len(data)) > s.cfg.MaxUploadBytes {
		return nil, Version{}, s.tooLarge()
	}
	mt, err := sniff(data, s.cfg.MaxImagePixels)
	if err != nil {
		return nil, Version{}, err
	}
	return data, Version{FileName: name, MediaType: mt}, nil
}

// storeFile stores a checked file in the blob store. Its hash is the
// SHA-256 of the content, the blob store's name (the dossier module's
// scheme), so a document of the store and a dossier component can share
// one blob.
func (s *Service) storeFile(ctx context.Context, data []byte, v Version) (Version, error) {
	info, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return Version{}, fmt.Errorf("store upload %q: %w", v.FileName, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != info.Hash {
		return Version{}, fmt.Errorf("store upload %q: blob store returned hash %s for different content", v.FileName, info.Hash)
	}
	v.Hash, v.Size = info.Hash, info.Size
	return v, nil
}

// putFile checks the fields (check) and the file together, so that every
// problem is reported at once, and stores the file only when all is well.
func (s *Service) putFile(ctx context.Context, check func() error, name string, r io.Reader) (Version, error) {
	ferr := check()
	var data []byte
	var v Version
	var err error
	if r != nil {
		data, v, err = s.checkFile(name, r)
	}
	var fv, ev *ValidationError
	switch {
	case ferr == nil && err == nil:
		return s.storeFile(ctx, data, v)
	case err != nil && !errors.As(err, &ev):
		return Version{}, err
	case ferr != nil && !errors.As(ferr, &fv):
		return Version{}, ferr
	case fv == nil:
		return Version{}, ev
	case ev == nil:
		return Version{}, fv
	}
	// Both: the fields first, then the file; a refused file keeps its kind.
	return Version{}, &ValidationError{Fields: append(slices.Clone(fv.Fields), ev.Fields...), kind: ev.kind}
}

func (s *Service) tooLarge() error {
	return fileErr(ErrTooLarge, "too_large", fmt.Sprintf("Tệp vượt quá %d MB.", s.cfg.MaxUploadBytes>>20))
}
