// Package postal is a fake postal carrier (VNPost-like) for tests and demos:
// a separate HTTP server speaking the protocol of package vnpost. It creates
// shipments (idempotent by client_ref, like the real API), answers status
// queries, and posts signed status webhooks when a test or demo advances a
// shipment (Advance, or POST /_fake/advance with tracking_code and status).
//
// Failure modes (SetMode, or POST /_fake/mode): the next create requests
// fail with 503 before anything is created (FailCreates), or create the
// shipment and then lose the answer (LoseAnswers, a 502 with no body, as a
// timeout through a proxy would); webhooks signed with a wrong key, or never
// sent. It keeps everything in memory.
package postal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/congso/congso/internal/postal/vnpost"
)

// Mode selects failure modes.
type Mode struct {
	// FailCreates is how many next create requests fail with 503.
	FailCreates int
	// LoseAnswers is how many next create requests create the shipment but
	// answer 502 without a body.
	LoseAnswers int
	// WrongSignature signs webhooks with a wrong key.
	WrongSignature bool
	// NoWebhooks drops webhooks.
	NoWebhooks bool
}

type shipment struct {
	req      vnpost.CreateRequest
	tracking string
	status   string
	at       time.Time
}

// Server is the fake carrier.
type Server struct {
	partner string
	secret  []byte
	now     func() time.Time
	client  *http.Client

	mu       sync.Mutex
	mode     Mode
	webhook  string
	byRef    map[string]*shipment
	byTrack  map[string]*shipment
	seq      int
	requests int
	hooks    int
}

// New returns a fake carrier for one partner; now may be nil.
func New(partner string, secret []byte, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{partner: partner, secret: secret, now: now, client: &http.Client{Timeout: 10 * time.Second},
		byRef: map[string]*shipment{}, byTrack: map[string]*shipment{}}
}

// SetWebhookURL sets where status webhooks are posted (configured at the
// carrier when the partner registers).
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhook = u
	s.mu.Unlock()
}

// SetMode sets the failure modes.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// Shipments returns how many distinct shipments exist.
func (s *Server) Shipments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byRef)
}

// CreateRequests returns how many create requests arrived (failed ones included).
func (s *Server) CreateRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Handler returns the carrier's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+vnpost.PathCreate, s.create)
	mux.HandleFunc("POST "+vnpost.PathQuery, s.query)
	mux.HandleFunc("POST /_fake/mode", func(w http.ResponseWriter, r *http.Request) {
		fc, _ := strconv.Atoi(r.FormValue("fail_creates"))
		la, _ := strconv.Atoi(r.FormValue("lose_answers"))
		s.SetMode(Mode{FailCreates: fc, LoseAnswers: la, WrongSignature: r.FormValue("wrong_signature") == "1",
			NoWebhooks: r.FormValue("no_webhooks") == "1"})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_fake/advance", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Advance(r.Context(), r.FormValue("tracking_code"), r.FormValue("status")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (s *Server) answer(w http.ResponseWriter, v interface{ Fields() map[string]string }, set func(string)) {
	set(vnpost.Sign(s.secret, v.Fields()))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req vnpost.CreateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		resp := &vnpost.CreateResponse{Code: vnpost.CodeBadRequest, Message: "bad json"}
		s.answer(w, resp, func(sig string) { resp.Signature = sig })
		return
	}
	s.mu.Lock()
	s.requests++
	if s.mode.FailCreates > 0 {
		s.mode.FailCreates--
		s.mu.Unlock()
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if req.PartnerCode != s.partner || vnpost.Verify(s.secret, req.Fields()) != nil {
		s.mu.Unlock()
		resp := &vnpost.CreateResponse{Code: vnpost.CodeBadSignature, Message: "bad signature", ClientRef: req.ClientRef}
		s.answer(w, resp, func(sig string) { resp.Signature = sig })
		return
	}
	if req.ClientRef == "" || req.Recipient.Name == "" || req.Recipient.Address == "" || req.Recipient.Phone == "" {
		s.mu.Unlock()
		resp := &vnpost.CreateResponse{Code: vnpost.CodeBadRequest, Message: "missing fields", ClientRef: req.ClientRef}
		s.answer(w, resp, func(sig string) { resp.Signature = sig })
		return
	}
	sh, ok := s.byRef[req.ClientRef]
	if !ok {
		s.seq++
		sh = &shipment{req: req, tracking: fmt.Sprintf("EB%09dVN", s.seq), status: vnpost.StatusCreated, at: s.now().UTC()}
		s.byRef[req.ClientRef], s.byTrack[sh.tracking] = sh, sh
	}
	lose := s.mode.LoseAnswers > 0
	if lose {
		s.mode.LoseAnswers--
	}
	resp := &vnpost.CreateResponse{Code: vnpost.CodeOK, Message: "ok", ClientRef: req.ClientRef, TrackingCode: sh.tracking, Status: sh.status}
	s.mu.Unlock()
	if lose {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	s.answer(w, resp, func(sig string) { resp.Signature = sig })
}

func (s *Server) message(sh *shipment) *vnpost.StatusMessage {
	return &vnpost.StatusMessage{Code: vnpost.CodeOK, PartnerCode: s.partner, ClientRef: sh.req.ClientRef, TrackingCode: sh.tracking,
		Status: sh.status, StatusAt: vnpost.Time(sh.at)}
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	var req vnpost.QueryRequest
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req)
	s.mu.Lock()
	var msg *vnpost.StatusMessage
	if req.PartnerCode != s.partner || vnpost.Verify(s.secret, req.Fields()) != nil {
		msg = &vnpost.StatusMessage{Code: vnpost.CodeBadSignature}
	} else if sh, ok := s.byTrack[req.TrackingCode]; !ok {
		msg = &vnpost.StatusMessage{Code: vnpost.CodeNotFound, TrackingCode: req.TrackingCode}
	} else {
		msg = s.message(sh)
	}
	s.mu.Unlock()
	s.answer(w, msg, func(sig string) { msg.Signature = sig })
}

// Advance moves a shipment to a status and posts the webhook (per mode).
func (s *Server) Advance(ctx context.Context, tracking, status string) error {
	s.mu.Lock()
	sh, ok := s.byTrack[tracking]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("fake postal: no shipment %s", tracking)
	}
	sh.status, sh.at = status, s.now().UTC()
	msg := s.message(sh)
	mode, url := s.mode, s.webhook
	s.mu.Unlock()
	if mode.NoWebhooks || url == "" {
		return nil
	}
	key := s.secret
	if mode.WrongSignature {
		key = []byte("not-the-shared-secret")
	}
	msg.Signature = vnpost.Sign(key, msg.Fields())
	b, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	s.mu.Lock()
	s.hooks++
	s.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fake postal: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// TrackingOf returns the tracking code of a client reference ("" if none).
func (s *Server) TrackingOf(clientRef string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.byRef[clientRef]; ok {
		return sh.tracking
	}
	return ""
}
