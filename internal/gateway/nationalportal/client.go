package nationalportal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Portal is what the adapter needs from the national portal. Client speaks
// the legacy profile; a newer REST profile would be another implementation.
type Portal interface {
	// Upsert creates or replaces dossiers (idempotent by MaHoSo).
	Upsert(ctx context.Context, list []HoSo) error
	// UpdateProgress creates or replaces progress entries (idempotent by
	// dossier, time, status and text).
	UpdateProgress(ctx context.Context, list []TienDo) error
	// Lookup returns the dossiers the portal holds among codes.
	Lookup(ctx context.Context, codes []string) ([]HoSo, error)
	// List returns the dossiers the portal holds received in [from, to).
	List(ctx context.Context, from, to time.Time) ([]HoSo, error)
	// Inbound returns up to limit dossiers submitted on the portal after
	// sequence number after, and the last sequence number returned.
	Inbound(ctx context.Context, after int64, limit int) ([]HoSoMoi, int64, error)
	// Acknowledge tells the portal which province dossier a national one became.
	Acknowledge(ctx context.Context, nationalID, code string) error
	// Download opens a file of an inbound dossier. The caller closes it.
	Download(ctx context.Context, link string) (io.ReadCloser, error)
}

// ErrUnavailable reports a failure that may pass: the portal did not answer,
// timed out, answered 5xx, or refused our session twice. Callers retry later.
var ErrUnavailable = errors.New("nationalportal: portal unavailable")

// ErrRejected reports a request the portal refused for its content (error
// code -1): retrying the same payload will fail again. See *RejectedError.
var ErrRejected = errors.New("nationalportal: rejected by the portal")

// RejectedError is a permanent refusal with the portal's list of problems.
type RejectedError struct {
	Service string
	Status  int
	Code    string
	Message string
	Errors  []FieldLoi
}

// Error describes the refusal.
func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s rejected (%d %s): %s", e.Service, e.Status, e.Code, e.Message)
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s %s: %s", f.MaHoSo, f.TruongDuLieu, f.NoiDung)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrRejected) hold.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// ClientConfig sets up a Client.
type ClientConfig struct {
	// URL is the portal's base address; /auth, /api and file links hang
	// under it.
	URL                string
	Username, Password string
	// Unit is the province's madonvi.
	Unit string
	// Timeout bounds each HTTP call (default 20s), but for file downloads.
	Timeout time.Duration
	// DownloadTimeout bounds the download of one file, body included
	// (default 10 min: a large scan on a slow link).
	DownloadTimeout time.Duration
	// HTTPClient is the transport (default a new client; the limits above
	// are set on each request).
	HTTPClient *http.Client
}

// Client speaks the portal's legacy profile: a session from POST /auth,
// then POST /api envelopes naming a service. It is safe for concurrent use.
type Client struct {
	cfg ClientConfig
	hc  *http.Client

	mu      sync.Mutex
	session string
}

// NewClient returns a Client. It does no I/O.
func NewClient(cfg ClientConfig) *Client {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.DownloadTimeout <= 0 {
		cfg.DownloadTimeout = 10 * time.Minute
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, hc: hc}
}

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

func (c *Client) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": c.cfg.Username, "password": c.cfg.Password})
	status, raw, err := c.post(ctx, "/auth", body)
	if err != nil {
		return "", err
	}
	var resp Response
	_ = json.Unmarshal(raw, &resp) // a non-JSON answer fails the check below
	if status != http.StatusOK || resp.ErrorCode != "0" || resp.Session == "" {
		// Wrong credentials are an operator's problem: keep retrying (and
		// dead-lettering) rather than marking dossiers as rejected.
		return "", unavailable("login: %d %s %s", status, resp.ErrorCode, resp.Message)
	}
	c.mu.Lock()
	c.session = resp.Session
	c.mu.Unlock()
	return resp.Session, nil
}

func (c *Client) currentSession(ctx context.Context) (string, error) {
	c.mu.Lock()
	s := c.session
	c.mu.Unlock()
	if s != "" {
		return s, nil
	}
	return c.login(ctx)
}

func (c *Client) dropSession(s string) {
	c.mu.Lock()
	if c.session == s {
		c.session = ""
	}
	c.mu.Unlock()
}

// post sends body and returns the status and the answer; transport
// failures are ErrUnavailable.
func (c *Client) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("nationalportal: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, unavailable("%s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return 0, nil, unavailable("%s: read answer: %v", path, err)
	}
	return res.StatusCode, b, nil
}

// answer is a Response whose data is kept raw for the caller to decode.
type answer struct {
	Response
	Data json.RawMessage `json:"data"`
}

// call sends one service request, logging in (again) when needed, and
// decodes the answer's data into data (if not nil).
func (c *Client) call(ctx context.Context, service string, isUpdating bool, payload, data any) (Response, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Response{}, fmt.Errorf("nationalportal: %s: encode: %w", service, err)
	}
	for attempt := 0; ; attempt++ {
		sess, err := c.currentSession(ctx)
		if err != nil {
			return Response{}, err
		}
		body, _ := json.Marshal(Request{Session: sess, MaDonVi: c.cfg.Unit, Service: service, IsUpdating: isUpdating, Data: raw})
		status, b, err := c.post(ctx, "/api", body)
		if err != nil {
			return Response{}, fmt.Errorf("%s: %w", service, err)
		}
		var resp answer
		if err := json.Unmarshal(b, &resp); err != nil {
			return Response{}, unavailable("%s: answer %d is not JSON: %v", service, status, err)
		}
		switch {
		case status == http.StatusUnauthorized && attempt == 0:
			c.dropSession(sess)
			continue
		case status == http.StatusOK && resp.ErrorCode == "0":
			if data != nil && len(resp.Data) > 0 {
				if err := json.Unmarshal(resp.Data, data); err != nil {
					return Response{}, unavailable("%s: data: %v", service, err)
				}
			}
			return resp.Response, nil
		case status == http.StatusBadRequest && resp.ErrorCode == "-1":
			return Response{}, &RejectedError{Service: service, Status: status, Code: resp.ErrorCode, Message: resp.Message, Errors: resp.Errors}
		default:
			return Response{}, unavailable("%s: %d %s %s", service, status, resp.ErrorCode, resp.Message)
		}
	}
}

// Upsert implements Portal (DongBoHoSoMC, always with isUpdating=true so
// that a retry of a first sync is an update, not a conflict).
func (c *Client) Upsert(ctx context.Context, list []HoSo) error {
	_, err := c.call(ctx, ServiceUpsert, true, list, nil)
	return err
}

// UpdateProgress implements Portal (CapNhatTienDoHoSoMC).
func (c *Client) UpdateProgress(ctx context.Context, list []TienDo) error {
	_, err := c.call(ctx, ServiceProgress, true, list, nil)
	return err
}

// Lookup implements Portal (TraCuuHoSo).
func (c *Client) Lookup(ctx context.Context, codes []string) ([]HoSo, error) {
	var out []HoSo
	_, err := c.call(ctx, ServiceGet, false, map[string][]string{"MaHoSo": codes}, &out)
	return out, err
}

// List implements Portal (LayDanhSachHoSo).
func (c *Client) List(ctx context.Context, from, to time.Time) ([]HoSo, error) {
	var out []HoSo
	_, err := c.call(ctx, ServiceList, false, map[string]string{"TuNgay": FormatDate(from), "DenNgay": FormatDate(to)}, &out)
	return out, err
}

// Inbound implements Portal (LayHoSoMoi).
func (c *Client) Inbound(ctx context.Context, after int64, limit int) ([]HoSoMoi, int64, error) {
	var out []HoSoMoi
	resp, err := c.call(ctx, ServiceInbound, false, map[string]any{"SauSoThuTu": after, "SoLuong": limit}, &out)
	if err != nil {
		return nil, after, err
	}
	last := resp.SoThuTu
	if last < after {
		last = after
	}
	return out, last, nil
}

// Acknowledge implements Portal (XacNhanHoSo).
func (c *Client) Acknowledge(ctx context.Context, nationalID, code string) error {
	_, err := c.call(ctx, ServiceAck, true, map[string]string{"MaHoSoQG": nationalID, "MaHoSo": code}, nil)
	return err
}

// Download implements Portal. Only links under the portal's own address
// are followed, so the session never leaves for another host.
func (c *Client) Download(ctx context.Context, link string) (io.ReadCloser, error) {
	if !strings.HasPrefix(link, c.cfg.URL+"/") {
		return nil, &RejectedError{Service: "download", Message: "file link outside the portal: " + link}
	}
	for attempt := 0; ; attempt++ {
		sess, err := c.currentSession(ctx)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, c.cfg.DownloadTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("nationalportal: download: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+sess)
		res, err := c.hc.Do(req)
		if err != nil {
			cancel()
			return nil, unavailable("download %s: %v", link, err)
		}
		switch {
		case res.StatusCode == http.StatusOK:
			return &cancelOnClose{ReadCloser: res.Body, cancel: cancel}, nil
		case res.StatusCode == http.StatusUnauthorized && attempt == 0:
			res.Body.Close()
			cancel()
			c.dropSession(sess)
			continue
		case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
			res.Body.Close()
			cancel()
			return nil, &RejectedError{Service: "download", Status: res.StatusCode, Message: "file not found: " + link}
		default:
			res.Body.Close()
			cancel()
			return nil, unavailable("download %s: %d", link, res.StatusCode)
		}
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
