package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLoginSearchWithoutDiacriticsOpenProcedure is the foundation's main path:
// an official signs in, searches procedures typing without diacritics, and
// opens one (identity-and-data.md: shared catalogs; one-stop.md §9: search).
func TestLoginSearchWithoutDiacriticsOpenProcedure(t *testing.T) {
	s := startServer(t)
	if !strings.Contains(s.Stdout, "admin") || !strings.Contains(s.Stdout, "demo-congso-2026") {
		t.Fatalf("ready banner lacks the demo logins:\n%s", s.Stdout)
	}
	ctx := browser(t)

	// Sign in through the real form (no JavaScript needed).
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`#username`),
		chromedp.SendKeys(`#username`, "admin"),
		chromedp.SendKeys(`#password`, "demo-congso-2026"),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`.who`),
	); err != nil {
		t.Fatal(err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(`.who`))
	if err != nil || who != "Quản Trị Hệ Thống" {
		t.Fatalf("signed-in name = %q, %v", who, err)
	}

	// Search typed without diacritics.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/procedures"),
		chromedp.WaitVisible(`#q`),
		chromedp.SendKeys(`#q`, "cap giay phep xay dung nha o rieng le"),
		chromedp.Submit(`#q`),
		chromedp.WaitVisible(`table a[href^="/procedures/"]`),
	); err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(`table a[href^="/procedures/"]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first, "Cấp giấy phép xây dựng") || !strings.Contains(first, "nhà ở riêng lẻ") {
		t.Fatalf("best match = %q, want the building permit for a detached house", first)
	}

	// Open it: the detail page shows documents, fees and the duration.
	if err := chromedp.Do(ctx,
		chromedp.Click(`table a[href^="/procedures/"]`),
		chromedp.WaitVisible(`main h1`),
	); err != nil {
		t.Fatal(err)
	}
	h1, _ := chromedp.Run(ctx, chromedp.Text(`main h1`))
	main, _ := chromedp.Run(ctx, chromedp.Text(`main`))
	if h1 != first {
		t.Fatalf("detail heading %q, clicked %q", h1, first)
	}
	for _, want := range []string{"ngày làm việc", "Đơn đề nghị"} {
		if !strings.Contains(main, want) {
			t.Errorf("procedure page lacks %q", want)
		}
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/procedures/") {
		t.Fatalf("location %s", loc)
	}
}
