package dossier

import (
	"embed"

	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// Message returns the user-facing message of e in lang. Refusals that come
// from the workflow engine keep the engine's message codes.
func (e *Error) Message(lang i18n.Lang) string { return i18n.T(lang, e.Code, e.Args...) }
