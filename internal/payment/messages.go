package payment

import (
	"embed"

	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// NavItems links the reconciliation page for those who may reconcile.
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/payment/admin/reconciliation", Label: "payment.nav.reconciliation", Order: 85,
		Visible: func(u *web.User) bool { return u.Can(string(ActionReconcile)) }}}
}
