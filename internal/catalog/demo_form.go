package catalog

import (
	"bytes"
	"context"
	"embed"
	"fmt"

	"github.com/congso/congso/internal/platform/pdf"
)

//go:embed demoforms/*.json
var demoFormFS embed.FS

// demoFormFiles are the blank forms the demo attaches: procedure code,
// document number (1-based), template file, and the name applicants see.
var demoFormFiles = []struct {
	code, template, name string
	n                    int
}{
	{code: "1.009972", n: 1, template: "demoforms/xd-mau-01.json", name: "Đơn đề nghị cấp giấy phép xây dựng (Mẫu số 01).pdf"},
}

// demoForms renders the demo's blank forms (PDF, with the platform's
// embedded Liberation Serif font), stores them in the blob store and sets
// the references on the demo procedures. Without a blob store it does
// nothing.
func (s *Service) demoForms(ctx context.Context, procs []Procedure) error {
	if s.blobs == nil {
		return nil
	}
	for _, f := range demoFormFiles {
		src, err := demoFormFS.ReadFile(f.template)
		if err != nil {
			return err
		}
		t, err := pdf.ParseTemplate(src)
		if err != nil {
			return fmt.Errorf("demo form %s: %w", f.template, err)
		}
		b, err := t.Render(ctx, struct{}{})
		if err != nil {
			return fmt.Errorf("demo form %s: %w", f.template, err)
		}
		info, err := s.blobs.Put(ctx, bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("demo form %s: %w", f.template, err)
		}
		for i := range procs {
			if p := &procs[i]; p.Code == f.code && f.n <= len(p.Documents) {
				p.Documents[f.n-1].File = &FormFile{Hash: info.Hash, Name: f.name, MediaType: MediaPDF, Size: info.Size}
			}
		}
	}
	return nil
}
