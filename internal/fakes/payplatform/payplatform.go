// Package payplatform is a fake national payment platform (PayGov-like) for
// tests and demos: a separate HTTP server speaking the protocol of package
// paygov. It creates payments, shows a payment page with "Thanh toán" (pay)
// and "Hủy" (cancel) buttons that redirect the payer to the merchant's return
// URL after posting the signed notification (IPN) to the merchant's IPN URL,
// answers status queries and serves a day's settlement list.
//
// Failure modes, set with SetMode or POST /_fake/mode (form fields delay,
// twice, wrong_signature, never = "1"): the notification is held until
// Release, sent twice, signed with a wrong key, or never sent. Tamper, Forget
// and AddForeign change the settlement list for reconciliation tests.
//
// It keeps everything in memory and is not for production.
package payplatform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/payment/paygov"
)

// Mode selects failure modes of notification delivery.
type Mode struct {
	// Delay holds notifications until Release.
	Delay bool
	// Twice sends every notification two times.
	Twice bool
	// WrongSignature signs notifications with a wrong key.
	WrongSignature bool
	// Never drops notifications.
	Never bool
}

type txn struct {
	req    paygov.CreateRequest
	id     string
	status string
	paidAt time.Time
	// listed overrides what the settlement list says (Tamper).
	listAmount int64
	listStatus string
	hidden     bool
}

// Server is the fake platform. Its zero value is not usable; call New.
type Server struct {
	merchant string
	secret   []byte
	now      func() time.Time
	client   *http.Client

	mu      sync.Mutex
	mode    Mode
	byOrder map[string]*txn
	byID    map[string]*txn
	seq     int
	held    []paygov.Notification
	sent    int
	creates int
	base    string
}

// New returns a fake platform for one merchant. now may be nil (time.Now).
func New(merchant string, secret []byte, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{merchant: merchant, secret: secret, now: now, client: &http.Client{Timeout: 10 * time.Second},
		byOrder: map[string]*txn{}, byID: map[string]*txn{}}
}

// SetBaseURL sets the address the payment URLs start with (the server's own
// address, e.g. an httptest server's URL).
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.base = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// SetMode sets the failure modes of the next notifications.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

// Sent returns how many notifications were posted (each attempt).
func (s *Server) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Creates returns how many create requests were accepted (retries of the
// same order included).
func (s *Server) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// Transactions returns how many distinct transactions exist.
func (s *Server) Transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byOrder)
}

// Handler returns the platform's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+paygov.PathCreate, s.create)
	mux.HandleFunc("POST "+paygov.PathQuery, s.query)
	mux.HandleFunc("GET "+paygov.PathSettlements, s.settlements)
	mux.HandleFunc("GET /pay/{txn}", s.page)
	mux.HandleFunc("POST /pay/{txn}", s.decide)
	mux.HandleFunc("POST /_fake/mode", s.setMode)
	mux.HandleFunc("POST /_fake/release", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Release(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})
	return mux
}

func (s *Server) sign(fields map[string]string) string { return paygov.Sign(s.secret, fields) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req paygov.CreateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		s.answerCreate(w, paygov.CreateResponse{Code: paygov.CodeBadRequest, Message: "bad json"})
		return
	}
	if req.MerchantCode != s.merchant || paygov.Verify(s.secret, req.Fields()) != nil {
		s.answerCreate(w, paygov.CreateResponse{Code: paygov.CodeBadSignature, Message: "bad signature", OrderID: req.OrderID})
		return
	}
	if req.Amount <= 0 || req.OrderID == "" || req.Currency != "VND" {
		s.answerCreate(w, paygov.CreateResponse{Code: paygov.CodeBadRequest, Message: "bad amount or order", OrderID: req.OrderID})
		return
	}
	s.mu.Lock()
	t, ok := s.byOrder[req.OrderID]
	if ok && t.req.Amount != req.Amount {
		s.mu.Unlock()
		s.answerCreate(w, paygov.CreateResponse{Code: paygov.CodeBadAmount, Message: "order exists with another amount", OrderID: req.OrderID})
		return
	}
	if !ok {
		s.seq++
		t = &txn{req: req, id: fmt.Sprintf("PG%s%06d", s.now().UTC().Format("060102"), s.seq), status: paygov.StatusPending}
		s.byOrder[req.OrderID], s.byID[t.id] = t, t
	}
	s.creates++
	base := s.base
	if base == "" {
		base = "http://" + r.Host
	}
	resp := paygov.CreateResponse{Code: paygov.CodeOK, Message: "ok", OrderID: req.OrderID, TransactionID: t.id, PaymentURL: base + "/pay/" + t.id}
	s.mu.Unlock()
	s.answerCreate(w, resp)
}

func (s *Server) answerCreate(w http.ResponseWriter, resp paygov.CreateResponse) {
	resp.Signature = s.sign(resp.Fields())
	writeJSON(w, resp)
}

var pageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng thanh toán (giả lập)</title></head>
<body><main>
<h1>Cổng hỗ trợ thanh toán (giả lập)</h1>
<dl><dt>Mã giao dịch</dt><dd>{{.ID}}</dd><dt>Đơn hàng</dt><dd>{{.Order}}</dd>
<dt>Nội dung</dt><dd>{{.Description}}</dd><dt>Số tiền</dt><dd>{{.Amount}} VND</dd><dt>Trạng thái</dt><dd>{{.Status}}</dd></dl>
{{if eq .Status "pending"}}
<form method="post" action="/pay/{{.ID}}">
<button type="submit" name="action" value="pay">Thanh toán</button>
<button type="submit" name="action" value="cancel">Hủy</button>
</form>{{end}}
</main></body></html>`))

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t, ok := s.byID[r.PathValue("txn")]
	var data map[string]any
	if ok {
		data = map[string]any{"ID": t.id, "Order": t.req.OrderID, "Description": t.req.Description, "Amount": t.req.Amount, "Status": t.status}
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, data)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	ret, err := s.complete(r.Context(), r.PathValue("txn"), r.FormValue("action") == "pay")
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

// Pay completes a pending transaction as the payer pressing "Thanh toán"
// would, delivering the notification according to the mode, and returns the
// return URL the payer is sent to.
func (s *Server) Pay(ctx context.Context, orderID string) (string, error) {
	return s.completeOrder(ctx, orderID, true)
}

// Cancel is the payer pressing "Hủy".
func (s *Server) Cancel(ctx context.Context, orderID string) (string, error) {
	return s.completeOrder(ctx, orderID, false)
}

func (s *Server) completeOrder(ctx context.Context, orderID string, pay bool) (string, error) {
	s.mu.Lock()
	t, ok := s.byOrder[orderID]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("payplatform: no order %s", orderID)
	}
	return s.complete(ctx, t.id, pay)
}

func (s *Server) complete(ctx context.Context, id string, pay bool) (string, error) {
	s.mu.Lock()
	t, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("payplatform: no transaction %s", id)
	}
	if t.status == paygov.StatusPending {
		if pay {
			t.status, t.paidAt = paygov.StatusSuccess, s.now().UTC().Truncate(time.Second)
		} else {
			t.status = paygov.StatusCancelled
		}
	}
	n := paygov.Notification{MerchantCode: s.merchant, OrderID: t.req.OrderID, TransactionID: t.id, Amount: t.req.Amount,
		Status: t.status, BankCode: "NCB", PaidAt: paygov.Time(t.paidAt)}
	mode, ipn, ret := s.mode, t.req.IPNURL, t.req.ReturnURL
	if mode.WrongSignature {
		n.Signature = paygov.Sign([]byte("not-the-shared-secret"), n.Fields())
	} else {
		n.Signature = s.sign(n.Fields())
	}
	if mode.Delay {
		s.held = append(s.held, n)
	}
	s.mu.Unlock()
	if !mode.Never && !mode.Delay {
		times := 1
		if mode.Twice {
			times = 2
		}
		for range times {
			if err := s.post(ctx, ipn, n); err != nil {
				return ret, err
			}
		}
	}
	return ret, nil
}

// Release posts the held notifications (mode Delay), each once.
func (s *Server) Release(ctx context.Context) error {
	s.mu.Lock()
	held := s.held
	s.held = nil
	byOrder := map[string]string{}
	for _, n := range held {
		byOrder[n.OrderID] = s.byOrder[n.OrderID].req.IPNURL
	}
	s.mu.Unlock()
	for _, n := range held {
		if err := s.post(ctx, byOrder[n.OrderID], n); err != nil {
			return err
		}
	}
	return nil
}

// post sends a notification; the merchant's answer is not checked beyond
// HTTP, as a real platform would retry on failure.
func (s *Server) post(ctx context.Context, url string, n paygov.Notification) error {
	b, _ := json.Marshal(n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("payplatform: notify %s: %w", n.OrderID, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	var req paygov.QueryRequest
	var resp paygov.QueryResponse
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.MerchantCode != s.merchant ||
		paygov.Verify(s.secret, req.Fields()) != nil {
		resp = paygov.QueryResponse{Code: paygov.CodeBadSignature, Message: "bad request or signature"}
	} else {
		s.mu.Lock()
		t, ok := s.byOrder[req.OrderID]
		if !ok {
			resp = paygov.QueryResponse{Code: paygov.CodeNotFound, Message: "no such order", OrderID: req.OrderID}
		} else {
			status := t.status
			if status == paygov.StatusPending && t.req.ExpireAt != "" {
				if exp, err := paygov.ParseTime(t.req.ExpireAt); err == nil && !s.now().Before(exp) {
					status = paygov.StatusExpired
				}
			}
			resp = paygov.QueryResponse{Code: paygov.CodeOK, Message: "ok", OrderID: req.OrderID, TransactionID: t.id,
				Amount: t.req.Amount, Status: status, PaidAt: paygov.Time(t.paidAt)}
		}
		s.mu.Unlock()
	}
	resp.Signature = s.sign(resp.Fields())
	writeJSON(w, resp)
}

// Vietnam's time zone, in which settlement days are counted.
var ict = time.FixedZone("ICT", 7*3600)

func (s *Server) settlements(w http.ResponseWriter, r *http.Request) {
	q := map[string]string{"merchant_code": r.URL.Query().Get("merchant_code"), "date": r.URL.Query().Get("date"),
		"signature": r.URL.Query().Get("signature")}
	out := paygov.Settlement{Code: paygov.CodeOK, Date: q["date"], Items: []paygov.SettlementItem{}}
	if q["merchant_code"] != s.merchant || paygov.Verify(s.secret, q) != nil {
		out.Code = paygov.CodeBadSignature
	} else {
		s.mu.Lock()
		for _, t := range s.byOrder {
			if t.hidden || t.paidAt.IsZero() || t.paidAt.In(ict).Format(time.DateOnly) != q["date"] {
				continue
			}
			it := paygov.SettlementItem{OrderID: t.req.OrderID, TransactionID: t.id, Amount: t.req.Amount, Status: t.status,
				PaidAt: paygov.Time(t.paidAt)}
			if t.listAmount != 0 {
				it.Amount = t.listAmount
			}
			if t.listStatus != "" {
				it.Status = t.listStatus
			}
			out.Items = append(out.Items, it)
		}
		s.mu.Unlock()
		sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].OrderID < out.Items[j].OrderID })
	}
	out.Count = len(out.Items)
	out.Checksum = paygov.ItemsChecksum(out.Items)
	out.Signature = s.sign(out.Fields())
	writeJSON(w, out)
}

func (s *Server) setMode(w http.ResponseWriter, r *http.Request) {
	on := func(k string) bool { return r.FormValue(k) == "1" }
	s.SetMode(Mode{Delay: on("delay"), Twice: on("twice"), WrongSignature: on("wrong_signature"), Never: on("never")})
	w.WriteHeader(http.StatusNoContent)
}

// Tamper makes the settlement list show another amount and/or status
// (zero values keep the real ones) for an order.
func (s *Server) Tamper(orderID string, amount int64, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.byOrder[orderID]; ok {
		t.listAmount, t.listStatus = amount, status
	}
}

// Forget leaves an order out of the settlement list.
func (s *Server) Forget(orderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.byOrder[orderID]; ok {
		t.hidden = true
	}
}

// AddForeign records a paid transaction the merchant never created, paid at
// the given time.
func (s *Server) AddForeign(orderID string, amount int64, paidAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t := &txn{req: paygov.CreateRequest{MerchantCode: s.merchant, OrderID: orderID, Amount: amount, Currency: "VND"},
		id: fmt.Sprintf("PG%s%06d", paidAt.UTC().Format("060102"), s.seq), status: paygov.StatusSuccess, paidAt: paidAt.UTC()}
	s.byOrder[orderID], s.byID[t.id] = t, t
}
