package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// vietnam is the time zone in which "today" is taken (no daylight saving).
var vietnam = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
}()

// Service is the catalog module's Go API, used by its HTTP handlers and by
// other modules. It is safe for concurrent use.
type Service struct {
	db           *db.DB
	now          func() time.Time
	index        procIndexCache
	blobs        blob.Store
	maxFormBytes int64
}

// Option configures a [Service].
type Option func(*Service)

// WithBlobs gives the service the platform's blob store, where blank form
// files are kept. Without it (the default) uploads are refused with a
// Vietnamese reason, references to files cannot be imported, and pages
// show no download links.
func WithBlobs(b blob.Store) Option { return func(s *Service) { s.blobs = b } }

// WithMaxFormBytes sets the size limit of a blank form file (default
// [DefaultMaxFormBytes]).
func WithMaxFormBytes(n int64) Option {
	return func(s *Service) {
		if n > 0 {
			s.maxFormBytes = n
		}
	}
}

// NewService returns a service over d (migrated with [Migrations]). now gives
// the current time (nil: time.Now); "today" is its date in Asia/Ho_Chi_Minh.
func NewService(d *db.DB, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: d, now: now, maxFormBytes: DefaultMaxFormBytes}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Today returns the current date in Vietnam.
func (s *Service) Today() calendar.Date { return calendar.DateOf(s.now().In(vietnam)) }

func (s *Service) dateOrToday(d calendar.Date) calendar.Date {
	if d.IsZero() {
		return s.Today()
	}
	return d
}

// ---- queries -------------------------------------------------------------------

// AdminUnitQuery selects administrative units.
type AdminUnitQuery struct {
	At             calendar.Date // units in force on this day (zero: today)
	IncludeHistory bool          // every unit, whatever its dates (At is ignored)
	Level          Level
	ParentCode     string
	Text           string // diacritic-insensitive words of the name or code
}

// AgencyQuery selects agencies and units.
type AgencyQuery struct {
	At             calendar.Date // in force on this day (zero: today)
	IncludeHistory bool
	Level          Level
	Kind           AgencyKind
	ParentEID      string // direct children of this agency (current or former e-ID)
	AdminUnitCode  string
	Text           string
}

// ProcedureQuery selects procedures. By default it searches the versions in
// force on At (today when zero); with Latest it searches the latest version of
// every code whatever its status (the administrators' view).
type ProcedureQuery struct {
	Text        string // words of the name or the code, diacritics optional
	FieldCode   string
	AgencyEID   string // competent or implementing agency
	Level       Level
	OnlineLevel OnlineLevel
	Status      Status
	At          calendar.Date
	Latest      bool
	Limit       int // 1..200, default 20
	Offset      int
}

// MaxPageSize bounds ProcedureQuery.Limit.
const MaxPageSize = 200

// ProcedureSummary is one row of a procedure search.
type ProcedureSummary struct {
	Code                string        `json:"code"`
	Version             int           `json:"version"`
	Name                string        `json:"name"`
	FieldCode           string        `json:"field_code"`
	FieldName           string        `json:"field_name"`
	Level               Level         `json:"level"`
	CompetentAgency     string        `json:"competent_agency,omitempty"`
	CompetentAgencyName string        `json:"competent_agency_name,omitempty"`
	OnlineLevel         OnlineLevel   `json:"online_level"`
	Duration            Duration      `json:"duration"`
	EffectiveFrom       calendar.Date `json:"effective_from"`
	EffectiveTo         calendar.Date `json:"effective_to,omitzero"`
	Status              Status        `json:"status"`
}

// ProcedurePage is one page of search results, best first, and the number of
// matches in all pages.
type ProcedurePage struct {
	Items []ProcedureSummary `json:"items"`
	Total int                `json:"total"`
	// Approximate is true when no procedure matched every word as typed and
	// the results allow for typing mistakes (see index.go).
	Approximate bool `json:"-"`
}

// AdminUnit returns the unit with the given code, current or historical.
func (s *Service) AdminUnit(ctx context.Context, code string) (AdminUnit, error) {
	return getAdminUnit(ctx, s.db.Read(), s.db.Dialect(), code)
}

// AdminUnits lists units in force on a day (or all with IncludeHistory),
// province first, then by code; by relevance when Text is set.
func (s *Service) AdminUnits(ctx context.Context, q AdminUnitQuery) ([]AdminUnit, error) {
	return listAdminUnits(ctx, s.db.Read(), s.db.Dialect(), q, s.dateOrToday(q.At))
}

// ResolveAdminUnit answers "what is the unit today for old code X": the units
// in force on day at (zero: today) that code became, following successor
// links through every merger. A unit in force returns itself. It fails with
// ErrNotFound for an unknown code and returns an empty list when the unit
// ended without successors.
func (s *Service) ResolveAdminUnit(ctx context.Context, code string, at calendar.Date) ([]AdminUnit, error) {
	units, err := loadAdminUnits(ctx, s.db.Read(), s.db.Dialect())
	if err != nil {
		return nil, err
	}
	if _, ok := units[code]; !ok {
		return nil, fmt.Errorf("admin unit %s: %w", code, ErrNotFound)
	}
	out := ResolveUnits(code, s.dateOrToday(at), mapLookup(units))
	if out == nil {
		out = []AdminUnit{}
	}
	return out, nil
}

// Predecessors returns the units whose successor is code (the communes merged
// into it, the district it replaced), ordered by code.
func (s *Service) Predecessors(ctx context.Context, code string) ([]AdminUnit, error) {
	codes, err := predecessorCodes(ctx, s.db.Read(), code)
	if err != nil {
		return nil, err
	}
	out := make([]AdminUnit, 0, len(codes))
	for _, c := range codes {
		u, err := s.AdminUnit(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// Agency returns the agency that has, or had, e-ID eid; the result carries the
// current e-ID, which differs from eid when eid is a former one.
func (s *Service) Agency(ctx context.Context, eid string) (Agency, error) {
	a, err := getAgency(ctx, s.db.Read(), s.db.Dialect(), eid)
	return a.Agency, err
}

// Agencies lists agencies and units ordered by e-ID (by relevance with Text).
func (s *Service) Agencies(ctx context.Context, q AgencyQuery) ([]Agency, error) {
	return listAgencies(ctx, s.db.Read(), s.db.Dialect(), q, s.dateOrToday(q.At))
}

// Field returns the field with the given code.
func (s *Service) Field(ctx context.Context, code string) (Field, error) {
	return getField(ctx, s.db.Read(), code)
}

// Fields lists all fields by code.
func (s *Service) Fields(ctx context.Context) ([]Field, error) {
	return listFields(ctx, s.db.Read())
}

// Procedure returns the version of the procedure in force on day at (zero:
// today). This is the version a dossier received that day is pinned to.
func (s *Service) Procedure(ctx context.Context, code string, at calendar.Date) (Procedure, error) {
	return getProcedureAt(ctx, s.db.Read(), code, s.dateOrToday(at))
}

// ProcedureVersion returns one version of a procedure, whatever its status.
func (s *Service) ProcedureVersion(ctx context.Context, code string, version int) (Procedure, error) {
	return getProcedureVersion(ctx, s.db.Read(), code, version)
}

// ProcedureVersions returns every version of a procedure, oldest first; it
// fails with ErrNotFound for an unknown code.
func (s *Service) ProcedureVersions(ctx context.Context, code string) ([]Procedure, error) {
	list, err := listProcedureVersions(ctx, s.db.Read(), code)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("procedure %s: %w", code, ErrNotFound)
	}
	return list, nil
}

// SearchProcedures finds procedures by words of their name, code or field
// (with or without diacritics; each word may be the beginning of a word) and
// filters, best match first: an exact code, codes beginning with the query,
// then names equal to, beginning with or containing the words as typed, then
// other matches, shorter names first. Without text the order is by name.
func (s *Service) SearchProcedures(ctx context.Context, q ProcedureQuery) (ProcedurePage, error) {
	var p problems
	if q.Limit < 0 || q.Limit > MaxPageSize {
		p.add("limit", CodeInvalidValue, "Số kết quả mỗi trang phải từ 1 đến %d.", MaxPageSize)
	}
	if q.Offset < 0 {
		p.add("offset", CodeInvalidValue, "Vị trí bắt đầu không được âm.")
	}
	if q.Level != "" && q.Level != LevelProvince && q.Level != LevelCommune {
		p.add("level", CodeInvalidValue, "Cấp %q không hợp lệ (province, commune).", clip(string(q.Level), 30))
	}
	if q.OnlineLevel != "" && q.OnlineLevel != OnlineFull && q.OnlineLevel != OnlinePartial && q.OnlineLevel != OnlineNone {
		p.add("online_level", CodeInvalidValue, "Mức độ trực tuyến %q không hợp lệ (full, partial, none).", clip(string(q.OnlineLevel), 30))
	}
	if q.Status != "" && q.Status != StatusDraft && q.Status != StatusActive && q.Status != StatusRetired {
		p.add("status", CodeInvalidValue, "Trạng thái %q không hợp lệ (draft, active, retired).", clip(string(q.Status), 30))
	}
	if len(q.Text) > 500 {
		p.add("q", CodeTooLong, "Từ khóa tìm kiếm quá dài.")
	}
	if err := p.err(); err != nil {
		return ProcedurePage{}, err
	}
	ix, err := s.procedureIndex(ctx)
	if err != nil {
		return ProcedurePage{}, fmt.Errorf("search procedures: %w", err)
	}
	return ix.search(q, s.dateOrToday(q.At)), nil
}

// Describe returns the names of a procedure's field and agencies, for display.
func (s *Service) Describe(ctx context.Context, p Procedure) (field, competent, implementing string) {
	if f, err := s.Field(ctx, p.FieldCode); err == nil {
		field = f.Name
	}
	if p.CompetentAgency != "" {
		if a, err := s.Agency(ctx, p.CompetentAgency); err == nil {
			competent = a.Name
		}
	}
	if p.ImplementingAgency != "" {
		if a, err := s.Agency(ctx, p.ImplementingAgency); err == nil {
			implementing = a.Name
		}
	}
	return field, competent, implementing
}

// ---- writes ------------------------------------------------------------------------

// record is one incoming record of a batch (a single save or an import), with
// the line of the file it came from (0 for a single save).
type record[T any] struct {
	Line int
	V    T
	Pre  []FieldError // problems found while reading the record (bad date, bad number)
	// Keep names members the record's file did not have (see keptIfAbsent):
	// an existing record keeps their stored values.
	Keep []string
}

// check reports the record's reading problems and the problems validation
// found, skipping validation problems of fields that could not even be read.
func (b *batchResult) check(line int, pre []FieldError, err error) bool {
	bad := false
	for _, f := range pre {
		b.Errors = append(b.Errors, RowError{Line: line, Field: f.Field, Code: f.Code, Reason: f.Message})
		bad = true
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Errors {
			if slices.ContainsFunc(pre, func(p FieldError) bool { return p.Field == f.Field }) {
				continue
			}
			b.Errors = append(b.Errors, RowError{Line: line, Field: f.Field, Code: f.Code, Reason: f.Message})
			bad = true
		}
	} else if err != nil {
		b.fail(line, err)
		bad = true
	}
	return bad
}

// RowError is a problem with one record of an import: the line of the file
// where the record starts (0 for the file as a whole), the field, a stable
// code and the reason in Vietnamese.
type RowError struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// batchResult counts what a batch did.
type batchResult struct {
	Created, Updated, Unchanged int
	Errors                      []RowError
}

func (b *batchResult) fail(line int, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Errors {
			b.Errors = append(b.Errors, RowError{Line: line, Field: f.Field, Code: f.Code, Reason: f.Message})
		}
		return
	}
	b.Errors = append(b.Errors, RowError{Line: line, Code: CodeInvalidValue, Reason: err.Error()})
}

// failNew reports the field errors of err except those on fields already
// reported for the line.
func (b *batchResult) failNew(line int, err error) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		b.fail(line, err)
		return
	}
	for _, f := range ve.Errors {
		if slices.ContainsFunc(b.Errors, func(e RowError) bool { return e.Line == line && e.Field == f.Field }) {
			continue
		}
		b.Errors = append(b.Errors, RowError{Line: line, Field: f.Field, Code: f.Code, Reason: f.Message})
	}
}

func (b *batchResult) failField(line int, field, code, format string, args ...any) {
	b.Errors = append(b.Errors, RowError{Line: line, Field: field, Code: code, Reason: fmt.Sprintf(format, args...)})
}

// single turns the outcome of a one-record batch into an error for the caller.
func single(res batchResult, err error) error {
	if err != nil {
		return err
	}
	if len(res.Errors) == 0 {
		return nil
	}
	ve := &ValidationError{}
	for _, e := range res.Errors {
		ve.Errors = append(ve.Errors, FieldError{Field: e.Field, Code: e.Code, Message: e.Reason})
	}
	return ve
}

func mapLookup(m map[string]AdminUnit) func(string) (AdminUnit, bool) {
	return func(code string) (AdminUnit, bool) { u, ok := m[code]; return u, ok }
}

// SaveAdminUnit creates or updates (by code) an administrative unit and its
// successor links.
func (s *Service) SaveAdminUnit(ctx context.Context, u AdminUnit) (AdminUnit, error) {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		return single(applyAdminUnits(ctx, tx, []record[AdminUnit]{{V: u}}))
	})
	if err != nil {
		return AdminUnit{}, err
	}
	u.Normalize()
	return s.AdminUnit(ctx, u.Code)
}

func unitRank(l Level) int {
	switch l {
	case LevelProvince:
		return 1
	case LevelDistrict:
		return 2
	}
	return 3
}

func sameUnit(a, b AdminUnit) bool {
	as, bs := slices.Clone(a.Successors), slices.Clone(b.Successors)
	slices.Sort(as)
	slices.Sort(bs)
	a.Successors, b.Successors = nil, nil
	return a.Code == b.Code && a.Name == b.Name && a.Level == b.Level && a.Kind == b.Kind &&
		a.ParentCode == b.ParentCode && a.EffectiveFrom == b.EffectiveFrom && a.EffectiveTo == b.EffectiveTo &&
		slices.Equal(as, bs)
}

// applyAdminUnits validates a batch of units against each other and the
// stored ones and, when every record is valid, writes them in tx.
func applyAdminUnits(ctx context.Context, tx *db.Tx, recs []record[AdminUnit]) (batchResult, error) {
	var res batchResult
	if err := lockCatalog(ctx, tx); err != nil {
		return res, err
	}
	firstLine := map[string]int{}
	var batch []record[AdminUnit]
	for _, r := range recs {
		r.V.Normalize()
		res.check(r.Line, r.Pre, r.V.Validate())
		if l, dup := firstLine[r.V.Code]; dup && r.V.Code != "" {
			res.failField(r.Line, "code", CodeDuplicate, "Mã %q trùng với bản ghi ở dòng %d.", r.V.Code, l)
			continue
		}
		firstLine[r.V.Code] = r.Line
		batch = append(batch, r)
	}
	existing, err := loadAdminUnits(ctx, tx, tx.Dialect)
	if err != nil {
		return res, err
	}
	merged := maps.Clone(existing)
	for _, r := range batch {
		merged[r.V.Code] = r.V
	}
	for _, r := range batch {
		if err := CheckAdminUnitRefs(r.V, mapLookup(merged)); err != nil {
			res.failNew(r.Line, err)
		}
	}
	if len(res.Errors) > 0 {
		return res, nil
	}
	// Parents are always of a higher level, so writing by level keeps every
	// parent reference satisfied; successor links go in once every unit exists.
	slices.SortStableFunc(batch, func(a, b record[AdminUnit]) int { return unitRank(a.V.Level) - unitRank(b.V.Level) })
	var changed []AdminUnit
	for _, r := range batch {
		old, ok := existing[r.V.Code]
		switch {
		case ok && sameUnit(old, r.V):
			res.Unchanged++
			continue
		case ok:
			res.Updated++
		default:
			res.Created++
		}
		if err := putAdminUnit(ctx, tx, r.V); err != nil {
			return res, err
		}
		changed = append(changed, r.V)
	}
	for _, u := range changed {
		if err := putSuccessors(ctx, tx, u.Code, u.Successors); err != nil {
			return res, err
		}
	}
	if len(changed) > 0 {
		return res, bumpRevision(ctx, tx)
	}
	return res, nil
}

// SaveField creates or updates (by code) a field.
func (s *Service) SaveField(ctx context.Context, f Field) (Field, error) {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		return single(applyFields(ctx, tx, []record[Field]{{V: f}}))
	})
	if err != nil {
		return Field{}, err
	}
	f.Normalize()
	return s.Field(ctx, f.Code)
}

func applyFields(ctx context.Context, tx *db.Tx, recs []record[Field]) (batchResult, error) {
	var res batchResult
	if err := lockCatalog(ctx, tx); err != nil {
		return res, err
	}
	firstLine := map[string]int{}
	var batch []Field
	for _, r := range recs {
		r.V.Normalize()
		res.check(r.Line, r.Pre, r.V.Validate())
		if l, dup := firstLine[r.V.Code]; dup && r.V.Code != "" {
			res.failField(r.Line, "code", CodeDuplicate, "Mã %q trùng với bản ghi ở dòng %d.", r.V.Code, l)
			continue
		}
		firstLine[r.V.Code] = r.Line
		batch = append(batch, r.V)
	}
	if len(res.Errors) > 0 {
		return res, nil
	}
	list, err := listFields(ctx, tx)
	if err != nil {
		return res, err
	}
	existing := map[string]Field{}
	for _, f := range list {
		existing[f.Code] = f
	}
	for _, f := range batch {
		old, ok := existing[f.Code]
		switch {
		case ok && old == f:
			res.Unchanged++
			continue
		case ok:
			res.Updated++
		default:
			res.Created++
		}
		if err := putField(ctx, tx, f); err != nil {
			return res, err
		}
	}
	if res.Created+res.Updated > 0 {
		return res, bumpRevision(ctx, tx)
	}
	return res, nil
}

// SaveAgency creates or updates an agency or unit. It is found by its e-ID;
// when that e-ID is new but one of FormerEIDs belongs to a stored agency, that
// agency is renamed: its old e-ID becomes a former one and keeps resolving.
func (s *Service) SaveAgency(ctx context.Context, a Agency) (Agency, error) {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		return single(applyAgencies(ctx, tx, []record[Agency]{{V: a}}))
	})
	if err != nil {
		return Agency{}, err
	}
	a.Normalize()
	return s.Agency(ctx, a.EID)
}

// RenameAgency gives the agency known by oldEID the new e-ID newEID; oldEID
// (and any earlier e-ID) keeps resolving to it.
func (s *Service) RenameAgency(ctx context.Context, oldEID, newEID string) (Agency, error) {
	a, err := s.Agency(ctx, oldEID)
	if err != nil {
		return Agency{}, err
	}
	if a.EID == newEID {
		return a, nil
	}
	a.FormerEIDs = append(a.FormerEIDs, a.EID)
	a.EID = newEID
	return s.SaveAgency(ctx, a)
}

// agencyNode is an agency in the merged view of an agency batch.
type agencyNode struct {
	id    int64 // 0 until inserted
	a     Agency
	old   *Agency // stored state, nil for a new agency
	line  int
	batch bool
}

func sameAgency(a, b Agency) bool {
	fa, fb := slices.Clone(a.FormerEIDs), slices.Clone(b.FormerEIDs)
	slices.Sort(fa)
	slices.Sort(fb)
	if len(fa) == 0 {
		fa = nil
	}
	if len(fb) == 0 {
		fb = nil
	}
	a.FormerEIDs, b.FormerEIDs = fa, fb
	return reflect.DeepEqual(a, b)
}

// keepAgencyContact copies into a the stored contact details that its
// record left out.
func keepAgencyContact(a *Agency, old Agency, keep []string) {
	for _, k := range keep {
		switch k {
		case "address":
			a.Address = old.Address
		case "phone":
			a.Phone = old.Phone
		case "email":
			a.Email = old.Email
		case "website":
			a.Website = old.Website
		case "opening_hours":
			a.OpeningHours = old.OpeningHours
		}
	}
}

func applyAgencies(ctx context.Context, tx *db.Tx, recs []record[Agency]) (batchResult, error) {
	var res batchResult
	if err := lockCatalog(ctx, tx); err != nil {
		return res, err
	}
	stored, err := loadAgencies(ctx, tx, tx.Dialect)
	if err != nil {
		return res, err
	}
	units, err := loadAdminUnits(ctx, tx, tx.Dialect)
	if err != nil {
		return res, err
	}
	// byEID maps every e-ID, current or former, to its node.
	byEID := map[string]*agencyNode{}
	byID := map[int64]*agencyNode{}
	for _, sa := range stored {
		if byID[sa.ID] != nil {
			continue
		}
		old := sa.Agency
		n := &agencyNode{id: sa.ID, a: sa.Agency, old: &old}
		byID[sa.ID] = n
		byEID[sa.EID] = n
		for _, e := range sa.FormerEIDs {
			byEID[e] = n
		}
	}
	var batch []*agencyNode
	for _, r := range recs {
		a := r.V
		a.Normalize()
		if res.check(r.Line, r.Pre, a.Validate()) {
			// Known to later records, so that they are not also reported as
			// referring to a missing parent.
			if a.EID != "" && byEID[a.EID] == nil {
				byEID[a.EID] = &agencyNode{a: a, line: r.Line}
			}
			continue
		}
		// Find the stored agency: by current e-ID, else through a former one.
		n := byEID[a.EID]
		if n != nil && n.a.EID != a.EID {
			res.failField(r.Line, "eid", CodeDuplicate, "Mã định danh %q là mã cũ của %q (nay là %s); không thể dùng lại.", a.EID, n.a.Name, n.a.EID)
			continue
		}
		if n == nil {
			for _, e := range a.FormerEIDs {
				m := byEID[e]
				if m == nil {
					continue
				}
				if n != nil && m != n {
					res.failField(r.Line, "former_eids", CodeDuplicate, "Các mã cũ thuộc về nhiều cơ quan khác nhau (%s và %s).", n.a.EID, m.a.EID)
					n = nil
					break
				}
				n = m
			}
		}
		if n != nil && n.batch {
			res.failField(r.Line, "eid", CodeDuplicate, "Cơ quan %q đã có ở dòng %d.", a.EID, n.line)
			continue
		}
		for i, e := range a.FormerEIDs {
			if m := byEID[e]; m != nil && m != n {
				res.failField(r.Line, fmt.Sprintf("former_eids[%d]", i), CodeDuplicate, "Mã %q đã thuộc về cơ quan %q.", e, m.a.Name)
			}
		}
		if n == nil {
			n = &agencyNode{}
		} else {
			// E-IDs are never released: keep every e-ID the agency had.
			former := slices.Clone(a.FormerEIDs)
			for _, e := range append([]string{n.a.EID}, n.a.FormerEIDs...) {
				if e != a.EID && !slices.Contains(former, e) {
					former = append(former, e)
				}
			}
			slices.Sort(former)
			a.FormerEIDs = former
		}
		if n.old != nil {
			keepAgencyContact(&a, *n.old, r.Keep)
		}
		n.a, n.line, n.batch = a, r.Line, true
		byEID[a.EID] = n
		for _, e := range a.FormerEIDs {
			if byEID[e] == nil {
				byEID[e] = n
			}
		}
		batch = append(batch, n)
	}
	// References, on the merged view.
	for _, n := range batch {
		a := &n.a
		if a.ParentEID != "" {
			parent := byEID[a.ParentEID]
			if parent == nil {
				res.failField(n.line, "parent_eid", CodeNotFound, "Không có cơ quan mã %q.", a.ParentEID)
			} else {
				a.ParentEID = parent.a.EID // canonical: the parent's current e-ID
				for p, steps := parent, 0; p != nil && steps < 1000; steps++ {
					if p == n {
						res.failField(n.line, "parent_eid", CodeCycle, "Cơ quan cấp trên %q lại trực thuộc %q: vòng lặp.", parent.a.EID, a.EID)
						break
					}
					if p.a.ParentEID == "" {
						break
					}
					p = byEID[p.a.ParentEID]
				}
			}
		}
		if a.AdminUnitCode != "" {
			u, ok := units[a.AdminUnitCode]
			switch {
			case !ok:
				res.failField(n.line, "admin_unit_code", CodeNotFound, "Không có đơn vị hành chính mã %q.", a.AdminUnitCode)
			case u.Level != a.Level:
				res.failField(n.line, "admin_unit_code", CodeInvalidValue, "Đơn vị hành chính %q ở %s, khác cấp của cơ quan (%s).", u.Code, strings.ToLower(u.Level.Label()), strings.ToLower(a.Level.Label()))
			}
		}
	}
	if len(res.Errors) > 0 {
		return res, nil
	}
	// Write parents before children.
	written := map[*agencyNode]bool{}
	var write func(n *agencyNode) error
	write = func(n *agencyNode) error {
		if written[n] {
			return nil
		}
		written[n] = true
		var parentID int64
		if n.a.ParentEID != "" {
			p := byEID[n.a.ParentEID]
			if p.batch {
				if err := write(p); err != nil {
					return err
				}
			}
			parentID = p.id
		}
		switch {
		case n.old != nil && sameAgency(*n.old, n.a):
			res.Unchanged++
			return nil
		case n.old != nil:
			res.Updated++
		default:
			res.Created++
		}
		id, err := putAgency(ctx, tx, n.id, n.a, parentID)
		n.id = id
		return err
	}
	for _, n := range batch {
		if err := write(n); err != nil {
			return res, err
		}
	}
	if res.Created+res.Updated > 0 {
		return res, bumpRevision(ctx, tx)
	}
	return res, nil
}

// SaveProcedure saves a procedure version. With Version 0 it updates the
// latest version if that is a draft and otherwise creates the next version (1
// for a new code). With Status active the version is published at once: the
// version in force before it ends on its EffectiveFrom. A published version
// cannot be changed (ErrInvalid naming the field "version"), except to retire
// it; save a new version instead.
func (s *Service) SaveProcedure(ctx context.Context, p Procedure) (Procedure, error) {
	var saved Procedure
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		res, vers, err := applyProcedures(ctx, tx, []record[Procedure]{{V: p}}, s.checkFormBlob)
		if err := single(res, err); err != nil {
			return err
		}
		saved, err = getProcedureVersion(ctx, tx, strings.TrimSpace(p.Code), vers[0])
		return err
	})
	return saved, err
}

// PublishProcedure makes a draft version active; the version in force before
// it ends on its effective date.
func (s *Service) PublishProcedure(ctx context.Context, code string, version int) (Procedure, error) {
	p, err := s.ProcedureVersion(ctx, code, version)
	if err != nil {
		return Procedure{}, err
	}
	if p.Status != StatusDraft {
		return Procedure{}, fmt.Errorf("publish procedure %s version %d (%s): %w", code, version, p.Status, ErrConflict)
	}
	p.Status = StatusActive
	return s.SaveProcedure(ctx, p)
}

// RetireProcedure abolishes a procedure: its latest published version is
// retired and ends on day on (it stays in force until the day before).
func (s *Service) RetireProcedure(ctx context.Context, code string, on calendar.Date) (Procedure, error) {
	list, err := s.ProcedureVersions(ctx, code)
	if err != nil {
		return Procedure{}, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if p := list[i]; p.Status.Published() {
			p.Status, p.EffectiveTo = StatusRetired, on
			return s.SaveProcedure(ctx, p)
		}
	}
	return Procedure{}, fmt.Errorf("retire procedure %s: no published version: %w", code, ErrConflict)
}

// applyProcedures validates a batch of procedure versions and, when every
// record is valid, writes them in tx. It returns the version number each
// record was saved as.
//
// A document that says nothing of its form file keeps the stored one (see
// keepFiles); a file reference not already used by a version of the code
// is checked with files (nil: no file store, refused).
func applyProcedures(ctx context.Context, tx *db.Tx, recs []record[Procedure], files formChecker) (batchResult, []int, error) {
	var res batchResult
	versions := make([]int, len(recs))
	if err := lockCatalog(ctx, tx); err != nil {
		return res, nil, err
	}
	fieldList, err := listFields(ctx, tx)
	if err != nil {
		return res, nil, err
	}
	fields := map[string]string{}
	for _, f := range fieldList {
		fields[f.Code] = f.Name
	}
	agencies, err := loadAgencies(ctx, tx, tx.Dialect)
	if err != nil {
		return res, nil, err
	}
	// The stored versions of every code in the batch.
	codes := map[string]bool{}
	for _, r := range recs {
		codes[strings.TrimSpace(r.V.Code)] = true
	}
	stored := map[string][]Procedure{}
	if len(codes) > 20 {
		all, err := allProcedures(ctx, tx)
		if err != nil {
			return res, nil, err
		}
		for _, p := range all {
			stored[p.Code] = append(stored[p.Code], p)
		}
	} else {
		for c := range codes {
			list, err := listProcedureVersions(ctx, tx, c)
			if err != nil {
				return res, nil, err
			}
			stored[c] = list
		}
	}
	// merged[code][version] is the state after the batch; lines remembers
	// which record set each version.
	merged := map[string]map[int]Procedure{}
	lines := map[string]map[int]int{}
	for c, list := range stored {
		merged[c] = map[int]Procedure{}
		lines[c] = map[int]int{}
		for _, p := range list {
			merged[c][p.Version] = p
		}
	}
	fromBatch := map[string]map[int]bool{}
	for i, r := range recs {
		p := r.V
		p.Normalize()
		invalid := res.check(r.Line, r.Pre, p.Validate())
		var bad problems
		if _, ok := fields[p.FieldCode]; !ok {
			bad.add("field_code", CodeNotFound, "Không có lĩnh vực mã %q.", p.FieldCode)
		}
		if p.CompetentAgency != "" {
			a, ok := agencies[p.CompetentAgency]
			switch {
			case !ok:
				bad.add("competent_agency", CodeNotFound, "Không có cơ quan mã %q.", p.CompetentAgency)
			case a.Level != p.Level:
				bad.add("competent_agency", CodeInvalidValue, "Cơ quan %q ở %s, khác cấp thực hiện của thủ tục (%s).", a.EID, strings.ToLower(a.Level.Label()), strings.ToLower(p.Level.Label()))
			default:
				p.CompetentAgency = a.EID
			}
		}
		if p.ImplementingAgency != "" {
			if a, ok := agencies[p.ImplementingAgency]; !ok {
				bad.add("implementing_agency", CodeNotFound, "Không có cơ quan mã %q.", p.ImplementingAgency)
			} else {
				p.ImplementingAgency = a.EID
			}
		}
		vs := merged[p.Code]
		if vs == nil {
			vs = map[int]Procedure{}
			merged[p.Code] = vs
			lines[p.Code] = map[int]int{}
		}
		latest := 0
		for v := range vs {
			latest = max(latest, v)
		}
		if p.Version == 0 {
			p.Version = latest + 1
			if old, ok := vs[latest]; ok && old.Status == StatusDraft {
				p.Version = latest
			}
		}
		if slices.Contains(r.Keep, "faq") {
			// Left out of the file: the version's own FAQ, or for a new
			// version the FAQ of the one it follows.
			if old, ok := vs[p.Version]; ok {
				p.FAQ = old.FAQ
			} else if prev, ok := vs[latest]; ok {
				p.FAQ = prev.FAQ
			}
		}
		if old, ok := vs[p.Version]; ok {
			keepFiles(p.Documents, old.Documents)
		} else if prev, ok := vs[latest]; ok {
			keepFiles(p.Documents, prev.Documents)
		}
		checkFileRefs(ctx, &p, vs, files, &bad)
		if fromBatch[p.Code][p.Version] {
			bad.add("version", CodeDuplicate, "Phiên bản %d của thủ tục %s trùng với bản ghi ở dòng %d.", p.Version, p.Code, lines[p.Code][p.Version])
		} else if old, ok := vs[p.Version]; ok {
			if old.Status.Published() && !sameContent(old, p) {
				bad.add("version", CodeImmutable, "Phiên bản %d của thủ tục %s đã công bố nên không sửa được; hãy tạo phiên bản mới.", p.Version, p.Code)
			}
			if old.Status.Published() && p.Status == StatusDraft {
				bad.add("status", CodeImmutable, "Phiên bản đã công bố không thể trở lại trạng thái nháp.")
			}
		} else if p.Version < latest {
			bad.add("version", CodeInvalidValue, "Phiên bản mới phải lớn hơn phiên bản mới nhất hiện có (%d).", latest)
		}
		if len(bad) > 0 {
			// Fields already reported as malformed are not reported again.
			res.failNew(r.Line, bad.err())
			continue
		}
		if invalid {
			continue
		}
		if fromBatch[p.Code] == nil {
			fromBatch[p.Code] = map[int]bool{}
		}
		fromBatch[p.Code][p.Version] = true
		vs[p.Version] = p
		lines[p.Code][p.Version] = r.Line
		versions[i] = p.Version
	}
	// Supersession and version rules per touched code.
	final := map[string][]Procedure{}
	for c := range fromBatch {
		list := slices.Collect(maps.Values(merged[c]))
		done, bad := Supersede(list)
		for v, errs := range bad {
			line, ok := lines[c][v]
			if !ok { // a stored version: blame the batch's latest record of this code
				for bv := range fromBatch[c] {
					line = max(line, lines[c][bv])
				}
			}
			for _, e := range errs {
				res.failField(line, e.Field, e.Code, "%s", e.Message)
			}
		}
		final[c] = done
	}
	if len(res.Errors) > 0 {
		return res, versions, nil
	}
	storedBy := map[string]map[int]Procedure{}
	for c, list := range stored {
		storedBy[c] = map[int]Procedure{}
		for _, p := range list {
			storedBy[c][p.Version] = p
		}
	}
	for _, c := range slices.Sorted(maps.Keys(final)) {
		for _, p := range final[c] {
			old, existed := storedBy[c][p.Version]
			same := existed && sameContent(old, p) && old.Status == p.Status && old.EffectiveTo == p.EffectiveTo && sameFiles(old, p)
			if fromBatch[c][p.Version] {
				switch {
				case same:
					res.Unchanged++
				case existed:
					res.Updated++
				default:
					res.Created++
				}
			}
			if same {
				continue
			}
			var compID, implID int64
			if p.CompetentAgency != "" {
				compID = agencies[p.CompetentAgency].ID
			}
			if p.ImplementingAgency != "" {
				implID = agencies[p.ImplementingAgency].ID
			}
			if err := putProcedure(ctx, tx, p, compID, implID); err != nil {
				return res, versions, err
			}
		}
	}
	if res.Created+res.Updated > 0 {
		return res, versions, bumpRevision(ctx, tx)
	}
	return res, versions, nil
}

// sortRowErrors orders errors by line, keeping each line's order.
func sortRowErrors(errs []RowError) {
	slices.SortStableFunc(errs, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
}
