package httpx

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type dossierInput struct {
	Code      string `json:"code"`
	Pages     int    `json:"pages"`
	Urgent    bool   `json:"urgent"`
	Applicant struct {
		Name string `json:"name"`
		Ward string `json:"ward"`
	} `json:"applicant"`
	Tags     []string   `json:"tags"`
	Received *time.Time `json:"received"`
}

// decodeHandler decodes into a dossierInput and echoes it, or answers the error.
func decodeHandler(limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in dossierInput
		if err := DecodeJSONLimit(w, r, &in, limit); err != nil {
			Error(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, in)
	})
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
		wantDetail  string
		wantField   string // field of the first field error, if any
	}{
		{"valid", "application/json", `{"code":"A1","pages":3,"applicant":{"name":"Lê Văn Tám"}}`, 200, "", "", ""},
		{"valid with charset and whitespace", "application/json; charset=utf-8", " {\"code\":\"A1\"} \n", 200, "", "", ""},
		{"problem+json type", "application/merge-patch+json", `{"code":"A1"}`, 200, "", "", ""},
		{"syntax error", "application/json", `{"code": "A1",}`, 400, "invalid_json", "Nội dung JSON không hợp lệ tại vị trí 15.", ""},
		{"truncated", "application/json", `{"code": "A1"`, 400, "invalid_json", "Nội dung JSON bị cắt cụt: dữ liệu kết thúc trước khi giá trị hoàn chỉnh.", ""},
		{"empty", "application/json", ``, 400, "empty_body", "Nội dung yêu cầu đang trống; cần một giá trị JSON.", ""},
		{"wrong type", "application/json", `{"pages":"ba"}`, 400, "invalid_type", `Trường "pages" phải là số nguyên.`, "pages"},
		{"fraction for integer", "application/json", `{"pages":1.5}`, 400, "invalid_type", `Trường "pages" phải là số nguyên.`, "pages"},
		{"nested wrong type", "application/json", `{"applicant":{"ward":7}}`, 400, "invalid_type", `Trường "applicant.ward" phải là chuỗi ký tự.`, "applicant.ward"},
		{"wrong type in list", "application/json", `{"tags":[1]}`, 400, "invalid_type", `Trường "tags" phải là chuỗi ký tự.`, "tags"},
		{"wrong root", "application/json", `[1,2]`, 400, "invalid_type", "Nội dung yêu cầu phải là đối tượng JSON.", ""},
		{"bool", "application/json", `{"urgent":"yes"}`, 400, "invalid_type", `Trường "urgent" phải là giá trị đúng/sai (true hoặc false).`, "urgent"},
		{"unknown field", "application/json", `{"code":"A1","fee":100}`, 400, "unknown_field", `Trường "fee" không được hỗ trợ.`, "fee"},
		{"unknown nested field", "application/json", `{"applicant":{"email":"x"}}`, 400, "unknown_field", `Trường "email" không được hỗ trợ.`, "email"},
		{"trailing value", "application/json", `{"code":"A1"}{"code":"A2"}`, 400, "trailing_data", "Nội dung yêu cầu chỉ được chứa đúng một giá trị JSON; có dữ liệu thừa sau vị trí 13.", ""},
		{"trailing garbage", "application/json", `{"code":"A1"} x`, 400, "trailing_data", "", ""},
		{"bad value for UnmarshalJSON", "application/json", `{"received":"hôm qua"}`, 400, "invalid_json", "Nội dung JSON chứa giá trị không hợp lệ.", ""},
		{"too large", "application/json", `{"code":"` + strings.Repeat("x", 100) + `"}`, 413, "body_too_large", "Nội dung yêu cầu vượt quá giới hạn 64 B.", ""},
		{"too large after value", "application/json", `{"code":"A1"}` + strings.Repeat(" ", 100), 413, "body_too_large", "", ""},
		{"form content type", "application/x-www-form-urlencoded", `{"code":"A1"}`, 415, "unsupported_media_type", "Nội dung yêu cầu phải có kiểu application/json.", ""},
		{"no content type", "", `{"code":"A1"}`, 415, "unsupported_media_type", "", ""},
	}
	h := decodeHandler(64)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/dossiers", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			rec := serve(h, r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == 200 {
				return
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", p.Code, tt.wantCode)
			}
			if tt.wantDetail != "" && p.Detail != tt.wantDetail {
				t.Errorf("detail = %q\nwant     %q", p.Detail, tt.wantDetail)
			}
			if tt.wantField != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField || p.Errors[0].Message == "") {
				t.Errorf("errors = %+v, want one for %q", p.Errors, tt.wantField)
			}
		})
	}
}

func TestDecodeJSONTypeErrorInEnglish(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"pages":"ba"}`))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(&http.Cookie{Name: "lang", Value: "en"})
	p := problemOf(t, serve(decodeHandler(DefaultMaxJSONBytes), r))
	if p.Detail != `The field "pages" must be an integer.` || p.Errors[0].Message != "The value must be an integer." {
		t.Errorf("problem = %+v", p)
	}
}

func TestDecodeJSONIntoNonPointerIsAServerError(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	var in dossierInput
	err := DecodeJSON(httptest.NewRecorder(), r, in)
	var e *Err
	if err == nil || errors.As(err, &e) {
		t.Errorf("DecodeJSON(non-pointer) = %v, want a plain error", err)
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusCreated, map[string]string{"code": "<A1>"}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if got := rec.Body.String(); got != `{"code":"\u003cA1\u003e"}`+"\n" {
		t.Errorf("body = %q", got)
	}

	rec = httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusOK, math.Inf(1)); err == nil {
		t.Error("WriteJSON(+Inf) returned nil")
	}
	if p := problemOf(t, rec); p.Status != 500 || p.Code != "internal" {
		t.Errorf("problem = %+v", p)
	}
}
