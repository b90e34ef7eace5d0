package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestServeStartsWithHealthAndHome(t *testing.T) {
	s := startServer(t)
	if code, body := httpGet(t, s.URL+"/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Fatalf("readyz: %d %s", code, body)
	}
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/")); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	lang, err := chromedp.Run(ctx, chromedp.AttributeValue("html", "lang"))
	if err != nil {
		t.Fatal(err)
	}
	if lang.Value != "vi" || !strings.Contains(title, "Trang chủ") {
		t.Fatalf("home: lang=%q title=%q", lang.Value, title)
	}
	// The language switch works without JavaScript and keeps the page.
	if err := chromedp.Do(ctx, chromedp.Click(`a.lang`), chromedp.WaitVisible(`main h1`)); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(`main h1`))
	if err != nil {
		t.Fatal(err)
	}
	if heading != "Online public services" {
		t.Fatalf("after switching to English, heading = %q", heading)
	}
}
