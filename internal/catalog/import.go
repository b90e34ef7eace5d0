package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Dataset names one catalog for import and export.
type Dataset string

// The datasets, in the order a full import must follow (later ones refer to
// earlier ones).
const (
	DatasetAdminUnits Dataset = "admin-units"
	DatasetFields     Dataset = "fields"
	DatasetAgencies   Dataset = "agencies"
	DatasetProcedures Dataset = "procedures"
)

// Datasets lists the datasets in dependency order.
func Datasets() []Dataset {
	return []Dataset{DatasetAdminUnits, DatasetFields, DatasetAgencies, DatasetProcedures}
}

// Format is a file format for import and export.
type Format string

// The formats.
const (
	FormatCSV  Format = "csv"
	FormatJSON Format = "json"
)

// MaxImportBytes bounds the size of an import file.
const MaxImportBytes = 32 << 20

// ImportOptions tunes Import.
type ImportOptions struct {
	// DryRun validates everything and reports what would change, writing nothing.
	DryRun bool
}

// ImportReport says what an import did, or would do, and lists every problem
// found. When Errors is not empty nothing was imported.
type ImportReport struct {
	Dataset   Dataset    `json:"kind"`
	Format    Format     `json:"format"`
	DryRun    bool       `json:"dry_run"`
	Records   int        `json:"records"`
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Errors    []RowError `json:"errors"`
}

// column describes a CSV column of a dataset.
type column struct {
	name     string
	required bool // must be present in the header
}

// CSV layouts. Lists inside one cell: successors and former_eids are separated
// by ";"; legal_basis has one entry per line; documents, fees and faq are JSON
// arrays (the same objects as in the JSON format); form_schema is the JSON
// Schema text; opening_hours may span several lines. Dates are YYYY-MM-DD (DD/MM/YYYY is accepted on import).
var csvColumns = map[Dataset][]column{
	DatasetAdminUnits: {
		{"code", true}, {"name", true}, {"level", true}, {"kind", true}, {"parent_code", false},
		{"effective_from", true}, {"effective_to", false}, {"successors", false},
	},
	DatasetFields: {{"code", true}, {"name", true}},
	DatasetAgencies: {
		{"eid", true}, {"name", true}, {"short_name", false}, {"kind", true}, {"level", true},
		{"parent_eid", false}, {"admin_unit_code", false}, {"effective_from", true}, {"effective_to", false},
		{"former_eids", false}, {"address", false}, {"phone", false}, {"email", false}, {"website", false},
		{"opening_hours", false},
	},
	DatasetProcedures: {
		{"code", true}, {"version", false}, {"name", true}, {"field_code", true}, {"level", true},
		{"competent_agency", false}, {"implementing_agency", false}, {"online_level", true},
		{"duration_value", true}, {"duration_unit", true}, {"effective_from", true}, {"effective_to", false},
		{"status", true}, {"process_key", false}, {"legal_basis", false}, {"documents", false}, {"fees", false},
		{"form_schema", false}, {"faq", false},
	},
}

// keptIfAbsent lists the members added to a dataset's layout after its first
// version. A file without one of them (an older export, a spreadsheet made
// from one) leaves the stored value alone instead of erasing it; present and
// empty, it erases it.
var keptIfAbsent = map[Dataset][]string{
	DatasetAgencies:   {"address", "phone", "email", "website", "opening_hours"},
	DatasetProcedures: {"faq"},
}

// errRollback ends a dry run or a rejected import without writing.
var errRollback = errors.New("rollback")

// Import reads a whole file of one dataset and applies it as one transaction:
// records are created or updated by their code (e-ID for agencies, code and
// version for procedures). Every problem of every record is reported with its
// line; if there is any, nothing is written and the error is
// ErrImportRejected. A dry run reports the same without writing.
func (s *Service) Import(ctx context.Context, ds Dataset, f Format, r io.Reader, opt ImportOptions) (ImportReport, error) {
	rep := ImportReport{Dataset: ds, Format: f, DryRun: opt.DryRun, Errors: []RowError{}}
	if _, ok := csvColumns[ds]; !ok {
		return rep, fmt.Errorf("import: unknown kind %q: %w", ds, ErrInvalid)
	}
	if f != FormatCSV && f != FormatJSON {
		return rep, fmt.Errorf("import: unknown format %q: %w", f, ErrInvalid)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return rep, fmt.Errorf("import: read: %w", err)
	}
	if len(data) > MaxImportBytes {
		rep.Errors = append(rep.Errors, RowError{Code: CodeTooLong, Reason: fmt.Sprintf("Tệp vượt quá %d MB.", MaxImportBytes>>20)})
		return rep, ErrImportRejected
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var res batchResult
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		var err error
		res, rep.Records, err = importDataset(ctx, tx, ds, f, data, s.checkFormBlob)
		if err != nil {
			return err
		}
		if len(res.Errors) > 0 || opt.DryRun {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		return rep, fmt.Errorf("import %s: %w", ds, err)
	}
	rep.Created, rep.Updated, rep.Unchanged = res.Created, res.Updated, res.Unchanged
	if len(res.Errors) == 0 && !opt.DryRun && res.Created+res.Updated >= analyzeAfter {
		// A bulk load changes the tables' statistics; without fresh ones
		// PostgreSQL may plan searches badly until autovacuum gets to them.
		if err := analyze(ctx, s.db); err != nil {
			return rep, err
		}
	}
	if len(res.Errors) > 0 {
		sortRowErrors(res.Errors)
		rep.Errors = res.Errors
		rep.Created, rep.Updated, rep.Unchanged = 0, 0, 0
		return rep, ErrImportRejected
	}
	return rep, nil
}

// importDataset parses data and applies it in tx; parse problems are merged
// with validation problems so that one run reports them all.
func importDataset(ctx context.Context, tx *db.Tx, ds Dataset, f Format, data []byte, files formChecker) (batchResult, int, error) {
	var rows []row
	var fileErrs []RowError
	if f == FormatCSV {
		rows, fileErrs = readCSV(data, csvColumns[ds])
	} else {
		rows, fileErrs = readJSON(data, jsonKeys(ds))
	}
	var res batchResult
	var err error
	switch ds {
	case DatasetAdminUnits:
		res, err = applyAdminUnits(ctx, tx, convert(rows, f, ds, adminUnitFromRow))
	case DatasetFields:
		res, err = applyFields(ctx, tx, convert(rows, f, ds, fieldFromRow))
	case DatasetAgencies:
		res, err = applyAgencies(ctx, tx, convert(rows, f, ds, agencyFromRow))
	case DatasetProcedures:
		res, _, err = applyProcedures(ctx, tx, convert(rows, f, ds, procedureFromRow), files)
	}
	res.Errors = append(fileErrs, res.Errors...)
	return res, len(rows), err
}

// row is one record read from a file: CSV cells by column name, or a JSON
// object's members.
type row struct {
	line  int
	cells map[string]string          // CSV
	obj   map[string]json.RawMessage // JSON
	pre   []FieldError
}

func convert[T any](rows []row, f Format, ds Dataset, from func(r row, f Format) (T, []FieldError)) []record[T] {
	out := make([]record[T], len(rows))
	for i, r := range rows {
		v, pre := from(r, f)
		out[i] = record[T]{Line: r.line, V: v, Pre: append(r.pre, pre...)}
		for _, name := range keptIfAbsent[ds] {
			if !r.has(name) {
				out[i].Keep = append(out[i].Keep, name)
			}
		}
	}
	return out
}

// has reports whether the record's file gives a value for name: a column of
// the CSV header, or a member of the JSON object.
func (r row) has(name string) bool {
	if r.cells != nil {
		_, ok := r.cells[name]
		return ok
	}
	_, ok := r.obj[name]
	return ok
}

// readCSV reads a CSV file with a header row. CRLF line ends, quoted fields
// with commas, quotes and line breaks, and a UTF-8 byte order mark are
// accepted; cells are trimmed.
func readCSV(data []byte, cols []column) ([]row, []RowError) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []RowError{{Line: 1, Code: CodeRequired, Reason: "Tệp trống: cần dòng tiêu đề và dữ liệu."}}
	}
	if err != nil {
		return nil, []RowError{csvError(err)}
	}
	var errs []RowError
	known := map[string]bool{}
	for _, c := range cols {
		known[c.name] = true
	}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		header[i] = h
		switch {
		case !known[h]:
			names := make([]string, len(cols))
			for j, c := range cols {
				names[j] = c.name
			}
			errs = append(errs, RowError{Line: 1, Field: h, Code: CodeUnknownColumn,
				Reason: fmt.Sprintf("Cột %q không được hỗ trợ; các cột hợp lệ: %s.", clip(h, 40), strings.Join(names, ", "))})
		case seen[h]:
			errs = append(errs, RowError{Line: 1, Field: h, Code: CodeDuplicate, Reason: fmt.Sprintf("Cột %q xuất hiện nhiều lần.", h)})
		}
		seen[h] = true
	}
	for _, c := range cols {
		if c.required && !seen[c.name] {
			errs = append(errs, RowError{Line: 1, Field: c.name, Code: CodeMissingColumn, Reason: fmt.Sprintf("Thiếu cột bắt buộc %q.", c.name)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// After a broken quote the rest of the file cannot be split reliably.
			errs = append(errs, csvError(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line with spaces
		}
		r := row{line: line, cells: map[string]string{}}
		if len(rec) != len(header) {
			errs = append(errs, RowError{Line: line, Code: CodeSyntax,
				Reason: fmt.Sprintf("Dòng có %d cột, tiêu đề có %d cột.", len(rec), len(header))})
			continue
		}
		for i, v := range rec {
			r.cells[header[i]] = strings.TrimSpace(v)
		}
		rows = append(rows, r)
	}
	return rows, errs
}

func csvError(err error) RowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return RowError{Line: pe.StartLine, Code: CodeSyntax,
			Reason: fmt.Sprintf("Lỗi cú pháp CSV ở dòng %d, cột %d: %s.", pe.Line, pe.Column, csvReason(pe.Err))}
	}
	return RowError{Code: CodeSyntax, Reason: "Không đọc được tệp CSV: " + err.Error()}
}

func csvReason(err error) string {
	switch {
	case errors.Is(err, csv.ErrBareQuote):
		return "dấu ngoặc kép nằm trong ô không được bao bởi ngoặc kép"
	case errors.Is(err, csv.ErrQuote):
		return "thiếu hoặc thừa dấu ngoặc kép"
	}
	return err.Error()
}

// readJSON reads a JSON array of objects, remembering the line where each
// object starts.
func readJSON(data []byte, keys []string) ([]row, []RowError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	lineAt := func(off int64) int { return bytes.Count(data[:min(int(off), len(data))], []byte("\n")) + 1 }
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		if errors.Is(err, io.EOF) {
			return nil, []RowError{{Line: 1, Code: CodeRequired, Reason: "Tệp trống: cần một mảng JSON các bản ghi."}}
		}
		return nil, []RowError{{Line: 1, Code: CodeSyntax, Reason: "Tệp JSON phải là một mảng các bản ghi: [ {…}, {…} ]."}}
	}
	var rows []row
	var errs []RowError
	for dec.More() {
		start := dec.InputOffset()
		for start < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[start])) {
			start++
		}
		line := lineAt(start)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return rows, append(errs, jsonSyntaxError(err, lineAt, line))
		}
		r := row{line: line}
		if err := json.Unmarshal(raw, &r.obj); err != nil || r.obj == nil {
			errs = append(errs, RowError{Line: line, Code: CodeSyntax, Reason: "Mỗi bản ghi phải là một đối tượng JSON {…}."})
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(r.obj)) {
			if !slices.Contains(keys, k) {
				r.pre = append(r.pre, FieldError{Field: k, Code: CodeUnknownColumn,
					Message: fmt.Sprintf("Trường %q không được hỗ trợ; các trường hợp lệ: %s.", clip(k, 40), strings.Join(keys, ", "))})
			}
		}
		rows = append(rows, r)
	}
	if _, err := dec.Token(); err != nil {
		errs = append(errs, jsonSyntaxError(err, lineAt, lineAt(dec.InputOffset())))
	} else if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		errs = append(errs, RowError{Line: lineAt(dec.InputOffset()), Code: CodeSyntax, Reason: "Có dữ liệu thừa sau mảng JSON."})
	}
	return rows, errs
}

func jsonSyntaxError(err error, lineAt func(int64) int, line int) RowError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return RowError{Line: lineAt(se.Offset), Code: CodeSyntax, Reason: "JSON không hợp lệ: " + err.Error()}
	}
	return RowError{Line: line, Code: CodeSyntax, Reason: "JSON không hợp lệ hoặc bị cắt cụt: " + err.Error()}
}

// jsonKeys lists the JSON member names of a dataset's records.
func jsonKeys(ds Dataset) []string {
	var t reflect.Type
	switch ds {
	case DatasetAdminUnits:
		t = reflect.TypeFor[AdminUnit]()
	case DatasetFields:
		t = reflect.TypeFor[Field]()
	case DatasetAgencies:
		t = reflect.TypeFor[Agency]()
	default:
		t = reflect.TypeFor[Procedure]()
	}
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

// reader takes typed values out of a row, collecting problems.
type reader struct {
	r    row
	f    Format
	errs []FieldError
}

func (rd *reader) bad(field, code, format string, args ...any) {
	rd.errs = append(rd.errs, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// decode unmarshals the JSON member (or CSV cell holding JSON) into dst.
func (rd *reader) decode(name string, dst any, what string) {
	var raw []byte
	if rd.f == FormatCSV {
		s := rd.r.cells[name]
		if s == "" {
			return
		}
		raw = []byte(s)
	} else {
		m, ok := rd.r.obj[name]
		if !ok || string(m) == "null" {
			return
		}
		raw = m
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		field := name
		if errors.As(err, &te) && te.Field != "" {
			field = name + "." + te.Field
		}
		rd.bad(field, CodeInvalidValue, "Giá trị không hợp lệ, cần %s: %s.", what, jsonReason(err))
		return
	}
	if dec.More() {
		rd.bad(name, CodeSyntax, "Có dữ liệu thừa sau giá trị JSON.")
	}
}

// raw returns the JSON text of a member (or of a CSV cell holding JSON);
// nil when absent or empty.
func (rd *reader) raw(name string) []byte {
	if rd.f == FormatCSV {
		if s := rd.r.cells[name]; s != "" {
			return []byte(s)
		}
		return nil
	}
	return rd.r.obj[name]
}

// markFileMembers records which documents of an imported record have a
// "file" member, even null: those set their file (or clear it), the
// others keep the stored one. Files of older exports have no such member.
func markFileMembers(raw []byte, docs []Document) {
	var objs []map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &objs) != nil {
		return
	}
	for i := range min(len(objs), len(docs)) {
		_, docs[i].fileSet = objs[i]["file"]
	}
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("gặp %s", te.Value)
	}
	s := strings.TrimPrefix(err.Error(), "json: ")
	return s
}

func (rd *reader) str(name string) string {
	if rd.f == FormatCSV {
		return rd.r.cells[name]
	}
	var s string
	rd.decode(name, &s, "chuỗi ký tự")
	return s
}

func (rd *reader) int(name string) int {
	if rd.f == FormatJSON {
		var n int
		rd.decode(name, &n, "số nguyên")
		return n
	}
	s := rd.r.cells[name]
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		rd.bad(name, CodeInvalidValue, "%q không phải số nguyên.", clip(s, 30))
	}
	return n
}

// list reads a list: a JSON array, or a CSV cell split by sep.
func (rd *reader) list(name, sep string) []string {
	if rd.f == FormatJSON {
		var l []string
		rd.decode(name, &l, "mảng chuỗi ký tự")
		return l
	}
	s := rd.r.cells[name]
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

func (rd *reader) date(name string) calendar.Date {
	s := strings.TrimSpace(rd.str(name))
	if s == "" {
		return calendar.Date{}
	}
	if d, err := calendar.ParseDate(s); err == nil {
		return d
	}
	if t, err := time.Parse("02/01/2006", s); err == nil {
		return calendar.DateOf(t)
	}
	rd.bad(name, CodeInvalidDate, "Ngày %q không hợp lệ (cần dạng YYYY-MM-DD, ví dụ 2025-07-01).", clip(s, 30))
	return calendar.Date{}
}

func adminUnitFromRow(r row, f Format) (AdminUnit, []FieldError) {
	rd := &reader{r: r, f: f}
	u := AdminUnit{
		Code: rd.str("code"), Name: rd.str("name"), Level: Level(rd.str("level")), Kind: UnitKind(rd.str("kind")),
		ParentCode: rd.str("parent_code"), EffectiveFrom: rd.date("effective_from"), EffectiveTo: rd.date("effective_to"),
		Successors: rd.list("successors", ";"),
	}
	return u, rd.errs
}

func fieldFromRow(r row, f Format) (Field, []FieldError) {
	rd := &reader{r: r, f: f}
	return Field{Code: rd.str("code"), Name: rd.str("name")}, rd.errs
}

func agencyFromRow(r row, f Format) (Agency, []FieldError) {
	rd := &reader{r: r, f: f}
	a := Agency{
		EID: rd.str("eid"), Name: rd.str("name"), ShortName: rd.str("short_name"), Kind: AgencyKind(rd.str("kind")),
		Level: Level(rd.str("level")), ParentEID: rd.str("parent_eid"), AdminUnitCode: rd.str("admin_unit_code"),
		EffectiveFrom: rd.date("effective_from"), EffectiveTo: rd.date("effective_to"),
		FormerEIDs: rd.list("former_eids", ";"),
		Address:    rd.str("address"), Phone: rd.str("phone"), Email: rd.str("email"), Website: rd.str("website"),
		OpeningHours: rd.str("opening_hours"),
	}
	return a, rd.errs
}

func procedureFromRow(r row, f Format) (Procedure, []FieldError) {
	rd := &reader{r: r, f: f}
	p := Procedure{
		Code: rd.str("code"), Version: rd.int("version"), Name: rd.str("name"), FieldCode: rd.str("field_code"),
		Level: Level(rd.str("level")), CompetentAgency: rd.str("competent_agency"),
		ImplementingAgency: rd.str("implementing_agency"), OnlineLevel: OnlineLevel(rd.str("online_level")),
		ProcessKey: rd.str("process_key"), EffectiveFrom: rd.date("effective_from"), EffectiveTo: rd.date("effective_to"),
		Status: Status(rd.str("status")),
	}
	rd.decode("documents", &p.Documents, "mảng thành phần hồ sơ")
	markFileMembers(rd.raw("documents"), p.Documents)
	rd.decode("fees", &p.Fees, "mảng phí, lệ phí")
	rd.decode("faq", &p.FAQ, "mảng câu hỏi thường gặp [{question, answer}]")
	if f == FormatCSV {
		p.Duration = Duration{Value: rd.int("duration_value"), Unit: DurationUnit(rd.str("duration_unit"))}
		p.LegalBasis = rd.list("legal_basis", "\n")
		if s := r.cells["form_schema"]; s != "" {
			p.FormSchema = json.RawMessage(s)
		}
	} else {
		rd.decode("duration", &p.Duration, "đối tượng {value, unit}")
		p.LegalBasis = rd.list("legal_basis", "")
		if raw, ok := r.obj["form_schema"]; ok && string(raw) != "null" {
			p.FormSchema = slices.Clone(raw)
		}
	}
	return p, rd.errs
}

// ---- export ------------------------------------------------------------------

// Export writes a whole dataset, in the layout Import reads: JSON as an
// indented array, CSV with a UTF-8 byte order mark (so spreadsheet programs
// read Vietnamese correctly) and CRLF line ends. Procedures are exported with
// every version. Exporting and importing into an empty database gives back
// the same export.
func (s *Service) Export(ctx context.Context, ds Dataset, f Format, w io.Writer) error {
	if f != FormatCSV && f != FormatJSON {
		return fmt.Errorf("export: unknown format %q: %w", f, ErrInvalid)
	}
	q, d := s.db.Read(), s.db.Dialect()
	var items any
	var rows [][]string
	switch ds {
	case DatasetAdminUnits:
		list, err := listAdminUnits(ctx, q, d, AdminUnitQuery{IncludeHistory: true}, calendar.Date{})
		if err != nil {
			return err
		}
		items = nonNil(list)
		for _, u := range list {
			rows = append(rows, []string{u.Code, u.Name, string(u.Level), string(u.Kind), u.ParentCode,
				u.EffectiveFrom.String(), u.EffectiveTo.String(), strings.Join(u.Successors, ";")})
		}
	case DatasetFields:
		list, err := listFields(ctx, q)
		if err != nil {
			return err
		}
		items = nonNil(list)
		for _, f := range list {
			rows = append(rows, []string{f.Code, f.Name})
		}
	case DatasetAgencies:
		list, err := listAgencies(ctx, q, d, AgencyQuery{IncludeHistory: true}, calendar.Date{})
		if err != nil {
			return err
		}
		items = nonNil(list)
		for _, a := range list {
			rows = append(rows, []string{a.EID, a.Name, a.ShortName, string(a.Kind), string(a.Level), a.ParentEID,
				a.AdminUnitCode, a.EffectiveFrom.String(), a.EffectiveTo.String(), strings.Join(a.FormerEIDs, ";"),
				a.Address, a.Phone, a.Email, a.Website, a.OpeningHours})
		}
	case DatasetProcedures:
		list, err := allProcedures(ctx, q)
		if err != nil {
			return err
		}
		items = nonNil(list)
		for _, p := range list {
			docs, _ := json.Marshal(p.Documents)
			fees, _ := json.Marshal(p.Fees)
			var faq []byte
			if len(p.FAQ) > 0 {
				faq, _ = json.Marshal(p.FAQ)
			}
			rows = append(rows, []string{p.Code, strconv.Itoa(p.Version), p.Name, p.FieldCode, string(p.Level),
				p.CompetentAgency, p.ImplementingAgency, string(p.OnlineLevel), strconv.Itoa(p.Duration.Value),
				string(p.Duration.Unit), p.EffectiveFrom.String(), p.EffectiveTo.String(), string(p.Status),
				p.ProcessKey, strings.Join(p.LegalBasis, "\n"), string(docs), string(fees), string(p.FormSchema), string(faq)})
		}
	default:
		return fmt.Errorf("export: unknown kind %q: %w", ds, ErrInvalid)
	}
	if f == FormatJSON {
		b, err := json.MarshalIndent(items, "", "  ")
		if err != nil {
			return fmt.Errorf("export %s: %w", ds, err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := make([]string, len(csvColumns[ds]))
	for i, c := range csvColumns[ds] {
		header[i] = c.name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("export %s: %w", ds, err)
	}
	return nil
}

func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
