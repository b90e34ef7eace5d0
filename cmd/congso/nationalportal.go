package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/db"
)

// cmdNationalPortal runs `congso nationalportal ...`: backfill requests and
// progress of the national-portal link (docs/national-portal.md). The
// servers' timer schedulers do the work.
func cmdNationalPortal(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{nationalportal.CommandUsage}
	}
	cfg, pos, err := loadConfig("nationalportal", args, stderr, nil)
	if err != nil {
		return err
	}
	s, err := nationalportal.SettingsFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if !s.Enabled {
		return errors.New("the national-portal link is off (CONGSO_DVCQG_ENABLED is not true): nothing would carry out a backfill")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg.DatabaseURL, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	by := os.Getenv("USER")
	if by == "" {
		by = "cli"
	}
	err = nationalportal.Command(ctx, d, pos, "cli:"+by, stdout)
	if errors.Is(err, nationalportal.ErrUsage) {
		return usageError{err.Error() + "\n" + nationalportal.CommandUsage}
	}
	return err
}
