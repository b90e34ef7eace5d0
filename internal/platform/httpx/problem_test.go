package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProblemIsVietnameseByDefaultAndEnglishOnRequest(t *testing.T) {
	h := AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, NotFound(""))
	}))

	r := httptest.NewRequest("GET", "/api/v1/dossiers/H01.1-240101-0001?x=1", nil)
	r.Header.Set(RequestIDHeader, "req-42")
	rec := serve(h, r)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d", rec.Code)
	}
	p := problemOf(t, rec)
	want := Problem{
		Type: "/problems/not_found", Title: "Không tìm thấy", Status: 404,
		Detail:   "Không tìm thấy nội dung được yêu cầu.",
		Instance: "/api/v1/dossiers/H01.1-240101-0001", Code: "not_found", RequestID: "req-42",
	}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("problem =\n%+v\nwant\n%+v", p, want)
	}
	if got := rec.Header().Get("Content-Language"); got != "vi" {
		t.Errorf("Content-Language = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}

	for _, set := range []func(*http.Request){
		func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "lang", Value: "en"}) },
		func(r *http.Request) { r.Header.Set("Accept-Language", "en-US,en;q=0.9") },
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		set(r)
		p := problemOf(t, serve(h, r))
		if p.Title != "Not found" || p.Detail != "The requested resource was not found." {
			t.Errorf("English problem = %+v", p)
		}
	}
}

func TestWriteProblemFillsPlaceholders(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	WriteProblem(rec, r, http.StatusTooManyRequests, "rate_limited", "seconds", 7)
	p := problemOf(t, rec)
	if p.Code != "rate_limited" || p.Detail != "Bạn đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau 7 giây." {
		t.Errorf("problem = %+v", p)
	}
}

func TestErrorMapsErrorsToStatuses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDetail string
	}{
		{"Err", Conflict(""), 409, "conflict", "Dữ liệu đã bị thay đổi hoặc đã tồn tại. Vui lòng tải lại và thử lại."},
		{"wrapped Err", fmt.Errorf("load dossier: %w", Forbidden("")), 403, "forbidden", "Bạn không có quyền thực hiện thao tác này."},
		{"Err with cause", Unauthorized("").Wrap(errors.New("token expired")), 401, "unauthorized", "Bạn cần đăng nhập để tiếp tục."},
		{"module code without message falls back", NotFound("dossier.not_found"), 404, "dossier.not_found", "Không tìm thấy nội dung được yêu cầu."},
		{"bad request", BadRequest(""), 400, "bad_request", "Yêu cầu không hợp lệ."},
		{"sentinel", fmt.Errorf("dossier X: %w", ErrNotFound), 404, "not_found", "Không tìm thấy nội dung được yêu cầu."},
		{"sentinel conflict", fmt.Errorf("insert: %w", ErrConflict), 409, "conflict", ""},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 2 << 20}), 413, "body_too_large", "Nội dung yêu cầu vượt quá giới hạn 2 MB."},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "service_unavailable", ""},
		{"unknown", errors.New("pq: relation \"dossiers\" does not exist"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Error(rec, httptest.NewRequest("GET", "/", nil), tt.err)
			p := problemOf(t, rec)
			if p.Status != tt.wantStatus || p.Code != tt.wantCode {
				t.Errorf("status, code = %d, %q; want %d, %q", p.Status, p.Code, tt.wantStatus, tt.wantCode)
			}
			if tt.wantDetail != "" && p.Detail != tt.wantDetail {
				t.Errorf("detail = %q, want %q", p.Detail, tt.wantDetail)
			}
			if strings.Contains(rec.Body.String(), "pq:") || strings.Contains(rec.Body.String(), "token expired") {
				t.Errorf("response leaks the cause: %s", rec.Body)
			}
		})
	}
}

func TestErrorLogsServerErrorsOnceWithRequestID(t *testing.T) {
	logger, logs := newLogger()
	h := Chain(AssignRequestID, AccessLog(logger))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/boom":
			Error(w, r, fmt.Errorf("save dossier: %w", errors.New("disk full")))
		default:
			Error(w, r, NotFound(""))
		}
	}))
	r := httptest.NewRequest("GET", "/boom", nil)
	r.Header.Set(RequestIDHeader, "abc-123")
	rec := serve(h, r)
	p := problemOf(t, rec)
	if p.Code != "internal" || strings.Contains(p.Detail, "disk") || p.RequestID != "abc-123" {
		t.Errorf("problem = %+v", p)
	}
	var failures int
	for _, rec := range logs.records(t) {
		if rec["msg"] == "request failed" {
			failures++
			if rec["request_id"] != "abc-123" || rec["error"] != "save dossier: disk full" || rec["level"] != "ERROR" {
				t.Errorf("error log = %v", rec)
			}
		}
	}
	if failures != 1 {
		t.Errorf("logged %d failures, want 1:\n%s", failures, logs)
	}

	serve(h, httptest.NewRequest("GET", "/missing", nil))
	for _, rec := range logs.records(t) {
		if rec["msg"] == "request failed" && rec["request_id"] != "abc-123" {
			t.Errorf("a 404 was logged as a failure: %v", rec)
		}
	}
}

func TestValidationProblemListsLocalizedFieldErrors(t *testing.T) {
	err := Validation(
		FieldError{Field: "applicant.name", Code: "required"},
		FieldError{Field: "applicant.phone", Code: "too_long", Args: []any{"max", 15}},
		FieldError{Field: "note", Code: "custom", Message: "Tự viết"},
		FieldError{Field: "ward", Code: "no_such_message"},
	)
	if !errors.Is(err, ErrValidation) || errors.Is(err, ErrNotFound) {
		t.Error("Validation does not match ErrValidation alone")
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"vi", []string{"Trường này là bắt buộc.", "Không được dài quá 15 ký tự.", "Tự viết", "Giá trị không hợp lệ."}},
		{"en", []string{"This field is required.", "Use at most 15 characters.", "Tự viết", "This value is not valid."}},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.AddCookie(&http.Cookie{Name: "lang", Value: tt.lang})
		rec := httptest.NewRecorder()
		Error(rec, r, err)
		p := problemOf(t, rec)
		if p.Status != 422 || p.Code != "validation_failed" || len(p.Errors) != 4 {
			t.Fatalf("problem = %+v", p)
		}
		for i, want := range tt.want {
			if p.Errors[i].Message != want {
				t.Errorf("%s: errors[%d].message = %q, want %q", tt.lang, i, p.Errors[i].Message, want)
			}
		}
		if p.Errors[0].Field != "applicant.name" || p.Errors[0].Code != "required" {
			t.Errorf("errors[0] = %+v", p.Errors[0])
		}
	}
	if err.Fields[0].Message != "" {
		t.Error("rendering modified the error's fields")
	}
}

func TestErrIsAndWrap(t *testing.T) {
	base := NotFound("dossier.not_found")
	cause := errors.New("no rows")
	wrapped := base.Wrap(cause)
	if base.Err != nil {
		t.Error("Wrap modified its receiver")
	}
	if !errors.Is(wrapped, cause) || !errors.Is(wrapped, ErrNotFound) || errors.Is(wrapped, ErrConflict) {
		t.Error("errors.Is does not see the cause and the status sentinel")
	}
	if got := wrapped.Error(); got != "404 dossier.not_found: no rows" {
		t.Errorf("Error() = %q", got)
	}
}
