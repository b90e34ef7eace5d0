package search

import (
	"fmt"
	"strings"

	"github.com/congso/congso/internal/platform/db"
)

// maxTerms bounds the words used from one query.
const maxTerms = 12

// IndexSQL returns the migration SQL that indexes table.search_text for the
// dialect. The table must have a TEXT column search_text filled with [Text],
// and an integer primary key ({{id}}): SQLite's FTS index refers to rows by
// rowid, which VACUUM may renumber unless it is the primary key.
func IndexSQL(d db.Dialect, table string) string {
	if d == db.Postgres {
		return fmt.Sprintf(`
ALTER TABLE %[1]s ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX %[1]s_search_tsv ON %[1]s USING GIN (search_tsv);`, table)
	}
	return fmt.Sprintf(`
CREATE VIRTUAL TABLE %[1]s_fts USING fts5(search_text, content='%[1]s', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
INSERT INTO %[1]s_fts(rowid, search_text) SELECT rowid, search_text FROM %[1]s;
CREATE TRIGGER %[1]s_fts_ai AFTER INSERT ON %[1]s BEGIN
	INSERT INTO %[1]s_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER %[1]s_fts_ad AFTER DELETE ON %[1]s BEGIN
	INSERT INTO %[1]s_fts(%[1]s_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER %[1]s_fts_au AFTER UPDATE OF search_text ON %[1]s BEGIN
	INSERT INTO %[1]s_fts(%[1]s_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
	INSERT INTO %[1]s_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;`, table)
}

// Matcher is the SQL that restricts and ranks rows of a table by a text query.
// Use it as:
//
//	SELECT ... FROM procedures p <Join> WHERE <Where> AND ... ORDER BY <Rank>
//
// with Args appended to the query's arguments at the position given to [Match].
type Matcher struct {
	Join  string // extra FROM clause (SQLite's FTS table), may be empty
	Where string // boolean condition
	Rank  string // ORDER BY expression, best first
	Args  []any
}

// Match builds a Matcher for the user's query q against table (aliased as alias
// in the caller's SQL), numbering its placeholder $argN. ok is false when q has
// no searchable word, in which case the caller should not filter by text.
func Match(d db.Dialect, table, alias, q string, argN int) (m Matcher, ok bool) {
	terms := Terms(q)
	if len(terms) == 0 {
		return Matcher{}, false
	}
	if len(terms) > maxTerms {
		terms = terms[:maxTerms]
	}
	if d == db.Postgres {
		parts := make([]string, len(terms))
		for i, t := range terms {
			// Terms are letters and digits only, so no tsquery syntax can slip in.
			parts[i] = t + ":*"
		}
		p := fmt.Sprintf("to_tsquery('simple', $%d)", argN)
		return Matcher{
			Where: fmt.Sprintf("%s.search_tsv @@ %s", alias, p),
			Rank:  fmt.Sprintf("ts_rank(%s.search_tsv, %s) DESC", alias, p),
			Args:  []any{strings.Join(parts, " & ")},
		}, true
	}
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + t + `"*`
	}
	fts := table + "_fts"
	return Matcher{
		Join:  fmt.Sprintf("JOIN %[1]s ON %[1]s.rowid = %[2]s.rowid", fts, alias),
		Where: fmt.Sprintf("%s MATCH $%d", fts, argN),
		Rank:  fts + ".rank",
		Args:  []any{strings.Join(parts, " ")},
	}, true
}
