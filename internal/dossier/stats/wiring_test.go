package stats_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
)

func topicOf(ev dossier.Event) string {
	switch ev.Action {
	case "start":
		return dossier.TopicSubmitted
	case "receive":
		return dossier.TopicReceived
	}
	return dossier.TopicTransition
}

func publish(t testing.TB, d *db.DB, evs []dossier.Event, topic func(dossier.Event) string) {
	t.Helper()
	err := d.Tx(context.Background(), func(tx *db.Tx) error {
		for _, ev := range evs {
			if err := outbox.Publish(context.Background(), tx, outbox.Event{Topic: topic(ev), Key: ev.Code, Payload: ev, At: ev.At}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The handlers registered by Subscribe receive the dossier topics through
// the outbox; an event published twice is counted once, and the fee and
// result topics are not followed.
func TestSubscribeThroughOutbox(t *testing.T) {
	dbtest.Each(t, append(outbox.Migrations(), stats.Migrations()...), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		disp := outbox.NewDispatcher(d, outbox.Config{Now: e.clock.Now})
		e.s.Subscribe(disp)
		if err := disp.Register(e.ctx); err != nil {
			t.Fatal(err)
		}
		evs := allEvents(march())
		publish(t, d, evs, topicOf)
		// The fee and result events carry the version of the transition
		// before them: followed, they would hide it.
		extra := evs[len(evs)-1]
		extra.FeeN = 1
		publish(t, d, []dossier.Event{extra}, func(dossier.Event) string { return dossier.TopicFeePaid })
		n, err := disp.Drain(e.ctx)
		if err != nil || n != len(evs) {
			t.Fatalf("drained %d deliveries (%v), want %d", n, err, len(evs))
		}
		rep := e.report(marchQuery)
		sameCounts(t, "construction", row(rep, dept, build), wantBuild)
		sameCounts(t, "civil status", row(rep, dept, civil), wantCivil)
		first := mustJSON(t, rep)

		publish(t, d, evs[:10], topicOf)
		if _, err := disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		if again := mustJSON(t, e.report(marchQuery)); again != first {
			t.Fatalf("after publishing again:\n got  %s\n want %s", again, first)
		}
		stats, err := disp.Stats(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			if s.Pending != 0 || s.Dead != 0 {
				t.Fatalf("subscription %+v has deliveries left", s)
			}
		}
	})
}

// Rebuild empties the tables and applies a source's events.
func TestRebuild(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		evs := allEvents(march())
		e.apply(evs...)
		want := mustJSON(t, e.report(marchQuery))
		e.apply(newStory("JUNK", dept, build, dossier.ChannelOnline).receive(at(2026, 3, 3, 9, 0), at(2026, 3, 4, 9, 0)).out...)

		n, err := e.s.Rebuild(e.ctx, func(ctx context.Context, yield func(dossier.Event) error) error {
			for _, ev := range evs {
				if err := yield(ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n != len(evs) {
			t.Fatalf("rebuild: %d events, %v", n, err)
		}
		if got := mustJSON(t, e.report(marchQuery)); got != want {
			t.Fatalf("after rebuild:\n got  %s\n want %s", got, want)
		}
	})
}

func person(id string, grants ...identity.Grant) *identity.Principal {
	return &identity.Principal{PersonID: id, Username: id, Kind: identity.KindOfficial, Grants: grants}
}

func TestHTTP(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		e.apply(allEvents(march())...)
		mux := http.NewServeMux()
		stats.NewHandlers(e.s).Routes(mux)
		get := func(p *identity.Principal, query string) (*httptest.ResponseRecorder, map[string]any) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/statistics?"+query, nil)
			if p != nil {
				req = req.WithContext(identity.WithPrincipal(req.Context(), p))
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s: %v: %s", query, err, w.Body)
			}
			return w, body
		}
		province := person("leader-1", identity.Grant{Role: identity.RoleLeader, UnitID: identity.ProvinceWide})
		deptLeader := person("leader-2", identity.Grant{Role: identity.RoleLeader, UnitID: dept})
		twoUnits := person("leader-3", identity.Grant{Role: identity.RoleAgencyHead, UnitID: dept},
			identity.Grant{Role: identity.RoleAgencyHead, UnitID: health})
		clerk := person("clerk-1", identity.Grant{Role: identity.RoleClerk, UnitID: dept})

		w, body := get(province, "from=2026-03-01&to=2026-04-01&group_by=agency")
		if w.Code != http.StatusOK {
			t.Fatalf("province leader: %d %v", w.Code, body)
		}
		var rep stats.Report
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 2 || rep.Total.Received != 10 || *rep.Total.OnTimeRate != 60 {
			t.Fatalf("province report: %s", w.Body)
		}

		w, _ = get(deptLeader, "from=2026-03-01&to=2026-04-01")
		rep = stats.Report{}
		json.Unmarshal(w.Body.Bytes(), &rep)
		if w.Code != http.StatusOK || rep.Agency != dept || len(rep.Rows) != 2 || rep.Total.Received != 9 {
			t.Fatalf("agency leader: %d %s", w.Code, w.Body)
		}

		for _, c := range []struct {
			p      *identity.Principal
			query  string
			status int
			fields []string
		}{
			{nil, "from=2026-03-01&to=2026-04-01", http.StatusUnauthorized, nil},
			{deptLeader, "from=2026-03-01&to=2026-04-01&agency=" + health, http.StatusForbidden, nil},
			{clerk, "from=2026-03-01&to=2026-04-01&agency=" + dept, http.StatusForbidden, nil},
			{twoUnits, "from=2026-03-01&to=2026-04-01", http.StatusUnprocessableEntity, []string{"agency"}},
			{province, "from=1-3-2026&to=2026-04-01", http.StatusUnprocessableEntity, []string{"from"}},
			{province, "from=2026-04-01&to=2026-03-01&group_by=x", http.StatusUnprocessableEntity, []string{"to", "group_by"}},
		} {
			w, body := get(c.p, c.query)
			if w.Code != c.status {
				t.Fatalf("%s: %d %v, want %d", c.query, w.Code, body, c.status)
			}
			var fields []string
			errs, _ := body["errors"].([]any)
			for _, x := range errs {
				fields = append(fields, x.(map[string]any)["field"].(string))
			}
			if !slices.Equal(fields, c.fields) {
				t.Fatalf("%s: errors %v, want %v", c.query, body["errors"], c.fields)
			}
		}
	})
}

// Several nodes delivering the same events at once (a lease taken over, a
// retry) count each dossier once.
func TestConcurrentRedelivery(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		evs := allEvents(march())
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for _, ev := range evs {
					if err := d.Tx(e.ctx, func(tx *db.Tx) error { return e.s.Apply(e.ctx, tx, ev) }); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		rep := e.report(marchQuery)
		balanced(t, rep)
		sameCounts(t, "construction", row(rep, dept, build), wantBuild)
		sameCounts(t, "civil status", row(rep, dept, civil), wantCivil)
		sameCounts(t, "health", row(rep, health, build), wantHealth)
	})
}
