package dvcqg

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets up a fake portal.
type Config struct {
	// Users maps usernames to passwords (default "congso"/"secret").
	Users map[string]string
	// Units lists the madonvi codes allowed to call (default: any).
	Units []string
	// SessionTTL is how long a session lasts (default 1h).
	SessionTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BaseURL is the address written in file links of the inbound feed; a
	// test server sets it itself.
	BaseURL string
}

// Recorded is one request the portal received.
type Recorded struct {
	At      time.Time
	Path    string
	Service string
	Status  int // 0 when the connection was dropped
	Body    []byte
}

// Server is the fake portal. It is an http.Handler; use NewTestServer for a
// loopback server in tests or ListenAndServe-style wiring with http.Server.
type Server struct {
	cfg Config

	mu         sync.Mutex
	sessions   map[string]time.Time // token → expiry
	dossiers   map[string]HoSo
	history    map[string][]int // TrangThaiHoSo as applied, per dossier
	upserts    map[string]int   // upserts applied, per dossier
	progress   map[string][]TienDo
	requests   []Recorded
	inbound    []HoSoMoi
	files      map[string][]byte // file id → content
	links      map[string]string // MaHoSoQG → MaHoSo
	seq        int64
	apiCount   int
	failNext   int
	failStatus int
	dropEvery  int
	hangNext   int
	loseNext   int
	known      map[string]bool // MaTTHC known to the national database; nil: any
	fileFails  map[string]int  // file id → status its download answers
	closed     chan struct{}
	closeOnce  sync.Once
}

// New returns a fake portal.
func New(cfg Config) *Server {
	if cfg.Users == nil {
		cfg.Users = map[string]string{"congso": "secret"}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, sessions: map[string]time.Time{}, dossiers: map[string]HoSo{}, history: map[string][]int{},
		upserts: map[string]int{}, progress: map[string][]TienDo{}, files: map[string][]byte{}, links: map[string]string{}, closed: make(chan struct{})}
}

// NewTestServer starts the fake portal on loopback; it stops when the test
// ends.
func NewTestServer(t interface {
	Cleanup(func())
}, cfg Config) (*Server, *httptest.Server) {
	s := New(cfg)
	ts := httptest.NewServer(s)
	s.mu.Lock()
	s.cfg.BaseURL = ts.URL
	s.mu.Unlock()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts
}

// SetBaseURL sets the address written in file links (for a server started
// with http.Server).
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.cfg.BaseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// Close releases requests held by HangNext.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// ---- failure injection ------------------------------------------------------

// FailNext makes the next n calls of POST /api answer status (500, 503...)
// without doing anything.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	s.failNext, s.failStatus = n, status
	s.mu.Unlock()
}

// DropEvery makes every n-th call of POST /api (counting from now) close the
// connection without an answer and without doing anything; 0 stops it.
func (s *Server) DropEvery(n int) {
	s.mu.Lock()
	s.dropEvery, s.apiCount = n, 0
	s.mu.Unlock()
}

// HangNext makes the next n calls of POST /api wait, doing nothing, until
// the caller gives up (its timeout) or the server closes.
func (s *Server) HangNext(n int) {
	s.mu.Lock()
	s.hangNext = n
	s.mu.Unlock()
}

// LoseAnswers makes the next n calls of POST /api do their work and then
// close the connection without an answer, as when a response is lost on the
// way back: the caller cannot tell whether its request was applied.
func (s *Server) LoseAnswers(n int) {
	s.mu.Lock()
	s.loseNext = n
	s.mu.Unlock()
}

// FailFile makes the download of file id answer status (403 for a link
// refused, 503…) until called again with 0.
func (s *Server) FailFile(id string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fileFails == nil {
		s.fileFails = map[string]int{}
	}
	if status == 0 {
		delete(s.fileFails, id)
		return
	}
	s.fileFails[id] = status
}

// ExpireSessions ends every session (the next call answers 401).
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	clear(s.sessions)
	s.mu.Unlock()
}

// KnownProcedures restricts the MaTTHC the portal accepts to codes (the
// national procedure database); with no codes, any code is accepted.
func (s *Server) KnownProcedures(codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(codes) == 0 {
		s.known = nil
		return
	}
	s.known = map[string]bool{}
	for _, c := range codes {
		s.known[c] = true
	}
}

// ---- what the portal holds --------------------------------------------------

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Calls counts the answered requests of a service with a given HTTP status.
func (s *Server) Calls(service string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Service == service && r.Status == status {
			n++
		}
	}
	return n
}

// Upserts counts the upserts (DongBoHoSoMC) applied to a dossier, including
// those whose answer was lost.
func (s *Server) Upserts(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts[code]
}

// Dossier returns a held dossier.
func (s *Server) Dossier(code string) (HoSo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.dossiers[code]
	return h, ok
}

// Dossiers returns every held dossier by code.
func (s *Server) Dossiers() []HoSo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]HoSo, 0, len(s.dossiers))
	for _, h := range s.dossiers {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MaHoSo < out[j].MaHoSo })
	return out
}

// StatusHistory returns the TrangThaiHoSo values a dossier took on the
// portal, in order (a repeated upsert with the same status adds nothing).
func (s *Server) StatusHistory(code string) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history[code])
}

// Progress returns the progress entries held for a dossier, in the order
// received.
func (s *Server) Progress(code string) []TienDo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.progress[code])
}

// Tamper changes a held dossier behind the province's back (for
// reconciliation tests).
func (s *Server) Tamper(code string, f func(h *HoSo)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.dossiers[code]
	if ok {
		f(&h)
		s.dossiers[code] = h
	}
	return ok
}

// Forget drops a held dossier (as if a sync had been lost on the portal).
func (s *Server) Forget(code string) {
	s.mu.Lock()
	delete(s.dossiers, code)
	s.mu.Unlock()
}

// AddInbound queues a dossier submitted on the national portal, with the
// content of its files by TepDinhKemId (DuongDanTaiTepTin is filled in). It
// returns the dossier with its sequence number and national code (generated
// when empty).
func (s *Server) AddInbound(h HoSoMoi, files map[string][]byte) HoSoMoi {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.MaHoSoQG == "" {
		h.MaHoSoQG = fmt.Sprintf("G22.99-%s-%06d", s.cfg.Now().In(Location).Format("060102"), s.seq+1)
	}
	for id, b := range files {
		s.files[id] = b
	}
	for i := range h.TaiLieuNop {
		h.TaiLieuNop[i].DuongDanTaiTepTin = s.cfg.BaseURL + "/files/" + h.TaiLieuNop[i].TepDinhKemId
	}
	s.seq++
	h.SoThuTu = s.seq
	s.inbound = append(s.inbound, h)
	return h
}

// Redeliver queues an inbound dossier again under a new sequence number,
// as the portal does when it did not see an acknowledgement in time.
func (s *Server) Redeliver(nationalID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.inbound {
		if h.MaHoSoQG == nationalID {
			s.seq++
			h.SoThuTu = s.seq
			s.inbound = append(s.inbound, h)
			return true
		}
	}
	return false
}

// Link returns the province's code acknowledged for a national dossier.
func (s *Server) Link(nationalID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links[nationalID]
}

// ---- HTTP -------------------------------------------------------------------

// ServeHTTP serves the protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/auth":
		s.auth(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api":
		s.api(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/files/"):
		s.file(w, r)
	default:
		s.answer(w, r, "", nil, http.StatusNotFound, Response{ErrorCode: "404", Message: "Không tìm thấy dịch vụ"})
	}
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, service string, body []byte, status int, resp Response) {
	s.mu.Lock()
	s.requests = append(s.requests, Recorded{At: s.cfg.Now(), Path: r.URL.Path, Service: service, Status: status, Body: body})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := strictDecode(body, &in); err != nil {
		s.answer(w, r, "auth", nil, http.StatusBadRequest, Response{ErrorCode: "-1", Message: "Yêu cầu không đúng định dạng: " + err.Error()})
		return
	}
	pw, ok := s.cfg.Users[in.Username]
	if !ok || pw != in.Password {
		s.answer(w, r, "auth", nil, http.StatusUnauthorized, Response{ErrorCode: "401", Message: "Sai tên đăng nhập hoặc mật khẩu"})
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.sessions[tok] = s.cfg.Now().Add(s.cfg.SessionTTL)
	s.mu.Unlock()
	s.answer(w, r, "auth", nil, http.StatusOK, Response{ErrorCode: "0", Message: "Thành công", Session: tok,
		ExpiresIn: int(s.cfg.SessionTTL.Seconds())})
}

func (s *Server) validSession(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.sessions[tok]
	return ok && s.cfg.Now().Before(exp)
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.validSession(tok) {
		s.answer(w, r, "file", nil, http.StatusUnauthorized, Response{ErrorCode: "401", Message: "Phiên làm việc không hợp lệ hoặc đã hết hạn"})
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/files/")
	s.mu.Lock()
	if st := s.fileFails[id]; st != 0 {
		s.mu.Unlock()
		s.answer(w, r, "file", nil, st, Response{ErrorCode: strconv.Itoa(st), Message: "Không tải được tệp"})
		return
	}
	b, ok := s.files[id]
	if ok {
		s.requests = append(s.requests, Recorded{At: s.cfg.Now(), Path: r.URL.Path, Service: "file", Status: http.StatusOK})
	}
	s.mu.Unlock()
	if !ok {
		s.answer(w, r, "file", nil, http.StatusNotFound, Response{ErrorCode: "404", Message: "Không tìm thấy tệp"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

// fault decides what an injected failure does to this call of /api.
func (s *Server) fault() (status int, drop, hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiCount++
	switch {
	case s.hangNext > 0:
		s.hangNext--
		return 0, false, true
	case s.failNext > 0:
		s.failNext--
		return s.failStatus, false, false
	case s.dropEvery > 0 && s.apiCount%s.dropEvery == 0:
		return 0, true, false
	}
	return 0, false, false
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return
	}
	var env Request
	envErr := strictDecode(body, &env)
	status, drop, hang := s.fault()
	switch {
	case hang:
		s.mu.Lock()
		s.requests = append(s.requests, Recorded{At: s.cfg.Now(), Path: r.URL.Path, Service: env.Service, Body: body})
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		return
	case drop:
		s.mu.Lock()
		s.requests = append(s.requests, Recorded{At: s.cfg.Now(), Path: r.URL.Path, Service: env.Service, Body: body})
		s.mu.Unlock()
		dropConnection(w)
		return
	case status != 0:
		s.answer(w, r, env.Service, body, status, Response{ErrorCode: fmt.Sprint(status), Message: "Lỗi hệ thống, vui lòng thử lại sau"})
		return
	}
	if envErr != nil {
		s.answer(w, r, env.Service, body, http.StatusBadRequest, Response{ErrorCode: "-1", Message: "Yêu cầu không đúng định dạng: " + envErr.Error()})
		return
	}
	if !s.validSession(env.Session) {
		s.answer(w, r, env.Service, body, http.StatusUnauthorized, Response{ErrorCode: "401", Message: "Phiên làm việc không hợp lệ hoặc đã hết hạn"})
		return
	}
	if env.MaDonVi == "" || (len(s.cfg.Units) > 0 && !slices.Contains(s.cfg.Units, env.MaDonVi)) {
		s.answer(w, r, env.Service, body, http.StatusForbidden, Response{ErrorCode: "403", Message: "Đơn vị không được phép kết nối: " + env.MaDonVi})
		return
	}
	var resp Response
	var errs []FieldLoi
	switch env.Service {
	case ServiceUpsert:
		errs = s.upsert(env)
	case ServiceProgress:
		errs = s.updateProgress(env)
	case ServiceGet:
		resp, errs = s.get(env)
	case ServiceList:
		resp, errs = s.list(env)
	case ServiceInbound:
		resp, errs = s.feed(env)
	case ServiceAck:
		errs = s.ack(env)
	default:
		s.answer(w, r, env.Service, body, http.StatusBadRequest, Response{ErrorCode: "-1", Message: "Dịch vụ không tồn tại: " + env.Service})
		return
	}
	if len(errs) > 0 {
		s.answer(w, r, env.Service, body, http.StatusBadRequest, Response{ErrorCode: "-1", Message: "Dữ liệu không hợp lệ", Errors: errs})
		return
	}
	s.mu.Lock()
	lose := s.loseNext > 0
	if lose {
		s.loseNext--
		s.requests = append(s.requests, Recorded{At: s.cfg.Now(), Path: r.URL.Path, Service: env.Service, Body: body})
	}
	s.mu.Unlock()
	if lose {
		dropConnection(w)
		return
	}
	resp.ErrorCode, resp.Message = "0", "Thành công"
	s.answer(w, r, env.Service, body, http.StatusOK, resp)
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("dữ liệu thừa sau đối tượng JSON")
	}
	return nil
}

func dataErr(err error) []FieldLoi {
	return []FieldLoi{{TruongDuLieu: "data", NoiDung: "Không đúng định dạng: " + err.Error()}}
}

// ---- services ---------------------------------------------------------------

func (s *Server) upsert(env Request) []FieldLoi {
	var list []HoSo
	if err := strictDecode(env.Data, &list); err != nil {
		return dataErr(err)
	}
	if len(list) == 0 {
		return []FieldLoi{{TruongDuLieu: "data", NoiDung: "Danh sách hồ sơ trống"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []FieldLoi
	for _, h := range list {
		errs = append(errs, s.checkHoSo(h)...)
		if _, exists := s.dossiers[h.MaHoSo]; exists && !env.IsUpdating {
			errs = append(errs, FieldLoi{MaHoSo: h.MaHoSo, TruongDuLieu: "isUpdating", NoiDung: "Hồ sơ đã tồn tại; gửi isUpdating=true để cập nhật"})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, h := range list {
		hist := s.history[h.MaHoSo]
		if len(hist) == 0 || hist[len(hist)-1] != h.TrangThaiHoSo {
			s.history[h.MaHoSo] = append(hist, h.TrangThaiHoSo)
		}
		s.dossiers[h.MaHoSo] = h
		s.upserts[h.MaHoSo]++
	}
	return nil
}

func (s *Server) checkHoSo(h HoSo) []FieldLoi {
	var errs []FieldLoi
	bad := func(field, msg string) {
		errs = append(errs, FieldLoi{MaHoSo: h.MaHoSo, TruongDuLieu: field, NoiDung: msg})
	}
	required := map[string]string{"MaHoSo": h.MaHoSo, "MaTTHC": h.MaTTHC, "TenTTHC": h.TenTTHC, "ChuHoSo": h.ChuHoSo,
		"NgayTiepNhan": h.NgayTiepNhan, "DonViXuLy": h.DonViXuLy}
	for _, f := range []string{"MaHoSo", "MaTTHC", "TenTTHC", "ChuHoSo", "NgayTiepNhan", "DonViXuLy"} {
		if strings.TrimSpace(required[f]) == "" {
			bad(f, "Bắt buộc nhập")
		}
	}
	if h.TrangThaiHoSo < 1 || h.TrangThaiHoSo > 10 {
		bad("TrangThaiHoSo", "Phải từ 1 đến 10")
	}
	if h.HinhThuc < 1 || h.HinhThuc > 3 {
		bad("HinhThuc", "Phải là 1, 2 hoặc 3")
	}
	if h.LoaiDoiTuong < 1 || h.LoaiDoiTuong > 3 {
		bad("LoaiDoiTuong", "Phải là 1, 2 hoặc 3")
	}
	for field, v := range map[string]string{"NgayTiepNhan": h.NgayTiepNhan, "NgayHenTra": h.NgayHenTra, "NgayTra": h.NgayTra} {
		if v != "" {
			if _, err := time.ParseInLocation(DateLayout, v, Location); err != nil || len(v) != 14 {
				bad(field, "Sai định dạng ngày yyyyMMddHHmmss")
			}
		}
	}
	switch {
	case h.TrangThaiHoSo == 2 || h.TrangThaiHoSo == 4 || h.TrangThaiHoSo == 6:
		// Not 5: a supplement can be asked at reception, before any
		// appointment date exists.
		if h.NgayHenTra == "" {
			bad("NgayHenTra", "Bắt buộc với hồ sơ đã tiếp nhận")
		}
	case h.TrangThaiHoSo == 10:
		if h.NgayTra == "" {
			bad("NgayTra", "Bắt buộc với hồ sơ đã trả kết quả")
		}
	}
	if s.known != nil && h.MaTTHC != "" && !s.known[h.MaTTHC] {
		bad("MaTTHC", "Mã thủ tục không có trong CSDL quốc gia về TTHC")
	}
	for i, t := range h.TaiLieuNop {
		if t.TepDinhKemId == "" || t.TenTepDinhKem == "" {
			bad(fmt.Sprintf("TaiLieuNop[%d]", i), "Thiếu TepDinhKemId hoặc TenTepDinhKem")
		}
	}
	for i, f := range h.DanhSachLePhi {
		if f.TenPhiLePhi == "" || f.Gia < 0 {
			bad(fmt.Sprintf("DanhSachLePhi[%d]", i), "Thiếu tên hoặc giá không hợp lệ")
		}
	}
	for i, g := range h.DanhSachGiayToKetQua {
		if g.TenGiayTo == "" || g.GiayToId == "" {
			bad(fmt.Sprintf("DanhSachGiayToKetQua[%d]", i), "Thiếu TenGiayTo hoặc GiayToId")
		}
	}
	return errs
}

func (s *Server) updateProgress(env Request) []FieldLoi {
	var list []TienDo
	if err := strictDecode(env.Data, &list); err != nil {
		return dataErr(err)
	}
	if len(list) == 0 {
		return []FieldLoi{{TruongDuLieu: "data", NoiDung: "Danh sách tiến độ trống"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []FieldLoi
	for i, t := range list {
		bad := func(field, msg string) {
			errs = append(errs, FieldLoi{MaHoSo: t.MaHoSo, TruongDuLieu: fmt.Sprintf("data[%d].%s", i, field), NoiDung: msg})
		}
		if _, ok := s.dossiers[t.MaHoSo]; !ok {
			bad("MaHoSo", "Hồ sơ chưa được đồng bộ lên Cổng")
		}
		if t.NguoiXuLy == "" {
			bad("NguoiXuLy", "Bắt buộc nhập")
		}
		if t.NoiDungXuLy == "" {
			bad("NoiDungXuLy", "Bắt buộc nhập")
		}
		if _, err := time.ParseInLocation(DateLayout, t.ThoiDiemXuLy, Location); err != nil || len(t.ThoiDiemXuLy) != 14 {
			bad("ThoiDiemXuLy", "Sai định dạng ngày yyyyMMddHHmmss")
		}
		if t.TrangThai < 1 || t.TrangThai > 10 {
			bad("TrangThai", "Phải từ 1 đến 10")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, t := range list {
		entries := s.progress[t.MaHoSo]
		i := slices.IndexFunc(entries, func(e TienDo) bool {
			return e.ThoiDiemXuLy == t.ThoiDiemXuLy && e.TrangThai == t.TrangThai && e.NoiDungXuLy == t.NoiDungXuLy
		})
		if i >= 0 {
			entries[i] = t
		} else {
			s.progress[t.MaHoSo] = append(entries, t)
		}
	}
	return nil
}

func (s *Server) get(env Request) (Response, []FieldLoi) {
	var in struct {
		MaHoSo []string `json:"MaHoSo"`
	}
	if err := strictDecode(env.Data, &in); err != nil {
		return Response{}, dataErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []HoSo{}
	for _, c := range in.MaHoSo {
		if h, ok := s.dossiers[c]; ok {
			out = append(out, h)
		}
	}
	return Response{Data: out}, nil
}

func (s *Server) list(env Request) (Response, []FieldLoi) {
	var in struct {
		TuNgay  string `json:"TuNgay"`
		DenNgay string `json:"DenNgay"`
	}
	if err := strictDecode(env.Data, &in); err != nil {
		return Response{}, dataErr(err)
	}
	from, err1 := time.ParseInLocation(DateLayout, in.TuNgay, Location)
	to, err2 := time.ParseInLocation(DateLayout, in.DenNgay, Location)
	if err1 != nil || err2 != nil || !from.Before(to) {
		return Response{}, []FieldLoi{{TruongDuLieu: "TuNgay/DenNgay", NoiDung: "Khoảng thời gian không hợp lệ"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []HoSo{}
	for _, h := range s.dossiers {
		t, err := time.ParseInLocation(DateLayout, h.NgayTiepNhan, Location)
		if err == nil && !t.Before(from) && t.Before(to) {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MaHoSo < out[j].MaHoSo })
	return Response{Data: out}, nil
}

func (s *Server) feed(env Request) (Response, []FieldLoi) {
	var in struct {
		SauSoThuTu int64 `json:"SauSoThuTu"`
		SoLuong    int   `json:"SoLuong"`
	}
	if err := strictDecode(env.Data, &in); err != nil {
		return Response{}, dataErr(err)
	}
	if in.SoLuong <= 0 || in.SoLuong > 100 {
		return Response{}, []FieldLoi{{TruongDuLieu: "SoLuong", NoiDung: "Phải từ 1 đến 100"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []HoSoMoi{}
	last := in.SauSoThuTu
	for _, h := range s.inbound {
		if h.SoThuTu > in.SauSoThuTu && len(out) < in.SoLuong {
			out = append(out, h)
			last = h.SoThuTu
		}
	}
	return Response{Data: out, SoThuTu: last}, nil
}

func (s *Server) ack(env Request) []FieldLoi {
	var in struct {
		MaHoSoQG string `json:"MaHoSoQG"`
		MaHoSo   string `json:"MaHoSo"`
	}
	if err := strictDecode(env.Data, &in); err != nil {
		return dataErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.inbound, func(h HoSoMoi) bool { return h.MaHoSoQG == in.MaHoSoQG }) {
		return []FieldLoi{{TruongDuLieu: "MaHoSoQG", NoiDung: "Không có hồ sơ này trên Cổng"}}
	}
	if in.MaHoSo == "" {
		return []FieldLoi{{TruongDuLieu: "MaHoSo", NoiDung: "Bắt buộc nhập"}}
	}
	if prev, ok := s.links[in.MaHoSoQG]; ok && prev != in.MaHoSo {
		return []FieldLoi{{MaHoSo: in.MaHoSo, TruongDuLieu: "MaHoSo", NoiDung: "Hồ sơ đã được xác nhận với mã khác: " + prev}}
	}
	s.links[in.MaHoSoQG] = in.MaHoSo
	return nil
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
