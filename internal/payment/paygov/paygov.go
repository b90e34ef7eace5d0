// Package paygov speaks the protocol of a national payment platform
// (PayGov-like, "Cổng hỗ trợ thanh toán quốc gia"): the wire messages, their
// HMAC-SHA256 signature over canonical fields, and an HTTP client for the
// merchant side (create payment, query, daily settlement list).
//
// # Signature
//
// Every message is a flat set of named fields. Its canonical form is the
// fields other than "signature", sorted by name, written "name=value" and
// joined with "&", values verbatim (UTF-8, not URL-escaped; amounts as
// decimal integers of VND; times as RFC 3339 in UTC). The signature is the
// lowercase hex HMAC-SHA256 of the canonical form under the secret the
// merchant shares with the platform. Both sides sign what they send and
// verify what they receive, comparing in constant time. The settlement list
// is signed the same way over its date, its count and a "checksum" field,
// the hex SHA-256 of its items, one "order_id|transaction_id|amount|status|paid_at"
// line each, in order, joined with "\n".
package paygov

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paths of the platform's API, relative to its base URL.
const (
	PathCreate      = "/api/v1/payments"
	PathQuery       = "/api/v1/payments/query"
	PathSettlements = "/api/v1/settlements"
)

// Result codes of the platform and of the merchant's answer to a notification.
const (
	CodeOK           = "00" // accepted
	CodeBadSignature = "97" // signature does not verify
	CodeNotFound     = "01" // unknown order
	CodeBadAmount    = "04" // amount differs from the order's
	CodeBadRequest   = "99" // anything else
)

// Transaction statuses.
const (
	StatusPending   = "pending"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
)

// ErrBadSignature means a message's signature does not verify.
var ErrBadSignature = errors.New("paygov: bad signature")

// ErrRefused means the platform answered with a result code other than "00".
var ErrRefused = errors.New("paygov: refused by the platform")

// Canonical returns the canonical form of fields (see the package comment).
func Canonical(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fields[k])
	}
	return b.String()
}

// Sign returns the signature of fields under secret.
func Sign(secret []byte, fields map[string]string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(Canonical(fields)))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks fields["signature"] in constant time.
func Verify(secret []byte, fields map[string]string) error {
	want := Sign(secret, fields)
	got := strings.ToLower(fields["signature"])
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return ErrBadSignature
	}
	return nil
}

// Time formats t for a message.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseTime reads a time written by Time; "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// CreateRequest asks the platform for a payment.
type CreateRequest struct {
	MerchantCode string `json:"merchant_code"`
	OrderID      string `json:"order_id"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	Description  string `json:"description"`
	ReturnURL    string `json:"return_url"`
	IPNURL       string `json:"ipn_url"`
	ExpireAt     string `json:"expire_at"`
	Signature    string `json:"signature"`
}

// Fields returns the signed fields.
func (m CreateRequest) Fields() map[string]string {
	return map[string]string{"merchant_code": m.MerchantCode, "order_id": m.OrderID, "amount": strconv.FormatInt(m.Amount, 10),
		"currency": m.Currency, "description": m.Description, "return_url": m.ReturnURL, "ipn_url": m.IPNURL,
		"expire_at": m.ExpireAt, "signature": m.Signature}
}

// CreateResponse is the platform's answer: where to send the payer.
type CreateResponse struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	PaymentURL    string `json:"payment_url"`
	Signature     string `json:"signature"`
}

// Fields returns the signed fields.
func (m CreateResponse) Fields() map[string]string {
	return map[string]string{"code": m.Code, "message": m.Message, "order_id": m.OrderID, "transaction_id": m.TransactionID,
		"payment_url": m.PaymentURL, "signature": m.Signature}
}

// Notification (IPN) is what the platform posts to the merchant's IPN URL
// when a transaction ends, as a JSON object.
type Notification struct {
	MerchantCode  string `json:"merchant_code"`
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	Status        string `json:"status"`
	BankCode      string `json:"bank_code"`
	PaidAt        string `json:"paid_at"`
	Signature     string `json:"signature"`
}

// Fields returns the signed fields.
func (m Notification) Fields() map[string]string {
	return map[string]string{"merchant_code": m.MerchantCode, "order_id": m.OrderID, "transaction_id": m.TransactionID,
		"amount": strconv.FormatInt(m.Amount, 10), "status": m.Status, "bank_code": m.BankCode, "paid_at": m.PaidAt,
		"signature": m.Signature}
}

// Ack is the merchant's answer to a notification.
type Ack struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// QueryRequest asks for a transaction's status by order.
type QueryRequest struct {
	MerchantCode string `json:"merchant_code"`
	OrderID      string `json:"order_id"`
	Signature    string `json:"signature"`
}

// Fields returns the signed fields.
func (m QueryRequest) Fields() map[string]string {
	return map[string]string{"merchant_code": m.MerchantCode, "order_id": m.OrderID, "signature": m.Signature}
}

// QueryResponse is a transaction's status.
type QueryResponse struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	Status        string `json:"status"`
	PaidAt        string `json:"paid_at"`
	Signature     string `json:"signature"`
}

// Fields returns the signed fields.
func (m QueryResponse) Fields() map[string]string {
	return map[string]string{"code": m.Code, "message": m.Message, "order_id": m.OrderID, "transaction_id": m.TransactionID,
		"amount": strconv.FormatInt(m.Amount, 10), "status": m.Status, "paid_at": m.PaidAt, "signature": m.Signature}
}

// SettlementItem is one transaction the platform settled on a day.
type SettlementItem struct {
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	Status        string `json:"status"`
	PaidAt        string `json:"paid_at"`
}

// Settlement is the platform's list of a day's transactions (the day in
// Vietnam, YYYY-MM-DD).
type Settlement struct {
	Code      string           `json:"code"`
	Date      string           `json:"date"`
	Count     int              `json:"count"`
	Items     []SettlementItem `json:"items"`
	Checksum  string           `json:"checksum"`
	Signature string           `json:"signature"`
}

// ItemsChecksum returns the checksum of items.
func ItemsChecksum(items []SettlementItem) string {
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = strings.Join([]string{it.OrderID, it.TransactionID, strconv.FormatInt(it.Amount, 10), it.Status, it.PaidAt}, "|")
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// Fields returns the signed fields.
func (m Settlement) Fields() map[string]string {
	return map[string]string{"code": m.Code, "date": m.Date, "count": strconv.Itoa(m.Count), "checksum": m.Checksum,
		"signature": m.Signature}
}

// Client is the merchant side of the protocol.
type Client struct {
	// BaseURL is the platform's address, without a trailing slash.
	BaseURL string
	// MerchantCode is the province's merchant code at the platform.
	MerchantCode string
	// Secret is the shared HMAC key.
	Secret []byte
	// HTTP is the client used; nil means one with a 15 s timeout.
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// Create asks for a payment; MerchantCode and Signature are filled in.
// The platform answers the same transaction for the same order ID, so a
// retry is harmless.
func (c *Client) Create(ctx context.Context, req CreateRequest) (CreateResponse, error) {
	req.MerchantCode, req.Currency = c.MerchantCode, "VND"
	req.Signature = Sign(c.Secret, req.Fields())
	var resp CreateResponse
	if err := c.post(ctx, PathCreate, req, &resp); err != nil {
		return resp, fmt.Errorf("paygov create %s: %w", req.OrderID, err)
	}
	if err := Verify(c.Secret, resp.Fields()); err != nil {
		return resp, fmt.Errorf("paygov create %s: answer: %w", req.OrderID, err)
	}
	if resp.Code != CodeOK {
		return resp, fmt.Errorf("paygov create %s: %w: %s %s", req.OrderID, ErrRefused, resp.Code, resp.Message)
	}
	return resp, nil
}

// Query asks for the status of the order's transaction.
func (c *Client) Query(ctx context.Context, orderID string) (QueryResponse, error) {
	req := QueryRequest{MerchantCode: c.MerchantCode, OrderID: orderID}
	req.Signature = Sign(c.Secret, req.Fields())
	var resp QueryResponse
	if err := c.post(ctx, PathQuery, req, &resp); err != nil {
		return resp, fmt.Errorf("paygov query %s: %w", orderID, err)
	}
	if err := Verify(c.Secret, resp.Fields()); err != nil {
		return resp, fmt.Errorf("paygov query %s: answer: %w", orderID, err)
	}
	if resp.Code != CodeOK {
		return resp, fmt.Errorf("paygov query %s: %w: %s %s", orderID, ErrRefused, resp.Code, resp.Message)
	}
	return resp, nil
}

// Settlements fetches the platform's list of the day's transactions
// (date YYYY-MM-DD, in Vietnam) and checks its signature and checksum.
func (c *Client) Settlements(ctx context.Context, date string) (Settlement, error) {
	q := map[string]string{"merchant_code": c.MerchantCode, "date": date}
	q["signature"] = Sign(c.Secret, q)
	v := url.Values{}
	for k, s := range q {
		v.Set(k, s)
	}
	var out Settlement
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+PathSettlements+"?"+v.Encode(), nil)
	if err != nil {
		return out, err
	}
	if err := c.do(req, &out); err != nil {
		return out, fmt.Errorf("paygov settlements %s: %w", date, err)
	}
	if err := Verify(c.Secret, out.Fields()); err != nil {
		return out, fmt.Errorf("paygov settlements %s: %w", date, err)
	}
	if out.Code != CodeOK {
		return out, fmt.Errorf("paygov settlements %s: %w: %s", date, ErrRefused, out.Code)
	}
	if out.Count != len(out.Items) || out.Checksum != ItemsChecksum(out.Items) || out.Date != date {
		return out, fmt.Errorf("paygov settlements %s: list does not match its checksum: %w", date, ErrBadSignature)
	}
	return out, nil
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 && len(b) == 0 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return nil
}
