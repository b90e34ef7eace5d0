package httpx

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimitConfig configures [RateLimit]. The zero value allows each client 10
// requests per second with bursts of 40 and remembers 10,000 clients.
type RateLimitConfig struct {
	// Rate is how many requests per second a client may make in the long run.
	Rate float64
	// Burst is how many requests a client may make at once.
	Burst int
	// MaxClients bounds memory: beyond it the least recently seen client is
	// forgotten, which only makes the limiter more lenient toward that client.
	MaxClients int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed;
	// see [ClientIP].
	TrustedProxies []netip.Prefix
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// RateLimit limits requests per client with a token bucket kept in memory, so
// each node of a cluster limits on its own. Clients are told apart by
// [ClientIP]; IPv6 clients by their /64 network, which one subscriber usually
// owns whole. A client over its limit gets a 429 problem with Retry-After.
func RateLimit(cfg RateLimitConfig) func(http.Handler) http.Handler {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 40
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &limiter{cfg: cfg, clients: make(map[netip.Addr]*list.Element), lru: list.New()}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wait := l.take(clientKey(ClientIP(r, cfg.TrustedProxies)))
			if wait > 0 {
				seconds := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(seconds))
				WriteProblem(w, r, http.StatusTooManyRequests, "rate_limited", "seconds", seconds)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type limiter struct {
	cfg     RateLimitConfig
	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // of *bucket
	lru     *list.List                   // most recently seen first
}

type bucket struct {
	key    netip.Addr
	tokens float64
	last   time.Time
}

// take spends a token of the client's bucket and returns 0, or returns how long
// until a token will be available.
func (l *limiter) take(key netip.Addr) time.Duration {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.clients[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		elapsed := now.Sub(b.last).Seconds()
		if elapsed > 0 {
			b.tokens = min(float64(l.cfg.Burst), b.tokens+elapsed*l.cfg.Rate)
		}
		b.last = now
	} else {
		b = &bucket{key: key, tokens: float64(l.cfg.Burst), last: now}
		l.clients[key] = l.lru.PushFront(b)
		if l.lru.Len() > l.cfg.MaxClients {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.clients, oldest.Value.(*bucket).key)
		}
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.cfg.Rate * float64(time.Second))
}

// clientKey groups IPv6 addresses by /64.
func clientKey(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.Addr()
	}
	return ip
}

// ClientIP returns the address of the client that sent r. It is the peer
// address unless the peer is one of the trusted proxies; then X-Forwarded-For
// is read from right to left, skipping trusted proxies, and the first address
// that is not one is the client. An entry that does not parse stops the walk:
// the last address known to be good is returned. Without trusted proxies the
// header is ignored, since any client can write it.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ip := peerIP(r.RemoteAddr)
	if !isTrusted(ip, trusted) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip
		}
		ip = hop.Unmap()
		if !isTrusted(ip, trusted) {
			return ip
		}
	}
	return ip
}

func peerIP(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	ip, _ := netip.ParseAddr(remoteAddr)
	return ip.Unmap()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
