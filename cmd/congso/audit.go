package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/congso/congso/internal/config"
	"io"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
)

const auditUsage = `usage:
  congso audit verify              check the hash chain; exit 1 if any entry was changed, removed or reordered
  congso audit export [-from SEQ]  write entries as JSON lines to standard output (for the SOC)`

func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{auditUsage}
	}
	action, rest := args[0], args[1:]
	var from int64
	cfg, _, err := loadConfig("audit "+action, rest, stderr, func(fs *flag.FlagSet, _ *config.Config) {
		if action == "export" {
			fs.Int64Var(&from, "from", 1, "first sequence number to export")
		}
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
	switch action {
	case "verify":
		rep, err := audit.Verify(ctx, d)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, rep.String())
		if !rep.OK {
			return errors.New("audit chain broken")
		}
		return nil
	case "export":
		n, err := audit.Export(ctx, d, stdout, from)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %d entries\n", n)
		return nil
	}
	return usageError{auditUsage}
}
