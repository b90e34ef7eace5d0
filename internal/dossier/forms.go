package dossier

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// pointer writes a JSON pointer below "form_data".
func pointer(loc []string) string {
	var b strings.Builder
	b.WriteString("form_data")
	for _, p := range loc {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// formDefects flattens a schema validation error into one defect per
// failing field, with a Vietnamese message for the common keywords.
func formDefects(ve *jsonschema.ValidationError, out []Defect) []Defect {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			out = formDefects(c, out)
		}
		return out
	}
	field := pointer(ve.InstanceLocation)
	add := func(f, msg string) {
		out = append(out, Defect{Field: f, Code: CodeFormData, Message: msg})
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			out = append(out, Defect{Field: pointer(append(append([]string{}, ve.InstanceLocation...), m)), Code: CodeFormRequired, Message: "Chưa điền trường bắt buộc."})
		}
	case *kind.Type:
		add(field, fmt.Sprintf("Sai kiểu dữ liệu (cần %s).", typeNames(k.Want)))
	case *kind.Enum:
		add(field, "Giá trị không nằm trong danh sách cho phép.")
	case *kind.Const:
		add(field, "Giá trị không đúng.")
	case *kind.MaxLength:
		add(field, fmt.Sprintf("Dài quá %d ký tự.", k.Want))
	case *kind.MinLength:
		add(field, fmt.Sprintf("Cần ít nhất %d ký tự.", k.Want))
	case *kind.Pattern:
		add(field, "Không đúng định dạng.")
	case *kind.Format:
		add(field, fmt.Sprintf("Không đúng định dạng %s.", k.Want))
	case *kind.Minimum, *kind.ExclusiveMinimum:
		add(field, "Giá trị nhỏ hơn mức tối thiểu.")
	case *kind.Maximum, *kind.ExclusiveMaximum:
		add(field, "Giá trị lớn hơn mức tối đa.")
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(pointer(append(append([]string{}, ve.InstanceLocation...), p)), "Trường không có trong tờ khai.")
		}
	case *kind.MinItems:
		add(field, fmt.Sprintf("Cần ít nhất %d mục.", k.Want))
	case *kind.MaxItems:
		add(field, fmt.Sprintf("Nhiều nhất %d mục.", k.Want))
	default:
		add(field, "Giá trị không hợp lệ: "+ve.ErrorKind.LocalizedString(printer)+".")
	}
	return out
}

var jsonTypeNames = map[string]string{"string": "chuỗi ký tự", "number": "số", "integer": "số nguyên", "boolean": "đúng/sai",
	"object": "đối tượng", "array": "danh sách", "null": "rỗng"}

func typeNames(want []string) string {
	out := make([]string, len(want))
	for i, w := range want {
		if n, ok := jsonTypeNames[w]; ok {
			out[i] = n
		} else {
			out[i] = w
		}
	}
	return strings.Join(out, " hoặc ")
}
