package dossierui

import (
	"encoding/json"
	"net/url"
	"testing"
)

// The counter form's posted inputs reach the e-form trimmed, with Windows
// line ends normalised in multi-line inputs (the e-form itself is tested in
// package eform).
func TestFillFields(t *testing.T) {
	schema := `{"type": "object", "properties": {"ho_ten": {"type": "string"}, "nganh_nghe": {"type": "array", "items": {"type": "string"}}}}`
	fields := schemaFields(json.RawMessage(schema))
	fillFields(fields, url.Values{"fd.ho_ten": {" Nguyễn Văn An "}, "fd.nganh_nghe": {"Bán lẻ\r\n\r\n Ăn uống \n"}})
	if b := string(formData(fields)); b != `{"ho_ten":"Nguyễn Văn An","nganh_nghe":["Bán lẻ","Ăn uống"]}` {
		t.Errorf("form data = %s", b)
	}
}
