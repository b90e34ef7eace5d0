// Command smsgw-fake runs the fake brandname SMS gateway on a local address
// for demos and manual tests:
//
//	go run ./internal/fakes/smsgw/cmd/smsgw-fake -addr 127.0.0.1:8094 -key test-key -brandname "UBND TINH"
//
// Point congso at it with CONGSO_SMS_URL=http://127.0.0.1:8094,
// CONGSO_SMS_BRANDNAME="UBND TINH" and CONGSO_SMS_API_KEY=test-key. Every
// accepted message is logged; GET /_fake/messages lists them. Fail on
// demand: curl -X POST 'http://127.0.0.1:8094/_fake/fail?n=3&status=503'.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/congso/congso/internal/fakes/smsgw"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8094", "listen address")
	key := flag.String("key", "test-key", "API key expected in X-API-Key")
	brand := flag.String("brandname", "UBND TINH", "registered brandname")
	flag.Parse()
	gw := smsgw.New(*key, *brand)
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := len(gw.Messages())
		gw.ServeHTTP(w, r)
		if ms := gw.Messages(); len(ms) > before {
			m := ms[len(ms)-1]
			log.Printf("SMS %s to %s: %s", m.ID, m.Phone, m.Text)
		}
	})
	srv := &http.Server{Addr: *addr, Handler: logged, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sh, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sh)
	}()
	log.Printf("fake SMS gateway on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
