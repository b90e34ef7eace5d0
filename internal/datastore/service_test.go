package datastore_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func (e *env) upload(owner, title, docType string, data []byte) *datastore.Document {
	e.t.Helper()
	doc, err := e.store.Upload(e.ctx, datastore.UploadInput{Owner: owner, Title: title, DocType: docType, FileName: "scan.pdf",
		IssuedOn: date(2020, 5, 1), ValidUntil: date(2030, 5, 1), Body: bytes.NewReader(data)})
	if err != nil {
		e.t.Fatalf("upload %s: %v", title, err)
	}
	return doc
}

// An applicant's upload: checked by content, versioned, deleted for good
// by its owner; nobody else sees, opens, resolves or deletes it.
func TestUploadVersionsAndIsolation(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		doc := e.upload(an, "Căn cước công dân", "CCCD", onePagePDF("cccd v1"))
		if doc.Kind != datastore.KindUpload || doc.Version != 1 || doc.Current.MediaType != datastore.MediaPDF || doc.Ref() != "ds:"+doc.ID+":1" {
			t.Fatalf("upload %+v", doc)
		}

		// Another account: 404 everywhere, its own list empty.
		if _, err := e.store.Get(e.ctx, binh, doc.ID); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("another account's Get: %v", err)
		}
		if _, _, err := e.store.Open(e.ctx, binh, doc.ID, 0); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("another account's Open: %v", err)
		}
		if _, err := e.store.Resolve(e.ctx, binh, doc.Ref()); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("another account's Resolve: %v", err)
		}
		if _, err := e.store.Delete(e.ctx, binh, doc.ID); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("another account's Delete: %v", err)
		}
		if _, err := e.store.AddVersion(e.ctx, doc.ID, datastore.UploadInput{Owner: binh, FileName: "x.pdf", Body: bytes.NewReader(onePagePDF("x"))}); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("another account's AddVersion: %v", err)
		}
		if _, err := e.store.Get(e.ctx, "", doc.ID); !errors.Is(err, datastore.ErrUnauthenticated) {
			t.Errorf("anonymous Get: %v", err)
		}

		// A renewed card: version 2; version 1 kept.
		e.clock.Set(at(2026, 4, 1, 9, 0))
		v2, err := e.store.AddVersion(e.ctx, doc.ID, datastore.UploadInput{Owner: an, FileName: "cccd-moi.png", ValidUntil: date(2040, 1, 1),
			Body: bytes.NewReader(smallPNG(1))})
		if err != nil {
			t.Fatal(err)
		}
		if v2.Version != 2 || len(v2.Versions) != 2 || v2.Title != "Căn cước công dân" || v2.Current.MediaType != datastore.MediaPNG ||
			v2.Versions[0].FileName != "scan.pdf" {
			t.Fatalf("after a new version: %+v", v2)
		}
		r1, err := e.store.Resolve(e.ctx, an, "ds:"+doc.ID+":1")
		if err != nil || r1.Hash != doc.Current.Hash || r1.Latest {
			t.Errorf("resolve v1: %+v %v", r1, err)
		}
		cur, err := e.store.Resolve(e.ctx, an, "ds:"+doc.ID)
		if err != nil || cur.Version != 2 || !cur.Latest {
			t.Errorf("resolve current: %+v %v", cur, err)
		}
		for _, bad := range []string{"ds:", "xx:" + doc.ID + ":1", "ds:" + doc.ID + ":0", "ds:ZZ:1"} {
			if _, err := e.store.Resolve(e.ctx, an, bad); !errors.Is(err, datastore.ErrBadRef) {
				t.Errorf("resolve %q: %v", bad, err)
			}
		}
		if _, err := e.store.Resolve(e.ctx, an, "ds:"+doc.ID+":3"); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("resolve a version that does not exist: %v", err)
		}

		// Deleted for good, with its versions.
		out, err := e.store.Delete(e.ctx, an, doc.ID)
		if err != nil || out != datastore.Deleted {
			t.Fatalf("delete upload: %v %v", out, err)
		}
		if _, err := e.store.Get(e.ctx, an, doc.ID); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("deleted upload still there: %v", err)
		}
		var n int
		if err := d.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM datastore_versions WHERE document_id = $1`, doc.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d versions left after delete (%v)", n, err)
		}
		ents, _, err := audit.List(e.ctx, d, audit.Filter{ObjectType: datastore.AuditObjectType, ObjectID: doc.ID})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, en := range ents {
			acts = append(acts, en.Action)
		}
		if strings.Join(acts, ",") != "datastore.delete,datastore.version,datastore.upload" {
			t.Errorf("audit trail %v", acts)
		}
	})
}

// one-stop §9 upload checks: type by content, size, readable.
func TestUploadChecks(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		up := func(title string, data []byte) error {
			_, err := e.store.Upload(e.ctx, datastore.UploadInput{Owner: an, Title: title, FileName: "a.pdf", Body: bytes.NewReader(data)})
			return err
		}
		if err := up("Giấy khai sinh", []byte("<html>not a pdf</html>")); !errors.Is(err, datastore.ErrRejectedFile) {
			t.Errorf("HTML named .pdf: %v", err)
		}
		pdf := onePagePDF("cut")
		if err := up("Giấy khai sinh", pdf[:len(pdf)-40]); !errors.Is(err, datastore.ErrRejectedFile) {
			t.Errorf("truncated PDF: %v", err)
		}
		big := append(onePagePDF("big"), bytes.Repeat([]byte{' '}, 1<<20)...)
		if err := up("Giấy khai sinh", big); !errors.Is(err, datastore.ErrTooLarge) {
			t.Errorf("over the limit: %v", err)
		}
		var ve *datastore.ValidationError
		if err := up("", onePagePDF("no title")); !errors.As(err, &ve) || ve.Fields[0].Field != "title" {
			t.Errorf("no title: %v", err)
		}
		if n := len(e.docs(an)); n != 0 {
			t.Errorf("refused uploads left %d documents", n)
		}
	})
}

// Deletion rules (Decree 13/2023 and the record of issued results): an
// issued result can only be hidden, the record is kept and can be shown
// again; a digitized copy of the owner's own paper is deleted for good and
// a redelivered event does not bring it back.
func TestDeletionRules(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive(an, "")
		e.resolve(code)
		e.act(code, "return", officer, nil)
		e.drain()
		res := byKind(e.docs(an), datastore.KindResult)[0]
		comp := byKind(e.docs(an), datastore.KindComponent)[0]

		out, err := e.store.Delete(e.ctx, an, res.ID)
		if err != nil || out != datastore.Hidden {
			t.Fatalf("delete a result: %v %v", out, err)
		}
		if rs := byKind(e.docs(an), datastore.KindResult); len(rs) != 0 {
			t.Error("a hidden result still shows in the list")
		}
		if ps, _ := e.store.Pick(e.ctx, an, datastore.PickQuery{DocType: "giay phep xay dung"}); len(byKind(ps, datastore.KindResult)) != 0 {
			t.Error("a hidden result is offered for reuse")
		}
		hidden, err := e.store.List(e.ctx, an, datastore.ListQuery{Hidden: true})
		if err != nil || len(hidden.Items) != 1 || hidden.Items[0].ID != res.ID {
			t.Fatalf("hidden list %+v %v", hidden.Items, err)
		}
		if _, err := e.store.Get(e.ctx, an, res.ID); err != nil {
			t.Errorf("the record of a hidden result is gone: %v", err)
		}
		if err := e.store.Restore(e.ctx, an, res.ID); err != nil {
			t.Fatal(err)
		}
		if ps, _ := e.store.Pick(e.ctx, an, datastore.PickQuery{DocType: "Giấy phép xây dựng", On: date(2026, 6, 1)}); len(ps) == 0 || ps[0].ID != res.ID {
			t.Errorf("pick after restore: the result of the same type does not come first: %+v", ps)
		}
		if rs := byKind(e.docs(an), datastore.KindResult); len(rs) != 1 {
			t.Error("a restored result does not show")
		}
		if _, err := e.store.AddVersion(e.ctx, res.ID, datastore.UploadInput{Owner: an, FileName: "x.pdf",
			Body: bytes.NewReader(onePagePDF("forged"))}); !errors.Is(err, datastore.ErrNotAllowed) {
			t.Errorf("new version of an issued result by the applicant: %v", err)
		}

		out, err = e.store.Delete(e.ctx, an, comp.ID)
		if err != nil || out != datastore.Deleted {
			t.Fatalf("delete a digitized copy: %v %v", out, err)
		}
		if err := e.store.Ingest(e.ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Get(e.ctx, an, comp.ID); !errors.Is(err, datastore.ErrNotFound) {
			t.Error("the deleted copy came back")
		}
		if n := len(byKind(e.docs(an), datastore.KindComponent)); n != 1 {
			t.Errorf("%d component documents after deleting one of two and ingesting again", n)
		}
		// The dossier keeps its own copy.
		dd, err := e.dos.Get(e.ctx, code, reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range dd.Components {
			if len(c.Files) == 0 {
				t.Errorf("the dossier lost component %d", c.N)
			}
		}
	})
}

// one-stop §9–§10: the applicant picks a valid document of the right type,
// cites it, the dossier attaches the very same blob, and the reuse is
// counted once (766 index) and shown on the document; a reference to
// someone else's document is neither resolved nor counted.
func TestReuseAndCounts(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		first := e.receive(an, "")
		e.drain()
		expired := e.upload(an, "Giấy chứng nhận quyền sử dụng đất (cũ)", "Giấy chứng nhận quyền sử dụng đất", onePagePDF("old"))
		if _, err := e.store.AddVersion(e.ctx, expired.ID, datastore.UploadInput{Owner: an, FileName: "old.pdf", IssuedOn: date(2010, 1, 1),
			ValidUntil: date(2020, 1, 1), Body: bytes.NewReader(onePagePDF("old2"))}); err != nil {
			t.Fatal(err)
		}
		e.upload(an, "Căn cước công dân", "CCCD", onePagePDF("cccd"))

		picks, err := e.store.Pick(e.ctx, an, datastore.PickQuery{DocType: "giay chung nhan quyen su dung dat", On: date(2026, 3, 2)})
		if err != nil {
			t.Fatal(err)
		}
		if len(picks) != 1 || picks[0].DossierCode != first {
			t.Fatalf("pick offered %+v, want only the scan from %s (the upload expired, the card is another type)", picks, first)
		}
		if ps, _ := e.store.Pick(e.ctx, binh, datastore.PickQuery{DocType: "giay chung nhan"}); len(ps) != 0 {
			t.Error("another account is offered my documents")
		}

		e.clock.Set(at(2026, 3, 5, 9, 0))
		second := e.receive(an, picks[0].Ref())
		e.drain()
		e.drain()
		dd, err := e.dos.Get(e.ctx, second, reader)
		if err != nil {
			t.Fatal(err)
		}
		if c := dd.Components[1]; !c.Reused || len(c.Files) != 1 || c.Files[0].Hash != picks[0].Current.Hash {
			t.Errorf("the dossier's reused component %+v does not hold the stored blob", c)
		}
		got, err := e.store.Get(e.ctx, an, picks[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Reuses) != 1 || got.Reuses[0].DossierCode != second || got.Reuses[0].Component != 2 || got.Reuses[0].Version != 1 {
			t.Errorf("reuses %+v", got.Reuses)
		}
		// The reused component is not copied into the store again.
		if n := len(byKind(e.docs(an), datastore.KindComponent)); n != 3 {
			t.Errorf("%d component documents, want 3 (2 from the first dossier, the form of the second)", n)
		}

		// Bình's dossier cites An's document: not counted, not linked.
		e.src.own(e.receive(an, picks[0].Ref()), binh)
		e.drain()
		if got, _ := e.store.Get(e.ctx, an, picks[0].ID); len(got.Reuses) != 1 {
			t.Errorf("a foreign citation was linked: %+v", got.Reuses)
		}

		// The result of the first dossier, for the counts.
		e.clock.Set(at(2026, 3, 6, 9, 0))
		e.resolve(first)
		e.act(first, "return", officer, nil)
		e.drain()

		cs, err := e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 3, 1), To: date(2026, 4, 1)})
		if err != nil {
			t.Fatal(err)
		}
		want := datastore.Counts{Agency: dept, ComponentsDigitized: 4, DossiersDigitized: 3, ResultsElectronic: 1, DossiersWithResult: 1,
			Reuses: 1, DossiersReusing: 1}
		if len(cs) != 1 || cs[0] != want {
			t.Errorf("March counts %+v, want %+v", cs, want)
		}
		cs, _ = e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 3, 5), To: date(2026, 3, 6), Agency: dept})
		want = datastore.Counts{Agency: dept, ComponentsDigitized: 2, DossiersDigitized: 2, Reuses: 1, DossiersReusing: 1}
		if len(cs) != 1 || cs[0] != want {
			t.Errorf("5 March counts %+v, want %+v", cs, want)
		}
		if cs, _ := e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 4, 1), To: date(2026, 5, 1)}); len(cs) != 0 {
			t.Errorf("April counts %+v", cs)
		}
		if _, err := e.store.Counts(e.ctx, datastore.CountsQuery{From: date(2026, 4, 1), To: date(2026, 3, 1)}); !errors.Is(err, datastore.ErrInvalid) {
			t.Errorf("reversed period: %v", err)
		}
	})
}
