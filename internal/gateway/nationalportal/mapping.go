package nationalportal

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
)

// FormatDate writes t in the profile's format, in Vietnam's time zone; the
// zero time is "".
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Location).Format(DateLayout)
}

// ParseDate reads a profile date; "" is the zero time.
func ParseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(DateLayout, s, Location)
}

// applicantCodes maps applicant types to LoaiDoiTuong (one-stop §4: mapped at
// the boundary).
var applicantCodes = map[dossier.ApplicantType]int{
	dossier.ApplicantCitizen:           DoiTuongCongDan,
	dossier.ApplicantBusiness:          DoiTuongDoanhNghiep,
	dossier.ApplicantHouseholdBusiness: DoiTuongHoKinhDoanh,
}

func applicantType(code int) (dossier.ApplicantType, bool) {
	for t, c := range applicantCodes {
		if c == code {
			return t, true
		}
	}
	return "", false
}

// Received is the date the portal knows as NgayTiepNhan: the reception, or
// the submission for a dossier not received (yet).
func Received(d *dossier.Dossier) time.Time {
	if !d.ReceivedAt.IsZero() {
		return d.ReceivedAt
	}
	return d.SubmittedAt
}

// ToHoSo maps a dossier to the portal's payload (one-stop §12). Only the
// applicant's name leaves the province; ID numbers, phones and addresses do
// not. Files are listed by name and SHA-256, without links.
func ToHoSo(d *dossier.Dossier) HoSo {
	h := HoSo{
		MaHoSo: d.Code, MaTTHC: d.ProcedureCode, TenTTHC: d.ProcedureName, MaLinhVuc: d.FieldCode,
		ChuHoSo: d.Applicant.Name, LoaiDoiTuong: applicantCodes[d.Applicant.Type],
		NgayTiepNhan: FormatDate(Received(d)), NgayHenTra: FormatDate(d.DueAt),
		TrangThaiHoSo: dossier.NationalStatusOf(d), NgayTra: FormatDate(d.ReturnedAt),
		HinhThuc: int(d.Channel), DonViXuLy: d.CompetentAgency,
		TaiLieuNop: []TaiLieu{}, DanhSachLePhi: []LePhi{}, DanhSachGiayToKetQua: []GiayToKetQua{}, DanhSachHoSoBoSung: []HoSoBoSung{},
	}
	if h.DonViXuLy == "" {
		h.DonViXuLy = d.ReceivingAgency
	}
	for _, c := range d.Components {
		for _, f := range c.Files {
			h.TaiLieuNop = append(h.TaiLieuNop, TaiLieu{TepDinhKemId: f.Hash, TenTepDinhKem: f.Name, MaThanhPhanHoSo: strconv.Itoa(c.N)})
		}
	}
	for _, f := range d.Fees {
		collected := 0
		if f.Status == dossier.FeePaid {
			collected = 1
		}
		h.DanhSachLePhi = append(h.DanhSachLePhi, LePhi{TenPhiLePhi: f.Name, MaPhiLePhi: strconv.Itoa(f.N), HinhThucThu: collected,
			Gia: f.Amount, LoaiPhiLePhi: 1})
	}
	for _, r := range d.Results {
		if !r.SupersededAt.IsZero() {
			continue
		}
		h.DanhSachGiayToKetQua = append(h.DanhSachGiayToKetQua, GiayToKetQua{TenGiayTo: r.Name, GiayToId: r.ResultCode})
	}
	for _, n := range d.Notices {
		if n.Kind != dossier.NoticeSupplement {
			continue
		}
		text := n.Reason
		for _, df := range n.Defects {
			text += "; " + df.Message
		}
		h.DanhSachHoSoBoSung = append(h.DanhSachHoSoBoSung, HoSoBoSung{HoSoBoSungId: strconv.FormatInt(n.CaseVersion, 10),
			NguoiYeuCauBoSung: n.IssuedBy, NoiDungBoSung: text, NgayBoSung: FormatDate(n.IssuedAt)})
	}
	return h
}

// ToProgress maps the steps of a dossier's timeline after version since to
// progress entries, oldest first. name gives an official's name for
// NguoiXuLy (nil: the person ID).
func ToProgress(d *dossier.Dossier, since int64, name func(id string) string) []TienDo {
	var out []TienDo
	for _, e := range d.Timeline {
		if e.Version <= since {
			continue
		}
		status := e.Status
		if status < 1 || status > 10 {
			status = dossier.NationalStatusOf(d)
		}
		who := e.Actor
		if name != nil && who != "" {
			if n := name(who); n != "" {
				who = n
			}
		}
		if who == "" {
			who = "system"
		}
		text := e.ActionName
		if text == "" {
			text = e.Action
		}
		if e.Comment != "" {
			text += ": " + e.Comment
		}
		out = append(out, TienDo{MaHoSo: d.Code, NguoiXuLy: who, ChucDanh: roleTitle(e.Role), ThoiDiemXuLy: FormatDate(e.At),
			PhongBanXuLy: e.Unit, NoiDungXuLy: text, TrangThai: status})
	}
	return out
}

func roleTitle(role string) string {
	if role == "" {
		return ""
	}
	if l := identity.Role(role).Label(); l != "" {
		return l
	}
	return role
}

// ToSubmission maps a dossier submitted on the national portal to a
// submission (channel online); files holds the stored file of each
// TaiLieuNop by TepDinhKemId.
func ToSubmission(h HoSoMoi, files map[string]dossier.File) (dossier.Submission, bool) {
	typ, ok := applicantType(h.LoaiDoiTuong)
	if !ok {
		return dossier.Submission{}, false
	}
	sub := dossier.Submission{ProcedureCode: h.MaTTHC, Channel: dossier.ChannelOnline,
		Applicant: dossier.Applicant{Type: typ, Name: strings.TrimSpace(h.ChuHoSo), PersonalID: h.SoDinhDanh, TaxCode: h.MaSoThue,
			Phone: h.SoDienThoai, Email: h.Email, Address: h.DiaChi}}
	if len(h.DuLieuBieuMau) > 0 && string(h.DuLieuBieuMau) != "null" {
		sub.FormData = json.RawMessage(h.DuLieuBieuMau)
	}
	byN := map[int]int{} // component number → index in sub.Components
	for _, t := range h.TaiLieuNop {
		n, err := strconv.Atoi(t.MaThanhPhanHoSo)
		if err != nil || n < 1 {
			return dossier.Submission{}, false
		}
		f, ok := files[t.TepDinhKemId]
		if !ok {
			return dossier.Submission{}, false
		}
		i, seen := byN[n]
		if !seen {
			i = len(sub.Components)
			byN[n] = i
			sub.Components = append(sub.Components, dossier.ComponentInput{N: n, Provided: catalog.FormElectronic, Quantity: 1})
		}
		sub.Components[i].Files = append(sub.Components[i].Files, dossier.FileRef{Name: t.TenTepDinhKem, Hash: f.Hash})
	}
	return sub, true
}
