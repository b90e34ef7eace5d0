package dvcqg

import (
	"encoding/json"
	"time"
)

// DateLayout is the profile's date format (yyyyMMddHHmmss), read in
// Asia/Ho_Chi_Minh.
const DateLayout = "20060102150405"

// Location is Vietnam's time zone, in which the profile's dates are written.
var Location = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
}()

// The services of POST /api.
const (
	ServiceUpsert   = "DongBoHoSoMC"
	ServiceProgress = "CapNhatTienDoHoSoMC"
	ServiceGet      = "TraCuuHoSo"
	ServiceList     = "LayDanhSachHoSo"
	ServiceInbound  = "LayHoSoMoi"
	ServiceAck      = "XacNhanHoSo"
)

// HoSo is a dossier as the province syncs it (one-stop §12).
type HoSo struct {
	MaHoSo               string         `json:"MaHoSo"`
	MaTTHC               string         `json:"MaTTHC"`
	TenTTHC              string         `json:"TenTTHC"`
	MaLinhVuc            string         `json:"MaLinhVuc"`
	ChuHoSo              string         `json:"ChuHoSo"`
	LoaiDoiTuong         int            `json:"LoaiDoiTuong"`
	NgayTiepNhan         string         `json:"NgayTiepNhan"`
	NgayHenTra           string         `json:"NgayHenTra"`
	TrangThaiHoSo        int            `json:"TrangThaiHoSo"`
	NgayTra              string         `json:"NgayTra"`
	HinhThuc             int            `json:"HinhThuc"`
	DonViXuLy            string         `json:"DonViXuLy"`
	TaiLieuNop           []TaiLieu      `json:"TaiLieuNop"`
	DanhSachLePhi        []LePhi        `json:"DanhSachLePhi"`
	DanhSachGiayToKetQua []GiayToKetQua `json:"DanhSachGiayToKetQua"`
	DanhSachHoSoBoSung   []HoSoBoSung   `json:"DanhSachHoSoBoSung"`
}

// TaiLieu is a submitted document's file.
type TaiLieu struct {
	TepDinhKemId      string `json:"TepDinhKemId"`
	TenTepDinhKem     string `json:"TenTepDinhKem"`
	MaThanhPhanHoSo   string `json:"MaThanhPhanHoSo"`
	DuongDanTaiTepTin string `json:"DuongDanTaiTepTin"`
}

// LePhi is a fee of the dossier.
type LePhi struct {
	TenPhiLePhi  string `json:"TenPhiLePhi"`
	MaPhiLePhi   string `json:"MaPhiLePhi"`
	HinhThucThu  int    `json:"HinhThucThu"`
	Gia          int64  `json:"Gia"`
	LoaiPhiLePhi int    `json:"LoaiPhiLePhi"`
}

// GiayToKetQua is a result document.
type GiayToKetQua struct {
	TenGiayTo            string `json:"TenGiayTo"`
	MaThanhPhanHoSo      string `json:"MaThanhPhanHoSo"`
	GiayToId             string `json:"GiayToId"`
	DuongDanTepTinKetQua string `json:"DuongDanTepTinKetQua"`
}

// HoSoBoSung is a supplement request.
type HoSoBoSung struct {
	HoSoBoSungId      string `json:"HoSoBoSungId"`
	NguoiYeuCauBoSung string `json:"NguoiYeuCauBoSung"`
	NoiDungBoSung     string `json:"NoiDungBoSung"`
	NgayBoSung        string `json:"NgayBoSung"`
}

// TienDo is a progress entry of a dossier.
type TienDo struct {
	MaHoSo       string `json:"MaHoSo"`
	NguoiXuLy    string `json:"NguoiXuLy"`
	ChucDanh     string `json:"ChucDanh"`
	ThoiDiemXuLy string `json:"ThoiDiemXuLy"`
	PhongBanXuLy string `json:"PhongBanXuLy"`
	NoiDungXuLy  string `json:"NoiDungXuLy"`
	TrangThai    int    `json:"TrangThai"`
}

// HoSoMoi is a dossier submitted on the national portal that the province
// must take in (the LayHoSoMoi feed). Files are downloaded from
// DuongDanTaiTepTin with the session.
type HoSoMoi struct {
	SoThuTu          int64           `json:"SoThuTu"`
	MaHoSoQG         string          `json:"MaHoSoQG"`
	MaTTHC           string          `json:"MaTTHC"`
	MaCoQuanTiepNhan string          `json:"MaCoQuanTiepNhan"`
	ChuHoSo          string          `json:"ChuHoSo"`
	LoaiDoiTuong     int             `json:"LoaiDoiTuong"`
	SoDinhDanh       string          `json:"SoDinhDanh"`
	MaSoThue         string          `json:"MaSoThue"`
	SoDienThoai      string          `json:"SoDienThoai"`
	Email            string          `json:"Email"`
	DiaChi           string          `json:"DiaChi"`
	NgayNop          string          `json:"NgayNop"`
	DuLieuBieuMau    json.RawMessage `json:"DuLieuBieuMau,omitempty"`
	TaiLieuNop       []TaiLieu       `json:"TaiLieuNop"`
}

// Request is the envelope of POST /api.
type Request struct {
	Session    string          `json:"session"`
	MaDonVi    string          `json:"madonvi"`
	Service    string          `json:"service"`
	IsUpdating bool            `json:"isUpdating"`
	Data       json.RawMessage `json:"data"`
}

// Response is the answer of POST /api and /auth.
type Response struct {
	ErrorCode  string     `json:"error_code"`
	Message    string     `json:"message"`
	Session    string     `json:"session,omitempty"`
	ExpiresIn  int        `json:"expires_in,omitempty"`
	Data       any        `json:"data,omitempty"`
	SoThuTu    int64      `json:"SoThuTuCuoi,omitempty"`
	Errors     []FieldLoi `json:"errors,omitempty"`
	RequestRef string     `json:"request_id,omitempty"`
}

// FieldLoi is one problem of a rejected request.
type FieldLoi struct {
	MaHoSo       string `json:"MaHoSo,omitempty"`
	TruongDuLieu string `json:"TruongDuLieu"`
	NoiDung      string `json:"NoiDung"`
}

// LoaiDoiTuong codes (applicant types) of the profile.
const (
	DoiTuongCongDan     = 1 // citizen
	DoiTuongDoanhNghiep = 2 // business
	DoiTuongHoKinhDoanh = 3 // household business
)
