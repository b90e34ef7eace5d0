package pdf

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// vn returns a time in Vietnam's zone.
func vn(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, vnZone)
}

// fixture is a realistic dossier at a commune's one-stop desk, with data
// for every form.
func fixture() Data {
	return Data{
		Issuer: Issuer{
			Parent: "Ủy ban nhân dân tỉnh Quảng Ngãi",
			Name:   "Ủy ban nhân dân xã Đăk Hà",
			Place:  "Đăk Hà",
		},
		Number:   "37/PTN",
		IssuedAt: vn(2026, time.February, 17, 14, 30),
		Dossier: Dossier{
			Code: "H55.31.12-260217-0042",
			Applicant: Applicant{
				Name:    "Đặng Thị Hồng Nhung",
				Address: "Thôn Kon Klốc, xã Đăk Hà, tỉnh Quảng Ngãi",
				Phone:   "0905 123 456",
				Email:   "hongnhung@example.vn",
			},
			Procedure: Procedure{
				Code: "1.001193",
				Name: "Đăng ký khai sinh",
			},
			Sets:          1,
			ReceivedAt:    vn(2026, time.February, 17, 14, 30),
			AppointmentAt: vn(2026, time.February, 18, 16, 0),
			Duration:      "01 ngày làm việc",
			Documents: []Document{
				{Name: "Tờ khai đăng ký khai sinh", Kind: DocOriginal, Count: 1},
				{Name: "Giấy chứng sinh", Kind: DocOriginal, Count: 1},
				{Name: "Giấy chứng nhận kết hôn của cha, mẹ", Kind: DocCertifiedCopy, Count: 1},
			},
			ReturnMethod:         "Nhận trực tiếp tại Bộ phận Một cửa xã",
			HandlingAgency:       "Văn phòng - Thống kê xã Đăk Hà",
			CoordinatingAgencies: []string{"Công an xã Đăk Hà"},
		},
		Officer:          Officer{Name: "Y Blốk", Phone: "0260 3812 345"},
		Signer:           Officer{Name: "Nguyễn Hữu Tường", Position: "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH"},
		LookupURL:        "https://dichvucong.quangngai.gov.vn/tra-cuu?ma=H55.31.12-260217-0042",
		Defects:          []string{"Thiếu giấy chứng sinh bản chính.", "Tờ khai chưa ghi nơi cư trú của người mẹ."},
		SupplementBy:     vn(2026, time.February, 27, 17, 0),
		Reasons:          []string{"Trẻ em đã được đăng ký khai sinh tại Ủy ban nhân dân phường Nghĩa Lộ."},
		Reason:           "Cần xác minh thông tin cư trú của người mẹ với Công an xã.",
		NewAppointmentAt: vn(2026, time.February, 20, 16, 0),
		Handoffs: []Handoff{
			{Step: "Tiếp nhận hồ sơ", From: Party{Name: "Đặng Thị Hồng Nhung", Unit: "Người nộp"}, To: Party{Name: "Y Blốk", Unit: "Bộ phận Một cửa"},
				SentAt: vn(2026, time.February, 17, 14, 30), DueAt: vn(2026, time.February, 17, 17, 0), DoneAt: vn(2026, time.February, 17, 14, 45)},
			{Step: "Thẩm định, trình ký", From: Party{Name: "Y Blốk", Unit: "Bộ phận Một cửa"}, To: Party{Name: "Lê Văn Quý", Unit: "Công chức Tư pháp - Hộ tịch"},
				SentAt: vn(2026, time.February, 17, 14, 45), DueAt: vn(2026, time.February, 18, 10, 0), DoneAt: vn(2026, time.February, 17, 16, 20)},
			{Step: "Ký duyệt", From: Party{Name: "Lê Văn Quý", Unit: "Công chức Tư pháp - Hộ tịch"}, To: Party{Name: "Nguyễn Hữu Tường", Unit: "Lãnh đạo UBND xã"},
				SentAt: vn(2026, time.February, 17, 16, 20), DueAt: vn(2026, time.February, 18, 14, 0), DoneAt: vn(2026, time.February, 18, 9, 5)},
			{Step: "Trả kết quả", From: Party{Name: "Nguyễn Hữu Tường", Unit: "Lãnh đạo UBND xã"}, To: Party{Name: "Y Blốk", Unit: "Bộ phận Một cửa"},
				SentAt: vn(2026, time.February, 18, 9, 5), DueAt: vn(2026, time.February, 18, 16, 0), DoneAt: vn(2026, time.February, 18, 16, 40), Note: "Người nộp đến muộn"},
		},
		Book: Book{
			From: vn(2026, time.February, 1, 0, 0),
			To:   vn(2026, time.February, 28, 0, 0),
			Rows: []BookRow{
				{Code: "H55.31.12-260217-0042", Procedure: "Đăng ký khai sinh", Sets: 1, Applicant: "Đặng Thị Hồng Nhung",
					Address: "Thôn Kon Klốc", Phone: "0905 123 456", HandlingAgency: "UBND xã Đăk Hà",
					ReceivedAt: vn(2026, time.February, 17, 14, 30), AppointmentAt: vn(2026, time.February, 18, 16, 0),
					TransferredAt: vn(2026, time.February, 17, 14, 45), ResultReceivedAt: vn(2026, time.February, 18, 9, 5),
					ReturnedAt: vn(2026, time.February, 18, 16, 40)},
				{Code: "H55.31.12-260218-0043", Procedure: "Chứng thực bản sao từ bản chính", Sets: 2, Applicant: "A Thuột",
					Address: "Làng Đăk Ui", HandlingAgency: "UBND xã Đăk Hà",
					ReceivedAt: vn(2026, time.February, 18, 8, 0), AppointmentAt: vn(2026, time.February, 18, 11, 0), Note: "Đang xử lý"},
			},
		},
	}
}

var pageObj = regexp.MustCompile(`/Type\s*/Page[^s]`)

// checkPDF fails unless b looks like a complete PDF, and returns its page
// count.
func checkPDF(t *testing.T, b []byte) int {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", b[:min(len(b), 16)])
	}
	if !bytes.Contains(b[max(0, len(b)-64):], []byte("%%EOF")) {
		t.Fatalf("output does not end with %%%%EOF")
	}
	n := len(pageObj.FindAll(b, -1))
	if n == 0 {
		t.Fatalf("no page objects in the PDF")
	}
	return n
}

// pdftotext extracts the text of b (extra arguments, such as "-f", "2",
// select pages). Without pdftotext the test is skipped, unless
// CONGSO_BROWSER_TESTS is set, where the tool is required.
func pdftotext(t *testing.T, b []byte, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CONGSO_BROWSER_TESTS") != "" {
			t.Fatalf("pdftotext is required when CONGSO_BROWSER_TESTS is set: apt-get install poppler-utils")
		}
		t.Skip("pdftotext not found (apt-get install poppler-utils); skipping the text checks")
	}
	file := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, append(append([]string{"-enc", "UTF-8"}, args...), file, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// Not normalised: the text must come out of the PDF precomposed.
	return string(out)
}

// lines normalises extracted text for comparison: NFC, runs of spaces
// collapsed, blank lines dropped.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(norm.NFC.String(s), "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// golden compares the normalised lines of text with testdata/name, or
// rewrites the file with -update.
func golden(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got := lines(text)
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	want := lines(string(raw))
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("%s: line %d differs:\n got: %q\nwant: %q\n(run go test -update to accept the new text)", path, i+1, g, w)
		}
	}
}

// newRegistry returns a registry of the default templates, of its own for
// a test that registers more.
func newRegistry(t *testing.T) *Registry {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

var defaults = sync.OnceValues(NewRegistry)

// sharedRegistry returns one registry of the default templates for the
// tests that only read it (parsing them is slow under the race detector).
func sharedRegistry(t *testing.T) *Registry {
	t.Helper()
	reg, err := defaults()
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	return reg
}

func render(t *testing.T, reg *Registry, form string, data any) []byte {
	t.Helper()
	b, err := reg.Render(context.Background(), form, vn(2026, time.February, 17, 14, 30), data)
	if err != nil {
		t.Fatalf("render %s: %v", form, err)
	}
	return b
}
