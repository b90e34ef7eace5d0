package dvcqg_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/congso/congso/internal/fakes/dvcqg"
)

type caller struct {
	t    *testing.T
	url  string
	sess string
}

func (c *caller) post(path string, body any) (int, dvcqg.Response, string) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(c.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r dvcqg.Response
	json.Unmarshal(raw, &r)
	return res.StatusCode, r, string(raw)
}

func (c *caller) api(service string, data any) (int, dvcqg.Response, string) {
	c.t.Helper()
	raw, _ := json.Marshal(data)
	return c.post("/api", dvcqg.Request{Session: c.sess, MaDonVi: "000.00.00.H99", Service: service, IsUpdating: true, Data: raw})
}

func valid(code string) dvcqg.HoSo {
	return dvcqg.HoSo{MaHoSo: code, MaTTHC: "1.000775", TenTTHC: "Cấp phép", ChuHoSo: "An", LoaiDoiTuong: 1,
		NgayTiepNhan: "20260302080000", NgayHenTra: "20260316170000", TrangThaiHoSo: 2, HinhThuc: 1, DonViXuLy: "000.00.07.H99"}
}

// The fake is strict like the real portal: sessions, known fields,
// required fields listed at once, atomic batches; and its feed pages.
func TestProtocol(t *testing.T) {
	s, ts := dvcqg.NewTestServer(t, dvcqg.Config{Units: []string{"000.00.00.H99"}})
	c := &caller{t: t, url: ts.URL}
	if st, _, _ := c.api(dvcqg.ServiceUpsert, []dvcqg.HoSo{valid("A")}); st != http.StatusUnauthorized {
		t.Fatalf("without a session: %d", st)
	}
	if st, _, _ := c.post("/auth", map[string]string{"username": "congso", "password": "wrong"}); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", st)
	}
	_, r, _ := c.post("/auth", map[string]string{"username": "congso", "password": "secret"})
	if r.ErrorCode != "0" || r.Session == "" {
		t.Fatalf("auth = %+v", r)
	}
	c.sess = r.Session

	bad := valid("B")
	bad.ChuHoSo, bad.NgayTiepNhan, bad.TrangThaiHoSo = "", "2026-03-02", 11
	st, r, _ := c.api(dvcqg.ServiceUpsert, []dvcqg.HoSo{valid("A"), bad})
	if st != http.StatusBadRequest || r.ErrorCode != "-1" || len(r.Errors) != 3 {
		t.Fatalf("bad batch = %d %+v", st, r)
	}
	if _, ok := s.Dossier("A"); ok {
		t.Fatal("a rejected batch was partly applied")
	}
	raw := `[{"MaHoSo":"A","Unknown":1}]`
	if st, _, body := c.api(dvcqg.ServiceUpsert, json.RawMessage(raw)); st != http.StatusBadRequest || !strings.Contains(body, "Unknown") {
		t.Fatalf("unknown field = %d %s", st, body)
	}
	if st, _, _ := c.api(dvcqg.ServiceProgress, []dvcqg.TienDo{{MaHoSo: "A", NguoiXuLy: "x", NoiDungXuLy: "y", ThoiDiemXuLy: "20260302080000", TrangThai: 2}}); st != http.StatusBadRequest {
		t.Fatalf("progress of an unknown dossier = %d", st)
	}
	if st, _, _ := c.api(dvcqg.ServiceUpsert, []dvcqg.HoSo{valid("A")}); st != http.StatusOK {
		t.Fatalf("upsert = %d", st)
	}
	entry := dvcqg.TienDo{MaHoSo: "A", NguoiXuLy: "x", NoiDungXuLy: "Tiếp nhận", ThoiDiemXuLy: "20260302080000", TrangThai: 2}
	for i := 0; i < 2; i++ {
		if st, _, _ := c.api(dvcqg.ServiceProgress, []dvcqg.TienDo{entry}); st != http.StatusOK {
			t.Fatalf("progress = %d", st)
		}
	}
	if p := s.Progress("A"); len(p) != 1 {
		t.Fatalf("progress entries after a repeat = %d", len(p))
	}

	// The inbound feed pages by sequence number; files need the session.
	a := s.AddInbound(dvcqg.HoSoMoi{MaTTHC: "1.000775", ChuHoSo: "Bình", TaiLieuNop: []dvcqg.TaiLieu{{TepDinhKemId: "f1", TenTepDinhKem: "don.pdf", MaThanhPhanHoSo: "1"}}},
		map[string][]byte{"f1": []byte("%PDF-1.4")})
	s.AddInbound(dvcqg.HoSoMoi{MaTTHC: "1.000775", ChuHoSo: "Cúc"}, nil)
	var page []dvcqg.HoSoMoi
	_, r, body := c.api(dvcqg.ServiceInbound, map[string]any{"SauSoThuTu": 0, "SoLuong": 1})
	b, _ := json.Marshal(r.Data)
	json.Unmarshal(b, &page)
	if len(page) != 1 || page[0].MaHoSoQG != a.MaHoSoQG || r.SoThuTu != a.SoThuTu {
		t.Fatalf("first page = %s", body)
	}
	req, _ := http.NewRequest("GET", a.TaiLieuNop[0].DuongDanTaiTepTin, nil)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("file without a session = %d", res.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+c.sess)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("file = %v %v", res, err)
	}
	res.Body.Close()

	// Failures on demand.
	s.FailNext(1, http.StatusServiceUnavailable)
	if st, _, _ := c.api(dvcqg.ServiceGet, map[string][]string{"MaHoSo": {"A"}}); st != http.StatusServiceUnavailable {
		t.Fatalf("injected failure = %d", st)
	}
	s.DropEvery(1)
	if _, err := http.Post(ts.URL+"/api", "application/json", strings.NewReader("{}")); err == nil {
		t.Fatal("a dropped request got an answer")
	}
	s.DropEvery(0)
	s.ExpireSessions()
	if st, _, _ := c.api(dvcqg.ServiceGet, map[string][]string{"MaHoSo": {"A"}}); st != http.StatusUnauthorized {
		t.Fatalf("expired session = %d", st)
	}
}
