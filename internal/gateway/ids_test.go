package gateway_test

import (
	"strings"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

func TestSplitServicePath(t *testing.T) {
	cases := []struct {
		in, id, version, path string
		ok                    bool
	}{
		{"VN/GOV/M/S/svc", "VN/GOV/M/S/svc", "", "", true},
		{"VN/GOV/M/S/svc/v1", "VN/GOV/M/S/svc/v1", "v1", "", true},
		{"VN/GOV/M/S/svc/v2.1/a/b?", "VN/GOV/M/S/svc/v2.1", "v2.1", "/a/b?", true},
		{"VN/GOV/M/S/svc/items/1", "VN/GOV/M/S/svc", "", "/items/1", true},
		{"VN/GOV/M/S/svc/v/1", "VN/GOV/M/S/svc", "", "/v/1", true},
		{"VN/GOV/M/S/svc/", "VN/GOV/M/S/svc", "", "/", true},
		{"VN/GOV/M/S", "", "", "", false},
		{"VN/GOV//S/svc", "", "", "", false},
		{"VN/GOV/M%2F/S/svc", "", "", "", false},
		{"VN/GOV/M:1/S/svc", "", "", "", false},
		{"VN/GOV/../S/svc", "", "", "", false},
		{"VN/GOV/M/S/" + strings.Repeat("x", 256), "", "", "", false},
	}
	for _, c := range cases {
		id, p, err := gateway.SplitServicePath(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if c.ok && (id.String() != c.id || id.Version != c.version || p != c.path) {
			t.Errorf("%q: got %q %q %q", c.in, id, id.Version, p)
		}
	}
}

func TestMatchPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"", "/anything", true},
		{"/items/*", "/items/1", true},
		{"/items/*", "/items/1/x", false},
		{"/items/**", "/items/1/x", true},
		{"/items/**", "/other", false},
		{"/items", "/items/../admin", false},
		{"/a/*/c", "/a/b/c", true},
	}
	for _, c := range cases {
		if got := gateway.MatchPath(c.pattern, c.path); got != c.want {
			t.Errorf("MatchPath(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

// FuzzSplitServicePath: any accepted path round-trips and yields only valid parts.
func FuzzSplitServicePath(f *testing.F) {
	for _, s := range []string{"VN/GOV/M/S/svc", "VN/GOV/M/S/svc/v1/a/b", "a/b/c/d/e/v1.2.3", "//////", "VN/GOV/M/S/svc/v", "\x00/a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, p, err := gateway.SplitServicePath(s)
		if err != nil {
			return
		}
		for _, part := range []string{id.Provider.Instance, id.Provider.Class, id.Provider.Member, id.Provider.Subsystem, id.Code} {
			if !gateway.ValidIDPart(part) {
				t.Fatalf("accepted invalid part %q in %q", part, s)
			}
		}
		if id.Version != "" && !gateway.IsVersion(id.Version) {
			t.Fatalf("bad version %q", id.Version)
		}
		if got := id.String() + p; got != s && got+"/" != s {
			t.Fatalf("round trip %q → %q", s, got)
		}
		back, err := gateway.ParseServiceID(id.String())
		if err != nil || back != id {
			t.Fatalf("reparse %q: %v %v", id, back, err)
		}
	})
}

// FuzzParseClientID: accepted identifiers round-trip.
func FuzzParseClientID(f *testing.F) {
	for _, s := range []string{"VN-HUE/GOV/000.00.01.H57/MOTCUA", "VN/COM/123", "a/b", "a/b/c/d/e", "VN/GOV/\u00a0/X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := gateway.ParseClientID(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("round trip %q → %q", s, c)
		}
	})
}

// FuzzHeaderValue: accepted header values never hold control characters.
func FuzzHeaderValue(f *testing.F) {
	for _, s := range []string{"H57-260101-0001", "a\r\nb", "\x7f", strings.Repeat("x", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !gateway.ValidHeaderValue(s) {
			return
		}
		if len(s) > 255 || strings.ContainsAny(s, "\r\n\x00\x7f") {
			t.Fatalf("accepted %q", s)
		}
	})
}
