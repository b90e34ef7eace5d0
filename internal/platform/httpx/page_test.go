package httpx

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParsePage(t *testing.T) {
	tests := []struct {
		query      string
		want       Page
		wantFields []string
	}{
		{"", Page{Limit: 20}, nil},
		{"limit=1", Page{Limit: 1}, nil},
		{"limit=200&cursor=eyJpZCI6NX0", Page{Limit: 200, Cursor: "eyJpZCI6NX0"}, nil},
		{"limit=0", Page{}, []string{"limit"}},
		{"limit=201", Page{}, []string{"limit"}},
		{"limit=-5", Page{}, []string{"limit"}},
		{"limit=ten", Page{}, []string{"limit"}},
		{"cursor=a%20b", Page{}, []string{"cursor"}},
		{"cursor=" + strings.Repeat("a", 1025), Page{}, []string{"cursor"}},
		{"limit=999&cursor=%3D%3D", Page{}, []string{"limit", "cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/items?"+tt.query, nil)
			got, err := ParsePage(r)
			if tt.wantFields == nil {
				if err != nil || got != tt.want {
					t.Errorf("ParsePage = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			rec := httptest.NewRecorder()
			Error(rec, r, err)
			p := problemOf(t, rec)
			if p.Status != 400 || p.Code != "invalid_query" || len(p.Errors) != len(tt.wantFields) {
				t.Fatalf("problem = %+v", p)
			}
			for i, f := range tt.wantFields {
				if p.Errors[i].Field != f {
					t.Errorf("errors[%d].field = %q, want %q", i, p.Errors[i].Field, f)
				}
			}
			if f := p.Errors[0]; f.Field == "limit" && f.Message != "Giá trị phải từ 1 đến 200." {
				t.Errorf("limit message = %q", f.Message)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	type key struct {
		Received string `json:"r"`
		ID       int64  `json:"id"`
	}
	in := key{"2025-01-02T03:04:05Z", 42}
	c, err := EncodeCursor(in)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/items?cursor="+c, nil)
	page, err := ParsePage(r)
	if err != nil {
		t.Fatalf("ParsePage rejects an encoded cursor: %v", err)
	}
	var out key
	if err := DecodeCursor(page.Cursor, &out); err != nil || out != in {
		t.Errorf("DecodeCursor = %+v, %v; want %+v", out, err, in)
	}
	for _, bad := range []string{"!!!", "bm90IGpzb24", c[:len(c)-3]} {
		err := DecodeCursor(bad, &out)
		rec := httptest.NewRecorder()
		Error(rec, r, err)
		if p := problemOf(t, rec); p.Code != "invalid_query" || p.Errors[0].Field != "cursor" {
			t.Errorf("DecodeCursor(%q) problem = %+v", bad, p)
		}
	}
}

func TestListEnvelope(t *testing.T) {
	total := 3
	tests := []struct {
		list any
		want string
	}{
		{List[string]{}, `{"items":[]}`},
		{List[string]{Items: []string{"a", "b"}, Next: "Yg"}, `{"items":["a","b"],"next":"Yg"}`},
		{List[int]{Items: []int{1}, Total: &total}, `{"items":[1],"total":3}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.list)
		if err != nil || string(b) != tt.want {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tt.list, b, err, tt.want)
		}
	}
	rec := httptest.NewRecorder()
	WriteJSON(rec, 200, List[string]{Items: []string{"x"}, Next: "n"})
	var back struct {
		Items []string `json:"items"`
		Next  string   `json:"next"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || back.Next != "n" || back.Items[0] != "x" {
		t.Errorf("WriteJSON(List) body %s", rec.Body)
	}
}
