package portal

import (
	"embed"
	"io/fs"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

// The portal's texts join the shared catalogs when the package is loaded;
// every key starts with "portal." so none can collide.
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// Messages returns the portal's message catalogs (for tests that check
// every key exists in every language).
func Messages() fs.FS { return messageFS }
