package identity

import (
	"embed"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

// The module's texts (problem details, field messages, role and status
// names) join the shared catalogs when the package is loaded, like the web
// shell's: the keys are prefixed "identity." and cannot collide.
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}
