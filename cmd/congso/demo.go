package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/congso/congso/internal/config"
	"io"
	"os"
	"path/filepath"

	"github.com/congso/congso/internal/app"
)

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	var reset bool
	cfg, _, err := loadConfig("demo", args, stderr, func(fs *flag.FlagSet, _ *config.Config) {
		fs.BoolVar(&reset, "reset", false, "delete the embedded database and files, then load the demo again")
	})
	if err != nil {
		return err
	}
	if reset {
		if !cfg.Embedded() {
			return usageError{"--reset only works on the embedded database; drop a PostgreSQL database yourself"}
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(cfg.DatabaseURL + suffix); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		if err := os.RemoveAll(filepath.Join(cfg.DataDir, "blobs")); err != nil {
			return err
		}
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	logins, err := a.LoadDemo(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo data loaded; logins:")
	for _, l := range logins {
		fmt.Fprintf(stdout, "  %-14s %-16s %s\n", l.Username, l.Password, l.Role)
	}
	return nil
}
