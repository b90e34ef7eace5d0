package catalog

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/search"
)

// Procedure search runs on an in-memory index of every procedure version's
// summary, rebuilt from the database when the catalogs' revision changes.
//
// Why not SQL full-text search: a province has a few thousand procedures, and
// a broad query ("giấy", "đăng ký") matches most of them; ranking and counting
// a thousand rows costs 1–2 µs each on either engine, so a SQL search took
// 3–25 ms where the budget is 5 ms at p95. The index answers in well under a
// millisecond, plus one primary-key read of the revision per search, so every
// node sees a write at its next search; that search pays for the rebuild
// (some 15–40 ms for 2,000 procedures). Matching follows the search package:
// text folded with search.Terms, every query word a prefix of some word of
// the code, name or field name.
type procIndexCache struct {
	mu  sync.Mutex // serialises rebuilds
	cur atomic.Pointer[procIndex]
}

// indexEntry is one procedure version in the index.
type indexEntry struct {
	summary      ProcedureSummary
	implementing string   // current e-ID of the implementing agency
	words        []string // sorted folded words of code, name and field name
	nameFold     string   // folded words of the name, single-spaced
	latest       bool     // highest version of its code
}

type procIndex struct {
	rev     int64
	entries []indexEntry      // by name, then code and version
	aliases map[string]string // every e-ID → the agency's current e-ID
}

// maxQueryTerms bounds the words used from one query, as search.Match does.
const maxQueryTerms = 12

func buildIndex(rev int64, entries []indexEntry, aliases map[string]string) *procIndex {
	latest := map[string]int{}
	for _, e := range entries {
		latest[e.summary.Code] = max(latest[e.summary.Code], e.summary.Version)
	}
	fieldTerms := map[string][]string{} // a field's name is shared by many procedures
	for i := range entries {
		e := &entries[i]
		s := &e.summary
		e.latest = s.Version == latest[s.Code]
		name := search.Terms(s.Name)
		e.nameFold = strings.Join(name, " ")
		ft, ok := fieldTerms[s.FieldName]
		if !ok {
			ft = search.Terms(s.FieldName)
			fieldTerms[s.FieldName] = ft
		}
		words := make([]string, 0, len(name)+len(ft)+2)
		words = append(append(append(words, name...), ft...), search.Terms(s.Code)...)
		slices.Sort(words)
		e.words = slices.Compact(words)
	}
	slices.SortFunc(entries, func(a, b indexEntry) int {
		return cmp.Or(strings.Compare(a.nameFold, b.nameFold), strings.Compare(a.summary.Code, b.summary.Code),
			a.summary.Version-b.summary.Version)
	})
	return &procIndex{rev: rev, entries: entries, aliases: aliases}
}

// procedureIndex returns an index at least as new as the catalogs' current
// revision, rebuilding it if a write happened since it was built.
func (s *Service) procedureIndex(ctx context.Context) (*procIndex, error) {
	rev, err := readRevision(ctx, s.db.Read())
	if err != nil {
		return nil, err
	}
	if ix := s.index.cur.Load(); ix != nil && ix.rev >= rev {
		return ix, nil
	}
	s.index.mu.Lock()
	defer s.index.mu.Unlock()
	if ix := s.index.cur.Load(); ix != nil && ix.rev >= rev {
		return ix, nil // rebuilt while we waited
	}
	// Rows read after the revision are at least that new; a write committed in
	// between bumps the revision again and the next search rebuilds.
	entries, aliases, err := loadIndexRows(ctx, s.db.Read())
	if err != nil {
		return nil, err
	}
	ix := buildIndex(rev, entries, aliases)
	s.index.cur.Store(ix)
	return ix, nil
}

// codePrefixRe matches the beginning of a national procedure code.
var codePrefixRe = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{1,6}$`)

// hasWordWithPrefix reports whether some word of the sorted list starts with p.
func hasWordWithPrefix(words []string, p string) bool {
	i, _ := slices.BinarySearch(words, p)
	return i < len(words) && strings.HasPrefix(words[i], p)
}

type hit struct {
	e    *indexEntry
	tier int
}

// search answers q on day at. Every filter must hold and every query word
// must begin a word of the procedure. The order is: exact code, code
// beginning with the query, name equal to it, name beginning with it, name
// containing it as a phrase, other names; shorter names first within a tier.
// Without words the order is by name.
func (ix *procIndex) search(q ProcedureQuery, at calendar.Date) ProcedurePage {
	agency := ""
	if q.AgencyEID != "" {
		var ok bool
		if agency, ok = ix.aliases[q.AgencyEID]; !ok {
			return ProcedurePage{Items: []ProcedureSummary{}}
		}
	}
	terms := search.Terms(q.Text)
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	text := strings.TrimSpace(q.Text)
	phrase := strings.Join(terms, " ")
	codePrefix := codePrefixRe.MatchString(text)
	var hits []hit
	for i := range ix.entries {
		e := &ix.entries[i]
		s := &e.summary
		switch {
		case q.Latest && !e.latest,
			!q.Latest && (!s.Status.Published() || !inForce(s.EffectiveFrom, s.EffectiveTo, at)),
			q.Status != "" && s.Status != q.Status,
			q.FieldCode != "" && s.FieldCode != q.FieldCode,
			q.Level != "" && s.Level != q.Level,
			q.OnlineLevel != "" && s.OnlineLevel != q.OnlineLevel,
			agency != "" && s.CompetentAgency != agency && e.implementing != agency:
			continue
		}
		matched := true
		for _, t := range terms {
			if !hasWordWithPrefix(e.words, t) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		h := hit{e: e, tier: 5}
		switch {
		case len(terms) == 0:
		case s.Code == text:
			h.tier = 0
		case codePrefix && strings.HasPrefix(s.Code, text):
			h.tier = 1
		case e.nameFold == phrase:
			h.tier = 2
		case strings.HasPrefix(e.nameFold, phrase):
			h.tier = 3
		case strings.Contains(e.nameFold, " "+phrase):
			h.tier = 4
		}
		hits = append(hits, h)
	}
	if len(terms) > 0 {
		slices.SortStableFunc(hits, func(a, b hit) int {
			if c := a.tier - b.tier; c != 0 {
				return c
			}
			if a.tier == 1 {
				return strings.Compare(a.e.summary.Code, b.e.summary.Code)
			}
			return cmp.Or(len(a.e.nameFold)-len(b.e.nameFold), strings.Compare(a.e.summary.Code, b.e.summary.Code))
		})
	}
	limit := cmp.Or(q.Limit, 20)
	page := ProcedurePage{Items: []ProcedureSummary{}, Total: len(hits)}
	for i := q.Offset; i < len(hits) && i < q.Offset+limit; i++ {
		page.Items = append(page.Items, hits[i].e.summary)
	}
	return page
}
