package nationalportal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
)

// inboundCursor names the cursor of the LayHoSoMoi feed.
const inboundCursor = "inbound"

// IdempotencyKey is the key under which a dossier submitted on the national
// portal is recorded, so that a redelivery never records a second dossier
// (even if the mapping row was lost).
func IdempotencyKey(nationalID string) string { return "dvcqg:" + nationalID }

// PullReport says what one pull of the inbound feed did.
type PullReport struct {
	Fetched    int `json:"fetched"`
	Created    int `json:"created"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Acked      int `json:"acked"`
}

// Pull takes in the dossiers submitted on the national portal since the
// stored cursor: for each one it downloads the files (PutFile), records the
// dossier with Submit (channel online, no actor, idempotency key from the
// national ID), keeps the mapping national ID → dossier code, moves the
// cursor past it in the same transaction, then acknowledges it to the
// portal. A dossier already mapped is skipped. A dossier the province
// cannot record (unknown procedure, bad file, invalid data) is kept as
// rejected for operators and skipped. A failure that may pass stops the pull
// before the dossier concerned; the next pull starts there.
func (s *Service) Pull(ctx context.Context) (PullReport, error) {
	var rep PullReport
	n, err := s.ackPending(ctx)
	rep.Acked += n
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "nationalportal: acknowledgements", "err", err)
	}
	after, err := cursor(ctx, s.db.Read(), inboundCursor)
	if err != nil {
		return rep, fmt.Errorf("nationalportal: read cursor: %w", err)
	}
	items, last, err := s.cfg.Portal.Inbound(ctx, after, s.cfg.InboundBatch)
	if err != nil {
		return rep, fmt.Errorf("nationalportal: pull after %d: %w", after, err)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].SoThuTu < items[j].SoThuTu })
	rep.Fetched = len(items)
	for _, h := range items {
		if h.SoThuTu <= after {
			continue
		}
		outcome, code, err := s.takeIn(ctx, h)
		if err != nil && s.stuck(h.MaHoSoQG) {
			// It has failed for InboundGiveUp: set aside for operators,
			// so the dossiers after it come in.
			s.cfg.Logger.ErrorContext(ctx, "nationalportal: inbound dossier set aside after failing too long", "national_id", h.MaHoSoQG, "err", err)
			outcome, code, err = s.reject(ctx, h, fmt.Sprintf("could not be taken in for %s: %v", s.cfg.InboundGiveUp, err))
		}
		if err != nil {
			return rep, err
		}
		s.unblock(h.MaHoSoQG)
		switch outcome {
		case "duplicate":
			rep.Duplicates++
		case "rejected":
			rep.Rejected++
		case "created":
			rep.Created++
			if err := s.acknowledge(ctx, h.MaHoSoQG, code); err == nil {
				rep.Acked++
			}
		}
		after = h.SoThuTu
	}
	if last > after && len(items) == 0 {
		if err := s.db.Tx(ctx, func(tx *db.Tx) error { return setCursor(ctx, tx, inboundCursor, last, s.cfg.Now()) }); err != nil {
			return rep, fmt.Errorf("nationalportal: move cursor: %w", err)
		}
	}
	return rep, nil
}

// RunPull pulls every interval until ctx ends (the worker of the inbound
// channel); failures are logged and retried at the next tick.
func (s *Service) RunPull(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if rep, err := s.Pull(ctx); err != nil {
			s.cfg.Logger.WarnContext(ctx, "nationalportal: pull", "err", err)
		} else if rep.Fetched > 0 {
			s.cfg.Logger.InfoContext(ctx, "nationalportal: pulled", "created", rep.Created, "duplicates", rep.Duplicates, "rejected", rep.Rejected)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeIn records one inbound dossier and answers "created", "duplicate" or
// "rejected" with the dossier code; an error means "try again later".
func (s *Service) takeIn(ctx context.Context, h HoSoMoi) (string, string, error) {
	var code, outcome string
	err := s.db.Read().QueryRowContext(ctx, `SELECT dossier_code, outcome FROM nationalportal_inbound WHERE national_id = $1`,
		h.MaHoSoQG).Scan(&code, &outcome)
	switch {
	case err == nil && outcome == "created":
		return "duplicate", code, s.db.Tx(ctx, func(tx *db.Tx) error { return setCursor(ctx, tx, inboundCursor, h.SoThuTu, s.cfg.Now()) })
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("nationalportal: inbound %s: %w", h.MaHoSoQG, err)
	}
	reject := func(reason string) (string, string, error) { return s.reject(ctx, h, reason) }
	if h.MaHoSoQG == "" {
		return reject("MaHoSoQG is empty")
	}
	mapTo := func(rc dossier.Receipt) (string, string, error) {
		err := s.db.Tx(ctx, func(tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_inbound (national_id, seq, dossier_code, outcome, error, created_at)
VALUES ($1, $2, $3, 'created', '', $4)
ON CONFLICT (national_id) DO UPDATE SET seq = excluded.seq, dossier_code = excluded.dossier_code, outcome = 'created', error = ''`,
				h.MaHoSoQG, h.SoThuTu, rc.Code, s.cfg.Now().UTC()); err != nil {
				return err
			}
			return setCursor(ctx, tx, inboundCursor, h.SoThuTu, s.cfg.Now())
		})
		if err != nil {
			return "", "", fmt.Errorf("nationalportal: map %s → %s: %w", h.MaHoSoQG, rc.Code, err)
		}
		return "created", rc.Code, nil
	}
	// A dossier submitted before a crash that came before its mapping was
	// written: it is the one, whatever changed since (the inbound unit's
	// configuration, the procedure), and its files need not come again.
	if rc, found, err := s.cfg.Dossiers.SubmittedWithKey(ctx, IdempotencyKey(h.MaHoSoQG)); err != nil {
		return "", "", fmt.Errorf("nationalportal: inbound %s: %w", h.MaHoSoQG, err)
	} else if found {
		return mapTo(rc)
	}
	files := map[string]dossier.File{}
	for _, t := range h.TaiLieuNop {
		if _, done := files[t.TepDinhKemId]; done {
			continue
		}
		f, err := s.fetch(ctx, t)
		if err != nil {
			if errors.Is(err, ErrRejected) || errors.Is(err, dossier.ErrRejectedFile) || errors.Is(err, dossier.ErrTooLarge) {
				return reject(err.Error())
			}
			return "", "", err
		}
		files[t.TepDinhKemId] = f
	}
	sub, ok := ToSubmission(h, files)
	if !ok {
		return reject("unknown LoaiDoiTuong or MaThanhPhanHoSo")
	}
	rc, err := s.cfg.Dossiers.Submit(ctx, dossier.SubmitInput{Submission: sub, Placement: s.placement(h),
		IdempotencyKey: IdempotencyKey(h.MaHoSoQG)})
	if err != nil {
		if errors.Is(err, dossier.ErrInvalid) || errors.Is(err, dossier.ErrIncomplete) || errors.Is(err, dossier.ErrIdempotencyKeyReused) {
			return reject(err.Error())
		}
		return "", "", fmt.Errorf("nationalportal: submit %s: %w", h.MaHoSoQG, err)
	}
	return mapTo(rc)
}

// reject keeps an inbound dossier as rejected, for operators, and moves
// the cursor past it.
func (s *Service) reject(ctx context.Context, h HoSoMoi, reason string) (string, string, error) {
	s.cfg.Logger.WarnContext(ctx, "nationalportal: inbound dossier rejected", "national_id", h.MaHoSoQG, "reason", reason)
	return "rejected", "", s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_inbound (national_id, seq, outcome, error, created_at)
VALUES ($1, $2, 'rejected', $3, $4)
ON CONFLICT (national_id) DO UPDATE SET seq = excluded.seq, error = excluded.error, created_at = excluded.created_at`,
			h.MaHoSoQG, h.SoThuTu, truncate(reason, 2000), s.cfg.Now().UTC()); err != nil {
			return err
		}
		return setCursor(ctx, tx, inboundCursor, h.SoThuTu, s.cfg.Now())
	})
}

// stuck notes that the inbound dossier id failed again and reports
// whether it has failed for InboundGiveUp (this node's count: a restart
// starts it again).
func (s *Service) stuck(id string) bool {
	s.blockedMu.Lock()
	defer s.blockedMu.Unlock()
	now := s.cfg.Now()
	if s.blocked.id != id {
		s.blocked.id, s.blocked.since = id, now
	}
	return now.Sub(s.blocked.since) >= s.cfg.InboundGiveUp
}

// unblock forgets the failures of an inbound dossier taken in.
func (s *Service) unblock(id string) {
	s.blockedMu.Lock()
	if s.blocked.id == id {
		s.blocked.id = ""
	}
	s.blockedMu.Unlock()
}

func (s *Service) fetch(ctx context.Context, t TaiLieu) (dossier.File, error) {
	body, err := s.cfg.Portal.Download(ctx, t.DuongDanTaiTepTin)
	if err != nil {
		return dossier.File{}, err
	}
	defer body.Close()
	f, err := s.cfg.Dossiers.PutFile(ctx, t.TenTepDinhKem, body)
	if err != nil {
		return dossier.File{}, fmt.Errorf("nationalportal: store %s: %w", t.TenTepDinhKem, err)
	}
	return f, nil
}

func (s *Service) placement(h HoSoMoi) dossier.Placement {
	if desk, ok := s.cfg.InboundDesks[h.MaCoQuanTiepNhan]; ok && h.MaCoQuanTiepNhan != "" {
		return dossier.Placement{ReceivingAgency: h.MaCoQuanTiepNhan, ReceivingUnit: desk}
	}
	return dossier.Placement{ReceivingAgency: s.cfg.InboundAgency, ReceivingUnit: s.cfg.InboundUnit}
}

func (s *Service) acknowledge(ctx context.Context, nationalID, code string) error {
	err := s.cfg.Portal.Acknowledge(ctx, nationalID, code)
	if err != nil && !errors.Is(err, ErrRejected) {
		return err
	}
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "nationalportal: acknowledgement refused", "national_id", nationalID, "code", code, "err", err)
	}
	if _, err := s.db.Write().ExecContext(ctx, `UPDATE nationalportal_inbound SET acked = TRUE WHERE national_id = $1`, nationalID); err != nil {
		return fmt.Errorf("nationalportal: mark acknowledged %s: %w", nationalID, err)
	}
	return nil
}

// ackPending sends the acknowledgements a previous pull could not send.
func (s *Service) ackPending(ctx context.Context) (int, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT national_id, dossier_code FROM nationalportal_inbound
WHERE outcome = 'created' AND NOT acked ORDER BY seq LIMIT 50`)
	if err != nil {
		return 0, err
	}
	type pair struct{ id, code string }
	var todo []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.id, &p.code); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range todo {
		if err := s.acknowledge(ctx, p.id, p.code); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// InboundRecord is a dossier of the inbound feed as the adapter recorded it.
type InboundRecord struct {
	NationalID  string    `json:"national_id"`
	Seq         int64     `json:"seq"`
	DossierCode string    `json:"dossier_code,omitempty"`
	Outcome     string    `json:"outcome"`
	Error       string    `json:"error,omitempty"`
	Acked       bool      `json:"acked"`
	At          time.Time `json:"at"`
}

// InboundDossier returns the record of a national dossier, or
// dossier.ErrNotFound.
func (s *Service) InboundDossier(ctx context.Context, nationalID string) (InboundRecord, error) {
	r := InboundRecord{NationalID: nationalID}
	err := s.db.Read().QueryRowContext(ctx, `SELECT seq, dossier_code, outcome, error, acked, created_at FROM nationalportal_inbound
WHERE national_id = $1`, nationalID).Scan(&r.Seq, &r.DossierCode, &r.Outcome, &r.Error, &r.Acked, &r.At)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("nationalportal: inbound %s: %w", nationalID, dossier.ErrNotFound)
	}
	r.At = r.At.UTC()
	return r, err
}
