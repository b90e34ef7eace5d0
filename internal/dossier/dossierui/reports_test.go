package dossierui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/dossierui"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// feedStats builds the statistics from the dossier events in the outbox,
// as the stats subscriber does in the app.
func feedStats(t *testing.T, d *db.DB, e *env) *stats.Service {
	t.Helper()
	s := stats.New(d, stats.Config{Now: e.clock.Now})
	_, err := s.Rebuild(e.ctx, func(ctx context.Context, yield func(dossier.Event) error) error {
		rows, err := d.Read().QueryContext(ctx, `SELECT topic, payload FROM outbox_events ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var topic, payload string
			if err := rows.Scan(&topic, &payload); err != nil {
				return err
			}
			if !slices.Contains(stats.Topics, topic) {
				continue
			}
			var ev dossier.Event
			if err := json.Unmarshal([]byte(payload), &ev); err != nil {
				return err
			}
			if err := yield(ev); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// §11 on the leaders' reports page, as a table and as CSV; form 07 for
// the desk's officer.
func TestReportsPage(t *testing.T) {
	dbtest.Each(t, migrations2(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.receive()
		e.receive()
		e.pages.Stats = feedStats(t, d, e)

		res := e.get("/work/reports?from=2026-03-01&to=2026-03-31&group_by=agency", leader)
		if res.status != http.StatusOK || !strings.Contains(res.body, `id="stats-table"`) {
			t.Fatalf("reports page: %d\n%s", res.status, res.body)
		}
		table := res.body[strings.Index(res.body, `id="stats-table"`):]
		table = table[:strings.Index(table, "</table>")]
		if !strings.Contains(table, "<td>2</td>") || !strings.Contains(table, "Tổng cộng") {
			t.Fatalf("statistics table does not count the 2 received dossiers:\n%s", table)
		}
		if !strings.Contains(res.body, `id="index-table"`) || !strings.Contains(res.body, "Mức độ hài lòng") {
			t.Fatalf("the 766 index is not on the reports page")
		}
		csv := e.get("/work/reports?from=2026-03-01&to=2026-03-31&group_by=field&format=csv", leader)
		if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(csv.body, "Tiếp nhận trong kỳ") || !strings.Contains(csv.body, "Tổng cộng,0,2,") {
			t.Fatalf("CSV: %d %s\n%s", csv.status, csv.header.Get("Content-Type"), csv.body)
		}
		bad := e.get("/work/reports?from=2026-13-01&to=2026-03-31", leader)
		if bad.status != http.StatusOK || !strings.Contains(bad.body, `aria-invalid="true"`) {
			t.Fatalf("bad date: %d; want the form with the field marked", bad.status)
		}
		// The desk officer has no statistics, but prints the book.
		page := e.get("/work/reports", officer)
		if page.status != http.StatusOK || strings.Contains(page.body, `id="stats-form"`) || !strings.Contains(page.body, `id="book-form"`) {
			t.Fatalf("officer's reports page: %d\n%s", page.status, page.body)
		}
		book := e.get("/work/tracking-book?unit="+desk+"&from=2026-03-01&to=2026-03-31", officer)
		if book.status != http.StatusOK || !strings.HasPrefix(book.body, "%PDF-") {
			t.Fatalf("tracking book: %d %.100s", book.status, book.body)
		}
		if r := e.get("/work/tracking-book?unit="+desk+"&from=2026-03-01&to=2026-03-31", stranger); r.status != http.StatusForbidden {
			t.Fatalf("another desk's officer prints the book: %d", r.status)
		}
		if r := e.get("/work/tracking-book?unit="+desk+"&from=2026-03-31&to=2026-03-01", officer); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Ngày kết thúc") {
			t.Fatalf("reversed period: %d %s", r.status, r.body)
		}
	})
}

// migrations2 adds the statistics tables to the workspace's.
func migrations2() []db.Migration { return append(migrations(), stats.Migrations()...) }

// Other modules' facts (notifications sent, payments, shipments) appear on
// the dossier page as their own sections; an empty one is left out.
func TestRelatedSections(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()
		e.pages.Related = func(ctx context.Context, c string) ([]dossierui.RelatedSection, error) {
			if c != code {
				t.Errorf("related asked for %s", c)
			}
			return []dossierui.RelatedSection{
				{ID: "notifications", Title: "dossierui.related.notifications", Headers: []string{"dossierui.related.channel"},
					Rows: [][]string{{"sms 09******78 đã gửi"}}},
				{ID: "payments", Title: "dossierui.related.payments"},
			}, nil
		}
		res := e.get("/work/dossiers/"+code, officer)
		if res.status != http.StatusOK || !strings.Contains(res.body, `id="notifications"`) || !strings.Contains(res.body, "sms 09******78 đã gửi") ||
			!strings.Contains(res.body, "Thông báo đã gửi người dân") {
			t.Fatalf("dossier page: %d, no notifications section", res.status)
		}
		if strings.Contains(res.body, `id="payments"`) {
			t.Fatalf("an empty section is shown")
		}
	})
}

// An online dossier is received from its page: the officer picks the
// division of the competent agency it goes to; without one the form says so.
func TestReceiveOnlineDossierFromItsPage(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var comps []dossier.ComponentInput
		for n := 1; n <= 4; n++ {
			f, err := e.svc.PutFile(e.ctx, "giay-to.pdf", bytes.NewReader(smallPDF("giay to")))
			if err != nil {
				t.Fatal(err)
			}
			comps = append(comps, dossier.ComponentInput{N: n, Provided: catalog.FormElectronic,
				Files: []dossier.FileRef{{Name: f.Name, Hash: f.Hash}}})
		}
		rc, err := e.svc.Submit(e.ctx, dossier.SubmitInput{Submission: dossier.Submission{ProcedureCode: permit, Channel: dossier.ChannelOnline,
			Applicant:  dossier.Applicant{Type: dossier.ApplicantCitizen, Name: "Nguyễn Văn An", PersonalID: "001090012345", Phone: "0912345678"},
			FormData:   json.RawMessage(`{"chu_dau_tu": "Nguyễn Văn An", "dia_diem": "Thửa 12", "dien_tich": 85.5, "so_tang": 3}`),
			Components: comps, Owner: "acc-an"}, Placement: dossier.Placement{ReceivingAgency: "000.00.13.H99", ReceivingUnit: desk}})
		if err != nil {
			t.Fatal(err)
		}
		page := e.get("/work/dossiers/"+rc.Code, officer)
		if !strings.Contains(page.body, `name="division"`) || !strings.Contains(page.body, `value="`+division+`"`) {
			t.Fatalf("the receive form offers no division:\n%s", page.body)
		}
		if res := e.actOnPage(rc.Code, officer, "receive", url.Values{"division": {""}}); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("receive without a division: %d", res.status)
		}
		if res := e.actOnPage(rc.Code, officer, "receive", url.Values{"division": {division}}); res.status != http.StatusSeeOther {
			t.Fatalf("receive: %d\n%s", res.status, res.body)
		}
		got := e.dossier(rc.Code)
		if got.State != "assigning" || got.Unit != division || got.DueAt.IsZero() {
			t.Fatalf("after reception: state %s at %s, due %v; want assigning at the division with an appointment", got.State, got.Unit, got.DueAt)
		}
		if res := e.get("/work?tab=queue", head); !strings.Contains(res.body, rc.Code) {
			t.Fatalf("the division head's queue lacks %s", rc.Code)
		}
	})
}
