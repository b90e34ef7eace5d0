package main

import (
	"flag"
	"fmt"
	"github.com/congso/congso/internal/config"
	"io"
	"net"
	"strings"
	"time"

	"github.com/congso/congso/internal/app"
)

func cmdServe(args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	cfg, _, err := loadConfig("serve", args, stderr, func(fs *flag.FlagSet, c *config.Config) { c.ServeFlags(fs) })
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signalContext()
	defer stop()
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	var logins []app.DemoLogin
	if a.ShouldLoadDemo(ctx) {
		// The catalogs and the printed logins first; the other ~300 demo
		// staff accounts load in the background once the server is up.
		if err := a.LoadDemoFirst(ctx); err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
		a.LoadDemoInBackground()
		logins = app.DemoLogins()
	} else if a.DemoPresent(ctx) {
		logins = app.DemoLogins()
	}
	if err := a.BuildHTTP(); err != nil {
		return err
	}
	return a.Serve(ctx, func(addr net.Addr) {
		url := cfg.BaseURL
		if strings.HasSuffix(cfg.Addr, ":0") {
			url = "http://" + addr.String()
		}
		fmt.Fprintf(stdout, "congso %s ready in %s at %s\n", app.Version, time.Since(start).Round(time.Millisecond), url)
		fmt.Fprintf(stdout, "  database: %s (%s)\n", a.DB.Dialect(), redact(cfg.DatabaseURL))
		if len(logins) > 0 {
			fmt.Fprintln(stdout, "  demo logins (demo data, not for production):")
			for _, l := range logins {
				fmt.Fprintf(stdout, "    %-14s %-16s %s\n", l.Username, l.Password, l.Role)
			}
		}
		log.Info("ready", "addr", addr.String(), "startup_ms", time.Since(start).Milliseconds())
	})
}

// redact hides a password in a database URL.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":***" + u[at:]
	}
	return u
}
