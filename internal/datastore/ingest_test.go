package datastore_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
)

// one-stop §10, §3 step 2.1 and 9: the papers scanned at reception are in
// the owner's store once the dossier is received; the result once it is
// returned, not before; events delivered twice (and the whole ingest run
// again) never duplicate a document.
func TestIngestFromDossierEvents(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive(an, "")
		e.drain()
		comps := byKind(e.docs(an), datastore.KindComponent)
		if len(comps) != 2 {
			t.Fatalf("after reception the store holds %d component documents, want 2: %+v", len(comps), comps)
		}
		for _, c := range comps {
			if c.DossierCode != code || c.Issuer.ID != center || c.Issuer.Name != "Trung tâm Phục vụ hành chính công tỉnh" || c.Current.Hash == "" {
				t.Errorf("component document %+v: wrong source, digitizer or file", c)
			}
		}
		if n := len(e.docs(binh)); n != 0 {
			t.Errorf("another account's store holds %d documents", n)
		}

		e.clock.Set(at(2026, 3, 3, 9, 0))
		e.resolve(code)
		e.drain()
		if rs := byKind(e.docs(an), datastore.KindResult); len(rs) != 0 {
			t.Fatalf("the result is in the store before it is returned: %+v", rs)
		}
		e.clock.Set(at(2026, 3, 4, 9, 0))
		e.act(code, "return", officer, nil)
		e.drain()
		rs := byKind(e.docs(an), datastore.KindResult)
		if len(rs) != 1 {
			t.Fatalf("after return the store holds %d results, want 1", len(rs))
		}
		r := rs[0]
		if r.Number != "15/GPXD" || r.Title != "Giấy phép xây dựng" || r.Issuer != (datastore.Issuer{ID: dept, Name: "Sở Xây dựng"}) ||
			r.Current.IssuedOn != date(2026, 3, 3) || r.Current.ValidUntil != date(2027, 3, 2) || r.Current.MediaType != datastore.MediaPDF {
			t.Errorf("result document %+v", r)
		}
		// The stored file is the dossier's result file, byte for byte.
		_, rc, err := e.store.Open(e.ctx, an, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, onePagePDF("giay phep "+code)) {
			t.Error("the stored result is not the dossier's result file")
		}

		// Redelivery: every event of the dossier again, and the ingest again.
		evs := []outbox.Event{
			{ID: 1, Topic: dossier.TopicReceived, Key: code, Payload: dossier.Event{Code: code, Status: dossier.StatusReceived}},
			{ID: 2, Topic: dossier.TopicTransition, Key: code, Payload: dossier.Event{Code: code, Action: "return", Status: dossier.StatusReturned}},
			{ID: 3, Topic: dossier.TopicResultAdded, Key: code, Payload: dossier.Event{Code: code, ResultCode: "15/GPXD", Status: dossier.StatusReturned}},
		}
		for _, ev := range evs {
			if err := e.store.Handle(e.ctx, delivered(t, ev)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.store.Ingest(e.ctx, code); err != nil {
			t.Fatal(err)
		}
		all := e.docs(an)
		if len(all) != 3 {
			t.Fatalf("after redelivery the store holds %d documents, want 3", len(all))
		}
		for _, x := range all {
			full, err := e.store.Get(e.ctx, an, x.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(full.Versions) != 1 {
				t.Errorf("%s has %d versions after redelivery, want 1", x.Title, len(full.Versions))
			}
		}
	})
}

// delivered turns an event into what a handler receives (a JSON payload).
func delivered(t *testing.T, ev outbox.Event) outbox.Event {
	t.Helper()
	b, err := jsonMarshal(ev.Payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Payload = b
	return ev
}

// Transitions that cannot bring anything are skipped without reading the
// dossier.
func TestIngestSkipsOtherTransitions(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive(an, "")
		before := e.src.reads
		ev := outbox.Event{ID: 9, Topic: dossier.TopicTransition, Key: code,
			Payload: dossier.Event{Code: code, Action: "assign", Status: dossier.StatusProcessing}}
		if err := e.store.Handle(e.ctx, delivered(t, ev)); err != nil {
			t.Fatal(err)
		}
		if e.src.reads != before {
			t.Error("an assignment made the store read the dossier")
		}
	})
}

// A new version of a scanned component (a better scan under the same
// name) becomes a new version of the same document; the first stays in
// the history and its reference still resolves to the first file.
func TestIngestVersions(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive(an, "")
		e.drain()
		e.clock.Set(at(2026, 3, 2, 10, 0))
		f, err := e.dos.AttachFile(e.ctx, dossier.AttachInput{DossierCode: code, Component: 2, Name: "so-do.png",
			Body: bytes.NewReader(smallPNG(5)), Digitized: true, Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		if f.Version != 2 {
			t.Fatalf("the dossier made version %d of the scan", f.Version)
		}
		// Files attached during processing reach the store at the latest
		// when the dossier is returned; Ingest is what a later event runs.
		if err := e.store.Ingest(e.ctx, code); err != nil {
			t.Fatal(err)
		}
		var land *datastore.Document
		for _, x := range e.docs(an) {
			if x.DocType == "Giấy chứng nhận quyền sử dụng đất" {
				land, err = e.store.Get(e.ctx, an, x.ID)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if land == nil {
			t.Fatal("no land-use certificate in the store")
		}
		if land.Version != 2 || len(land.Versions) != 2 || land.Versions[0].SourceVersion != 1 || land.Versions[1].SourceVersion != 2 {
			t.Fatalf("versions %+v", land.Versions)
		}
		if land.Current.Hash != f.Hash {
			t.Error("the current version is not the new scan")
		}
		old, err := e.store.Resolve(e.ctx, an, datastore.FormatRef(land.ID, 1))
		if err != nil {
			t.Fatal(err)
		}
		if old.Hash != land.Versions[0].Hash || old.Latest {
			t.Errorf("ref to version 1 resolved to %+v", old)
		}
		_, rc, err := e.store.Open(e.ctx, an, land.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, smallPNG(3)) {
			t.Error("version 1 does not open the first scan")
		}
	})
}

// Dossiers without an owner account put nothing in any store but count
// for the 766 figures; dossiers never received put nothing anywhere.
func TestIngestWithoutOwner(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.receive("", "")
		e.drain()
		if n := len(e.docs(an)); n != 0 {
			t.Errorf("a dossier without owner put %d documents in a store", n)
		}
		cs, err := e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 3, 1), To: date(2026, 4, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].ComponentsDigitized != 2 || cs[0].DossiersDigitized != 1 {
			t.Errorf("counts %+v", cs)
		}
		if err := e.store.Ingest(e.ctx, "H99-260302-9999"); !errors.Is(err, dossier.ErrNotFound) {
			t.Errorf("ingest of an unknown dossier: %v", err)
		}
	})
}

// Several nodes ingesting the same dossier at once (redelivery while a
// lease expired) still give one document per item and one version each.
func TestConcurrentIngest(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive(an, "")
		e.resolve(code)
		e.act(code, "return", officer, nil)
		errs := make(chan error, 6)
		for range 6 {
			go func() { errs <- e.store.Ingest(e.ctx, code) }()
		}
		for range 6 {
			if err := <-errs; err != nil {
				t.Log(err) // a loser may fail and be retried by the outbox
			}
		}
		e.drain()
		docs := e.docs(an)
		if len(docs) != 3 {
			t.Fatalf("%d documents after concurrent ingests, want 3", len(docs))
		}
		for _, x := range docs {
			if x.Version != 1 {
				t.Errorf("%s has %d versions", x.Title, x.Version)
			}
		}
		cs, err := e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 3, 1), To: date(2026, 4, 1)})
		if err != nil || len(cs) != 1 || cs[0].ComponentsDigitized != 2 || cs[0].ResultsElectronic != 1 {
			t.Errorf("counts %+v %v", cs, err)
		}
	})
}
