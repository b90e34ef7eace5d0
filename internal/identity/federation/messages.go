package federation

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
