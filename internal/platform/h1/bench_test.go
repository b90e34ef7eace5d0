package h1

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkSmallGET serves a small GET on a kept-alive loopback
// connection, through h1 and through net/http's server, with the same
// trivial handler and a client that costs next to nothing: "serial" is
// one request at a time (latency), "parallel" four connections at once
// (throughput on the machine's cores). Allocations are the server's.
//
//	go test -run '^$' -bench SmallGET -benchmem -count 5 ./internal/platform/h1/
func BenchmarkSmallGET(b *testing.B) {
	body := []byte(`{"status":"ok","id":"4b3c2a"}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	servers := []struct {
		name  string
		serve func(net.Listener) (stop func())
	}{
		{"h1", func(ln net.Listener) func() {
			s := &Server{Handler: h}
			go s.Serve(ln)
			return func() { s.Close() }
		}},
		{"net-http", func(ln net.Listener) func() {
			s := &http.Server{Handler: h}
			go s.Serve(ln)
			return func() { s.Close() }
		}},
	}
	req := []byte("GET /r1/VN/GOV/000.00.00.H01/tax/v1/status?id=1 HTTP/1.1\r\nHost: lgsp.example.vn\r\n" +
		"User-Agent: agency/1.0\r\nAccept: application/json\r\nX-Road-Client: VN/GOV/000.00.00.H02/dossier\r\n\r\n")
	for _, srv := range servers {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(srv.name+"/"+mode, func(b *testing.B) {
				ln := mustListen(b)
				defer srv.serve(ln)()
				addr := ln.Addr().String()
				b.ReportAllocs()
				if mode == "serial" {
					c := benchConn(b, addr)
					defer c.Close()
					br := bufio.NewReader(c)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if err := benchExchange(c, br, req, len(body)); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				b.SetParallelism(2) // 2×GOMAXPROCS connections
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					c := benchConn(b, addr)
					defer c.Close()
					br := bufio.NewReader(c)
					for pb.Next() {
						if err := benchExchange(c, br, req, len(body)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

func benchConn(b *testing.B, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchExchange sends req and reads the answer, checking its length.
func benchExchange(c net.Conn, br *bufio.Reader, req []byte, want int) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	n := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return errors.New("status line " + string(line))
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			if err != nil {
				return err
			}
		}
	}
	if n != want {
		return errors.New("length " + strconv.Itoa(n))
	}
	_, err := br.Discard(n)
	return err
}
