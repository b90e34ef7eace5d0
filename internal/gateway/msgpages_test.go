package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func pagesKey(t *testing.T) *Key {
	t.Helper()
	pem, err := GenerateKeyPEM()
	check(t, err)
	k, err := ParseKeyPEM(pem)
	check(t, err)
	return k
}

// logRecords appends recs through a MessageLog of node (batches of at most
// maxBatch records, from 8 goroutines) and stops it.
func logRecords(t *testing.T, d *db.DB, node string, maxBatch int, recs []Record) {
	t.Helper()
	ml, err := NewMessageLog(d, LogConfig{Node: node, Key: pagesKey(t), SignInterval: time.Hour, MaxBatch: maxBatch})
	check(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ml.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	next := make(chan Record)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if err := ml.Append(context.Background(), r); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, r := range recs {
		next <- r
	}
	close(next)
	wg.Wait()
	cancel()
	<-done
}

func allRecords(t *testing.T, d *db.DB) []*Record {
	t.Helper()
	var out []*Record
	check(t, eachRecord(context.Background(), d, func(r *Record) error { x := *r; out = append(out, &x); return nil }))
	return out
}

func ids(recs []*Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s/%d", r.Node, r.Seq)
	}
	return out
}

// integration §message log: search by dossier code, client, service and
// time, newest first, across the pages of several nodes — the same
// answers as filtering every record.
func TestSearchAcrossPages(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(7, 9))
		clients := []string{"VN/GOV/A/APP", "VN/GOV/B/APP", "VN/GOV/C/APP"}
		services := []string{"VN/GOV/P/S/hoso/v1", "VN/GOV/P/S/hoso/v2", "VN/GOV/P/S/hosox/v1", "VN/GOV/P/T/other/v1"}
		mk := func(i int) []Record {
			var recs []Record
			for j := range 120 {
				// Start times are not in the order the records are
				// written: pages overlap in time.
				at := base.Add(time.Duration(j*1000+rng.IntN(5000)) * time.Millisecond)
				issue := ""
				if j%4 != 0 {
					issue = fmt.Sprintf("000.00.01.H57-260302-%04d", rng.IntN(10))
				}
				recs = append(recs, Record{At: at, DoneAt: at.Add(time.Duration(rng.IntN(50)) * time.Millisecond),
					Client: clients[rng.IntN(len(clients))], Service: services[rng.IntN(len(services))], Issue: issue,
					Method: "GET", Path: "/ho-so", Status: 200, RequestID: fmt.Sprintf("%d-%d", i, j)})
			}
			return recs
		}
		logRecords(t, d, "a", 5, mk(0))
		logRecords(t, d, "b", 3, mk(1))
		all := allRecords(t, d)
		if len(all) != 240 {
			t.Fatalf("%d records stored, want 240", len(all))
		}
		var pages int
		check(t, d.Read().QueryRow(`SELECT COUNT(*) FROM gateway_msglog_pages`).Scan(&pages))
		if pages < 240/5 || pages >= 240 {
			t.Fatalf("%d pages for 240 records in batches of at most 5: the test does not cover pages of several records", pages)
		}
		filters := []Filter{
			{},
			{Limit: 7},
			{Client: clients[1]},
			{Service: "VN/GOV/P/S/hoso"}, // a prefix: v1 and v2, not hosox
			{Service: "VN/GOV/P/S/hoso/v1", Limit: 1000},
			{From: base.Add(30 * time.Second), To: base.Add(45 * time.Second), Limit: 1000},
			{From: base.Add(100 * time.Second), Limit: 3},
			{To: base.Add(10 * time.Second)},
			{Issue: "000.00.01.H57-260302-0003", Limit: 1000},
			{Issue: "000.00.01.H57-260302-0003", Limit: 3}, // stops at the newest pages
			{Issue: "000.00.01.H57-260302-0004", Client: clients[2], Limit: 2},
			{Issue: "000.00.01.H57-260302-0005", From: base.Add(60 * time.Second)},
			{Issue: "000.00.01.H57-999999-0000"},
			{Client: "VN/GOV/NOBODY/APP"},
		}
		for _, f := range filters {
			got, err := Search(context.Background(), d, f)
			check(t, err)
			var want []*Record
			for _, r := range all {
				if f.match(r) {
					want = append(want, r)
				}
			}
			slices.SortFunc(want, newer)
			limit := f.Limit
			if limit <= 0 {
				limit = 100
			}
			want = want[:min(limit, len(want))]
			gotp := make([]*Record, len(got))
			for i := range got {
				gotp[i] = &got[i]
			}
			if g, w := strings.Join(ids(gotp), " "), strings.Join(ids(want), " "); g != w {
				t.Errorf("search %+v:\n got %s\nwant %s", f, g, w)
			}
			for i := range got {
				if got[i] != *want[i] {
					t.Errorf("search %+v: record %s differs: %+v, want %+v", f, ids(want[i:i+1]), got[i], *want[i])
				}
			}
		}
		// The prefix names whole segments, independently of match.
		var hoso int
		for _, r := range all {
			if r.Service == services[0] || r.Service == services[1] {
				hoso++
			}
		}
		got := mustSearch(t, d, Filter{Service: "VN/GOV/P/S/hoso", Limit: 1000})
		if len(got) != hoso || hoso == 0 || hoso == 240 {
			t.Fatalf("prefix search found %d, want %d", len(got), hoso)
		}
		for _, r := range got {
			if r.Service != services[0] && r.Service != services[1] {
				t.Errorf("prefix search found %s", r.Service)
			}
		}
	})
}

func mustSearch(t *testing.T, d *db.DB, f Filter) []Record {
	t.Helper()
	recs, err := Search(context.Background(), d, f)
	check(t, err)
	return recs
}

// integration §monitoring: the status page's calls, errors, latency and
// last success per service, from every node, over whole minutes, also
// when several transactions add to the same minute.
func TestServiceStatusFromMinutes(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		m := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		rec := func(at time.Time, svc string, status int, fault string, ms int) Record {
			return Record{At: at, DoneAt: at.Add(time.Duration(ms) * time.Millisecond), Client: "VN/GOV/A/APP", Service: svc,
				Method: "GET", Path: "/", Status: status, ErrorType: fault}
		}
		x, y := "VN/GOV/P/S/x/v1", "VN/GOV/P/S/y/v1"
		// One record per transaction (MaxBatch 1): the minute rows are
		// added to again and again.
		logRecords(t, d, "a", 1, []Record{
			rec(m.Add(5*time.Second), x, 200, "", 10),
			rec(m.Add(10*time.Second), x, 500, "", 30),
			rec(m.Add(15*time.Second), x, 404, "", 20),
		})
		logRecords(t, d, "b", 1, []Record{
			rec(m.Add(20*time.Second), x, 504, "Server.ServerProxy.ServiceTimeout", 40),
			rec(m.Add(65*time.Second), x, 200, "", 50),
			rec(m.Add(70*time.Second), y, 201, "", 5),
		})
		st, err := ServiceStatus(context.Background(), d, m)
		check(t, err)
		if len(st) != 2 || st[0].Service != x || st[1].Service != y {
			t.Fatalf("status: %+v", st)
		}
		sx := st[0]
		if sx.Calls != 5 || sx.Errors != 2 || sx.ErrorRate != 0.4 || sx.AvgMillis != 30 || sx.MaxMillis != 50 {
			t.Errorf("service x: %+v", sx)
		}
		if sx.LastSuccess == nil || !sx.LastSuccess.Equal(m.Add(65*time.Second)) || !sx.LastCall.Equal(m.Add(65*time.Second)) {
			t.Errorf("service x: last success %v, last call %v", sx.LastSuccess, sx.LastCall)
		}
		// Since a time inside the second minute: that whole minute.
		st, err = ServiceStatus(context.Background(), d, m.Add(61*time.Second))
		check(t, err)
		if len(st) != 2 || st[0].Calls != 1 || st[0].Errors != 0 || st[0].AvgMillis != 50 || st[1].Calls != 1 {
			t.Errorf("status since the second minute: %+v", st)
		}
		// Totals older than kept are pruned; the records stay.
		check(t, PruneMinutes(context.Background(), d, m.Add(time.Minute)))
		st, err = ServiceStatus(context.Background(), d, m)
		check(t, err)
		if len(st) != 2 || st[0].Calls != 1 || st[1].Calls != 1 {
			t.Errorf("status after pruning the first minute: %+v", st)
		}
		if n := len(allRecords(t, d)); n != 6 {
			t.Errorf("%d records after pruning totals, want 6", n)
		}
		// A service that only failed has no last success.
		logRecords(t, d, "a", 1, []Record{rec(m.Add(3*time.Minute), "VN/GOV/P/S/z/v1", 502, "", 1)})
		st, err = ServiceStatus(context.Background(), d, m.Add(3*time.Minute))
		check(t, err)
		if len(st) != 1 || st[0].LastSuccess != nil || st[0].Errors != 1 {
			t.Errorf("failing service: %+v", st)
		}
	})
}

// The message log kept a row per record before pages (migration 2); the
// move into pages keeps every record, and every break a verification
// finds, as it was.
func TestMigrationMovesRowsIntoPages(t *testing.T) {
	var before []db.Migration
	for _, m := range Migrations() {
		if m.Version < 9 {
			before = append(before, m)
		}
	}
	dbtest.Each(t, before, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		var want []*Record
		for _, node := range []string{"a", "b"} {
			prev := genesis
			for seq := int64(1); seq <= 700; seq++ { // more than a page
				at := base.Add(time.Duration(seq) * time.Second)
				r := &Record{Node: node, Seq: seq, At: at, DoneAt: at.Add(time.Millisecond), Client: "VN/GOV/A/APP", Service: "VN/GOV/P/S/x/v1",
					MessageID: "m", RequestID: fmt.Sprint(seq), Issue: fmt.Sprintf("H57-%d", seq%7), Method: "POST", Path: "/ho-so",
					Status: 200, RequestHash: strings.Repeat("a", 64), ResponseHash: strings.Repeat("b", 64), RequestBody: `{"x":1}`, PrevHash: prev}
				r.Hash = r.computeHash()
				prev = r.Hash
				want = append(want, r)
			}
		}
		for _, r := range want {
			_, err := d.Write().ExecContext(ctx, `INSERT INTO gateway_msglog (node, seq, at, done_at, client, service, message_id, request_id, user_id, issue,
	method, path, status, error_type, request_bytes, response_bytes, request_hash, response_hash, request_body, response_body, prev_hash, hash, duration_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
				r.Node, r.Seq, r.At, r.DoneAt, r.Client, r.Service, r.MessageID, r.RequestID, r.UserID, r.Issue, r.Method, r.Path, r.Status,
				r.ErrorType, r.RequestBytes, r.ResponseBytes, r.RequestHash, r.ResponseHash, r.RequestBody, r.ResponseBody, r.PrevHash, r.Hash, 1000)
			check(t, err)
		}
		// Breaks to keep: a missing record, a changed one, a changed link.
		_, err := d.Write().ExecContext(ctx, `DELETE FROM gateway_msglog WHERE node = 'a' AND seq = 12`)
		check(t, err)
		_, err = d.Write().ExecContext(ctx, `UPDATE gateway_msglog SET status = 403 WHERE node = 'a' AND seq = 20`)
		check(t, err)
		_, err = d.Write().ExecContext(ctx, `UPDATE gateway_msglog SET prev_hash = $1 WHERE node = 'b' AND seq = 300`, genesis)
		check(t, err)

		check(t, d.Migrate(ctx, Migrations()))
		got := allRecords(t, d)
		if len(got) != len(want)-1 {
			t.Fatalf("%d records after the move, want %d", len(got), len(want)-1)
		}
		want = slices.DeleteFunc(want, func(r *Record) bool { return r.Node == "a" && r.Seq == 12 })
		want[18].Status = 403 // a/20
		want[699+299].PrevHash = genesis
		for i := range got {
			if *got[i] != *want[i] {
				t.Fatalf("record %s after the move: %+v, want %+v", ids(want[i:i+1]), *got[i], *want[i])
			}
		}
		rep, err := VerifyDB(ctx, d, nil)
		check(t, err)
		problems := strings.Join(rep.Problems, "\n")
		for _, p := range []string{"record 13 follows 11", "record 20: content does not match", "record 300: content does not match"} {
			if !strings.Contains(problems, p) {
				t.Errorf("problem %q not found after the move: %s", p, problems)
			}
		}
		if rep.Records != 1399 {
			t.Errorf("verified %d records", rep.Records)
		}
		// The old table is gone; search and status read the new ones.
		if _, err := d.Read().Exec(`SELECT 1 FROM gateway_msglog`); err == nil {
			t.Error("gateway_msglog still exists")
		}
		if recs := mustSearch(t, d, Filter{Issue: "H57-3", Limit: 1000}); len(recs) != 200 {
			t.Errorf("search by issue after the move: %d records, want 200", len(recs))
		}
		st, err := ServiceStatus(ctx, d, base)
		check(t, err)
		if len(st) != 1 || st[0].Calls != 1399 {
			t.Errorf("status after the move: %+v", st)
		}
	})
}

// A damaged page is reported, not read as records.
func TestReadPageRefusesDamage(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var page []*Record
	prev := genesis
	for i := range 3 {
		r := &Record{Node: "a", Seq: int64(i + 1), At: at, DoneAt: at, Client: "c", Service: "s", Issue: "i", PrevHash: prev}
		r.Hash = r.computeHash()
		prev = r.Hash
		page = append(page, r)
	}
	b, _ := appendPage(nil, nil, page)
	var got []*Record
	check(t, readPage("a", 1, b, func(r *Record) bool { x := *r; got = append(got, &x); return true }))
	for i := range page {
		if *got[i] != *page[i] {
			t.Fatalf("record %d: %+v, want %+v", i, *got[i], *page[i])
		}
	}
	for cut := range len(b) {
		if err := readPage("a", 1, b[:cut], func(*Record) bool { return true }); err == nil {
			t.Fatalf("a page cut at %d of %d bytes was read", cut, len(b))
		}
	}
	if err := readPage("a", 1, append(b, 0), func(*Record) bool { return true }); err == nil {
		t.Fatal("a page with a byte after its records was read")
	}
}
