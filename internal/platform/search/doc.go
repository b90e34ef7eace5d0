// Package search gives every module diacritic-insensitive full-text search on
// both engines without a shared search table: a module keeps a folded
// `search_text` column on its own table, adds the index with [IndexSQL] in a
// migration, and filters and ranks with [Match] in its own queries, so text search
// combines with the module's other filters in one SQL statement.
//
// Folding ([Fold]) removes Vietnamese diacritics, maps đ/Đ to d and lower-cases,
// so "Cấp giấy phép xây dựng", "cap giay phep xay dung" and "CAP GIAY PHEP" all
// match. SQLite uses an FTS5 external-content table kept in step by triggers;
// PostgreSQL a generated tsvector ('simple' configuration) with a GIN index. Every
// query word is a prefix match and all words must match.
package search
