package datastore

import (
	"embed"
	"io/fs"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

// The module's texts join the shared catalogs when the package is loaded;
// every key starts with "datastore." or "error.datastore." so none can
// collide.
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// Messages returns the package's message catalogs (messages/vi.json and
// messages/en.json), for completeness checks.
func Messages() fs.FS { return messageFS }
