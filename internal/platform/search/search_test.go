package search_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/search"
)

func TestFold(t *testing.T) {
	cases := map[string]string{
		"Cấp giấy phép xây dựng":  "cap giay phep xay dung",
		"ĐĂNG KÝ KHAI SINH":       "dang ky khai sinh",
		"Đắk Lắk, Thừa Thiên Huế": "dak lak, thua thien hue",
		"1.004227":                "1.004227",
		"Nguyễn Thị Ánh Tuyết":    "nguyen thi anh tuyet",
	}
	for in, want := range cases {
		if got := search.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

var migs = []db.Migration{{Module: "st", Version: 1, Name: "docs",
	Up: `CREATE TABLE docs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, search_text TEXT NOT NULL)`,
	Func: func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, search.IndexSQL(tx.Dialect, "docs"))
		return err
	}}}

func TestMatchBothEngines(t *testing.T) {
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		docs := []struct{ id, kind, text string }{
			{"1", "a", "Cấp giấy phép xây dựng nhà ở riêng lẻ"},
			{"2", "a", "Đăng ký khai sinh"},
			{"3", "b", "Đăng ký kết hôn"},
			{"4", "a", "Cấp đổi giấy phép lái xe"},
		}
		for _, x := range docs {
			if _, err := d.Write().ExecContext(ctx, `INSERT INTO docs (id, kind, search_text) VALUES ($1, $2, $3)`, x.id, x.kind, search.Text(x.text)); err != nil {
				t.Fatal(err)
			}
		}
		// An update must re-index (SQLite triggers).
		if _, err := d.Write().ExecContext(ctx, `UPDATE docs SET search_text = $1 WHERE id = '4'`, search.Text("Cấp đổi giấy phép lái xe ô tô")); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write().ExecContext(ctx, `DELETE FROM docs WHERE id = '3'`); err != nil {
			t.Fatal(err)
		}
		find := func(q string, kind string) []string {
			m, ok := search.Match(d.Dialect(), "docs", "x", q, 2)
			if !ok {
				return nil
			}
			sql := fmt.Sprintf(`SELECT x.id FROM docs x %s WHERE x.kind = $1 AND %s ORDER BY %s, x.id`, m.Join, m.Where, m.Rank)
			rows, err := d.Read().QueryContext(ctx, sql, append([]any{kind}, m.Args...)...)
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			defer rows.Close()
			var ids []string
			for rows.Next() {
				var id string
				rows.Scan(&id)
				ids = append(ids, id)
			}
			sort.Strings(ids)
			return ids
		}
		tests := []struct {
			q, kind string
			want    string
		}{
			{"giay phep", "a", "[1 4]"},
			{"GIẤY PHÉP xây", "a", "[1]"},
			{"dang ky", "a", "[2]"},
			{"dang ky", "b", "[]"},   // deleted row gone from the index
			{"o to", "a", "[4]"},     // updated text indexed
			{"khai sinh", "b", "[]"}, // filter combines with text
			{"xay d", "a", "[1]"},    // prefix
			{"'; DROP TABLE docs; --", "a", "[]"},
		}
		for _, tc := range tests {
			got := fmt.Sprint(find(tc.q, tc.kind))
			if got == "[]" && tc.want == "[]" {
				continue
			}
			if got != tc.want {
				t.Errorf("search %q in %s = %s, want %s", tc.q, tc.kind, got, tc.want)
			}
		}
		// Codes are found by their parts on both engines.
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO docs (id, kind, search_text) VALUES ('5', 'c', $1)`, search.Text("Thủ tục 1.004227", "000.00.09.H41")); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"1.004227", "004227", "H41", "000.00.09.h41"} {
			if got := fmt.Sprint(find(q, "c")); got != "[5]" {
				t.Errorf("search %q = %s, want [5]", q, got)
			}
		}
		if _, ok := search.Match(d.Dialect(), "docs", "x", " ,.; ", 1); ok {
			t.Error("query without words should not match")
		}
	})
}
