package workflow

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"github.com/congso/congso/internal/platform/db"
)

//go:embed definitions/*.json
var shippedFS embed.FS

// The keys of the shipped definitions.
const (
	// OneStop is the default nine-step one-stop process (requirements §3).
	OneStop = "one-stop"
	// OneStopInterAgency adds parallel consultation of other agencies.
	OneStopInterAgency = "one-stop-interagency"
	// OneStopSameDay is the short process for same-day procedures.
	OneStopSameDay = "one-stop-same-day"
)

// Shipped returns the definition documents embedded in the binary, by file
// name ("one-stop.json").
func Shipped() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(shippedFS, "definitions", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := shippedFS.ReadFile(path)
		if err != nil {
			return err
		}
		out[d.Name()] = b
		return nil
	})
	return out, err
}

// InstallShipped publishes the shipped definitions that are not yet
// published (publishing is idempotent), so a fresh database can start cases
// at once. Call it at start-up after migrations.
func (s *Service) InstallShipped(ctx context.Context) error {
	docs, err := Shipped()
	if err != nil {
		return fmt.Errorf("shipped definitions: %w", err)
	}
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		for _, n := range names {
			if _, err := s.PublishTx(ctx, tx, docs[n], SystemActorID); err != nil {
				return fmt.Errorf("install %s: %w", n, err)
			}
		}
		return nil
	})
}
