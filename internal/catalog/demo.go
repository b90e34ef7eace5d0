package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/search"
)

// The demo province is fictitious: "Tỉnh Thái An (Demo)". Its administrative
// unit codes start with "D" (real codes are digits only) and its agency e-IDs
// end in the level-1 code "H99", which no real province has.
const (
	// DemoProvinceCode is the administrative unit code of the demo province.
	DemoProvinceCode = "D99"
	// DemoProvinceEID is the e-ID of the demo Provincial People's Committee.
	DemoProvinceEID = "000.00.00.H99"
	// DemoProvinceName is the demo province's display name.
	DemoProvinceName = "Tỉnh Thái An (Demo)"
	// DemoCenterEID is the e-ID of the demo Provincial Public Service Center
	// (Trung tâm Phục vụ hành chính công tỉnh).
	DemoCenterEID = "000.00.13.H99"
)

// DemoUnit is a unit of a demo agency, for creating demo staff. Purpose says
// what staff there do: "reception" (one-stop desk: receive and return),
// "processing" (specialist division: assign, appraise, approve), "office"
// (office of an agency: clerk, leaders' signing).
type DemoUnit struct {
	EID        string
	Name       string
	AgencyEID  string
	AgencyName string
	Level      Level
	Purpose    string
}

// The purposes of demo units.
const (
	PurposeReception  = "reception"
	PurposeProcessing = "processing"
	PurposeOffice     = "office"
)

// LoadDemo loads the demo province (administrative units with their 2025
// history, agencies and units, fields, procedures) in one transaction. It does
// nothing when the demo province is already there. With a blob store
// ([WithBlobs]) the application form of procedure 1.009972 gets a blank
// form to download, a PDF generated at load.
func LoadDemo(ctx context.Context, svc *Service) error {
	if _, err := svc.AdminUnit(ctx, DemoProvinceCode); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("load demo: %w", err)
	}
	d := buildDemo()
	if err := svc.demoForms(ctx, d.procedures); err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	err := svc.db.Tx(ctx, func(tx *db.Tx) error {
		// Another node may have loaded it meanwhile.
		if _, err := getAdminUnit(ctx, tx, tx.Dialect, DemoProvinceCode); err == nil {
			return nil
		}
		steps := []func() (batchResult, error){
			func() (batchResult, error) { return applyAdminUnits(ctx, tx, recordsOf(d.units)) },
			func() (batchResult, error) { return applyFields(ctx, tx, recordsOf(d.fields)) },
			func() (batchResult, error) { return applyAgencies(ctx, tx, recordsOf(d.agencies)) },
			func() (batchResult, error) {
				res, _, err := applyProcedures(ctx, tx, recordsOf(d.procedures), svc.checkFormBlob)
				return res, err
			},
		}
		for i, step := range steps {
			res, err := step()
			if err != nil {
				return fmt.Errorf("load demo: %w", err)
			}
			if len(res.Errors) > 0 {
				return fmt.Errorf("load demo: step %d: invalid demo data: %+v", i+1, res.Errors)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return analyze(ctx, svc.db)
}

func recordsOf[T any](list []T) []record[T] {
	out := make([]record[T], len(list))
	for i, v := range list {
		out[i] = record[T]{Line: i + 1, V: v}
	}
	return out
}

// DemoUnits lists the units of the demo agencies (provincial departments'
// divisions and each commune's service center and divisions).
func DemoUnits() []DemoUnit {
	d := buildDemo()
	names := map[string]string{}
	for _, a := range d.agencies {
		names[a.EID] = a.Name
	}
	var out []DemoUnit
	for _, a := range d.agencies {
		if a.Kind != KindUnit {
			continue
		}
		purpose := PurposeProcessing
		switch {
		case strings.HasPrefix(a.Name, "Trung tâm Phục vụ hành chính công") || strings.HasPrefix(a.Name, "Bộ phận Tiếp nhận"):
			purpose = PurposeReception
		case strings.HasPrefix(a.Name, "Văn phòng") || strings.HasPrefix(a.Name, "Phòng Hành chính"):
			purpose = PurposeOffice
		}
		out = append(out, DemoUnit{EID: a.EID, Name: a.Name, AgencyEID: a.ParentEID, AgencyName: names[a.ParentEID], Level: a.Level, Purpose: purpose})
	}
	return out
}

type demoData struct {
	units      []AdminUnit
	fields     []Field
	agencies   []Agency
	procedures []Procedure
}

var (
	demoOld    = calendar.Date{Year: 2008, Month: time.August, Day: 1}
	demoMerger = calendar.Date{Year: 2020, Month: time.January, Day: 1}
	demoReform = DistrictLevelAbolished
	demoPrev   = calendar.Date{Year: 2024, Month: time.January, Day: 1}
	demoMar25  = calendar.Date{Year: 2025, Month: time.March, Day: 1}
)

// demoCommune is a commune-level unit after the reform and the units merged into it.
type demoCommune struct {
	name     string
	kind     UnitKind
	district string      // code of the district it lies in before the reform
	merged   []demoOldCo // old communes merged into it
}

type demoOldCo struct {
	name string
	kind UnitKind
}

var demoDistricts = []struct {
	code, name string
	kind       UnitKind
}{
	{"D9901", "Thái An", KindCity},
	{"D9902", "Bắc Lâm", KindTown},
	{"D9903", "Đông Sơn", KindRural},
	{"D9904", "Tây Hà", KindRural},
	{"D9905", "Hòn Ngọc", KindRural},
}

var demoCommunes = []demoCommune{
	{"Thái An", KindWard, "D9901", []demoOldCo{{"Trần Phú", KindWard}, {"Lê Lợi", KindWard}, {"Quang Trung", KindWard}}},
	{"Đông Thành", KindWard, "D9901", []demoOldCo{{"Đông Hải", KindWard}, {"Đông Vĩnh", KindWard}}},
	{"Tây Thành", KindWard, "D9901", []demoOldCo{{"Tây Sơn", KindWard}, {"Hòa Khánh", KindCommune}}},
	{"Bình Minh", KindWard, "D9901", []demoOldCo{{"Bình Minh", KindWard}, {"Bình Tân", KindCommune}}},
	{"Hưng Phú", KindWard, "D9901", nil},
	{"Phú Lợi", KindWard, "D9901", nil},
	{"Bắc Lâm", KindWard, "D9902", []demoOldCo{{"An Lạc", KindWard}, {"Lâm Viên", KindWard}}},
	{"Nam Lâm", KindWard, "D9902", nil},
	{"Thượng Lâm", KindCommune, "D9902", nil},
	{"Đông Sơn", KindCommune, "D9903", []demoOldCo{{"Đông Sơn", KindTownship}, {"Đông Hòa", KindCommune}, {"Đông Phú", KindCommune}}},
	{"An Phú", KindCommune, "D9903", []demoOldCo{{"An Hòa", KindCommune}, {"An Bình", KindCommune}}},
	{"Tân Lập", KindCommune, "D9903", nil},
	{"Hòa An", KindCommune, "D9903", nil},
	{"Phước Hưng", KindCommune, "D9903", nil},
	{"Long Điền", KindCommune, "D9903", nil},
	{"Mỹ Hòa", KindCommune, "D9903", nil},
	{"Thạnh Phú", KindCommune, "D9903", nil},
	{"Tây Hà", KindCommune, "D9904", []demoOldCo{{"Tây Hà", KindTownship}, {"Hà Long", KindCommune}}},
	{"Vĩnh An", KindCommune, "D9904", []demoOldCo{{"Vĩnh Phúc", KindCommune}, {"Vĩnh Lộc", KindCommune}, {"Vĩnh Thịnh", KindCommune}}},
	{"Hà Thanh", KindCommune, "D9904", nil},
	{"Lộc Điền", KindCommune, "D9904", nil},
	{"Quảng Phú", KindCommune, "D9904", nil},
	{"Tiên Sơn", KindCommune, "D9904", nil},
	{"Suối Hai", KindCommune, "D9904", nil},
	{"Đồng Cỏ", KindCommune, "D9904", nil},
	{"Cẩm Khê", KindCommune, "D9904", nil},
	{"Bình Lạc", KindCommune, "D9904", nil},
	{"Thanh Tân", KindCommune, "D9904", nil},
	{"Phong Nẫm", KindCommune, "D9904", nil},
	{"Hòn Ngọc", KindSpecialZone, "D9905", []demoOldCo{{"Hòn Ngọc", KindTownship}, {"Hòn Thơm", KindCommune}}},
}

// demoCommuneCode is the code of the i-th (0-based) commune after the reform.
func demoCommuneCode(i int) string { return fmt.Sprintf("D99%03d", i+1) }

// demoCommuneEID is the e-ID of the People's Committee of the i-th commune.
func demoCommuneEID(i int) string { return fmt.Sprintf("000.%02d.50.H99", i+1) }

func buildDemo() demoData {
	var d demoData
	d.units = demoUnits()
	d.fields = demoFields
	d.agencies = demoAgencies()
	d.procedures = demoProcedures()
	return d
}

func demoUnits() []AdminUnit {
	units := []AdminUnit{{Code: DemoProvinceCode, Name: "Thái An (Demo)", Level: LevelProvince, Kind: KindProvince, EffectiveFrom: demoOld}}
	succ := map[string][]string{} // district → new communes
	for i, c := range demoCommunes {
		code := demoCommuneCode(i)
		units = append(units, AdminUnit{Code: code, Name: c.name, Level: LevelCommune, Kind: c.kind,
			ParentCode: DemoProvinceCode, EffectiveFrom: demoReform})
		succ[c.district] = append(succ[c.district], code)
	}
	for _, dist := range demoDistricts {
		units = append(units, AdminUnit{Code: dist.code, Name: dist.name, Level: LevelDistrict, Kind: dist.kind,
			ParentCode: DemoProvinceCode, EffectiveFrom: demoOld, EffectiveTo: demoReform, Successors: succ[dist.code]})
	}
	n := 101
	for i, c := range demoCommunes {
		for _, o := range c.merged {
			units = append(units, AdminUnit{Code: fmt.Sprintf("D99%03d", n), Name: o.name, Level: LevelCommune, Kind: o.kind,
				ParentCode: c.district, EffectiveFrom: demoOld, EffectiveTo: demoReform, Successors: []string{demoCommuneCode(i)}})
			n++
		}
	}
	// An earlier merger (2020): Xã Đông Lợi joined Xã Đông Hòa, which in turn
	// became part of Xã Đông Sơn in 2025 — a two-step chain.
	var dongHoa string
	for _, u := range units {
		if u.Name == "Đông Hòa" {
			dongHoa = u.Code
		}
	}
	units = append(units, AdminUnit{Code: fmt.Sprintf("D99%03d", n), Name: "Đông Lợi", Level: LevelCommune, Kind: KindCommune,
		ParentCode: "D9903", EffectiveFrom: demoOld, EffectiveTo: demoMerger, Successors: []string{dongHoa}})
	return units
}

var demoFields = []Field{
	{Code: "HT", Name: "Hộ tịch"},
	{Code: "CT", Name: "Chứng thực"},
	{Code: "LLTP", Name: "Lý lịch tư pháp"},
	{Code: "BTTP", Name: "Bổ trợ tư pháp"},
	{Code: "TGPL", Name: "Trợ giúp pháp lý"},
	{Code: "XD", Name: "Hoạt động xây dựng"},
	{Code: "DD", Name: "Đất đai"},
	{Code: "MT", Name: "Môi trường"},
	{Code: "TNN", Name: "Tài nguyên nước"},
	{Code: "NN", Name: "Nông nghiệp và thủy lợi"},
	{Code: "DKKD", Name: "Thành lập và hoạt động của doanh nghiệp, hộ kinh doanh"},
	{Code: "DT", Name: "Đầu tư tại Việt Nam"},
	{Code: "TM", Name: "Thương mại"},
	{Code: "NL", Name: "Điện lực và năng lượng"},
	{Code: "GT", Name: "Đường bộ"},
	{Code: "ANTT", Name: "Quản lý ngành nghề kinh doanh có điều kiện về an ninh, trật tự"},
	{Code: "KCB", Name: "Khám bệnh, chữa bệnh"},
	{Code: "DUOC", Name: "Dược"},
	{Code: "BTXH", Name: "Bảo trợ xã hội"},
	{Code: "GD", Name: "Giáo dục và đào tạo"},
	{Code: "VH", Name: "Văn hóa"},
	{Code: "DL", Name: "Du lịch"},
	{Code: "TDTT", Name: "Thể dục, thể thao"},
	{Code: "KHCN", Name: "Hoạt động khoa học và công nghệ"},
	{Code: "BCVT", Name: "Bưu chính"},
	{Code: "LD", Name: "Việc làm và lao động"},
}

// demoAgency describes a provincial agency: level-2 code, name, short name,
// former e-IDs (agencies merged into it in 2025) and its divisions.
type demoAgency struct {
	l2, name, short string
	former          []string
	from            calendar.Date
	units           []string
}

var demoProvincial = []demoAgency{
	{"01", "Văn phòng Ủy ban nhân dân tỉnh", "VP UBND tỉnh", nil, demoOld,
		[]string{"Văn phòng (Phòng Hành chính - Tổ chức)", "Phòng Tổng hợp", "Phòng Kinh tế", "Phòng Khoa giáo - Văn xã"}},
	{"02", "Sở Nội vụ", "SNV", []string{"000.00.19.H99"}, demoMar25,
		[]string{"Văn phòng Sở Nội vụ", "Phòng Tổ chức - Biên chế", "Phòng Xây dựng chính quyền", "Phòng Lao động - Việc làm"}},
	{"03", "Sở Tư pháp", "STP", nil, demoOld,
		[]string{"Văn phòng Sở Tư pháp", "Phòng Hành chính tư pháp", "Phòng Bổ trợ tư pháp", "Trung tâm Trợ giúp pháp lý nhà nước"}},
	{"04", "Sở Tài chính", "STC", []string{"000.00.20.H99"}, demoMar25,
		[]string{"Văn phòng Sở Tài chính", "Phòng Đăng ký kinh doanh", "Phòng Quản lý đầu tư"}},
	{"05", "Sở Công Thương", "SCT", nil, demoOld,
		[]string{"Văn phòng Sở Công Thương", "Phòng Quản lý thương mại", "Phòng Quản lý năng lượng"}},
	{"06", "Sở Nông nghiệp và Môi trường", "SNNMT", []string{"000.00.16.H99", "000.00.21.H99"}, demoMar25,
		[]string{"Văn phòng Sở Nông nghiệp và Môi trường", "Phòng Quản lý đất đai", "Phòng Môi trường", "Phòng Tài nguyên nước", "Chi cục Thủy lợi"}},
	{"07", "Sở Xây dựng", "SXD", []string{"000.00.17.H99"}, demoMar25,
		[]string{"Văn phòng Sở Xây dựng", "Phòng Quản lý hoạt động xây dựng", "Phòng Quy hoạch - Kiến trúc", "Phòng Quản lý vận tải"}},
	{"08", "Sở Khoa học và Công nghệ", "SKHCN", []string{"000.00.18.H99"}, demoMar25,
		[]string{"Văn phòng Sở Khoa học và Công nghệ", "Phòng Quản lý khoa học", "Phòng Bưu chính - Viễn thông", "Phòng Chuyển đổi số"}},
	{"09", "Sở Giáo dục và Đào tạo", "SGDĐT", nil, demoOld,
		[]string{"Văn phòng Sở Giáo dục và Đào tạo", "Phòng Giáo dục phổ thông", "Phòng Khảo thí và Quản lý chất lượng"}},
	{"10", "Sở Y tế", "SYT", nil, demoOld,
		[]string{"Văn phòng Sở Y tế", "Phòng Nghiệp vụ Y", "Phòng Nghiệp vụ Dược", "Phòng Bảo trợ xã hội"}},
	{"11", "Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL", nil, demoOld,
		[]string{"Văn phòng Sở Văn hóa, Thể thao và Du lịch", "Phòng Quản lý văn hóa", "Phòng Quản lý du lịch", "Phòng Quản lý thể dục thể thao"}},
	{"12", "Công an tỉnh", "CAT", nil, demoOld,
		[]string{"Phòng Cảnh sát quản lý hành chính về trật tự xã hội", "Phòng Cảnh sát giao thông"}},
	{"13", "Trung tâm Phục vụ hành chính công tỉnh", "TTPVHCC", nil, demoOld,
		[]string{"Bộ phận Tiếp nhận và Trả kết quả", "Phòng Kiểm soát thủ tục hành chính"}},
	{"14", "Ban Quản lý các khu công nghiệp", "BQL KCN", nil, demoOld,
		[]string{"Văn phòng Ban Quản lý các khu công nghiệp", "Phòng Quản lý đầu tư", "Phòng Quản lý doanh nghiệp - Lao động"}},
}

// demoAgencyEID returns the e-ID of a provincial agency by level-2 code.
func demoAgencyEID(l2 string) string { return "000.00." + l2 + ".H99" }

// demoUnitEID returns the e-ID of the n-th (1-based) division of an agency.
func demoUnitEID(l2 string, n int) string { return fmt.Sprintf("000.%02d.%s.H99", n, l2) }

// demoContact is where a provincial demo agency sits: its street address in
// Phường Thái An and the name under thaian.example.gov.vn of its mailbox and
// website. The phone number is 0271 3879 1xx with xx its level-2 code.
var demoContact = map[string]struct{ street, host string }{
	"00": {"Số 1 đường Hùng Vương", "ubnd"},
	"01": {"Số 1 đường Hùng Vương", "vpubnd"},
	"02": {"Số 12 đường Trần Hưng Đạo", "snv"},
	"03": {"Số 18 đường Lê Lợi", "stp"},
	"04": {"Số 25 đường Nguyễn Huệ", "stc"},
	"05": {"Số 30 đường Nguyễn Huệ", "sct"},
	"06": {"Số 45 đường Phan Đình Phùng", "snnmt"},
	"07": {"Số 52 đường Trần Phú", "sxd"},
	"08": {"Số 9 đường Lý Thường Kiệt", "skhcn"},
	"09": {"Số 14 đường Lý Thường Kiệt", "sgddt"},
	"10": {"Số 60 đường Quang Trung", "syt"},
	"11": {"Số 71 đường Quang Trung", "svhttdl"},
	"12": {"Số 3 đường Điện Biên Phủ", "cat"},
	"13": {"Số 2 đường Hùng Vương", "dichvucong"},
	"14": {"Khu công nghiệp Bắc Lâm, phường Bắc Lâm", "bqlkcn"},
}

// demoAddressProvince ends the demo agencies' addresses.
const demoAddressProvince = "tỉnh Thái An (Demo)"

// Opening hours of the demo agencies, and of the public service centres,
// which also open on Saturday mornings.
const (
	demoHours       = "Thứ Hai – Thứ Sáu: 7:30 – 11:30, 13:30 – 17:00"
	demoCenterHours = demoHours + "\nSáng thứ Bảy: 7:30 – 11:30"
)

// withDemoContact fills the contact details of a provincial demo agency by
// its level-2 code ("00" for the Provincial People's Committee).
func withDemoContact(a Agency, l2 string) Agency {
	c := demoContact[l2]
	a.Address = c.street
	if !strings.Contains(c.street, "phường") {
		a.Address += ", phường Thái An"
	}
	a.Address += ", " + demoAddressProvince
	a.Phone = "0271 3879 1" + l2
	a.Email = c.host + "@thaian.example.gov.vn"
	a.Website = "https://" + c.host + ".thaian.example.gov.vn"
	a.OpeningHours = demoHours
	if l2 == "13" {
		a.OpeningHours = demoCenterHours
	}
	return a
}

func demoAgencies() []Agency {
	out := []Agency{withDemoContact(Agency{EID: DemoProvinceEID, Name: "Ủy ban nhân dân tỉnh Thái An (Demo)", ShortName: "UBND tỉnh",
		Kind: KindAgency, Level: LevelProvince, AdminUnitCode: DemoProvinceCode, EffectiveFrom: demoOld}, "00")}
	for _, a := range demoProvincial {
		out = append(out, withDemoContact(Agency{EID: demoAgencyEID(a.l2), Name: a.name, ShortName: a.short, Kind: KindAgency,
			Level: LevelProvince, ParentEID: DemoProvinceEID, AdminUnitCode: DemoProvinceCode, EffectiveFrom: a.from,
			FormerEIDs: a.former}, a.l2))
		for i, u := range a.units {
			out = append(out, Agency{EID: demoUnitEID(a.l2, i+1), Name: u, Kind: KindUnit, Level: LevelProvince,
				ParentEID: demoAgencyEID(a.l2), EffectiveFrom: a.from})
		}
	}
	for i, c := range demoCommunes {
		kind := strings.ToLower(c.kind.Label())
		eid := demoCommuneEID(i)
		host := strings.Join(search.Terms(c.name), "")
		out = append(out, Agency{EID: eid, Name: "Ủy ban nhân dân " + kind + " " + c.name, ShortName: "UBND " + kind + " " + c.name,
			Kind: KindAgency, Level: LevelCommune, ParentEID: DemoProvinceEID, AdminUnitCode: demoCommuneCode(i), EffectiveFrom: demoReform,
			Address:      fmt.Sprintf("Số %d đường Trung Tâm, %s %s, %s", i+1, kind, c.name, demoAddressProvince),
			Phone:        fmt.Sprintf("0271 3879 2%02d", i+1),
			Email:        "ubnd." + host + "@thaian.example.gov.vn",
			Website:      "https://" + host + ".thaian.example.gov.vn",
			OpeningHours: demoCenterHours})
		economy := "Phòng Kinh tế"
		if c.kind == KindWard {
			economy = "Phòng Kinh tế, Hạ tầng và Đô thị"
		}
		for j, u := range []string{"Trung tâm Phục vụ hành chính công " + kind + " " + c.name, "Văn phòng HĐND và UBND " + kind + " " + c.name,
			economy, "Phòng Văn hóa - Xã hội"} {
			out = append(out, Agency{EID: fmt.Sprintf("%03d.%02d.50.H99", j+1, i+1), Name: u, Kind: KindUnit, Level: LevelCommune,
				ParentEID: eid, EffectiveFrom: demoReform})
		}
	}
	return out
}

// Small e-form schemas with Vietnamese labels.
var demoForms = map[string]string{
	"person": `{
  "type": "object",
  "title": "Tờ khai",
  "required": ["ho_ten", "so_dinh_danh", "dia_chi"],
  "properties": {
    "ho_ten": {"type": "string", "title": "Họ, chữ đệm, tên", "maxLength": 100},
    "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày, tháng, năm sinh"},
    "so_dinh_danh": {"type": "string", "title": "Số định danh cá nhân", "pattern": "^[0-9]{12}$"},
    "dia_chi": {"type": "string", "title": "Nơi cư trú", "maxLength": 300},
    "dien_thoai": {"type": "string", "title": "Số điện thoại", "pattern": "^[0-9+ ]{9,15}$"},
    "noi_dung": {"type": "string", "title": "Nội dung đề nghị", "maxLength": 2000}
  }
}`,
	"birth": `{
  "type": "object",
  "title": "Tờ khai đăng ký khai sinh",
  "required": ["ten_tre", "ngay_sinh", "gioi_tinh", "noi_sinh", "ho_ten_me"],
  "properties": {
    "ten_tre": {"type": "string", "title": "Họ, chữ đệm, tên người được khai sinh", "maxLength": 100},
    "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày, tháng, năm sinh"},
    "gioi_tinh": {"type": "string", "title": "Giới tính", "enum": ["Nam", "Nữ"]},
    "dan_toc": {"type": "string", "title": "Dân tộc", "default": "Kinh"},
    "noi_sinh": {"type": "string", "title": "Nơi sinh"},
    "ho_ten_me": {"type": "string", "title": "Họ, chữ đệm, tên người mẹ"},
    "ho_ten_cha": {"type": "string", "title": "Họ, chữ đệm, tên người cha"},
    "nguoi_yeu_cau": {"type": "string", "title": "Họ tên người yêu cầu"},
    "quan_he": {"type": "string", "title": "Quan hệ với người được khai sinh"}
  }
}`,
	"marriage": `{
  "type": "object",
  "title": "Tờ khai đăng ký kết hôn",
  "required": ["ben_nam", "ben_nu", "ngay_dang_ky"],
  "properties": {
    "ben_nam": {"type": "object", "title": "Bên nam", "required": ["ho_ten", "so_dinh_danh"],
      "properties": {"ho_ten": {"type": "string", "title": "Họ, chữ đệm, tên"}, "so_dinh_danh": {"type": "string", "title": "Số định danh cá nhân", "pattern": "^[0-9]{12}$"}}},
    "ben_nu": {"type": "object", "title": "Bên nữ", "required": ["ho_ten", "so_dinh_danh"],
      "properties": {"ho_ten": {"type": "string", "title": "Họ, chữ đệm, tên"}, "so_dinh_danh": {"type": "string", "title": "Số định danh cá nhân", "pattern": "^[0-9]{12}$"}}},
    "ngay_dang_ky": {"type": "string", "format": "date", "title": "Ngày đề nghị đăng ký"}
  }
}`,
	"business": `{
  "type": "object",
  "title": "Giấy đề nghị đăng ký",
  "required": ["ten", "tru_so", "nganh_nghe", "von"],
  "properties": {
    "ten": {"type": "string", "title": "Tên doanh nghiệp / hộ kinh doanh", "maxLength": 200},
    "tru_so": {"type": "string", "title": "Địa chỉ trụ sở chính"},
    "nganh_nghe": {"type": "array", "title": "Ngành, nghề kinh doanh", "minItems": 1, "items": {"type": "string"}},
    "von": {"type": "integer", "title": "Vốn đăng ký (đồng)", "minimum": 0},
    "nguoi_dai_dien": {"type": "string", "title": "Người đại diện theo pháp luật"},
    "email": {"type": "string", "format": "email", "title": "Thư điện tử"}
  }
}`,
	"building": `{
  "type": "object",
  "title": "Đơn đề nghị cấp giấy phép xây dựng",
  "required": ["chu_dau_tu", "dia_diem", "dien_tich", "so_tang"],
  "properties": {
    "chu_dau_tu": {"type": "string", "title": "Chủ đầu tư"},
    "dia_diem": {"type": "string", "title": "Địa điểm xây dựng (lô đất, thửa đất)"},
    "dien_tich": {"type": "number", "title": "Diện tích xây dựng tầng 1 (m²)", "exclusiveMinimum": 0},
    "so_tang": {"type": "integer", "title": "Số tầng", "minimum": 1, "maximum": 100},
    "chieu_cao": {"type": "number", "title": "Chiều cao công trình (m)", "exclusiveMinimum": 0}
  }
}`,
	"land": `{
  "type": "object",
  "title": "Đơn đăng ký đất đai, tài sản gắn liền với đất",
  "required": ["nguoi_su_dung", "thua_dat", "to_ban_do", "dien_tich"],
  "properties": {
    "nguoi_su_dung": {"type": "string", "title": "Người sử dụng đất"},
    "thua_dat": {"type": "string", "title": "Thửa đất số"},
    "to_ban_do": {"type": "string", "title": "Tờ bản đồ số"},
    "dien_tich": {"type": "number", "title": "Diện tích (m²)", "exclusiveMinimum": 0},
    "muc_dich": {"type": "string", "title": "Mục đích sử dụng", "enum": ["Đất ở", "Đất nông nghiệp", "Đất thương mại, dịch vụ", "Khác"]}
  }
}`,
	"license": `{
  "type": "object",
  "title": "Đơn đề nghị cấp giấy phép",
  "required": ["to_chuc", "dia_chi", "noi_dung"],
  "properties": {
    "to_chuc": {"type": "string", "title": "Tên tổ chức, cá nhân đề nghị"},
    "dia_chi": {"type": "string", "title": "Địa chỉ"},
    "ma_so": {"type": "string", "title": "Mã số doanh nghiệp / số định danh"},
    "noi_dung": {"type": "string", "title": "Nội dung đề nghị cấp phép", "maxLength": 2000}
  }
}`,
}

// demoLegal is the legal basis shared by the procedures of a field.
var demoLegal = map[string][]string{
	"HT":   {"Luật Hộ tịch năm 2014", "Nghị định số 123/2015/NĐ-CP quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch", "Thông tư số 04/2020/TT-BTP"},
	"CT":   {"Nghị định số 23/2015/NĐ-CP về cấp bản sao từ sổ gốc, chứng thực bản sao từ bản chính, chứng thực chữ ký và chứng thực hợp đồng, giao dịch", "Thông tư số 01/2020/TT-BTP"},
	"LLTP": {"Luật Lý lịch tư pháp năm 2009", "Nghị định số 111/2010/NĐ-CP", "Thông tư số 244/2016/TT-BTC"},
	"BTTP": {"Luật Công chứng năm 2024", "Luật Luật sư năm 2006 (sửa đổi 2012)"},
	"TGPL": {"Luật Trợ giúp pháp lý năm 2017", "Thông tư số 12/2018/TT-BTP"},
	"XD":   {"Luật Xây dựng năm 2014 (sửa đổi, bổ sung năm 2020)", "Nghị định số 175/2024/NĐ-CP", "Thông tư số 85/2019/TT-BTC"},
	"DD":   {"Luật Đất đai năm 2024", "Nghị định số 101/2024/NĐ-CP về điều tra cơ bản đất đai; đăng ký, cấp Giấy chứng nhận"},
	"MT":   {"Luật Bảo vệ môi trường năm 2020", "Nghị định số 08/2022/NĐ-CP"},
	"TNN":  {"Luật Tài nguyên nước năm 2023", "Nghị định số 54/2024/NĐ-CP"},
	"NN":   {"Luật Thủy lợi năm 2017", "Luật An toàn thực phẩm năm 2010"},
	"DKKD": {"Luật Doanh nghiệp năm 2020", "Nghị định số 168/2025/NĐ-CP về đăng ký doanh nghiệp"},
	"DT":   {"Luật Đầu tư năm 2020", "Nghị định số 31/2021/NĐ-CP"},
	"TM":   {"Luật Thương mại năm 2005", "Nghị định số 105/2017/NĐ-CP về kinh doanh rượu"},
	"NL":   {"Luật Điện lực năm 2024"},
	"GT":   {"Luật Trật tự, an toàn giao thông đường bộ năm 2024", "Nghị định số 158/2024/NĐ-CP"},
	"ANTT": {"Nghị định số 96/2016/NĐ-CP quy định điều kiện về an ninh, trật tự đối với một số ngành, nghề đầu tư kinh doanh có điều kiện"},
	"KCB":  {"Luật Khám bệnh, chữa bệnh năm 2023", "Nghị định số 96/2023/NĐ-CP"},
	"DUOC": {"Luật Dược năm 2016 (sửa đổi năm 2024)", "Nghị định số 54/2017/NĐ-CP"},
	"BTXH": {"Nghị định số 20/2021/NĐ-CP quy định chính sách trợ giúp xã hội đối với đối tượng bảo trợ xã hội"},
	"GD":   {"Luật Giáo dục năm 2019", "Thông tư số 24/2024/TT-BGDĐT"},
	"VH":   {"Nghị định số 110/2018/NĐ-CP quy định về quản lý và tổ chức lễ hội"},
	"DL":   {"Luật Du lịch năm 2017", "Nghị định số 168/2017/NĐ-CP"},
	"TDTT": {"Luật Thể dục, thể thao năm 2006 (sửa đổi năm 2018)", "Nghị định số 36/2019/NĐ-CP"},
	"KHCN": {"Luật Khoa học, công nghệ và đổi mới sáng tạo năm 2025"},
	"BCVT": {"Luật Bưu chính năm 2010", "Nghị định số 47/2011/NĐ-CP"},
	"LD":   {"Bộ luật Lao động năm 2019", "Nghị định số 219/2025/NĐ-CP về người lao động nước ngoài làm việc tại Việt Nam"},
}

// demoProc is one demo procedure in compact form. docs are "name|form|template"
// where form is o (original), c (copy) or e (electronic); a leading "?" marks
// an optional document. agency is the level-2 code of the competent agency
// ("" for commune-level procedures) and unit the 1-based division that
// implements it (0 for none).
type demoProc struct {
	code, name, field string
	agency            string
	unit              int
	online            OnlineLevel
	dur               int
	hours             bool
	fee               int64
	feeName           string
	atResult          bool
	form              string
	docs              []string
}

var demoProcs = []demoProc{
	// Commune level: every commune's People's Committee is competent.
	{"1.001193", "Đăng ký khai sinh", "HT", "", 0, OnlineFull, 1, false, 0, "", false, "birth",
		[]string{"Tờ khai đăng ký khai sinh|e|Mẫu TK-KS", "Giấy chứng sinh|o|", "?Văn bản ủy quyền (nếu có)|c|"}},
	{"1.000894", "Đăng ký kết hôn", "HT", "", 0, OnlinePartial, 1, false, 0, "", false, "marriage",
		[]string{"Tờ khai đăng ký kết hôn|e|Mẫu TK-KH", "?Giấy xác nhận tình trạng hôn nhân|o|"}},
	{"1.000656", "Đăng ký khai tử", "HT", "", 0, OnlineFull, 1, false, 0, "", false, "person",
		[]string{"Tờ khai đăng ký khai tử|e|Mẫu TK-KT", "Giấy báo tử hoặc giấy tờ thay giấy báo tử|c|"}},
	{"1.001022", "Cấp Giấy xác nhận tình trạng hôn nhân", "HT", "", 0, OnlineFull, 3, false, 0, "", false, "person",
		[]string{"Tờ khai cấp Giấy xác nhận tình trạng hôn nhân|e|Mẫu TK-XNHN", "?Bản án, quyết định ly hôn đã có hiệu lực|c|"}},
	{"1.004746", "Đăng ký lại khai sinh", "HT", "", 0, OnlinePartial, 5, false, 8000, "Lệ phí đăng ký lại khai sinh", false, "birth",
		[]string{"Tờ khai đăng ký lại khai sinh|e|Mẫu TK-ĐKLKS", "Bản sao giấy tờ chứng minh nội dung khai sinh|c|"}},
	{"1.000689", "Đăng ký nhận cha, mẹ, con", "HT", "", 0, OnlinePartial, 3, false, 15000, "Lệ phí đăng ký nhận cha, mẹ, con", false, "person",
		[]string{"Tờ khai đăng ký nhận cha, mẹ, con|e|Mẫu TK-NCMC", "Văn bản, chứng cứ chứng minh quan hệ cha, mẹ, con|c|"}},
	{"1.001695", "Thay đổi, cải chính, bổ sung thông tin hộ tịch", "HT", "", 0, OnlineFull, 3, false, 15000, "Lệ phí thay đổi, cải chính hộ tịch", false, "person",
		[]string{"Tờ khai thay đổi, cải chính, bổ sung thông tin hộ tịch|e|Mẫu TK-TĐCC", "Giấy tờ làm căn cứ thay đổi, cải chính|c|"}},
	{"2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp", "CT", "", 0, OnlinePartial, 8, true, 2000, "Phí chứng thực (mỗi trang)", false, "",
		[]string{"Bản chính giấy tờ, văn bản cần chứng thực|o|", "Bản sao cần chứng thực|c|"}},
	{"2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", "CT", "", 0, OnlineNone, 1, false, 10000, "Phí chứng thực chữ ký", false, "",
		[]string{"Giấy tờ tùy thân của người yêu cầu chứng thực|o|", "Giấy tờ, văn bản cần chứng thực chữ ký|o|"}},
	{"2.001019", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", "CT", "", 0, OnlineNone, 2, false, 50000, "Phí chứng thực hợp đồng", false, "",
		[]string{"Dự thảo hợp đồng, giao dịch|o|", "Giấy tờ tùy thân của người yêu cầu|c|", "Giấy chứng nhận quyền sở hữu tài sản|c|"}},
	{"1.001612", "Đăng ký thành lập hộ kinh doanh", "DKKD", "", 0, OnlineFull, 3, false, 100000, "Lệ phí đăng ký hộ kinh doanh", false, "business",
		[]string{"Giấy đề nghị đăng ký hộ kinh doanh|e|Phụ lục III-1", "?Biên bản họp thành viên hộ gia đình|c|"}},
	{"2.000575", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "DKKD", "", 0, OnlineFull, 3, false, 100000, "Lệ phí đăng ký hộ kinh doanh", false, "business",
		[]string{"Thông báo thay đổi nội dung đăng ký hộ kinh doanh|e|Phụ lục III-2"}},
	{"1.001776", "Trợ cấp xã hội hằng tháng, hỗ trợ kinh phí chăm sóc, nuôi dưỡng hằng tháng", "BTXH", "", 0, OnlinePartial, 15, false, 0, "", false, "person",
		[]string{"Tờ khai đề nghị trợ giúp xã hội|e|Mẫu số 1a", "?Giấy xác nhận khuyết tật|c|"}},
	{"1.003596", "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", "BTXH", "", 0, OnlinePartial, 3, false, 0, "", false, "person",
		[]string{"Tờ khai đề nghị hỗ trợ chi phí mai táng|e|Mẫu số 04", "Giấy báo tử|c|"}},
	{"1.000775", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", "XD", "", 0, OnlinePartial, 15, false, 75000, "Lệ phí cấp giấy phép xây dựng", false, "building",
		[]string{"Đơn đề nghị cấp giấy phép xây dựng|e|Mẫu số 01", "Giấy tờ hợp pháp về quyền sử dụng đất|c|", "Bản vẽ thiết kế xây dựng|e|"}},
	{"1.000868", "Cấp giấy phép sửa chữa, cải tạo đối với nhà ở riêng lẻ", "XD", "", 0, OnlinePartial, 15, false, 75000, "Lệ phí cấp giấy phép xây dựng", false, "building",
		[]string{"Đơn đề nghị cấp giấy phép sửa chữa, cải tạo|e|Mẫu số 01", "Giấy tờ về quyền sở hữu nhà ở|c|", "Ảnh chụp hiện trạng công trình|e|"}},
	{"1.012793", "Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận lần đầu cho hộ gia đình, cá nhân", "DD", "", 0, OnlinePartial, 20, false, 100000, "Lệ phí cấp Giấy chứng nhận", true, "land",
		[]string{"Đơn đăng ký đất đai, tài sản gắn liền với đất|e|Mẫu số 04/ĐK", "?Giấy tờ về quyền sử dụng đất|c|", "?Chứng từ thực hiện nghĩa vụ tài chính|c|"}},
	{"1.012794", "Đăng ký biến động đất đai, tài sản gắn liền với đất của hộ gia đình, cá nhân", "DD", "", 0, OnlinePartial, 10, false, 50000, "Lệ phí đăng ký biến động", true, "land",
		[]string{"Đơn đăng ký biến động đất đai|e|Mẫu số 11/ĐK", "Giấy chứng nhận đã cấp|o|", "Hợp đồng, văn bản về chuyển quyền|c|"}},
	{"1.010733", "Đăng ký môi trường", "MT", "", 0, OnlineFull, 5, false, 0, "", false, "license",
		[]string{"Văn bản đăng ký môi trường|e|Mẫu Phụ lục XLVII"}},
	{"1.003645", "Thông báo tổ chức lễ hội cấp xã", "VH", "", 0, OnlineFull, 5, false, 0, "", false, "license",
		[]string{"Văn bản thông báo tổ chức lễ hội|e|Mẫu số 05"}},
	// Province level.
	{"1.009972", "Cấp giấy phép xây dựng mới đối với công trình không theo tuyến", "XD", "07", 2, OnlinePartial, 20, false, 150000, "Lệ phí cấp giấy phép xây dựng", false, "building",
		[]string{"Đơn đề nghị cấp giấy phép xây dựng|e|Mẫu số 01", "Quyết định phê duyệt dự án|c|", "Bản vẽ thiết kế xây dựng|e|", "Giấy tờ hợp pháp về đất đai|c|"}},
	{"1.009974", "Cấp giấy phép sửa chữa, cải tạo công trình", "XD", "07", 2, OnlinePartial, 20, false, 150000, "Lệ phí cấp giấy phép xây dựng", false, "building",
		[]string{"Đơn đề nghị cấp giấy phép sửa chữa, cải tạo|e|Mẫu số 01", "Bản vẽ hiện trạng công trình|e|"}},
	{"1.009976", "Gia hạn giấy phép xây dựng", "XD", "07", 2, OnlineFull, 5, false, 15000, "Lệ phí gia hạn giấy phép", false, "building",
		[]string{"Đơn đề nghị gia hạn giấy phép xây dựng|e|Mẫu số 02", "Bản chính giấy phép xây dựng đã cấp|o|"}},
	{"1.009794", "Thẩm định Báo cáo nghiên cứu khả thi đầu tư xây dựng", "XD", "07", 3, OnlinePartial, 30, false, 0, "Phí thẩm định (theo tổng mức đầu tư)", false, "license",
		[]string{"Tờ trình thẩm định|e|Mẫu số 01 Phụ lục I", "Báo cáo nghiên cứu khả thi|e|", "Hồ sơ khảo sát xây dựng|e|"}},
	{"1.001669", "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", "GT", "07", 4, OnlineFull, 5, false, 200000, "Lệ phí cấp giấy phép kinh doanh vận tải", false, "license",
		[]string{"Giấy đề nghị cấp Giấy phép kinh doanh|e|Phụ lục I", "Phương án kinh doanh vận tải|e|"}},
	{"2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam", "LLTP", "03", 2, OnlineFull, 10, false, 200000, "Phí cung cấp thông tin lý lịch tư pháp", false, "person",
		[]string{"Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp|e|Mẫu số 03/2013/TT-LLTP", "Giấy tờ tùy thân|c|"}},
	{"2.000505", "Cấp Phiếu lý lịch tư pháp cho cơ quan nhà nước, tổ chức chính trị, tổ chức chính trị - xã hội", "LLTP", "03", 2, OnlineFull, 10, false, 0, "", false, "license",
		[]string{"Văn bản yêu cầu cấp Phiếu lý lịch tư pháp|e|Mẫu số 05a"}},
	{"1.008901", "Đăng ký hành nghề và cấp Thẻ công chứng viên", "BTTP", "03", 3, OnlinePartial, 10, false, 100000, "Phí thẩm định", false, "person",
		[]string{"Đơn đề nghị đăng ký hành nghề|e|Mẫu TP-CC-07", "Quyết định bổ nhiệm công chứng viên|c|", "Ảnh chân dung 2x3|e|"}},
	{"1.002010", "Đăng ký hoạt động của tổ chức hành nghề luật sư", "BTTP", "03", 3, OnlinePartial, 10, false, 100000, "Lệ phí đăng ký hoạt động", false, "license",
		[]string{"Giấy đề nghị đăng ký hoạt động|e|Mẫu TP-LS-08", "Điều lệ công ty luật|c|"}},
	{"2.001680", "Yêu cầu trợ giúp pháp lý", "TGPL", "03", 4, OnlinePartial, 2, false, 0, "", false, "person",
		[]string{"Đơn yêu cầu trợ giúp pháp lý|e|Mẫu số 01-TP-TGPL", "Giấy tờ chứng minh thuộc diện được trợ giúp pháp lý|c|"}},
	{"2.000013", "Đăng ký thành lập doanh nghiệp tư nhân", "DKKD", "04", 2, OnlineFull, 3, false, 50000, "Lệ phí đăng ký doanh nghiệp", false, "business",
		[]string{"Giấy đề nghị đăng ký doanh nghiệp|e|Phụ lục I-1", "Bản sao giấy tờ pháp lý của chủ doanh nghiệp|e|"}},
	{"2.001610", "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", "DKKD", "04", 2, OnlineFull, 3, false, 50000, "Lệ phí đăng ký doanh nghiệp", false, "business",
		[]string{"Giấy đề nghị đăng ký doanh nghiệp|e|Phụ lục I-2", "Điều lệ công ty|e|", "Bản sao giấy tờ pháp lý của chủ sở hữu|e|"}},
	{"1.010027", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "DKKD", "04", 2, OnlineFull, 3, false, 50000, "Lệ phí đăng ký doanh nghiệp", false, "business",
		[]string{"Thông báo thay đổi nội dung đăng ký doanh nghiệp|e|Phụ lục II-1"}},
	{"1.009645", "Quyết định chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh", "DT", "04", 3, OnlinePartial, 35, false, 0, "", false, "license",
		[]string{"Văn bản đề nghị thực hiện dự án đầu tư|e|Mẫu A.I.1", "Đề xuất dự án đầu tư|e|Mẫu A.I.2", "Tài liệu chứng minh năng lực tài chính|c|"}},
	{"2.000633", "Cấp Giấy phép bán buôn sản phẩm rượu", "TM", "05", 2, OnlineFull, 10, false, 1200000, "Phí thẩm định điều kiện kinh doanh", false, "license",
		[]string{"Đơn đề nghị cấp Giấy phép|e|Mẫu số 01", "Hợp đồng nguyên tắc với nhà cung cấp|c|"}},
	{"2.000181", "Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ LPG chai", "TM", "05", 2, OnlineFull, 15, false, 800000, "Phí thẩm định cấp giấy chứng nhận", false, "license",
		[]string{"Giấy đề nghị cấp Giấy chứng nhận|e|Mẫu số 01", "Tài liệu chứng minh điều kiện phòng cháy, chữa cháy|c|"}},
	{"2.000620", "Đăng ký thực hiện khuyến mại theo hình thức mang tính may rủi trên địa bàn một tỉnh", "TM", "05", 2, OnlineFull, 5, false, 0, "", false, "license",
		[]string{"Đăng ký thực hiện khuyến mại|e|Mẫu KM-1", "Thể lệ chương trình khuyến mại|e|"}},
	{"2.001283", "Cấp Giấy phép hoạt động phân phối điện đến cấp điện áp 35 kV", "NL", "05", 3, OnlinePartial, 15, false, 700000, "Phí thẩm định cấp giấy phép hoạt động điện lực", false, "license",
		[]string{"Văn bản đề nghị cấp giấy phép|e|Mẫu 01", "Danh sách người quản lý kỹ thuật|e|"}},
	{"1.004261", "Đăng ký đất đai, cấp Giấy chứng nhận lần đầu cho tổ chức", "DD", "06", 2, OnlinePartial, 20, false, 500000, "Lệ phí cấp Giấy chứng nhận", true, "land",
		[]string{"Đơn đăng ký đất đai, tài sản gắn liền với đất|e|Mẫu số 04/ĐK", "Quyết định giao đất, cho thuê đất|c|", "Chứng từ thực hiện nghĩa vụ tài chính|c|"}},
	{"1.004238", "Đăng ký biến động quyền sử dụng đất của tổ chức", "DD", "06", 2, OnlinePartial, 10, false, 50000, "Lệ phí đăng ký biến động", true, "land",
		[]string{"Đơn đăng ký biến động đất đai|e|Mẫu số 11/ĐK", "Giấy chứng nhận đã cấp|o|"}},
	{"1.010727", "Thẩm định báo cáo đánh giá tác động môi trường", "MT", "06", 3, OnlinePartial, 25, false, 5000000, "Phí thẩm định báo cáo đánh giá tác động môi trường", false, "license",
		[]string{"Văn bản đề nghị thẩm định|e|Mẫu Phụ lục VIII", "Báo cáo đánh giá tác động môi trường|e|", "Báo cáo nghiên cứu khả thi của dự án|e|"}},
	{"1.010728", "Cấp giấy phép môi trường", "MT", "06", 3, OnlinePartial, 30, false, 3000000, "Phí thẩm định cấp giấy phép môi trường", false, "license",
		[]string{"Văn bản đề nghị cấp giấy phép môi trường|e|Mẫu Phụ lục IX", "Báo cáo đề xuất cấp giấy phép môi trường|e|"}},
	{"1.004179", "Cấp giấy phép khai thác, sử dụng nước dưới đất", "TNN", "06", 4, OnlinePartial, 30, false, 1500000, "Phí thẩm định đề án khai thác nước", false, "license",
		[]string{"Đơn đề nghị cấp giấy phép|e|Mẫu 01", "Báo cáo kết quả thăm dò nước dưới đất|e|", "Kết quả phân tích chất lượng nguồn nước|c|"}},
	{"1.008003", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm nông, lâm, thủy sản", "NN", "06", 5, OnlinePartial, 15, false, 700000, "Phí thẩm định cơ sở", false, "license",
		[]string{"Đơn đề nghị cấp Giấy chứng nhận|e|Mẫu 01", "Bản thuyết minh về cơ sở vật chất|e|"}},
	{"1.003347", "Cấp phép hoạt động trong phạm vi bảo vệ công trình thủy lợi", "NN", "06", 5, OnlinePartial, 10, false, 0, "", false, "license",
		[]string{"Đơn đề nghị cấp giấy phép|e|Mẫu số 01", "Bản đồ vị trí khu vực hoạt động|e|"}},
	{"1.002809", "Cấp đổi giấy phép lái xe do ngành Công an cấp", "GT", "12", 2, OnlineFull, 5, false, 135000, "Lệ phí cấp giấy phép lái xe", false, "person",
		[]string{"Đơn đề nghị đổi giấy phép lái xe|e|Mẫu số 01", "Giấy khám sức khỏe của người lái xe|e|"}},
	{"1.000493", "Cấp Giấy chứng nhận đủ điều kiện về an ninh, trật tự", "ANTT", "12", 1, OnlinePartial, 5, false, 300000, "Lệ phí cấp giấy chứng nhận", false, "license",
		[]string{"Văn bản đề nghị cấp Giấy chứng nhận|e|Mẫu ĐK3", "Bản khai lý lịch của người đứng tên|e|Mẫu ĐK2"}},
	{"1.012299", "Cấp giấy phép hoạt động đối với phòng khám đa khoa", "KCB", "10", 2, OnlinePartial, 60, false, 4300000, "Phí thẩm định cấp giấy phép hoạt động", false, "license",
		[]string{"Đơn đề nghị cấp giấy phép hoạt động|e|Mẫu 01", "Danh sách người hành nghề|e|", "Bản kê khai cơ sở vật chất, thiết bị y tế|e|"}},
	{"1.002356", "Cấp Chứng chỉ hành nghề dược", "DUOC", "10", 3, OnlinePartial, 20, false, 500000, "Phí thẩm định cấp chứng chỉ hành nghề", false, "person",
		[]string{"Đơn đề nghị cấp Chứng chỉ hành nghề dược|e|Mẫu số 02", "Văn bằng chuyên môn|c|", "Giấy xác nhận thời gian thực hành|o|"}},
	{"1.004614", "Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược đối với nhà thuốc", "DUOC", "10", 3, OnlinePartial, 20, false, 1000000, "Phí thẩm định điều kiện kinh doanh dược", false, "license",
		[]string{"Đơn đề nghị cấp Giấy chứng nhận|e|Mẫu số 19", "Tài liệu kỹ thuật về địa điểm, kho bảo quản|e|"}},
	{"1.005092", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "GD", "09", 3, OnlineFull, 8, true, 0, "", false, "person",
		[]string{"Đơn đề nghị cấp bản sao văn bằng, chứng chỉ|e|Phụ lục I"}},
	{"1.005095", "Phúc khảo bài thi tốt nghiệp trung học phổ thông", "GD", "09", 3, OnlineFull, 15, false, 0, "", false, "person",
		[]string{"Đơn đề nghị phúc khảo|e|"}},
	{"1.005088", "Cho phép trường trung học phổ thông hoạt động giáo dục", "GD", "09", 2, OnlinePartial, 20, false, 0, "", false, "license",
		[]string{"Tờ trình đề nghị cho phép hoạt động giáo dục|e|", "Quyết định thành lập trường|c|", "Danh sách cán bộ quản lý, giáo viên|e|"}},
	{"1.003622", "Thông báo tổ chức lễ hội cấp tỉnh", "VH", "11", 2, OnlineFull, 20, false, 0, "", false, "license",
		[]string{"Văn bản thông báo tổ chức lễ hội|e|Mẫu số 04"}},
	{"1.001029", "Cấp Giấy phép kinh doanh dịch vụ lữ hành nội địa", "DL", "11", 3, OnlineFull, 10, false, 3000000, "Phí thẩm định cấp giấy phép kinh doanh lữ hành", false, "business",
		[]string{"Đơn đề nghị cấp giấy phép|e|Mẫu số 02", "Giấy chứng nhận ký quỹ kinh doanh lữ hành|o|", "Quyết định bổ nhiệm người phụ trách kinh doanh lữ hành|c|"}},
	{"1.003838", "Công nhận hạng cơ sở lưu trú du lịch: hạng 3 sao cho khách sạn", "DL", "11", 3, OnlinePartial, 30, false, 2000000, "Phí thẩm định công nhận hạng", false, "license",
		[]string{"Đơn đề nghị công nhận hạng|e|Mẫu số 05", "Biểu đánh giá chất lượng cơ sở lưu trú|e|"}},
	{"1.000954", "Cấp Giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao", "TDTT", "11", 4, OnlinePartial, 7, false, 0, "", false, "license",
		[]string{"Đơn đề nghị cấp Giấy chứng nhận|e|Mẫu số 02", "Bản tóm tắt tình hình chuẩn bị các điều kiện kinh doanh|e|Mẫu số 03"}},
	{"1.004009", "Cấp giấy phép bưu chính (phạm vi nội tỉnh)", "BCVT", "08", 3, OnlineFull, 10, false, 0, "", false, "license",
		[]string{"Đơn đề nghị cấp giấy phép bưu chính|e|Mẫu 01", "Phương án kinh doanh|e|", "Mẫu hợp đồng cung ứng dịch vụ bưu chính|e|"}},
	{"1.008427", "Đăng ký hoạt động khoa học và công nghệ của tổ chức", "KHCN", "08", 2, OnlineFull, 10, false, 0, "", false, "license",
		[]string{"Đơn đăng ký hoạt động khoa học và công nghệ|e|Mẫu 01", "Quyết định thành lập tổ chức|c|"}},
	{"2.001947", "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt Nam", "LD", "02", 4, OnlineFull, 5, false, 600000, "Lệ phí cấp giấy phép lao động", false, "person",
		[]string{"Văn bản đề nghị cấp giấy phép lao động|e|Mẫu số 11", "Giấy chứng nhận sức khỏe|c|", "Hộ chiếu|c|"}},
	{"1.000105", "Đăng ký nội quy lao động", "LD", "02", 4, OnlineFull, 7, false, 0, "", false, "license",
		[]string{"Văn bản đề nghị đăng ký nội quy lao động|e|", "Nội quy lao động|e|"}},
	{"1.009461", "Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án trong khu công nghiệp", "DT", "14", 2, OnlinePartial, 15, false, 0, "", false, "license",
		[]string{"Văn bản đề nghị thực hiện dự án đầu tư|e|Mẫu A.I.1", "Đề xuất dự án đầu tư|e|Mẫu A.I.2", "Báo cáo tài chính 2 năm gần nhất|c|"}},
	{"1.009470", "Điều chỉnh Giấy chứng nhận đăng ký đầu tư đối với dự án trong khu công nghiệp", "DT", "14", 2, OnlinePartial, 10, false, 0, "", false, "license",
		[]string{"Văn bản đề nghị điều chỉnh dự án đầu tư|e|Mẫu A.I.11", "Báo cáo tình hình thực hiện dự án|e|"}},
}

// demoFAQ are the frequently asked questions of the building-permit
// procedures: general guidance for the fictitious province, citing the
// Construction Law (Luật Xây dựng 2014, amended 2020).
var demoFAQ = map[string][]FAQItem{
	"1.009972": {
		{"Công trình nào được miễn giấy phép xây dựng?",
			"Điều 89 Luật Xây dựng liệt kê các trường hợp được miễn, ví dụ: công trình bí mật nhà nước, công trình xây dựng khẩn cấp, công trình xây dựng tạm, công trình thuộc dự án đã được cơ quan chuyên môn về xây dựng thẩm định báo cáo nghiên cứu khả thi và đủ điều kiện cấp giấy phép.\n\nCông trình được miễn giấy phép vẫn phải gửi thông báo thời điểm khởi công kèm hồ sơ thiết kế cho cơ quan quản lý xây dựng tại địa phương trước khi khởi công."},
		{"Thời hạn giải quyết được tính từ khi nào?",
			"20 ngày làm việc kể từ ngày Sở Xây dựng nhận đủ hồ sơ hợp lệ. Nếu hồ sơ chưa đầy đủ, bộ phận tiếp nhận hướng dẫn một lần, bằng văn bản, tất cả nội dung cần bổ sung; thời gian bổ sung không tính vào thời hạn giải quyết."},
		{"Có thể nộp hồ sơ trực tuyến không?",
			"Có. Thủ tục được thực hiện trực tuyến một phần: khai đơn theo Mẫu số 01 và tải bản vẽ thiết kế, quyết định phê duyệt dự án, giấy tờ về đất đai lên Cổng dịch vụ công của tỉnh. Khi nhận giấy phép, chủ đầu tư xuất trình bản chính các giấy tờ đã nộp bản sao để đối chiếu."},
		{"Giấy phép xây dựng có hiệu lực trong bao lâu?",
			"Giấy phép hết hiệu lực nếu sau 12 tháng kể từ ngày cấp mà công trình chưa khởi công. Trước thời điểm đó, chủ đầu tư có thể đề nghị gia hạn (thủ tục 1.009976); mỗi giấy phép được gia hạn tối đa 2 lần, mỗi lần 12 tháng."},
	},
	"1.009974": {
		{"Sửa chữa bên trong công trình có cần xin giấy phép không?",
			"Không, nếu việc sửa chữa, cải tạo bên trong không làm thay đổi kết cấu chịu lực, không làm thay đổi công năng sử dụng và bảo đảm an toàn phòng cháy, chữa cháy, môi trường (Điều 89 Luật Xây dựng). Các trường hợp khác phải có giấy phép sửa chữa, cải tạo."},
		{"Cần nộp những bản vẽ nào?",
			"Bản vẽ hiện trạng của bộ phận, hạng mục công trình đề nghị sửa chữa, cải tạo (tỷ lệ 1/50 – 1/200), kèm ảnh chụp hiện trạng; và bản vẽ thiết kế phần sửa chữa, cải tạo. Các bản vẽ nộp dưới dạng điện tử (PDF) khi nộp trực tuyến."},
		{"Thời hạn giải quyết là bao lâu?",
			"20 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ. Mã hồ sơ in trên giấy tiếp nhận dùng để tra cứu tiến độ trên Cổng dịch vụ công."},
	},
	"1.009976": {
		{"Khi nào cần gia hạn giấy phép xây dựng?",
			"Khi đã hết 12 tháng kể từ ngày cấp giấy phép mà công trình chưa khởi công. Cần nộp đề nghị gia hạn trước khi giấy phép hết hiệu lực khởi công."},
		{"Giấy phép được gia hạn mấy lần?",
			"Tối đa 2 lần, mỗi lần 12 tháng. Sau đó nếu công trình vẫn chưa khởi công, chủ đầu tư phải đề nghị cấp giấy phép xây dựng mới."},
		{"Có thể làm hoàn toàn trực tuyến không?",
			"Có. Thủ tục được thực hiện trực tuyến toàn trình: nộp đơn theo Mẫu số 02 kèm bản điện tử của giấy phép đã cấp, nộp lệ phí 15.000 đồng trực tuyến và nhận kết quả điện tử. Thời hạn giải quyết 5 ngày làm việc."},
	},
	"1.000775": {
		{"Nhà ở nông thôn có phải xin giấy phép xây dựng không?",
			"Nhà ở riêng lẻ dưới 7 tầng ở nông thôn, thuộc khu vực chưa có quy hoạch đô thị, quy hoạch xây dựng khu chức năng hoặc quy hoạch chi tiết điểm dân cư nông thôn được phê duyệt, được miễn giấy phép. Nhà ở trong khu vực đã có quy hoạch được duyệt, khu bảo tồn hoặc khu di tích lịch sử – văn hóa thì phải xin giấy phép."},
		{"Sau khi bỏ cấp huyện, tôi nộp hồ sơ ở đâu?",
			"Từ ngày 01/07/2025, Ủy ban nhân dân xã, phường, đặc khu nơi có công trình cấp giấy phép xây dựng nhà ở riêng lẻ. Hồ sơ nộp trực tuyến trên Cổng dịch vụ công của tỉnh hoặc tại Trung tâm Phục vụ hành chính công của xã, phường."},
		{"Tôi có được tự vẽ bản vẽ thiết kế không?",
			"Có, nếu nhà có tổng diện tích sàn dưới 250 m², hoặc dưới 3 tầng, hoặc cao dưới 12 m: hộ gia đình được tự thiết kế nhưng tự chịu trách nhiệm về chất lượng thiết kế (Điều 79 Luật Xây dựng). Nhà lớn hơn phải do tổ chức, cá nhân có đủ năng lực hoạt động xây dựng thiết kế."},
		{"Lệ phí cấp giấy phép là bao nhiêu?",
			"75.000 đồng cho mỗi giấy phép, nộp khi tiếp nhận hồ sơ (trực tuyến hoặc tại quầy)."},
	},
	"1.000868": {
		{"Sửa chữa nhà ở có cần xin giấy phép không?",
			"Không cần nếu chỉ sửa chữa, cải tạo bên trong nhà mà không làm thay đổi kết cấu chịu lực, công năng sử dụng, hoặc sửa mặt ngoài không tiếp giáp đường phố có yêu cầu quản lý kiến trúc. Nâng tầng, thay đổi kết cấu chịu lực hoặc cải tạo mặt tiền trên tuyến phố có quy chế quản lý kiến trúc thì phải có giấy phép."},
		{"Hồ sơ gồm những gì?",
			"Đơn đề nghị theo Mẫu số 01, giấy tờ về quyền sở hữu nhà ở (bản sao) và ảnh chụp hiện trạng công trình. Nếu sửa chữa làm thay đổi kết cấu, kèm bản vẽ thiết kế phần sửa chữa, cải tạo."},
		{"Bao lâu thì có giấy phép?",
			"15 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ. Ủy ban nhân dân xã, phường gửi thông báo qua ứng dụng, tin nhắn hoặc thư điện tử khi có kết quả."},
	},
}

func demoProcedures() []Procedure {
	var out []Procedure
	for _, d := range demoProcs {
		p := Procedure{
			Code: d.code, Name: d.name, FieldCode: d.field, OnlineLevel: d.online,
			Duration:      Duration{Value: d.dur, Unit: WorkingDays},
			LegalBasis:    append(append([]string{}, demoLegal[d.field]...), "Nghị định số 118/2025/NĐ-CP về thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông"),
			ProcessKey:    "one-stop",
			EffectiveFrom: demoReform,
			Status:        StatusActive,
			Documents:     []Document{},
			Fees:          []Fee{},
		}
		if d.hours {
			p.Duration.Unit = Hours
			p.ProcessKey = "one-stop-same-day"
		}
		if d.agency == "" {
			p.Level = LevelCommune
		} else {
			p.Level = LevelProvince
			p.CompetentAgency = demoAgencyEID(d.agency)
			if d.unit > 0 {
				p.ImplementingAgency = demoUnitEID(d.agency, d.unit)
			}
		}
		if d.feeName != "" {
			stage := PaidAtReception
			if d.atResult {
				stage = PaidAtResult
			}
			p.Fees = append(p.Fees, Fee{Name: d.feeName, Amount: d.fee, PaidAt: stage})
		}
		for _, s := range d.docs {
			parts := strings.SplitN(s, "|", 3)
			name, required := parts[0], true
			if strings.HasPrefix(name, "?") {
				name, required = name[1:], false
			}
			form := map[string]DocumentForm{"o": FormOriginal, "c": FormCopy, "e": FormElectronic}[parts[1]]
			p.Documents = append(p.Documents, Document{Name: name, Form: form, Quantity: 1, Template: parts[2], Required: required})
		}
		if d.form != "" {
			p.FormSchema = json.RawMessage(demoForms[d.form])
		}
		p.FAQ = demoFAQ[d.code]
		// Two procedures keep the version in force before the reform, so the
		// demo shows history: a longer duration, and for one a different fee.
		// The FAQ came with the current versions.
		if d.code == "2.000488" || d.code == "1.000775" {
			old := p
			old.FAQ = nil
			old.Version = 1
			old.EffectiveFrom = demoPrev
			old.Duration.Value += 5
			old.LegalBasis = demoLegal[d.field]
			if d.code == "2.000488" {
				old.Fees = []Fee{{Name: d.feeName, Amount: 100000, PaidAt: PaidAtReception}}
			}
			if d.code == "1.000775" {
				old.Name = "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ (cấp huyện)"
			}
			out = append(out, old)
			p.Version = 2
		}
		out = append(out, p)
	}
	return out
}
