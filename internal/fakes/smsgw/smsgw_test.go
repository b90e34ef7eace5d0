package smsgw_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/congso/congso/internal/fakes/smsgw"
)

func post(t *testing.T, url, key string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+"/v1/sms/send", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}

func TestGateway(t *testing.T) {
	gw := smsgw.New("k", "UBND TINH")
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ok := map[string]any{"brandname": "UBND TINH", "phone": "84912345678", "message": "Ho so da tiep nhan", "request_id": "r1"}

	st, out := post(t, srv.URL, "k", ok)
	if st != 200 || out["code"] != "00" || out["message_id"] == "" || out["segments"] != float64(1) {
		t.Fatalf("send: %d %v", st, out)
	}
	first := out["message_id"]
	st, out = post(t, srv.URL, "k", ok)
	if st != 200 || out["message_id"] != first || out["duplicate"] != true {
		t.Errorf("repeat request_id: %d %v", st, out)
	}
	if n := len(gw.Messages()); n != 1 {
		t.Errorf("messages = %d, want 1 (the repeat is not sent again)", n)
	}

	cases := []struct {
		name   string
		key    string
		edit   func(m map[string]any)
		status int
		code   string
	}{
		{"bad key", "x", func(map[string]any) {}, 401, "01"},
		{"brandname", "k", func(m map[string]any) { m["brandname"] = "OTHER" }, 400, "02"},
		{"phone", "k", func(m map[string]any) { m["phone"] = "0912345678" }, 400, "03"},
		{"unicode without flag", "k", func(m map[string]any) { m["message"] = "Hồ sơ" }, 400, "04"},
		{"empty", "k", func(m map[string]any) { m["message"] = "" }, 400, "04"},
	}
	for _, c := range cases {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		m["request_id"] = c.name
		c.edit(m)
		if st, out := post(t, srv.URL, c.key, m); st != c.status || out["code"] != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, st, out, c.status, c.code)
		}
	}
	uni := map[string]any{"brandname": "UBND TINH", "phone": "84912345678", "message": "Hồ sơ đã được tiếp nhận", "request_id": "u", "unicode": true}
	if st, out := post(t, srv.URL, "k", uni); st != 200 || out["code"] != "00" {
		t.Errorf("unicode: %d %v", st, out)
	}

	gw.FailNext(2, http.StatusServiceUnavailable)
	ok["request_id"] = "r2"
	for i := range 2 {
		if st, out := post(t, srv.URL, "k", ok); st != 503 || out["code"] != "99" {
			t.Errorf("failure %d: %d %v", i, st, out)
		}
	}
	if st, _ := post(t, srv.URL, "k", ok); st != 200 {
		t.Errorf("after the failures: %d", st)
	}
	gw.FailNext(-1, http.StatusTooManyRequests)
	ok["request_id"] = "r3"
	if st, out := post(t, srv.URL, "k", ok); st != 429 || out["code"] != "09" {
		t.Errorf("rate limited: %d %v", st, out)
	}
	gw.Recover()
	if st, _ := post(t, srv.URL, "k", ok); st != 200 {
		t.Errorf("recovered: %d", st)
	}
	msgs := gw.Messages()
	if len(msgs) != 4 || msgs[1].Text != "Hồ sơ đã được tiếp nhận" || !msgs[1].Unicode {
		t.Errorf("messages %+v", msgs)
	}

	req, _ := http.NewRequest("GET", srv.URL+"/v1/sms/"+msgs[0].ID, nil)
	req.Header.Set("X-API-Key", "k")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var dlr map[string]any
	_ = json.NewDecoder(res.Body).Decode(&dlr)
	res.Body.Close()
	if dlr["status"] != "DELIVERED" || dlr["phone"] != "84912345678" {
		t.Errorf("status: %v", dlr)
	}
}

// The control endpoints drive the same failure switch as FailNext.
func TestControlEndpoints(t *testing.T) {
	gw := smsgw.New("k", "B")
	srv := httptest.NewServer(gw)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/_fake/fail?n=1&status=503", "", nil)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("fail: %v %v", res, err)
	}
	res.Body.Close()
	msg := map[string]any{"brandname": "B", "phone": "84912345678", "message": "x", "request_id": "a"}
	if st, _ := post(t, srv.URL, "k", msg); st != 503 {
		t.Errorf("after /_fake/fail: %d", st)
	}
	if st, _ := post(t, srv.URL, "k", msg); st != 200 {
		t.Errorf("second send: %d", st)
	}
	res, err = http.Get(srv.URL + "/_fake/messages")
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	_ = json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list) != 1 || list[0]["phone"] != "84912345678" || list[0]["request_id"] != "a" {
		t.Errorf("messages: %v", list)
	}
}
