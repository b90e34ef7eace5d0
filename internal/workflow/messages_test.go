package workflow_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/congso/congso/internal/platform/i18n"
)

// Every refusal code the engine can return has a message in every language.
func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(os.DirFS("."), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	code := regexp.MustCompile(`refuse\(Err[A-Za-z]+,\s*"(workflow\.[a-z_.]+)"`)
	found := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range code.FindAllSubmatch(src, -1) {
			found++
			if !b.Has(string(m[1])) {
				t.Errorf("%s: code %s has no message", f, m[1])
			}
		}
	}
	if found < 20 {
		t.Fatalf("found only %d refusal codes in the sources; the pattern is stale", found)
	}
}
