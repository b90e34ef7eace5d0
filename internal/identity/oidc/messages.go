package oidc

import (
	"embed"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

// The package's texts join the shared catalogs when it is loaded; keys are
// prefixed "identity.oidc.".
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}
