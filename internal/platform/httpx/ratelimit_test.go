package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func fromIP(ip string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = ip
	return r
}

func TestRateLimitTriggers429WithRetryAfter(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)}
	h := RateLimit(RateLimitConfig{Rate: 0.5, Burst: 3, Now: clock.Now})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for i := range 3 {
		if rec := serve(h, fromIP("203.0.113.7:5000")); rec.Code != 200 {
			t.Fatalf("request %d within burst: status %d", i+1, rec.Code)
		}
	}
	rec := serve(h, fromIP("203.0.113.7:5001"))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("request over burst: status %d", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (one token at 0.5/s)", got)
	}
	if p := problemOf(t, rec); p.Code != "rate_limited" || p.Detail != "Bạn đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau 2 giây." {
		t.Errorf("problem = %+v", p)
	}

	if rec := serve(h, fromIP("198.51.100.1:80")); rec.Code != 200 {
		t.Errorf("another client is limited too: %d", rec.Code)
	}

	clock.Advance(1500 * time.Millisecond)
	if rec := serve(h, fromIP("203.0.113.7:5000")); rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("after 1.5s: status %d Retry-After %q, want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	if rec := serve(h, fromIP("203.0.113.7:5000")); rec.Code != 200 {
		t.Errorf("after the refill: status %d", rec.Code)
	}
	if rec := serve(h, fromIP("203.0.113.7:5000")); rec.Code != 429 {
		t.Errorf("refill gave more than one token: status %d", rec.Code)
	}
}

func TestRateLimitGroupsIPv6By64(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	h := RateLimit(RateLimitConfig{Rate: 1, Burst: 1, Now: clock.Now})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve(h, fromIP("[2001:db8:1:2::1]:443"))
	if rec := serve(h, fromIP("[2001:db8:1:2:ffff::9]:443")); rec.Code != 429 {
		t.Errorf("same /64: status %d, want 429", rec.Code)
	}
	if rec := serve(h, fromIP("[2001:db8:1:3::1]:443")); rec.Code != 200 {
		t.Errorf("other /64: status %d, want 200", rec.Code)
	}
}

func TestRateLimitMemoryIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	cfg := RateLimitConfig{Rate: 1, Burst: 1, MaxClients: 2, Now: clock.Now}
	h := RateLimit(cfg)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve(h, fromIP("192.0.2.1:1"))
	serve(h, fromIP("192.0.2.2:1"))
	serve(h, fromIP("192.0.2.3:1")) // evicts 192.0.2.1, the least recently seen
	if rec := serve(h, fromIP("192.0.2.3:1")); rec.Code != 429 {
		t.Errorf("recent client forgotten: %d", rec.Code)
	}
	if rec := serve(h, fromIP("192.0.2.1:1")); rec.Code != 200 {
		t.Errorf("evicted client still remembered: %d", rec.Code)
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"direct", "203.0.113.5:1234", nil, proxies, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", []string{"1.2.3.4"}, proxies, "203.0.113.5"},
		{"no trusted proxies: header ignored", "10.0.0.1:1234", []string{"1.2.3.4"}, nil, "10.0.0.1"},
		{"through one proxy", "10.0.0.1:1234", []string{"198.51.100.9"}, proxies, "198.51.100.9"},
		{"spoofed left entries skipped", "10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.9"}, proxies, "198.51.100.9"},
		{"chain of proxies", "10.0.0.1:1234", []string{"198.51.100.9, 10.1.1.1", "10.2.2.2"}, proxies, "198.51.100.9"},
		{"garbage stops the walk", "10.0.0.1:1234", []string{"198.51.100.9, nonsense, 10.1.1.1"}, proxies, "10.1.1.1"},
		{"only proxies", "10.0.0.1:1234", []string{"10.3.3.3"}, proxies, "10.3.3.3"},
		{"ipv6 proxy", "[fd00::1]:443", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"ipv4-mapped peer", "[::ffff:203.0.113.5]:80", nil, proxies, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fromIP(tt.remote)
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got.String() != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRateLimitUsesForwardedClientBehindProxy(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	h := RateLimit(RateLimitConfig{Rate: 1, Burst: 1, Now: clock.Now,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for i, client := range []string{"198.51.100.1", "198.51.100.2"} {
		r := fromIP("10.0.0.1:9000")
		r.Header.Set("X-Forwarded-For", client)
		if rec := serve(h, r); rec.Code != 200 {
			t.Errorf("client %d behind the same proxy limited: %d", i, rec.Code)
		}
	}
}
