package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// BenchmarkClientCredentials measures client-credentials grants over HTTP on
// loopback: client authentication, a signed JWT access token, its row and
// the audit entry. Goal: ≥ 2,000 grants/s on 2 cores.
func BenchmarkClientCredentials(b *testing.B) {
	for _, eng := range dbtest.Engines() {
		b.Run(string(eng), func(b *testing.B) {
			t := &testing.T{}
			d := dbtest.Open(b, eng, migrations())
			s := newSite(t, d)
			s.t = t
			ctx := context.Background()
			_, secret, err := s.p.CreateClient(ctx, nil, oidc.ClientInput{ID: "bench", Name: "bench",
				GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"api"}})
			if err != nil {
				b.Fatal(err)
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			hc := &http.Client{Transport: tr}
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}.Encode()
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", s.srv.URL+oidc.PathToken, strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("bench", secret)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					// Read to the end, so the connection is reused (as a
					// real client's pool does).
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "grants/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			tr.CloseIdleConnections()
		})
	}
}

// BenchmarkPasswordLogin measures sign-ins with the production Argon2id
// parameters (identity.DefaultPasswordParams). Goal: ≥ 30/s.
func BenchmarkPasswordLogin(b *testing.B) {
	for _, eng := range dbtest.Engines() {
		b.Run(string(eng), func(b *testing.B) {
			d := dbtest.Open(b, eng, migrations())
			ids, err := identity.NewService(d, identity.Config{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := ids.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "bench",
				FullName: "Bench", Password: goodPassword}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start, cpu := time.Now(), cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := ids.Authenticate(ctx, "bench", goodPassword, identity.Client{IP: "127.0.0.1"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkVerify measures a resource server's validation of an access
// token with the JWKS cached: "cached" is a token seen before (the usual
// case: a client calls many times with one token), "first" verifies the
// signature every time. Goal: < 20 µs.
func BenchmarkVerify(b *testing.B) {
	t := &testing.T{}
	d := dbtest.Open(b, "sqlite", migrations())
	s := newSite(t, d)
	s.t = t
	ctx := context.Background()
	_, secret, err := s.p.CreateClient(ctx, nil, oidc.ClientInput{ID: "bench", Name: "bench",
		GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"api"}})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := (&clientcredentials.Config{ClientID: "bench", ClientSecret: secret, TokenURL: s.srv.URL + oidc.PathToken, Scopes: []string{"api"}}).Token(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		size int
	}{{"cached", 0}, {"first", -1}} {
		b.Run(c.name, func(b *testing.B) {
			v := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL, CacheSize: c.size})
			if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime is the CPU time (user + system) the process has used: on a shared
// machine, throughput depends on the neighbours, CPU per operation does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
