// Package vnpost speaks the protocol of the postal carrier's pickup and
// delivery API (VNPost-like, "bưu chính công ích"): the wire messages, their
// HMAC-SHA256 signature over canonical fields, and the partner-side client
// (create shipment, query status).
//
// # Signature
//
// Every message is a flat set of named fields; nested parties are
// flattened with a prefix ("recipient_name"). The canonical form is the
// fields other than "signature", sorted by name, written "name=value" and
// joined with "&", values verbatim (UTF-8, amounts as decimal VND, times
// RFC 3339 UTC). The signature is the lowercase hex HMAC-SHA256 of it under
// the secret shared with the carrier. Both sides sign what they send and
// verify what they receive.
//
// Creating a shipment is idempotent at the carrier by client_ref: the same
// client_ref answers the same tracking code.
package vnpost

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
	"sort"
	"strconv"
	"strings"
	"time"
)

// API paths, relative to the carrier's base URL.
const (
	PathCreate = "/api/v1/shipments"
	PathQuery  = "/api/v1/shipments/query"
)

// Result codes.
const (
	CodeOK           = "00"
	CodeBadSignature = "97"
	CodeNotFound     = "01"
	CodeBadRequest   = "99"
)

// Shipment statuses at the carrier.
const (
	StatusCreated   = "created"    // order accepted, waiting for pickup
	StatusPickedUp  = "picked_up"  // collected at the agency
	StatusInTransit = "in_transit" // on its way
	StatusDelivered = "delivered"  // handed to the recipient
	StatusFailed    = "failed"     // a delivery attempt failed
	StatusReturned  = "returned"   // sent back to the sender
	StatusCancelled = "cancelled"
)

// ErrBadSignature means a message's signature does not verify.
var ErrBadSignature = errors.New("vnpost: bad signature")

// ErrRefused means the carrier answered a result code other than "00".
var ErrRefused = errors.New("vnpost: refused by the carrier")

// Canonical returns the canonical form of fields.
func Canonical(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fields[k]
	}
	return strings.Join(parts, "&")
}

// Sign returns the signature of fields under secret.
func Sign(secret []byte, fields map[string]string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(Canonical(fields)))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks fields["signature"] in constant time.
func Verify(secret []byte, fields map[string]string) error {
	if subtle.ConstantTimeCompare([]byte(Sign(secret, fields)), []byte(strings.ToLower(fields["signature"]))) != 1 {
		return ErrBadSignature
	}
	return nil
}

// Time formats t; ParseTime reads it back ("" is the zero time).
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ParseTime reads a time written by Time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Party is a sender or recipient.
type Party struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
}

// CreateRequest asks the carrier to pick up a parcel at the sender and
// deliver it.
type CreateRequest struct {
	PartnerCode string `json:"partner_code"`
	ClientRef   string `json:"client_ref"`
	SenderCode  string `json:"sender_code"`
	Sender      Party  `json:"sender"`
	Recipient   Party  `json:"recipient"`
	CODAmount   int64  `json:"cod_amount"`
	Note        string `json:"note"`
	Signature   string `json:"signature"`
}

// Fields returns the signed fields.
func (m CreateRequest) Fields() map[string]string {
	return map[string]string{"partner_code": m.PartnerCode, "client_ref": m.ClientRef, "sender_code": m.SenderCode,
		"sender_name": m.Sender.Name, "sender_phone": m.Sender.Phone, "sender_address": m.Sender.Address,
		"recipient_name": m.Recipient.Name, "recipient_phone": m.Recipient.Phone, "recipient_address": m.Recipient.Address,
		"cod_amount": strconv.FormatInt(m.CODAmount, 10), "note": m.Note, "signature": m.Signature}
}

// CreateResponse gives the tracking code.
type CreateResponse struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	ClientRef    string `json:"client_ref"`
	TrackingCode string `json:"tracking_code"`
	Status       string `json:"status"`
	Signature    string `json:"signature"`
}

// Fields returns the signed fields.
func (m CreateResponse) Fields() map[string]string {
	return map[string]string{"code": m.Code, "message": m.Message, "client_ref": m.ClientRef, "tracking_code": m.TrackingCode,
		"status": m.Status, "signature": m.Signature}
}

// QueryRequest asks for a shipment's status.
type QueryRequest struct {
	PartnerCode  string `json:"partner_code"`
	TrackingCode string `json:"tracking_code"`
	Signature    string `json:"signature"`
}

// Fields returns the signed fields.
func (m QueryRequest) Fields() map[string]string {
	return map[string]string{"partner_code": m.PartnerCode, "tracking_code": m.TrackingCode, "signature": m.Signature}
}

// StatusMessage is a shipment's status: the answer to a query, and the
// body of the status webhook the carrier posts.
type StatusMessage struct {
	Code         string `json:"code"`
	PartnerCode  string `json:"partner_code"`
	ClientRef    string `json:"client_ref"`
	TrackingCode string `json:"tracking_code"`
	Status       string `json:"status"`
	StatusAt     string `json:"status_at"`
	Note         string `json:"note"`
	Signature    string `json:"signature"`
}

// Fields returns the signed fields.
func (m StatusMessage) Fields() map[string]string {
	return map[string]string{"code": m.Code, "partner_code": m.PartnerCode, "client_ref": m.ClientRef,
		"tracking_code": m.TrackingCode, "status": m.Status, "status_at": m.StatusAt, "note": m.Note, "signature": m.Signature}
}

// Client is the partner side of the protocol.
type Client struct {
	BaseURL     string
	PartnerCode string
	Secret      []byte
	// HTTP is the client used; nil means one with a 15 s timeout.
	HTTP *http.Client
}

// Create asks for a shipment. Retrying with the same ClientRef is safe.
func (c *Client) Create(ctx context.Context, req CreateRequest) (CreateResponse, error) {
	req.PartnerCode = c.PartnerCode
	req.Signature = Sign(c.Secret, req.Fields())
	var resp CreateResponse
	if err := c.post(ctx, PathCreate, req, &resp); err != nil {
		return resp, fmt.Errorf("vnpost create %s: %w", req.ClientRef, err)
	}
	if err := Verify(c.Secret, resp.Fields()); err != nil {
		return resp, fmt.Errorf("vnpost create %s: answer: %w", req.ClientRef, err)
	}
	if resp.Code != CodeOK {
		return resp, fmt.Errorf("vnpost create %s: %w: %s %s", req.ClientRef, ErrRefused, resp.Code, resp.Message)
	}
	return resp, nil
}

// Query asks for a shipment's status.
func (c *Client) Query(ctx context.Context, tracking string) (StatusMessage, error) {
	req := QueryRequest{PartnerCode: c.PartnerCode, TrackingCode: tracking}
	req.Signature = Sign(c.Secret, req.Fields())
	var resp StatusMessage
	if err := c.post(ctx, PathQuery, req, &resp); err != nil {
		return resp, fmt.Errorf("vnpost query %s: %w", tracking, err)
	}
	if err := Verify(c.Secret, resp.Fields()); err != nil {
		return resp, fmt.Errorf("vnpost query %s: answer: %w", tracking, err)
	}
	if resp.Code != CodeOK {
		return resp, fmt.Errorf("vnpost query %s: %w: %s", tracking, ErrRefused, resp.Code)
	}
	return resp, nil
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
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(rb, out)
}
