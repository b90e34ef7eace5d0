package catalog

import (
	"embed"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

// The module's texts (problem details, field messages, page labels) join the
// shared catalogs when the package is loaded; every key starts with
// "catalog." or "error.catalog." so none can collide.
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}
