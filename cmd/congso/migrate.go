package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/congso/congso/internal/config"
	"io"

	"github.com/congso/congso/internal/app"
	"github.com/congso/congso/internal/platform/db"
)

func cmdMigrate(args []string, stdout, stderr io.Writer) error {
	var status bool
	cfg, _, err := loadConfig("migrate", args, stderr, func(fs *flag.FlagSet, _ *config.Config) {
		fs.BoolVar(&status, "status", false, "list pending migrations without applying them")
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg.DatabaseURL, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	pend, err := d.Pending(ctx, app.Migrations())
	if err != nil {
		return err
	}
	if status {
		if len(pend) == 0 {
			fmt.Fprintln(stdout, "up to date")
		}
		for _, m := range pend {
			fmt.Fprintf(stdout, "pending %s %d %s\n", m.Module, m.Version, m.Name)
		}
		return nil
	}
	if err := d.Migrate(ctx, app.Migrations()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migrations (%s)\n", len(pend), d.Dialect())
	return nil
}
