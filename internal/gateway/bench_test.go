package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// BenchmarkProxy measures a call through the gateway with authentication,
// access check, quota and message log (SQLite), in parallel.
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer backend.Close()
	d := sqliteDB(b)
	n := startNode(b, d, nodeOpts{})
	seed(b, n.mgr, backend.URL)
	must(b, n.mgr.PutQuota(context.Background(), "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), RatePerSecond: 1e7, Daily: 1e9}))
	must(b, n.mgr.PutService(context.Background(), "admin", gateway.Service{ID: sid(svcID), Title: "x"}))
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	c := &http.Client{Transport: tr}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", n.srv.URL+"/r1/"+svcID+"/v1/x", nil)
			req.Header.Set("Authorization", "Bearer tok-client")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode)
			}
		}
	})
}

// BenchmarkProxyNoLog is BenchmarkProxy without the message log, to show its cost.
func BenchmarkProxyNoLog(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer backend.Close()
	d := sqliteDB(b)
	n := startNode(b, d, nodeOpts{cfg: func(c *gateway.Config) { c.Log = nil }})
	seed(b, n.mgr, backend.URL)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	c := &http.Client{Transport: tr}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", n.srv.URL+"/r1/"+svcID+"/v1/x", nil)
			req.Header.Set("Authorization", "Bearer tok-client")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
