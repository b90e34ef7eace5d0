// Package e2e drives the real congso binary with headless Chromium. It runs when
// CONGSO_BROWSER_TESTS=1 (scripts/test sets it after installing Chromium) and
// is skipped otherwise; with the variable set, a missing browser is a failure.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/congso once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "congso-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "congso")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/congso").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is a running congso binary.
type server struct {
	URL    string
	Stdout string
	cmd    *exec.Cmd
}

var readyLine = regexp.MustCompile(`ready in \S+ at (http://\S+)`)

// startServer runs `congso serve` on a free loopback port with a fresh data
// folder (embedded SQLite, demo data) and waits for its ready line.
func startServer(t *testing.T, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(os.Environ(), "CONGSO_DATA="+t.TempDir(), "CONGSO_ADDR=127.0.0.1:0", "CONGSO_LOG_LEVEL=warn", "CONGSO_RATE_LIMIT=1000", "CONGSO_RATE_BURST=1000")
	cmd.Env = append(cmd.Env, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("server did not stop within 10s of SIGTERM")
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(30 * time.Second)
	for s.URL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before ready:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if m := readyLine.FindStringSubmatch(l); m != nil {
				s.URL = m[1]
			}
		case <-deadline:
			t.Fatalf("server not ready in 30s:\n%s", out.String())
		}
	}
	// Collect the rest of the banner (demo logins) briefly, then keep draining.
	timeout := time.After(300 * time.Millisecond)
collect:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break collect
			}
			out.WriteString(l + "\n")
		case <-timeout:
			break collect
		}
	}
	go func() {
		for range lines {
		}
	}()
	s.Stdout = out.String()
	return s
}

// browser returns a chromedp context for a fresh headless Chromium that
// lives at most 90 s.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserFor(t, 90*time.Second)
}

// browserFor is browser with a longer life, for a session that spans a
// whole journey (each step still has its own deadline).
func browserFor(t *testing.T, life time.Duration) context.Context {
	t.Helper()
	if os.Getenv("CONGSO_BROWSER_TESTS") == "" {
		t.Skip("CONGSO_BROWSER_TESTS not set (scripts/test sets it)")
	}
	path := os.Getenv("CONGSO_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Chromium not found at %s: %v", path, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "vi-VN"),
		chromedp.Flag("accept-lang", "vi-VN,vi"),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, life)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// A common cheap-phone viewport (headless windows cannot be narrower than
	// 500px, so emulate it).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(412, 915, chromedp.EmulatePortrait)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
