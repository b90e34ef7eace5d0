// Command postal-fake runs the fake postal carrier on a local address for
// demos and manual tests:
//
//	go run ./internal/fakes/postal/cmd/postal-fake -addr 127.0.0.1:8093 -webhook http://127.0.0.1:8080/postal/webhook
//
// Point congso at it with CONGSO_POSTAL_URL=http://127.0.0.1:8093,
// CONGSO_POSTAL_PARTNER_CODE=CONGSO and CONGSO_POSTAL_SECRET=secret. Move a
// shipment: curl -d tracking_code=EB000000001VN -d status=delivered
// http://127.0.0.1:8093/_fake/advance. Failure modes: POST /_fake/mode with
// fail_creates=N, lose_answers=N, wrong_signature=1 or no_webhooks=1.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/congso/congso/internal/fakes/postal"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8093", "listen address")
	partner := flag.String("partner", "CONGSO", "partner code of the province")
	secret := flag.String("secret", "secret", "shared HMAC secret")
	webhook := flag.String("webhook", "http://127.0.0.1:8080/postal/webhook", "where status webhooks are posted")
	flag.Parse()
	s := postal.New(*partner, []byte(*secret), nil)
	s.SetWebhookURL(*webhook)
	srv := &http.Server{Addr: *addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sh, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sh)
	}()
	log.Printf("fake postal carrier on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
