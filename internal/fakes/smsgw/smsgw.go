package smsgw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Message is an accepted SMS.
type Message struct {
	ID        string    `json:"message_id"`
	Brandname string    `json:"brandname"`
	Phone     string    `json:"phone"`
	Text      string    `json:"message"`
	RequestID string    `json:"request_id"`
	Unicode   bool      `json:"unicode"`
	At        time.Time `json:"at"`
}

// Gateway is the fake gateway; it is an http.Handler (serve it with
// httptest.NewServer or http.ListenAndServe).
type Gateway struct {
	apiKey     string
	brandnames map[string]bool

	mu       sync.Mutex
	msgs     []Message
	byReq    map[string]string
	failN    int
	failCode int
	requests int
	seq      int
}

// New returns a gateway that accepts apiKey and the given brandnames.
func New(apiKey string, brandnames ...string) *Gateway {
	g := &Gateway{apiKey: apiKey, brandnames: map[string]bool{}, byReq: map[string]string{}}
	for _, b := range brandnames {
		g.brandnames[b] = true
	}
	return g
}

// FailNext makes the next n send requests fail with HTTP status (503 or
// 429 give the gateway's codes 99 and 09); n < 0 fails until Recover.
func (g *Gateway) FailNext(n, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failN, g.failCode = n, status
}

// Recover stops failing on demand.
func (g *Gateway) Recover() { g.FailNext(0, 0) }

// Messages returns the accepted messages in order.
func (g *Gateway) Messages() []Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Message(nil), g.msgs...)
}

// Requests counts the send requests received (accepted, duplicate or not).
func (g *Gateway) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

type sendRequest struct {
	Brandname string `json:"brandname"`
	Phone     string `json:"phone"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Unicode   bool   `json:"unicode"`
}

var phoneRe = regexp.MustCompile(`^84[0-9]{9}$`)

// ServeHTTP implements the API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/sms/send":
		g.send(w, r)
	case r.URL.Path == "/_fake/messages" && r.Method == http.MethodGet:
		answer(w, http.StatusOK, g.Messages())
	case r.URL.Path == "/_fake/fail" && r.Method == http.MethodPost:
		n, err1 := strconv.Atoi(r.FormValue("n"))
		st, err2 := strconv.Atoi(r.FormValue("status"))
		if err1 != nil || err2 != nil || st < 400 {
			answer(w, http.StatusBadRequest, map[string]any{"message": "n and status (>= 400) required"})
			return
		}
		g.FailNext(n, st)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_fake/recover" && r.Method == http.MethodPost:
		g.Recover()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && len(r.URL.Path) > len("/v1/sms/"):
		g.status(w, r, r.URL.Path[len("/v1/sms/"):])
	default:
		answer(w, http.StatusNotFound, map[string]any{"code": "98", "message": "not found"})
	}
}

func (g *Gateway) send(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if g.failN != 0 {
		if g.failN > 0 {
			g.failN--
		}
		code := "99"
		if g.failCode == http.StatusTooManyRequests {
			code = "09"
		}
		answer(w, g.failCode, map[string]any{"code": code, "message": "gateway unavailable (on demand)"})
		return
	}
	if r.Header.Get("X-API-Key") != g.apiKey {
		answer(w, http.StatusUnauthorized, map[string]any{"code": "01", "message": "invalid API key"})
		return
	}
	var in sendRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		answer(w, http.StatusBadRequest, map[string]any{"code": "04", "message": "malformed request"})
		return
	}
	switch {
	case !g.brandnames[in.Brandname]:
		answer(w, http.StatusBadRequest, map[string]any{"code": "02", "message": "brandname not registered"})
		return
	case !phoneRe.MatchString(in.Phone):
		answer(w, http.StatusBadRequest, map[string]any{"code": "03", "message": "invalid phone"})
		return
	case in.Message == "" || utf8.RuneCountInString(in.Message) > 612 || (!in.Unicode && !ascii(in.Message)):
		answer(w, http.StatusBadRequest, map[string]any{"code": "04", "message": "invalid message"})
		return
	}
	if id, ok := g.byReq[in.RequestID]; ok && in.RequestID != "" {
		answer(w, http.StatusOK, map[string]any{"code": "00", "message": "OK", "message_id": id, "request_id": in.RequestID, "duplicate": true})
		return
	}
	g.seq++
	m := Message{ID: fmt.Sprintf("SMS%08d", g.seq), Brandname: in.Brandname, Phone: in.Phone, Text: in.Message,
		RequestID: in.RequestID, Unicode: in.Unicode, At: time.Now().UTC()}
	g.msgs = append(g.msgs, m)
	if in.RequestID != "" {
		g.byReq[in.RequestID] = m.ID
	}
	answer(w, http.StatusOK, map[string]any{"code": "00", "message": "OK", "message_id": m.ID, "request_id": in.RequestID,
		"segments": segments(in.Message, in.Unicode)})
}

func (g *Gateway) status(w http.ResponseWriter, r *http.Request, id string) {
	if r.Header.Get("X-API-Key") != g.apiKey {
		answer(w, http.StatusUnauthorized, map[string]any{"code": "01", "message": "invalid API key"})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.msgs {
		if m.ID == id {
			answer(w, http.StatusOK, map[string]any{"code": "00", "message_id": m.ID, "phone": m.Phone, "status": "DELIVERED",
				"sent_at": m.At.Format(time.RFC3339)})
			return
		}
	}
	answer(w, http.StatusNotFound, map[string]any{"code": "98", "message": "unknown message"})
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// segments counts billing segments: 160/153 characters (GSM), 70/67
// (Unicode).
func segments(s string, unicode bool) int {
	n := utf8.RuneCountInString(s)
	one, many := 160, 153
	if unicode {
		one, many = 70, 67
	}
	if n <= one {
		return 1
	}
	return (n + many - 1) / many
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
