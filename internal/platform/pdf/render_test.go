package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

func TestRenderForms(t *testing.T) {
	reg := sharedRegistry(t)
	common := []string{
		"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
		"Độc lập - Tự do - Hạnh phúc",
		"ỦY BAN NHÂN DÂN XÃ ĐĂK HÀ",
		"Đăk Hà, ngày 17 tháng 02 năm 2026",
		"H55.31.12-260217-0042",
	}
	tests := []struct {
		form  string
		title string
		qr    bool
		want  []string
	}{
		{FormReceipt, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", true, []string{
			"Số: 37/PTN", "Ông/Bà: Đặng Thị Hồng Nhung", "Thôn Kon Klốc, xã Đăk Hà, tỉnh Quảng Ngãi",
			"Giấy chứng nhận kết hôn của cha, mẹ", "Bản sao có chứng thực",
			"4. Thời gian nhận hồ sơ: 14 giờ 30, ngày 17 tháng 02 năm 2026",
			"5. Thời gian trả kết quả giải quyết hồ sơ: 16 giờ 00, ngày 18 tháng 02 năm 2026",
			"6. Phí, lệ phí: Không thu", "NGƯỜI TIẾP NHẬN HỒ SƠ", "Y Blốk",
		}},
		{FormSupplementRequest, "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", true, []string{
			"1. Thiếu giấy chứng sinh bản chính.", "2. Tờ khai chưa ghi nơi cư trú của người mẹ.",
			"ngày 27 tháng 02 năm 2026", "NGƯỜI HƯỚNG DẪN",
		}},
		{FormRefusal, "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", false, []string{
			"Trẻ em đã được đăng ký khai sinh tại Ủy ban nhân dân phường Nghĩa Lộ.",
		}},
		{FormApology, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", true, []string{
			"Kính gửi: Ông/Bà Đặng Thị Hồng Nhung", "Cần xác minh thông tin cư trú của người mẹ với Công an xã.",
			"16 giờ 00, ngày 20 tháng 02 năm 2026", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Hữu Tường",
		}},
		{FormStopNotice, "THÔNG BÁO", true, []string{
			"Về việc dừng giải quyết hồ sơ", "Trẻ em đã được đăng ký khai sinh tại Ủy ban nhân dân phường Nghĩa Lộ.",
		}},
		{FormControlSlip, "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", true, []string{
			"Công an xã Đăk Hà", "Thẩm định, trình ký", "Trước hạn", "Đúng hạn", "Quá hạn", "Người nộp đến muộn",
		}},
		{FormTrackingBook, "SỔ THEO DÕI HỒ SƠ", false, []string{
			"Từ ngày 01 tháng 02 năm 2026 đến ngày 28 tháng 02 năm 2026", "Chứng thực bản sao từ bản chính", "A Thuột",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.form, func(t *testing.T) {
			b := render(t, reg, tt.form, fixture())
			if n := checkPDF(t, b); n != 1 {
				t.Errorf("pages = %d, want 1", n)
			}
			if got := bytes.Contains(b, []byte("/Subtype /Image")); got != tt.qr {
				t.Errorf("QR image object present = %v, want %v", got, tt.qr)
			}
			if os.Getenv("CONGSO_PDF_OUT") != "" {
				_ = os.WriteFile(fmt.Sprintf("%s/%s.pdf", os.Getenv("CONGSO_PDF_OUT"), tt.form), b, 0o644)
			}
			text := pdftotext(t, b)
			// Cells wrap, so lines are joined with spaces to find phrases.
			joined := strings.Join(lines(text), " ")
			for _, s := range append(append([]string{tt.title}, common...), tt.want...) {
				if tt.form == FormTrackingBook && s == "H55.31.12-260217-0042" {
					// The code wraps after a hyphen in its narrow column,
					// and pdftotext joins hyphenated lines.
					s = "H55.31.12260217-0042"
				}
				if !strings.Contains(joined, s) {
					t.Errorf("text lacks %q", s)
				}
			}
			if strings.Contains(joined, "?") && !strings.Contains(tt.want[0], "?") {
				for _, l := range lines(text) {
					if strings.Contains(l, "?") && !strings.Contains(l, "tra-cuu?ma=") {
						t.Errorf("a character was not found in the font: %q", l)
					}
				}
			}
			golden(t, tt.form+".txt", text)
		})
	}
}

func TestDecomposedTextPrintsAsPrecomposed(t *testing.T) {
	reg := sharedRegistry(t)
	d := fixture()
	d.Dossier.Applicant.Name = norm.NFD.String("Đặng Thị Hồng Nhung")
	d.Dossier.Applicant.Address = norm.NFD.String("Thôn Kon Klốc, xã Đăk Hà")
	if d.Dossier.Applicant.Name == "Đặng Thị Hồng Nhung" {
		t.Fatal("test setup: the name should be decomposed")
	}
	// The glyphs drawn are the precomposed ones, which is what text
	// extraction reports (the font's combining marks would be misplaced
	// under stacked diacritics such as "ệ").
	text := pdftotext(t, render(t, reg, FormReceipt, d))
	for _, want := range []string{"Ông/Bà: Đặng Thị Hồng Nhung", "Địa chỉ: Thôn Kon Klốc, xã Đăk Hà"} {
		if !norm.NFC.IsNormalString(want) {
			t.Fatalf("test setup: %q is not NFC", want)
		}
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q; got:\n%s", want, text)
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	reg := sharedRegistry(t)
	a := render(t, reg, FormReceipt, fixture())
	b := render(t, reg, FormReceipt, fixture())
	if !bytes.Equal(a, b) {
		t.Error("two renders of the same data differ")
	}
}

func TestControlSlipLongTableBreaksAcrossPages(t *testing.T) {
	reg := sharedRegistry(t)
	d := fixture()
	d.Handoffs = nil
	start := vn(2026, time.March, 2, 8, 0)
	for i := range 60 {
		due := start.Add(time.Duration(i) * 24 * time.Hour)
		d.Handoffs = append(d.Handoffs, Handoff{
			Step:   fmt.Sprintf("Bước %d: xin ý kiến đơn vị phối hợp", i+1),
			From:   Party{Name: "Lê Văn Quý", Unit: "Công chức Tư pháp - Hộ tịch"},
			To:     Party{Name: "Phạm Thị Ánh", Unit: "Phòng Kinh tế"},
			SentAt: due.Add(-8 * time.Hour),
			DueAt:  due,
			DoneAt: due.Add(time.Duration(i%3-1) * 2 * time.Hour),
		})
	}
	b := render(t, reg, FormControlSlip, d)
	pages := checkPDF(t, b)
	if pages < 3 {
		t.Fatalf("pages = %d, want at least 3 for 60 hand-offs", pages)
	}
	all := pdftotext(t, b)
	for i := 1; i <= 60; i++ {
		if !strings.Contains(all, fmt.Sprintf("Bước %d:", i)) {
			t.Errorf("row %d is missing", i)
		}
	}
	second := lines(pdftotext(t, b, "-f", "2", "-l", "2"))
	if len(second) == 0 || second[0] != "2" {
		t.Errorf("page 2 does not start with its number; first lines: %q", second[:min(3, len(second))])
	}
	if !strings.Contains(strings.Join(second, "\n"), "Nội dung giao, nhận hồ sơ") {
		t.Errorf("the table header is not repeated on page 2")
	}
	if strings.Contains(strings.Join(second, "\n"), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") {
		t.Errorf("the national motto is repeated on page 2")
	}
}

func TestTableRowTallerThanAPageContinues(t *testing.T) {
	reg := sharedRegistry(t)
	d := fixture()
	step := "Thẩm định. " + strings.Repeat("Đã liên hệ người nộp qua điện thoại nhưng chưa được. ", 100) + "HẾT NỘI DUNG"
	d.Handoffs = []Handoff{{Step: step, Note: "Ghi chú ngắn"}}
	b := render(t, reg, FormControlSlip, d)
	if pages := checkPDF(t, b); pages < 2 {
		t.Fatalf("pages = %d, want the row to continue on a second page", pages)
	}
	text := strings.Join(lines(pdftotext(t, b)), " ")
	// Lines of the row fall on several pages; count words that cannot be
	// split to see that none was lost.
	for _, w := range []string{"Đã", "được."} {
		if got := strings.Count(text, w); got != 100 {
			t.Errorf("%q appears %d times, want 100", w, got)
		}
	}
	if !strings.Contains(text, "HẾT NỘI DUNG") {
		t.Error("the end of the tall row is missing")
	}
}

func TestBlankFormPrintsDottedLeaders(t *testing.T) {
	reg := sharedRegistry(t)
	text := pdftotext(t, render(t, reg, FormReceipt, Data{}))
	for _, want := range []string{"Ông/Bà: .....", "ngày ..... tháng ..... năm ........", "Không có giấy tờ kèm theo"} {
		if !strings.Contains(text, want) {
			t.Errorf("blank form lacks %q", want)
		}
	}
}

func TestRenderAcceptsPointer(t *testing.T) {
	reg := sharedRegistry(t)
	d := fixture()
	checkPDF(t, render(t, reg, FormReceipt, &d))
}

func TestRenderDataErrors(t *testing.T) {
	reg := sharedRegistry(t)
	at := vn(2026, time.February, 17, 9, 0)
	type other struct{ Name string }
	if _, err := reg.Render(context.Background(), FormReceipt, at, other{"x"}); !errors.Is(err, ErrData) {
		t.Errorf("data of the wrong type: err = %v, want ErrData", err)
	}

	tmpl, err := ParseTemplate([]byte(`{"key":"qr-test","version":1,"effective_from":"2025-01-01","title":"QR",
		"blocks":[{"type":"qr","url":"{{.LookupURL}}","required":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmpl.Render(context.Background(), Data{}); !errors.Is(err, ErrData) {
		t.Errorf("required QR with no URL: err = %v, want ErrData", err)
	}
}

func TestRenderStopsOnCanceledContext(t *testing.T) {
	reg := sharedRegistry(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := reg.Render(ctx, FormReceipt, vn(2026, time.February, 17, 9, 0), fixture()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentRenders(t *testing.T) {
	reg := sharedRegistry(t)
	forms := []string{FormReceipt, FormSupplementRequest, FormRefusal, FormApology, FormStopNotice, FormControlSlip, FormTrackingBook}
	var wg sync.WaitGroup
	errs := make(chan error, len(forms)*2)
	for range 2 {
		for _, f := range forms {
			wg.Go(func() {
				if _, err := reg.Render(context.Background(), f, vn(2026, time.February, 17, 9, 0), fixture()); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFontLicenceShipsWithTheFonts(t *testing.T) {
	b, err := os.ReadFile("fonts/LICENSE-Liberation.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIL OPEN FONT LICENSE Version 1.1", "Copyright (c) 2012 Red Hat, Inc.", "Google Corporation"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("licence lacks %q", want)
		}
	}
}
