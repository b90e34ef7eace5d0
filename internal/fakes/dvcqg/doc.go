// Package dvcqg is a fake of the national public service portal (Cổng Dịch vụ
// công quốc gia, DVCQG) for tests and demos: a separate HTTP server speaking
// the legacy integration profile that provincial one-stop systems use
// (requirements one-stop.md §4, §12). It is a system outside the province, so
// congso code never imports it except from tests and demos.
//
// # Protocol
//
//	POST /auth                {"username","password"} → {"error_code":"0","session":"…","expires_in":3600}
//	POST /api                 {"session","madonvi","service","isUpdating","data"} → {"error_code":"0","message":"…","data":…}
//	GET  /files/{id}          a file of a dossier submitted on the portal (header "Authorization: Bearer <session>")
//
// Services of POST /api:
//
//	DongBoHoSoMC          upsert dossiers (HoSo, field names of §12); the batch is atomic
//	CapNhatTienDoHoSoMC   upsert progress entries (TienDo); an entry is identified by
//	                      MaHoSo, ThoiDiemXuLy, TrangThai and NoiDungXuLy
//	TraCuuHoSo            dossiers by code: data {"MaHoSo": ["…"]}
//	LayDanhSachHoSo       dossiers received in a period: data {"TuNgay","DenNgay"} (NgayTiepNhan in [TuNgay, DenNgay))
//	LayHoSoMoi            the feed of dossiers submitted on the national portal for the
//	                      province, after a sequence number: data {"SauSoThuTu","SoLuong"}
//	XacNhanHoSo           the province acknowledges a submitted dossier with its own code:
//	                      data {"MaHoSoQG","MaHoSo"}
//
// Dates are "yyyyMMddHHmmss" in Asia/Ho_Chi_Minh. Errors answer an HTTP
// status and {"error_code","message","errors":[{"MaHoSo","TruongDuLieu","NoiDung"}]}:
// 400 with error_code "-1" for a payload that breaks a rule (nothing of the
// batch is applied), 401 for a missing or expired session, 500 for a failure
// of the portal.
//
// # Test controls
//
// Server records every request (Requests), holds what it accepted (Dossier,
// Dossiers, Progress, StatusHistory), lets a test change a held record behind
// the province's back (Tamper), queues dossiers submitted on the portal
// (AddInbound, Redeliver), and fails on demand (FailNext, DropEvery, HangNext,
// LoseAnswers, ExpireSessions, KnownProcedures).
//
// Invariants: every field the profile requires is checked and every problem
// of a request is listed at once; a rejected batch changes nothing; a session
// is valid for SessionTTL on the injected clock.
package dvcqg
