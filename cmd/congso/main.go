// Command congso runs the congso digital-government platform.
//
//	congso serve      run the platform (embedded SQLite + local files by default)
//	congso migrate    apply database migrations (or --status)
//	congso demo       load (or --reset) the demo province
//	congso user       create accounts, grant roles, reset passwords
//	congso audit      verify or export the audit log
//	congso gateway    verify the gateway's message log, doctor, keygen, bind-client
//	congso version    print the version
//
// Settings come from CONGSO_* environment variables and flags; see
// docs/configuration.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/congso/congso/internal/app"
	"github.com/congso/congso/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `congso: digital-government platform for a province

Usage:
  congso serve   [flags]   run the platform
  congso migrate [flags]   apply database migrations (--status to list pending)
  congso demo    [flags]   load the demo province (--reset to start over, embedded only)
  congso user    ACTION    manage accounts (create, grant, revoke, reset-password, list)
  congso audit   ACTION    verify or export the audit log (verify, export)
  congso gateway ACTION    the integration gateway (verify, export, doctor, keygen, bind-client)
  congso nationalportal ACTION  the national-portal link (backfill, backfill-cancel, status)
  congso version           print the version

Run 'congso COMMAND -h' for a command's flags. Settings: docs/configuration.md.
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(rest, stdout, stderr)
	case "migrate":
		err = cmdMigrate(rest, stdout, stderr)
	case "demo":
		err = cmdDemo(rest, stdout, stderr)
	case "user":
		err = cmdUser(rest, stdin, stdout, stderr)
	case "audit":
		err = cmdAudit(rest, stdout, stderr)
	case "gateway":
		err = cmdGateway(rest, stdout, stderr)
	case "nationalportal":
		err = cmdNationalPortal(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "congso", app.Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "congso: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "congso %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(stderr, "congso %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// loadConfig reads the environment, then the flags in fs, and finishes.
func loadConfig(name string, args []string, stderr io.Writer, extra func(fs *flag.FlagSet, cfg *config.Config)) (config.Config, []string, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return cfg, nil, err
	}
	fs := flag.NewFlagSet("congso "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.Flags(fs)
	if extra != nil {
		extra(fs, &cfg)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if err := cfg.Finish(); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
