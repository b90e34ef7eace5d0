package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
)

// A Bundle holds message catalogs for the supported languages. The zero value is
// an empty bundle ready to use; a Bundle is safe for concurrent use.
//
// Most code uses the shared bundle through the package functions ([T],
// [Register]); a module's tests may load its catalogs into a fresh Bundle and
// call [Bundle.Check].
type Bundle struct {
	mu   sync.RWMutex
	msgs map[Lang]map[string]string
}

// Add adds msgs in lang. It fails, adding nothing, if lang is not supported or a
// key is already present with different text.
func (b *Bundle) Add(lang Lang, msgs map[string]string) error {
	if !slices.Contains(Langs(), lang) {
		return fmt.Errorf("i18n: add messages: unsupported language %q", lang)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cat := b.msgs[lang]
	for k, v := range msgs {
		if old, ok := cat[k]; ok && old != v {
			return fmt.Errorf("i18n: add messages: key %q in %s already registered with different text", k, lang)
		}
	}
	if b.msgs == nil {
		b.msgs = make(map[Lang]map[string]string)
	}
	if cat == nil {
		cat = make(map[string]string, len(msgs))
		b.msgs[lang] = cat
	}
	maps.Copy(cat, msgs)
	return nil
}

// AddFS adds the catalogs dir/vi.json and dir/en.json found in fsys. Each file is
// a flat JSON object of string keys and string texts.
func (b *Bundle) AddFS(fsys fs.FS, dir string) error {
	for _, lang := range Langs() {
		name := path.Join(dir, string(lang)+".json")
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("i18n: read catalog: %w", err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(data, &msgs); err != nil {
			return fmt.Errorf("i18n: parse catalog %s: %w", name, err)
		}
		if err := b.Add(lang, msgs); err != nil {
			return fmt.Errorf("i18n: catalog %s: %w", name, err)
		}
	}
	return nil
}

// T returns the text for key in lang with placeholders filled from args, which
// alternate names and values; a value of type [Key] is itself translated into
// lang. A placeholder with no matching argument is left as
// written. T falls back to [Default], then to key itself.
func (b *Bundle) T(lang Lang, key string, args ...any) string {
	b.mu.RLock()
	text, ok := b.msgs[lang][key]
	if !ok {
		text, ok = b.msgs[Default][key]
	}
	b.mu.RUnlock()
	if !ok {
		return key
	}
	cloned := false
	for i := 1; i < len(args); i += 2 {
		if k, isKey := args[i].(Key); isKey {
			if !cloned { // leave the caller's slice untouched
				args, cloned = slices.Clone(args), true
			}
			args[i] = b.T(lang, string(k))
		}
	}
	return format(text, args)
}

// Has reports whether key is present in the default language.
func (b *Bundle) Has(key string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.msgs[Default][key]
	return ok
}

// Check returns an error describing every key that is missing from one of the
// supported languages or whose placeholders differ from the Vietnamese text, or
// nil if the catalogs are complete and consistent.
func (b *Bundle) Check() error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	keys := make(map[string]bool)
	for _, cat := range b.msgs {
		for k := range cat {
			keys[k] = true
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		for _, lang := range Langs() {
			text, ok := b.msgs[lang][k]
			if !ok {
				errs = append(errs, fmt.Errorf("key %q missing in %s", k, lang))
				continue
			}
			if lang == Default {
				continue
			}
			if base, ok := b.msgs[Default][k]; ok && !slices.Equal(placeholders(base), placeholders(text)) {
				errs = append(errs, fmt.Errorf("key %q: placeholders in %s %v differ from %s %v",
					k, lang, placeholders(text), Default, placeholders(base)))
			}
		}
	}
	return errors.Join(errs...)
}

// format replaces each {name} in text by the value following name in args.
func format(text string, args []any) string {
	if len(args) < 2 || !strings.Contains(text, "{") {
		return text
	}
	var sb strings.Builder
	for {
		open := strings.IndexByte(text, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '}')
		if end < 0 {
			break
		}
		end += open
		sb.WriteString(text[:open])
		if v, ok := arg(args, text[open+1:end]); ok {
			fmt.Fprint(&sb, v)
		} else {
			sb.WriteString(text[open : end+1])
		}
		text = text[end+1:]
	}
	sb.WriteString(text)
	return sb.String()
}

func arg(args []any, name string) (any, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == name {
			return args[i+1], true
		}
	}
	return nil, false
}

// placeholders returns the sorted, distinct placeholder names in text.
func placeholders(text string) []string {
	var names []string
	for {
		open := strings.IndexByte(text, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '}')
		if end < 0 {
			break
		}
		names = append(names, text[open+1:open+end])
		text = text[open+end+1:]
	}
	slices.Sort(names)
	return slices.Compact(names)
}
