// Command payplatform-fake runs the fake payment platform on a local address
// for demos and manual tests:
//
//	go run ./internal/fakes/payplatform/cmd/payplatform-fake -addr 127.0.0.1:8092
//
// Point congso at it with CONGSO_PAYMENT_URL=http://127.0.0.1:8092,
// CONGSO_PAYMENT_MERCHANT_CODE=CONGSO and CONGSO_PAYMENT_SECRET=secret.
// Failure modes: curl -d delay=1 (or twice=1, wrong_signature=1, never=1)
// http://127.0.0.1:8092/_fake/mode; held callbacks: POST /_fake/release.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/congso/congso/internal/fakes/payplatform"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address")
	merchant := flag.String("merchant", "CONGSO", "merchant code of the province")
	secret := flag.String("secret", "secret", "shared HMAC secret")
	flag.Parse()
	s := payplatform.New(*merchant, []byte(*secret), nil)
	s.SetBaseURL("http://" + *addr)
	srv := &http.Server{Addr: *addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sh, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sh)
	}()
	log.Printf("fake payment platform on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
