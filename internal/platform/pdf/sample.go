package pdf

import "time"

// SampleData returns realistic data that fills every field of Data, with
// one or more elements in every list. ParseTemplate renders it to check a
// template; an administrator's page may use it to preview a province's
// template before registering it.
func SampleData() Data {
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, time.February, day, hour, minute, 0, 0, vnZone)
	}
	return Data{
		Issuer: Issuer{
			Parent: "Ủy ban nhân dân tỉnh Bình Phước",
			Name:   "Trung tâm Phục vụ hành chính công",
			Place:  "Bình Phước",
		},
		Number:   "125/TNHS",
		IssuedAt: at(17, 14, 30),
		Dossier: Dossier{
			Code: "H15.50.05.13-260217-0001",
			Applicant: Applicant{
				Name:     "Nguyễn Thị Ánh Tuyết",
				Address:  "Số 12, đường Phú Riềng Đỏ, phường Đồng Xoài, tỉnh Bình Phước",
				Phone:    "0912 345 678",
				Email:    "anhtuyet@example.vn",
				IDNumber: "070186001234",
			},
			Procedure: Procedure{
				Code:  "1.001612",
				Name:  "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
				Field: "Hoạt động xây dựng",
			},
			Sets:          1,
			ReceivedAt:    at(17, 14, 30),
			AppointmentAt: time.Date(2026, time.March, 3, 16, 0, 0, 0, vnZone),
			Duration:      "10 ngày làm việc",
			Documents: []Document{
				{Name: "Đơn đề nghị cấp giấy phép xây dựng", Kind: DocOriginal, Count: 1},
				{Name: "Giấy chứng nhận quyền sử dụng đất", Kind: DocCertifiedCopy, Count: 1},
				{Name: "Bản vẽ thiết kế xây dựng", Kind: DocCopy, Count: 2},
			},
			Fees:                 []Fee{{Name: "Lệ phí cấp giấy phép xây dựng", Amount: 75000}},
			ReturnMethod:         "Nhận trực tiếp tại Bộ phận Một cửa",
			HandlingAgency:       "Sở Xây dựng tỉnh Bình Phước",
			CoordinatingAgencies: []string{"Ủy ban nhân dân phường Đồng Xoài"},
		},
		Officer:          Officer{Name: "Trần Văn Hùng", Position: "CÔNG CHỨC TIẾP NHẬN", Phone: "0271 3879 999"},
		Signer:           Officer{Name: "Lê Minh Đức", Position: "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC"},
		LookupURL:        "https://dichvucong.binhphuoc.gov.vn/tra-cuu?ma=H15.50.05.13-260217-0001",
		Defects:          []string{"Bản vẽ thiết kế thiếu mặt cắt móng công trình."},
		SupplementBy:     at(27, 17, 0),
		Reasons:          []string{"Thửa đất thuộc khu vực đã có quyết định thu hồi đất."},
		Reason:           "Cần lấy ý kiến của cơ quan quản lý đất đai về ranh giới thửa đất.",
		NewAppointmentAt: time.Date(2026, time.March, 10, 16, 0, 0, 0, vnZone),
		Handoffs: []Handoff{{
			Step:   "Thẩm định hồ sơ",
			From:   Party{Name: "Trần Văn Hùng", Unit: "Bộ phận Một cửa"},
			To:     Party{Name: "Phạm Thu Hà", Unit: "Phòng Quản lý xây dựng"},
			SentAt: at(17, 15, 0),
			DueAt:  at(24, 17, 0),
			DoneAt: at(23, 10, 15),
		}},
		Book: Book{
			From: at(1, 0, 0),
			To:   at(28, 0, 0),
			Rows: []BookRow{{
				Code:           "H15.50.05.13-260217-0001",
				Procedure:      "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
				Sets:           1,
				Applicant:      "Nguyễn Thị Ánh Tuyết",
				Address:        "Phường Đồng Xoài, tỉnh Bình Phước",
				Phone:          "0912 345 678",
				HandlingAgency: "Sở Xây dựng",
				ReceivedAt:     at(17, 14, 30),
				AppointmentAt:  time.Date(2026, time.March, 3, 16, 0, 0, 0, vnZone),
				TransferredAt:  at(17, 15, 0),
			}},
		},
	}
}
