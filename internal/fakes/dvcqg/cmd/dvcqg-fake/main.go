// Command dvcqg-fake runs the fake national public service portal on a local
// address for demos and manual tests:
//
//	go run ./internal/fakes/dvcqg/cmd/dvcqg-fake -addr 127.0.0.1:8091
//
// Point congso at it with CONGSO_DVCQG_URL=http://127.0.0.1:8091,
// CONGSO_DVCQG_USERNAME=congso and CONGSO_DVCQG_PASSWORD=secret.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/congso/congso/internal/fakes/dvcqg"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	user := flag.String("user", "congso", "username the province authenticates with")
	pass := flag.String("password", "secret", "password")
	flag.Parse()
	s := dvcqg.New(dvcqg.Config{Users: map[string]string{*user: *pass}})
	s.SetBaseURL("http://" + *addr)
	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		s.Close()
		sh, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sh)
	}()
	log.Printf("fake DVCQG portal on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
