package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The accessibility audit runs axe-core (an npm package; scripts/test installs
// it and sets CONGSO_AXE to its axe.min.js) on every main page, in Vietnamese
// and in English, anonymous and signed in, including error states. WCAG 2.1 AA
// is a requirement (STYLE.md), so a serious or critical violation fails the
// test; moderate and minor ones are logged. At the phone viewport of the
// harness no page may scroll sideways (WCAG 1.4.10 Reflow).

// axeTags are the rule sets of WCAG 2.0 and 2.1, levels A and AA.
const axeTags = `['wcag2a','wcag2aa','wcag21a','wcag21aa']`

// axeRunJS runs axe on the page and returns what the test needs, by value.
const axeRunJS = `axe.run(document, {runOnly: {type: 'tag', values: ` + axeTags + `}, resultTypes: ['violations']})
.then(r => ({
  passes: r.passes.length,
  violations: r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(' >>> '), html: n.html.slice(0, 160), summary: n.failureSummary || ''}))
  }))
}))`

// reflowJS reports the page width against the viewport and, when the page is
// wider, the elements that stick out on the right.
const reflowJS = `(() => {
  const w = window.innerWidth, sw = document.documentElement.scrollWidth;
  const out = [];
  if (sw > w + 1) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > w + 1 && out.length < 5) {
        let sel = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
        out.push(sel + ' right=' + Math.round(r.right));
      }
    }
  }
  return {viewport: w, scrollWidth: sw, offenders: out};
})()`

// phoneWidth and phoneHeight are the harness's phone viewport. Headless
// Chromium does not make a window narrower than 500px, so the audit sets the
// viewport through device-metrics emulation (not as a mobile device, so a page
// too wide shows as a wider document instead of being zoomed out).
const phoneWidth, phoneHeight = 412, 915

// phoneBrowser is browser() with the viewport set to the phone size.
func phoneBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulatePortrait)); err != nil {
		t.Fatalf("set the phone viewport: %v", err)
	}
	return ctx
}

type axeNode struct {
	Target  string `json:"target"`
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

type reflowResult struct {
	Viewport    int      `json:"viewport"`
	ScrollWidth int      `json:"scrollWidth"`
	Offenders   []string `json:"offenders"`
}

// axeSource reads axe.min.js from CONGSO_AXE. With browser tests on, a
// missing file is a failure, not a skip: the audit must not silently vanish.
func axeSource(t *testing.T) string {
	t.Helper()
	if os.Getenv("CONGSO_BROWSER_TESTS") == "" {
		t.Skip("CONGSO_BROWSER_TESTS not set (scripts/test sets it)")
	}
	path := os.Getenv("CONGSO_AXE")
	if path == "" {
		t.Fatal("CONGSO_AXE is not set: it must name axe-core's axe.min.js (scripts/test installs it with npm)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read axe-core from CONGSO_AXE: %v", err)
	}
	if !strings.Contains(string(b), "axe") {
		t.Fatalf("CONGSO_AXE=%s does not look like axe-core", path)
	}
	return string(b)
}

// audit injects axe into the current page, runs it, and checks reflow at the
// phone viewport. It fails on serious and critical violations and logs the rest.
func audit(ctx context.Context, t *testing.T, axeJS, page string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeJS)); err != nil {
		t.Fatalf("%s: inject axe-core: %v", page, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", page, err)
	}
	if res.Passes == 0 {
		t.Fatalf("%s: axe ran no passing rule: the audit did not really run", page)
	}
	for _, v := range res.Violations {
		msg := describe(v)
		switch v.Impact {
		case "serious", "critical":
			t.Errorf("%s: %s", page, msg)
		default:
			t.Logf("%s (not failing): %s", page, msg)
		}
	}

	rf, err := chromedp.Run(ctx, chromedp.Evaluate[reflowResult](reflowJS))
	if err != nil {
		t.Fatalf("%s: reflow check: %v", page, err)
	}
	if rf.Viewport != phoneWidth {
		t.Fatalf("%s: viewport is %dpx wide, the reflow check needs %dpx", page, rf.Viewport, phoneWidth)
	}
	if rf.ScrollWidth > rf.Viewport+1 {
		t.Errorf("%s: scrolls horizontally at %dpx (page is %dpx wide); sticking out: %s",
			page, rf.Viewport, rf.ScrollWidth, strings.Join(rf.Offenders, ", "))
	}
}

func describe(v axeViolation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s [%d element(s)] %s", v.ID, v.Impact, v.Help, len(v.Nodes), v.HelpURL)
	for i, n := range v.Nodes {
		if i == 3 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-3)
			break
		}
		fmt.Fprintf(&b, "\n      %s  %s", n.Target, n.HTML)
		if i == 0 && n.Summary != "" {
			fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(n.Summary, "\n", "\n        "))
		}
	}
	return b.String()
}

// open navigates to path, expecting status and the page language lang.
func open(ctx context.Context, t *testing.T, base, path string, status int64, lang string) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+path))
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if resp.Status != status {
		t.Fatalf("open %s: status %d, want %d", path, resp.Status, status)
	}
	checkLang(ctx, t, path, lang)
}

func checkLang(ctx context.Context, t *testing.T, page, lang string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || got != lang {
		t.Fatalf("%s: <html lang> = %q (%v), want %q", page, got, err, lang)
	}
}

// TestAccessibilityAudit runs axe-core on the main pages in both languages.
func TestAccessibilityAudit(t *testing.T) {
	axeJS := axeSource(t)
	s := startServer(t)

	// The audit must be able to fail: on a page with known defects axe reports
	// them as serious or critical.
	t.Run("axe finds known defects", func(t *testing.T) {
		ctx := browser(t)
		bad := `data:text/html,<!doctype html><html><head><title>x</title></head><body><main><img src="x.png"><input id="a"></main></body></html>`
		if err := chromedp.Do(ctx, chromedp.Navigate(bad), chromedp.Evaluate[chromedp.Void](axeJS)); err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRunJS, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]string{}
		for _, v := range res.Violations {
			found[v.ID] = v.Impact
		}
		for _, id := range []string{"image-alt", "label", "html-has-lang"} {
			if imp := found[id]; imp != "serious" && imp != "critical" {
				t.Errorf("axe did not report %s as serious or critical (found %v)", id, found)
			}
		}
	})

	// Anonymous pages and then the administrator's, in each language. Each
	// group has its own browser, so cookies (language, session) start empty.
	for _, lang := range []string{"vi", "en"} {
		t.Run("public/"+lang, func(t *testing.T) {
			ctx := phoneBrowser(t)
			if lang != "vi" {
				open(ctx, t, s.URL, "/lang?to="+lang+"&next=/", 200, lang)
			}
			for _, p := range []string{"/", "/procedures", "/procedures?q=khai+sinh", "/calendar", "/login"} {
				open(ctx, t, s.URL, p, 200, lang)
				audit(ctx, t, axeJS, p)
			}

			// A procedure found by the search.
			open(ctx, t, s.URL, "/procedures?q=khai+sinh", 200, lang)
			href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('table a[href^="/procedures/"]') || {}).pathname || ''`))
			if err != nil || href == "" {
				t.Fatalf("no procedure found for 'khai sinh' (%v)", err)
			}
			open(ctx, t, s.URL, href, 200, lang)
			audit(ctx, t, axeJS, href)

			// Not found.
			open(ctx, t, s.URL, "/no-such-page", 404, lang)
			audit(ctx, t, axeJS, "404 page")

			// Sign-in errors: a wrong password, then empty fields.
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/login"),
				chromedp.SendKeys(`#username`, "nobody"),
				chromedp.SendKeys(`#password`, "wrong-password"),
				chromedp.Submit(`#password`),
				chromedp.WaitVisible(`.error-summary`),
			); err != nil {
				t.Fatalf("failed login: %v", err)
			}
			checkLang(ctx, t, "/login (wrong password)", lang)
			audit(ctx, t, axeJS, "/login (wrong password)")
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/login"),
				chromedp.Submit(`#password`),
				chromedp.WaitVisible(`.error-summary`),
			); err != nil {
				t.Fatalf("empty login: %v", err)
			}
			audit(ctx, t, axeJS, "/login (empty)")
		})

		t.Run("admin/"+lang, func(t *testing.T) {
			ctx := phoneBrowser(t)
			if lang != "vi" {
				open(ctx, t, s.URL, "/lang?to="+lang+"&next=/", 200, lang)
			}
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/login"),
				chromedp.SendKeys(`#username`, "admin"),
				chromedp.SendKeys(`#password`, "demo-congso-2026"),
				chromedp.Submit(`#password`),
				chromedp.WaitVisible(`.who`),
			); err != nil {
				t.Fatalf("sign in: %v", err)
			}
			for _, p := range []string{"/", "/admin/people", "/admin/people/new", "/admin/catalog",
				"/admin/catalog/procedures/new", "/admin/catalog/import", "/admin/catalog/units", "/admin/catalog/units/D99001",
				"/admin/catalog/agencies", "/admin/catalog/agencies/000.00.07.H99", "/admin/catalog/fields",
				"/admin/calendar", "/calendar", "/account/password", "/admin/clients", "/admin/security"} {
				open(ctx, t, s.URL, p, 200, lang)
				audit(ctx, t, axeJS, p+" (admin)")
			}

			// A person's page: the first one in the list.
			open(ctx, t, s.URL, "/admin/people", 200, lang)
			href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('main a[href^="/admin/people/"]:not([href$="/new"])') || {}).pathname || ''`))
			if err != nil || href == "" {
				t.Fatalf("no person link on /admin/people (%v)", err)
			}
			open(ctx, t, s.URL, href, 200, lang)
			audit(ctx, t, axeJS, href)

			// Validation errors: a new person with nothing filled in.
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/admin/people/new"),
				chromedp.Submit(`#full_name`),
				chromedp.WaitVisible(`.error-summary`),
			); err != nil {
				t.Fatalf("empty new person: %v", err)
			}
			audit(ctx, t, axeJS, "/admin/people/new (errors)")

			// Validation errors: a new procedure with nothing filled in.
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/admin/catalog/procedures/new"),
				chromedp.Submit(`#code`),
				chromedp.WaitVisible(`.error-summary`),
			); err != nil {
				t.Fatalf("empty new procedure: %v", err)
			}
			audit(ctx, t, axeJS, "/admin/catalog/procedures/new (errors)")
		})

		// The citizens' portal (docs/portal.md): public pages, then the applicant's.
		t.Run("portal/public/"+lang, func(t *testing.T) {
			ctx := phoneBrowser(t)
			if lang != "vi" {
				open(ctx, t, s.URL, "/lang?to="+lang+"&next=/", 200, lang)
			}
			for _, p := range []string{"/lookup", "/statistics", "/help", "/procedures/" + permitCode} {
				open(ctx, t, s.URL, p, 200, lang)
				audit(ctx, t, axeJS, p)
			}
			// The lookup's error states: empty fields, then an unknown code.
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/lookup"),
				chromedp.WaitVisible(`#lookup`),
				chromedp.Click(`#lookup`),
				chromedp.WaitVisible(`#code-err`),
			); err != nil {
				t.Fatalf("empty lookup: %v", err)
			}
			checkLang(ctx, t, "/lookup (empty)", lang)
			audit(ctx, t, axeJS, "/lookup (empty)")
			open(ctx, t, s.URL, "/lookup?code=000.00.13.H99-260101-9999&phone4=1234", 404, lang)
			audit(ctx, t, axeJS, "/lookup (not found)")
		})

		t.Run("portal/citizen/"+lang, func(t *testing.T) {
			ctx := phoneBrowser(t)
			if lang != "vi" {
				open(ctx, t, s.URL, "/lang?to="+lang+"&next=/", 200, lang)
			}
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/login"),
				chromedp.SendKeys(`#username`, "congdan"),
				chromedp.SendKeys(`#password`, demoPassword),
				chromedp.Submit(`#password`),
				chromedp.WaitVisible(`.who`),
			); err != nil {
				t.Fatalf("sign in congdan: %v", err)
			}
			for _, p := range []string{"/apply/" + permitCode, "/my/dossiers", "/my/drafts", "/account/documents", "/account/documents/new",
				"/account/notifications", "/account/notifications/settings", "/account/security", "/account/sessions"} {
				open(ctx, t, s.URL, p, 200, lang)
				audit(ctx, t, axeJS, p+" (congdan)")
			}
			// The application form with every problem listed (nothing
			// attached), which also saves a draft for the drafts page.
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/apply/"+permitCode),
				chromedp.WaitVisible(`#review`),
				chromedp.Click(`#review`),
				chromedp.WaitVisible(`#error-summary`),
			); err != nil {
				t.Fatalf("review an empty application: %v", err)
			}
			checkLang(ctx, t, "/apply (errors)", lang)
			audit(ctx, t, axeJS, "/apply/"+permitCode+" (errors)")
			open(ctx, t, s.URL, "/my/drafts", 200, lang)
			audit(ctx, t, axeJS, "/my/drafts (one draft)")
			// The data store's upload form with its errors (nothing filled).
			if err := chromedp.Do(ctx,
				chromedp.Navigate(s.URL+"/account/documents/new"),
				chromedp.WaitVisible(`#title`),
				chromedp.Click(`form[action="/account/documents"] button[type="submit"]`),
				chromedp.WaitVisible(`.error-summary`),
			); err != nil {
				t.Fatalf("empty upload: %v", err)
			}
			audit(ctx, t, axeJS, "/account/documents/new (errors)")
		})

		// The officials' workspace: the counter officer's and a leader's pages.
		for _, who := range []struct {
			user  string
			pages []string
		}{
			{"motcua", []string{"/work", "/work?tab=overdue", "/work/receive", "/work/receive?q=giay+phep+xay+dung", "/work/reports"}},
			{"lanhdao", []string{"/work/overview", "/work/reports", "/work/reports?group_by=field"}},
		} {
			t.Run("work/"+who.user+"/"+lang, func(t *testing.T) {
				ctx := phoneBrowser(t)
				if lang != "vi" {
					open(ctx, t, s.URL, "/lang?to="+lang+"&next=/", 200, lang)
				}
				if err := chromedp.Do(ctx,
					chromedp.Navigate(s.URL+"/login"),
					chromedp.SendKeys(`#username`, who.user),
					chromedp.SendKeys(`#password`, "demo-congso-2026"),
					chromedp.Submit(`#password`),
					chromedp.WaitVisible(`.who`),
				); err != nil {
					t.Fatalf("sign in %s: %v", who.user, err)
				}
				for _, p := range who.pages {
					open(ctx, t, s.URL, p, 200, lang)
					audit(ctx, t, axeJS, p+" ("+who.user+")")
				}
			})
		}
	}
}
