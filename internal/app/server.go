package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve listens on the configured address, runs the background workers (unless
// the role is "web") and blocks until ctx is cancelled; then it stops accepting
// connections, finishes in-flight requests and stops the workers, within the
// shutdown timeout. ready, if not nil, is called with the bound address once
// the server accepts connections.
func (a *App) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	// Every role listens: a worker node still answers /healthz, /readyz and
	// /metrics so it can be monitored like the others.
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // uploads on slow links
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var workers sync.WaitGroup
	run := a.always
	if a.Cfg.Role == "all" || a.Cfg.Role == "worker" {
		run = append(run, a.workers...)
	}
	if a.GatewayRuntime != nil && (a.Cfg.Role == "all" || a.Cfg.Role == "gateway") {
		run = append(run, worker{name: "gateway", run: a.serveGateway})
	}
	{
		for _, w := range run {
			workers.Add(1)
			go func() {
				defer workers.Done()
				if err := w.run(workCtx); err != nil && !errors.Is(err, context.Canceled) {
					a.Log.Error("worker stopped", "worker", w.name, "err", err)
				}
			}()
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		stopWork()
		workers.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "timeout", a.Cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.Cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopWork()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		a.Log.Warn("workers did not stop in time")
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Log.Info("stopped")
	return nil
}
