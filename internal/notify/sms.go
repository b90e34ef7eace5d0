package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SMSConfig configures the SMS channel (CONGSO_SMS_*). URL empty disables
// SMS.
type SMSConfig struct {
	URL       string // CONGSO_SMS_URL: base URL of the brandname gateway (…/v1/sms/send is appended)
	Brandname string // CONGSO_SMS_BRANDNAME: the registered sender name, e.g. "UBND TINH"
	APIKey    string // CONGSO_SMS_API_KEY: sent as the X-API-Key header
	// Unicode sends Vietnamese with diacritics (CONGSO_SMS_UNICODE=true);
	// by default diacritics are removed, as most brandname contracts bill
	// Unicode at 70 characters a segment.
	Unicode bool
	// MaxLen cuts longer messages (default 3 segments: 459 characters, or
	// 201 with Unicode).
	MaxLen int
	// Timeout bounds one request (CONGSO_SMS_TIMEOUT, default 15s).
	Timeout time.Duration
	// Client is the HTTP client (default one with Timeout).
	Client *http.Client
}

// SMS is one text message to send.
type SMS struct {
	Phone     string // 84xxxxxxxxx
	Text      string
	RequestID string // stable per delivery: the gateway answers a repeat with the first message's ID
}

// SMSSender sends text messages; *SMSGateway is the real one.
type SMSSender interface {
	// SendSMS sends m and returns the gateway's message ID. Errors that
	// retrying cannot fix wrap ErrPermanent.
	SendSMS(ctx context.Context, m SMS) (string, error)
}

// SMSGateway is the client of a brandname SMS gateway's JSON API, the shape
// Vietnamese carriers' and aggregators' brandname services share:
//
//	POST {URL}/v1/sms/send
//	X-API-Key: {key}
//	{"brandname": "UBND TINH", "phone": "84912345678", "message": "…",
//	 "request_id": "congso-42", "unicode": false}
//
//	200 {"code": "00", "message": "OK", "message_id": "…", "request_id": "congso-42", "segments": 1}
//	4xx/5xx {"code": "…", "message": "…"}
//
// Codes: 00 accepted (also for a repeated request_id, with the first
// message_id and "duplicate": true), 01 bad API key, 02 brandname not
// registered, 03 invalid phone, 04 bad message (empty, too long, Unicode not
// allowed), 09 rate limited, 99 gateway error. 01–04 are permanent; 09, 99,
// other 5xx and network errors are retried.
type SMSGateway struct {
	cfg SMSConfig
}

// SMSRequest is the body of a send request.
type SMSRequest struct {
	Brandname string `json:"brandname"`
	Phone     string `json:"phone"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Unicode   bool   `json:"unicode"`
}

// SMSResponse is the gateway's answer.
type SMSResponse struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageID string `json:"message_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Segments  int    `json:"segments,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// The gateway's result codes.
const (
	SMSCodeOK           = "00"
	SMSCodeBadKey       = "01"
	SMSCodeBadBrandname = "02"
	SMSCodeBadPhone     = "03"
	SMSCodeBadMessage   = "04"
	SMSCodeRateLimited  = "09"
	SMSCodeError        = "99"
)

// NewSMSGateway checks cfg and returns a client. It does no I/O.
func NewSMSGateway(cfg SMSConfig) (*SMSGateway, error) {
	if cfg.URL == "" || cfg.Brandname == "" {
		return nil, fmt.Errorf("notify: CONGSO_SMS_URL and CONGSO_SMS_BRANDNAME are required: %w", ErrInvalid)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &SMSGateway{cfg: cfg}, nil
}

// SendSMS posts m to the gateway.
func (g *SMSGateway) SendSMS(ctx context.Context, m SMS) (string, error) {
	body, err := json.Marshal(SMSRequest{Brandname: g.cfg.Brandname, Phone: m.Phone, Message: m.Text,
		RequestID: m.RequestID, Unicode: g.cfg.Unicode})
	if err != nil {
		return "", fmt.Errorf("sms: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL+"/v1/sms/send", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-API-Key", g.cfg.APIKey)
	resp, err := g.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("sms gateway: read answer: %w", err)
	}
	var out SMSResponse
	jerr := json.Unmarshal(raw, &out)
	if resp.StatusCode == http.StatusOK && jerr == nil && out.Code == SMSCodeOK && out.MessageID != "" {
		return out.MessageID, nil
	}
	desc := fmt.Sprintf("sms gateway: HTTP %d code %q: %s", resp.StatusCode, out.Code, out.Message)
	if jerr != nil {
		desc = fmt.Sprintf("sms gateway: HTTP %d, unreadable answer", resp.StatusCode)
	}
	switch {
	case out.Code == SMSCodeBadKey || out.Code == SMSCodeBadBrandname || out.Code == SMSCodeBadPhone || out.Code == SMSCodeBadMessage:
		return "", fmt.Errorf("%s: %w", desc, ErrPermanent)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || out.Code == SMSCodeRateLimited:
		return "", errors.New(desc)
	case resp.StatusCode >= 400:
		return "", fmt.Errorf("%s: %w", desc, ErrPermanent)
	}
	return "", errors.New(desc)
}

// smsText prepares a rendered SMS for the gateway configuration.
func smsText(cfg SMSConfig, s string) string {
	max := cfg.MaxLen
	if !cfg.Unicode {
		s = Unaccent(s)
		if max == 0 {
			max = 459
		}
	} else if max == 0 {
		max = 201
	}
	return truncate(s, max)
}
