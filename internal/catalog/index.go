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
	vocab   []string          // every distinct word of every entry, sorted (for typo tolerance)
}

// maxQueryTerms bounds the words used from one query, as search.Match does.
const maxQueryTerms = 12

func buildIndex(rev int64, entries []indexEntry, aliases map[string]string) *procIndex {
	latest := map[string]int{}
	for _, e := range entries {
		latest[e.summary.Code] = max(latest[e.summary.Code], e.summary.Version)
	}
	fieldTerms := map[string][]string{} // a field's name is shared by many procedures
	var vocab []string
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
		vocab = append(vocab, e.words...)
	}
	slices.Sort(vocab)
	vocab = slices.Compact(vocab)
	slices.SortFunc(entries, func(a, b indexEntry) int {
		return cmp.Or(strings.Compare(a.nameFold, b.nameFold), strings.Compare(a.summary.Code, b.summary.Code),
			a.summary.Version-b.summary.Version)
	})
	return &procIndex{rev: rev, entries: entries, aliases: aliases, vocab: vocab}
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
	dist int // total edit distance of a typo-tolerant match (0: exact)
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
	var candidates []*indexEntry // entries that pass the filters, for the typo-tolerant pass
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
			candidates = append(candidates, e)
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
	approximate := false
	if len(hits) == 0 && len(terms) > 0 && !codePrefix {
		hits = ix.fuzzy(terms, candidates)
		approximate = len(hits) > 0
	}
	if len(terms) > 0 {
		slices.SortStableFunc(hits, func(a, b hit) int {
			if c := a.tier - b.tier; c != 0 {
				return c
			}
			if a.dist != b.dist {
				return a.dist - b.dist
			}
			if a.tier == 1 {
				return strings.Compare(a.e.summary.Code, b.e.summary.Code)
			}
			return cmp.Or(len(a.e.nameFold)-len(b.e.nameFold), strings.Compare(a.e.summary.Code, b.e.summary.Code))
		})
	}
	limit := cmp.Or(q.Limit, 20)
	page := ProcedurePage{Items: []ProcedureSummary{}, Total: len(hits), Approximate: approximate}
	for i := q.Offset; i < len(hits) && i < q.Offset+limit; i++ {
		page.Items = append(page.Items, hits[i].e.summary)
	}
	return page
}

// Typo tolerance. When no procedure matches every query word, the search
// tries again allowing each word a few typing mistakes (a letter wrong,
// missing, extra, or two neighbours swapped: "xay dugn" finds "xây dựng").
// Query words are compared with the index's vocabulary (the distinct folded
// words, a few thousand), once per query, not with every procedure; a word
// may also be the beginning of a vocabulary word with mistakes ("giay phe"
// → "phép"). Results of this pass are marked Approximate and ranked by the
// number of mistakes, then as usual.

// maxTypos is how many mistakes a query word of n letters may carry: none
// for one or two letters (too many words would match), one up to seven
// letters, two from eight.
func maxTypos(n int) int {
	switch {
	case n <= 2:
		return 0
	case n < 8:
		return 1
	}
	return 2
}

// fuzzy returns the candidates every query word of which matches a word of
// the procedure exactly, as a prefix, or within its typo budget.
func (ix *procIndex) fuzzy(terms []string, candidates []*indexEntry) []hit {
	// near[i] maps the vocabulary words close to terms[i] to their distance.
	near := make([]map[string]int, len(terms))
	var d typoDist
	for i, t := range terms {
		k := maxTypos(len(t))
		near[i] = map[string]int{}
		if k == 0 {
			continue
		}
		for _, w := range ix.vocab {
			if n := d.prefix(t, w, k); n <= k {
				near[i][w] = n
			}
		}
	}
	var hits []hit
	for _, e := range candidates {
		total := 0
		ok := true
		for i, t := range terms {
			if hasWordWithPrefix(e.words, t) {
				continue
			}
			best := -1
			for _, w := range e.words {
				if n, found := near[i][w]; found && (best < 0 || n < best) {
					best = n
				}
			}
			if best < 0 {
				ok = false
				break
			}
			total += best
		}
		if ok {
			hits = append(hits, hit{e: e, tier: 6, dist: total})
		}
	}
	return hits
}

// typoDist computes edit distances, reusing its rows between calls. Folded
// words are ASCII letters and digits (search.Terms), so bytes are letters.
type typoDist struct{ rows [3][]int }

// prefix is the smallest optimal-string-alignment distance (edits: insert,
// delete, substitute, swap two neighbours) between a and w or a beginning of
// w, or k+1 when it exceeds k. Rows stop early once every cell exceeds k.
func (d *typoDist) prefix(a, w string, k int) int {
	if len(w) > len(a)+k {
		w = w[:len(a)+k] // longer beginnings cannot be closer
	}
	if len(a) > len(w)+k {
		return k + 1
	}
	for i := range d.rows {
		if cap(d.rows[i]) < len(w)+1 {
			d.rows[i] = make([]int, len(w)+1, len(w)+16)
		}
		d.rows[i] = d.rows[i][:len(w)+1]
	}
	prev2, prev, cur := d.rows[0], d.rows[1], d.rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(w); j++ {
			cost := 1
			if a[i-1] == w[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == w[j-2] && a[i-2] == w[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > k {
			return k + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	// prev is the last row: the distance from a to each beginning of w.
	best := k + 1
	for j := max(0, len(a)-k); j <= len(w); j++ {
		best = min(best, prev[j])
	}
	return best
}
