package payment

import (
	"embed"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Handlers serves the payment pages, the IPN endpoint and the JSON API.
//
// Applicants reach a dossier's pages with its token (Service.Token, "t" in
// the query or form); signed-in officials who may view the dossier need
// none. The IPN endpoint has no session: the signature is its only
// authentication. Reconciliation needs payment.reconcile.
type Handlers struct {
	svc   *Service
	pages map[string]*template.Template
}

// NewHandlers returns the handlers of svc.
func NewHandlers(svc *Service) *Handlers {
	funcs := template.FuncMap{
		"vnd": web.FormatVND,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(ict).Format("15:04 02/01/2006")
		},
		"kind": func(k string) string {
			switch k {
			case MismatchMissingHere:
				return "Cổng có, ta không có"
			case MismatchMissingThere:
				return "Ta có, Cổng không có"
			case MismatchAmountDiffers:
				return "Lệch số tiền"
			case MismatchStatusDiffers:
				return "Lệch trạng thái"
			}
			return k
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"dossier", "status", "receipt_page", "reconcile", "error"} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/receipt.html", "templates/"+name+".html"))
	}
	return &Handlers{svc: svc, pages: pages}
}

// Routes registers the handlers on mux.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /payment/dossiers/{code}", h.dossierPage)
	mux.HandleFunc("POST /payment/dossiers/{code}/fees/{n}/pay", h.start)
	mux.HandleFunc("GET /payment/return/{order}", h.returnPage)
	mux.HandleFunc("GET /payment/receipts/{order}", h.receiptPage)
	mux.HandleFunc("POST /payment/ipn", h.ipn)
	mux.HandleFunc("GET /payment/admin/reconciliation", h.reconcilePage)
	mux.HandleFunc("POST /payment/admin/reconciliation", h.reconcileRun)
	mux.HandleFunc("GET /api/v1/payments/dossiers/{code}/payments", h.apiPayments)
	mux.HandleFunc("GET /api/v1/payments/reconciliation", h.apiReport)
	mux.HandleFunc("POST /api/v1/payments/reconciliation", h.apiReconcile)
}

type pageData struct {
	Title    string
	Code     string
	Token    string
	CSRF     string
	Error    string
	Fees     any
	Payments []Payment
	Payment  *Payment
	Date     string
	Report   *Report
}

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.CSRF = httpx.CSRFToken(r)
	if name == "dossier" {
		// Its "Thanh toán trực tuyến" forms end in a redirect to the payment
		// platform (another origin), which form-action 'self' would block:
		// browsers check form-action on the redirects after a form post.
		identity.RelaxFormAction(w)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	w.WriteHeader(status)
	if err := h.pages[name].ExecuteTemplate(w, name+".html", d); err != nil {
		httpx.Logger(r.Context()).Error("payment page", "page", name, "err", err)
	}
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", pageData{Title: "Không thực hiện được", Error: msg})
}

// allowed tells whether the request may see the dossier's payments.
func (h *Handlers) allowed(r *http.Request, code, token string) bool {
	if token != "" && h.svc.CheckToken(code, token) {
		return true
	}
	return h.svc.CanView(r.Context(), identity.PrincipalFrom(r.Context()), code)
}

func (h *Handlers) dossierPage(w http.ResponseWriter, r *http.Request) {
	code, t := r.PathValue("code"), r.URL.Query().Get("t")
	if !h.allowed(r, code, t) {
		h.fail(w, r, http.StatusNotFound, "Không tìm thấy hồ sơ, hoặc đường dẫn không hợp lệ.")
		return
	}
	h.showDossier(w, r, code, http.StatusOK, "")
}

func (h *Handlers) showDossier(w http.ResponseWriter, r *http.Request, code string, status int, msg string) {
	fees, err := h.svc.Fees(r.Context(), code)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	pays, err := h.svc.ForDossier(r.Context(), code)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, "dossier", pageData{Title: "Phí, lệ phí hồ sơ " + code, Code: code, Token: h.svc.Token(code),
		Fees: fees, Payments: pays, Error: msg})
}

func (h *Handlers) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, "Không tìm thấy hồ sơ hoặc giao dịch.")
		return
	}
	httpx.Logger(r.Context()).Error("payment", "err", err)
	h.fail(w, r, http.StatusBadGateway, "Chưa kết nối được Cổng thanh toán. Vui lòng thử lại sau ít phút.")
}

func (h *Handlers) start(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !h.allowed(r, code, r.PostFormValue("t")) {
		h.fail(w, r, http.StatusNotFound, "Không tìm thấy hồ sơ, hoặc đường dẫn không hợp lệ.")
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "Không có khoản phí này.")
		return
	}
	p, err := h.svc.Start(r.Context(), StartInput{DossierCode: code, FeeN: n, Actor: identity.PrincipalFrom(r.Context())})
	switch {
	case errors.Is(err, ErrAlreadyPaid):
		h.showDossier(w, r, code, http.StatusConflict, "Khoản phí này đã được nộp.")
		return
	case errors.Is(err, ErrNoFee):
		h.showDossier(w, r, code, http.StatusConflict, "Khoản phí này không thu trực tuyến.")
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, p.PayURL, http.StatusSeeOther)
}

// payment loads the order of the request if the request may see it.
func (h *Handlers) payment(w http.ResponseWriter, r *http.Request) (*Payment, string, bool) {
	p, err := h.svc.Get(r.Context(), r.PathValue("order"))
	t := r.URL.Query().Get("t")
	if err != nil || !h.allowed(r, p.DossierCode, t) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			h.serverError(w, r, err)
			return nil, "", false
		}
		h.fail(w, r, http.StatusNotFound, "Không tìm thấy giao dịch, hoặc đường dẫn không hợp lệ.")
		return nil, "", false
	}
	return &p, h.svc.Token(p.DossierCode), true
}

func (h *Handlers) returnPage(w http.ResponseWriter, r *http.Request) {
	p, tok, ok := h.payment(w, r)
	if !ok {
		return
	}
	d := pageData{Title: "Kết quả thanh toán", Payment: p, Token: tok, Code: p.DossierCode}
	if p.Status == StatusPending {
		// No automatic refresh (a page that reloads itself every few
		// seconds moves a screen reader back to the top, WCAG 2.2.1): the
		// payer checks again with the link.
		d.Title = "Đang xác nhận thanh toán"
	}
	h.render(w, r, http.StatusOK, "status", d)
}

func (h *Handlers) receiptPage(w http.ResponseWriter, r *http.Request) {
	p, tok, ok := h.payment(w, r)
	if !ok {
		return
	}
	if p.Status != StatusPaid {
		h.fail(w, r, http.StatusNotFound, "Giao dịch chưa được thanh toán nên chưa có biên lai.")
		return
	}
	h.render(w, r, http.StatusOK, "receipt_page", pageData{Title: "Biên lai " + p.OrderID, Payment: p, Token: tok, Code: p.DossierCode})
}

func (h *Handlers) ipn(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	ack, err := h.svc.HandleNotification(r.Context(), body, remote)
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrRejected):
		status = http.StatusBadRequest
		if ack.Message == ReasonBadSignature {
			status = http.StatusUnauthorized
		}
	case err != nil:
		httpx.Logger(r.Context()).Error("payment ipn", "err", err)
		status = http.StatusServiceUnavailable // the platform retries
	}
	_ = httpx.WriteJSON(w, status, ack)
}

func (h *Handlers) mayReconcile(r *http.Request) bool {
	return identity.Can(r.Context(), identity.PrincipalFrom(r.Context()), ActionReconcile, identity.ProvinceWide)
}

func dateOf(r *http.Request, now time.Time) (string, bool) {
	d := strings.TrimSpace(r.FormValue("date"))
	if d == "" {
		return now.In(ict).AddDate(0, 0, -1).Format(time.DateOnly), true
	}
	_, err := time.Parse(time.DateOnly, d)
	return d, err == nil
}

func (h *Handlers) reconcilePage(w http.ResponseWriter, r *http.Request) {
	if !h.mayReconcile(r) {
		h.fail(w, r, http.StatusForbidden, "Bạn không có quyền đối soát thanh toán.")
		return
	}
	date, ok := dateOf(r, h.svc.now())
	d := pageData{Title: "Đối soát thanh toán", Date: date}
	if !ok {
		d.Error = "Ngày không hợp lệ (định dạng YYYY-MM-DD)."
		h.render(w, r, http.StatusBadRequest, "reconcile", d)
		return
	}
	rep, err := h.svc.LastReport(r.Context(), date)
	if err == nil {
		d.Report = &rep
	} else if !errors.Is(err, ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "reconcile", d)
}

func (h *Handlers) reconcileRun(w http.ResponseWriter, r *http.Request) {
	if !h.mayReconcile(r) {
		h.fail(w, r, http.StatusForbidden, "Bạn không có quyền đối soát thanh toán.")
		return
	}
	date, ok := dateOf(r, h.svc.now())
	if !ok {
		h.render(w, r, http.StatusBadRequest, "reconcile", pageData{Title: "Đối soát thanh toán", Date: date,
			Error: "Ngày không hợp lệ (định dạng YYYY-MM-DD)."})
		return
	}
	if _, err := h.svc.Reconcile(r.Context(), date); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/payment/admin/reconciliation?date="+date, http.StatusSeeOther)
}

func (h *Handlers) apiPayments(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !h.allowed(r, code, r.URL.Query().Get("t")) {
		httpx.Error(w, r, httpx.NotFound("payment.not_found"))
		return
	}
	pays, err := h.svc.ForDossier(r.Context(), code)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if pays == nil {
		pays = []Payment{}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": pays})
}

func (h *Handlers) apiReport(w http.ResponseWriter, r *http.Request) {
	if !h.mayReconcile(r) {
		httpx.Error(w, r, httpx.Forbidden("payment.forbidden"))
		return
	}
	date, ok := dateOf(r, h.svc.now())
	if !ok {
		httpx.Error(w, r, httpx.BadRequest("payment.bad_date"))
		return
	}
	rep, err := h.svc.LastReport(r.Context(), date)
	if errors.Is(err, ErrNotFound) {
		httpx.Error(w, r, httpx.NotFound("payment.no_report"))
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, rep)
}

func (h *Handlers) apiReconcile(w http.ResponseWriter, r *http.Request) {
	if !h.mayReconcile(r) {
		httpx.Error(w, r, httpx.Forbidden("payment.forbidden"))
		return
	}
	date, ok := dateOf(r, h.svc.now())
	if !ok {
		httpx.Error(w, r, httpx.BadRequest("payment.bad_date"))
		return
	}
	rep, err := h.svc.Reconcile(r.Context(), date)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, rep)
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the module's JSON
// routes (the API and the IPN endpoint), to merge into the application's.
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
