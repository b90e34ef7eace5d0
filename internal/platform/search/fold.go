package search

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold returns s without diacritics, with đ→d and in lower case, for storing in a
// search_text column and for matching user input.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			b.WriteRune('d')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Terms splits folded text into search words (letters and digits).
func Terms(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Text joins fields into one search_text value: their folded words separated
// by single spaces. Storing words rather than raw text matters on PostgreSQL,
// whose parser would keep "1.004227" or "a@b.vn" as one token that the query
// words "004227" or "b" never match.
func Text(fields ...string) string {
	return strings.Join(Terms(strings.Join(fields, " ")), " ")
}
