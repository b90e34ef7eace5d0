package eform

import (
	"encoding/json"
	"testing"
)

// The e-form inputs follow the schema's order, flatten nested objects,
// turn enumerations into choices and lists of strings into lines; the form
// data keeps what does not parse so the schema check reports it.
func TestSchemaForm(t *testing.T) {
	schema := `{"type": "object", "required": ["ben_nam", "muc_dich"], "properties": {
	  "ben_nam": {"type": "object", "title": "Bên nam", "required": ["ho_ten"], "properties": {
	    "ho_ten": {"type": "string", "title": "Họ tên"}, "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"}}},
	  "muc_dich": {"type": "string", "title": "Mục đích", "enum": ["Đất ở", "Khác"]},
	  "dien_tich": {"type": "number", "title": "Diện tích", "exclusiveMinimum": 0},
	  "so_tang": {"type": "integer", "minimum": 1, "maximum": 100},
	  "nganh_nghe": {"type": "array", "items": {"type": "string"}},
	  "thanh_vien": {"type": "array", "items": {"type": "object"}},
	  "dong_y": {"type": "boolean", "title": "Đồng ý"}}}`
	fields := Fields(json.RawMessage(schema))
	var names, kinds []string
	for _, f := range fields {
		names = append(names, f.Name)
		kinds = append(kinds, f.Kind)
	}
	wantNames := []string{"fd.ben_nam.ho_ten", "fd.ben_nam.ngay_sinh", "fd.muc_dich", "fd.dien_tich", "fd.so_tang", "fd.nganh_nghe", "fd.dong_y"}
	wantKinds := []string{"text", "date", "enum", "number", "integer", "lines", "boolean"}
	if len(names) != len(wantNames) {
		t.Fatalf("fields = %v, want %v", names, wantNames)
	}
	for i := range names {
		if names[i] != wantNames[i] || kinds[i] != wantKinds[i] {
			t.Fatalf("field %d = %s (%s), want %s (%s)", i, names[i], kinds[i], wantNames[i], wantKinds[i])
		}
	}
	if !fields[0].Required || fields[1].Required || fields[0].Group != "Bên nam" || !fields[2].Required || len(fields[2].Enum) != 2 {
		t.Errorf("required/group/enum: %+v %+v %+v", fields[0], fields[1], fields[2])
	}
	if fields[4].Min != "1" || fields[4].Max != "100" || fields[4].Label != "so_tang" {
		t.Errorf("so_tang = %+v", fields[4])
	}

	values := map[string]string{"fd.ben_nam.ho_ten": "Nguyễn Văn An", "fd.muc_dich": "Khác", "fd.dien_tich": "85,5",
		"fd.so_tang": "ba", "fd.nganh_nghe": "Bán lẻ\n\n Ăn uống ", "fd.dong_y": "true"}
	for i := range fields {
		fields[i].Value = values[fields[i].Name]
	}
	var got map[string]any
	if err := json.Unmarshal(Data(fields), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"ben_nam":{"ho_ten":"Nguyễn Văn An"},"dien_tich":85.5,"dong_y":true,"muc_dich":"Khác","nganh_nghe":["Bán lẻ","Ăn uống"],"so_tang":"ba"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("form data = %s\nwant          %s", b, want)
	}
	if name, ok := FieldOfPointer("form_data/ben_nam/ho_ten"); !ok || name != "fd.ben_nam.ho_ten" {
		t.Errorf("pointer → %q %v", name, ok)
	}
}
