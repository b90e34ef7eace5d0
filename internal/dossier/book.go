package dossier

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/pdf"
)

// MaxBookDays bounds the period of one tracking book (a quarter and a bit):
// a longer book is printed in several periods.
const MaxBookDays = 93

// maxBookRows bounds the rows of one tracking book.
const maxBookRows = 20000

// TrackingBookInput asks for the dossier tracking book (form 07) of a
// reception desk for the days From..To (inclusive, in Vietnam's time).
type TrackingBookInput struct {
	Unit     string
	From, To calendar.Date
	Actor    *identity.Principal
}

// TrackingBook renders form 07, the book of the dossiers a desk received in
// a period (Circular 03/2025 Annex I): per dossier its code, procedure,
// applicant, handling agency, reception, appointment, transfer, result and
// return dates. The actor needs dossier.view at the desk. The period is at
// most MaxBookDays days.
func (s *Service) TrackingBook(ctx context.Context, in TrackingBookInput) ([]byte, error) {
	var ds defects
	ds.checkEID("unit", in.Unit, true)
	switch {
	case in.From.IsZero():
		ds.add("from", CodeRequired, "Hãy chọn ngày bắt đầu.")
	case in.To.IsZero():
		ds.add("to", CodeRequired, "Hãy chọn ngày kết thúc.")
	case in.To.Before(in.From):
		ds.add("to", CodeInvalidValue, "Ngày kết thúc phải sau ngày bắt đầu.")
	case in.From.AddDays(MaxBookDays).Before(in.To):
		ds.add("to", CodeInvalidValue, "Mỗi sổ theo dõi tối đa %d ngày; hãy in theo từng quý.", MaxBookDays)
	}
	if err := ds.err(); err != nil {
		return nil, err
	}
	if err := require(ctx, in.Actor, []string{in.Unit}, ActionView); err != nil {
		return nil, err
	}
	loc := s.cal().Location()
	from, to := in.From.In(loc), in.To.AddDays(1).In(loc)
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+dossierColumns+` FROM dossiers d
WHERE d.receiving_unit = $1 AND d.received_at >= $2 AND d.received_at < $3 ORDER BY d.received_at, d.id LIMIT `+strconv.Itoa(maxBookRows+1),
		in.Unit, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("tracking book of %s: %w", in.Unit, err)
	}
	defer rows.Close()
	var list []*row
	for rows.Next() {
		r, err := scanDossier(rows)
		if err != nil {
			return nil, fmt.Errorf("tracking book of %s: %w", in.Unit, err)
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tracking book of %s: %w", in.Unit, err)
	}
	if len(list) > maxBookRows {
		return nil, refuse(ErrInvalid, "dossier.book_too_long", "more than "+strconv.Itoa(maxBookRows)+" dossiers; print a shorter period")
	}
	nm := s.newNamer(ctx, in.Actor)
	data := pdf.Data{IssuedAt: s.now(), Book: pdf.Book{From: from, To: to.Add(-time.Second)}}
	data.Issuer = pdf.Issuer{Name: nm.unit(in.Unit), Place: s.cfg.Place}
	if a, ok := nm.lookup(in.Unit); ok && a.ParentEID != "" {
		if p, ok := nm.lookup(a.ParentEID); ok {
			data.Issuer.Parent = p.Name
		}
	}
	for _, r := range list {
		br := pdf.BookRow{Code: r.Code, Procedure: r.ProcedureName, Sets: 1, Applicant: r.Applicant.Name,
			Address: r.Applicant.Address, Phone: r.Applicant.Phone, HandlingAgency: nm.unit(r.CompetentAgency),
			ReceivedAt: r.ReceivedAt, AppointmentAt: r.DueAt, TransferredAt: r.ReceivedAt, ResultReceivedAt: r.FinishedAt,
			ReturnedAt: r.ReturnedAt}
		if r.ReturnedAt.IsZero() {
			br.Note = r.Status.Label()
		}
		data.Book.Rows = append(data.Book.Rows, br)
	}
	reg, err := s.registry()
	if err != nil {
		return nil, err
	}
	tpl, err := reg.Template(pdf.FormTrackingBook, from)
	if err != nil {
		return nil, fmt.Errorf("dossier: form 07: %w", err)
	}
	b, err := tpl.Render(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("dossier: render form 07 of %s: %w", in.Unit, err)
	}
	return b, nil
}

// trackingBook serves GET /api/v1/units/{unit}/tracking-book?from=&to=.
func (h *Handlers) trackingBook(w http.ResponseWriter, r *http.Request) {
	in := TrackingBookInput{Unit: r.PathValue("unit"), Actor: principal(r)}
	var ds defects
	for _, p := range []struct {
		name string
		dst  *calendar.Date
	}{{"from", &in.From}, {"to", &in.To}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		d, err := calendar.ParseDate(v)
		if err != nil {
			ds.add(p.name, CodeInvalidFormat, "Ngày phải có dạng YYYY-MM-DD.")
			continue
		}
		*p.dst = d
	}
	if err := ds.err(); err != nil {
		apiError(w, r, err)
		return
	}
	b, err := h.svc.TrackingBook(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", MediaPDF)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{
		"filename": fmt.Sprintf("so-theo-doi-%s-%s-%s.pdf", in.Unit, in.From, in.To)}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
