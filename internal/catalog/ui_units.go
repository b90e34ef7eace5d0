package catalog

// Administrators' pages for the reference catalogs that procedures point to:
// administrative units (with their merger history), agencies and their units
// (with e-ID renames), and fields. Every write goes through the service, so a
// form shows exactly the service's validation, next to the input it concerns,
// and a form with any problem saves nothing.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// maxFormBytes bounds the body of the catalog forms on these pages.
const maxFormBytes = 64 << 10

// unitPageSize is the number of rows on one page of the unit list.
const unitPageSize = 50

// ---- shared form helpers --------------------------------------------------------

// formErrors holds the problems of a posted form: the message shown next to
// each input (keyed by input name; "successors[1]" is shown at "successors")
// and the summary at the top of the form, in the order found.
type formErrors struct {
	Errors  map[string]string
	Summary []errorItem
}

// errorItem is one line of an error summary: a link to the input (Anchor is
// "" when the form has no input for the field), its label and the reason.
type errorItem struct {
	Anchor  string
	Label   string
	Message string
}

// Err returns the message for an input, or "".
func (f formErrors) Err(name string) string { return f.Errors[name] }

// collectErrors merges the problems found while reading a form (pre) with the
// service's validation error err, translated for lang. A field's input is the
// field name up to "[" (then mapped by remap when not nil); labels maps input
// names to the i18n keys of their labels. A validation problem on a field that
// already has a reading problem is left out: it only repeats it. invalid is
// false when there is nothing to show, and err then needs the caller's care.
func collectErrors(lang i18n.Lang, labels map[string]string, remap func(string) string, pre []FieldError, err error) (fe formErrors, invalid bool) {
	all := slices.Clone(pre)
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, e := range ve.Errors {
			if !slices.ContainsFunc(pre, func(p FieldError) bool { return p.Field == e.Field }) {
				all = append(all, e)
			}
		}
	}
	if len(all) == 0 {
		return fe, false
	}
	fe.Errors = map[string]string{}
	for _, e := range all {
		name, _, _ := strings.Cut(e.Field, "[")
		if remap != nil {
			name = remap(name)
		}
		msg := fieldMessageOf(lang, e.Field, e.Code, e.Message)
		switch old, seen := fe.Errors[name]; {
		case !seen:
			fe.Errors[name] = msg
		case !strings.Contains(old, msg):
			fe.Errors[name] = old + " " + msg
		}
		item := errorItem{Label: name, Message: msg}
		if key, ok := labels[name]; ok {
			item.Anchor, item.Label = name, i18n.T(lang, key)
		}
		fe.Summary = append(fe.Summary, item)
	}
	return fe, true
}

// formDate reads a date input: YYYY-MM-DD (what date inputs send) or
// DD/MM/YYYY (typed where the browser shows a text box). A bad date is added
// to bad.
func formDate(f url.Values, name string, bad *[]FieldError) calendar.Date {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return calendar.Date{}
	}
	if d, err := calendar.ParseDate(s); err == nil {
		return d
	}
	if t, err := time.Parse("02/01/2006", s); err == nil {
		return calendar.DateOf(t)
	}
	*bad = append(*bad, FieldError{Field: name, Code: CodeInvalidDate,
		Message: fmt.Sprintf("Ngày %q không hợp lệ (cần dạng YYYY-MM-DD, ví dụ 2025-07-01).", clip(s, 30))})
	return calendar.Date{}
}

// upperCode trims a unit code or e-ID and puts it in upper case, the only
// case those codes are written in.
func upperCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// splitCodes splits a list of codes separated by semicolons, commas or spaces.
func splitCodes(s string) []string {
	return strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return r == ';' || r == ',' || unicode.IsSpace(r) })
}

// lifeState is the i18n key of where a record with this period stands today.
func lifeState(from, to, today calendar.Date) string {
	switch {
	case from.After(today):
		return "catalog.ui.life.future"
	case !to.IsZero() && !today.Before(to):
		return "catalog.ui.life.ended"
	}
	return "catalog.ui.life.current"
}

// parseForm reads a posted form of at most maxFormBytes, answering 400 when it
// cannot.
func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest)
		return false
	}
	return true
}

// listFilters are the search, level and history filters of the unit and
// agency lists, read leniently: unknown values from links are dropped.
type listFilters struct {
	Text    string
	Level   Level
	History bool
	Levels  []Level
}

func readFilters(r *http.Request, levels []Level) listFilters {
	q := r.URL.Query()
	f := listFilters{Text: strings.TrimSpace(q.Get("q")), Level: Level(q.Get("level")), History: q.Get("history") == "1", Levels: levels}
	if !slices.Contains(levels, f.Level) {
		f.Level = ""
	}
	if len(f.Text) > 200 {
		f.Text = f.Text[:200]
	}
	return f
}

// values returns the filters as query parameters.
func (f listFilters) values() url.Values {
	u := url.Values{}
	if f.Text != "" {
		u.Set("q", f.Text)
	}
	if f.Level != "" {
		u.Set("level", string(f.Level))
	}
	if f.History {
		u.Set("history", "1")
	}
	return u
}

// ---- administrative units ---------------------------------------------------------

// unitLabels are the inputs of the unit form and their labels.
var unitLabels = map[string]string{
	"code": "catalog.ui.unit.code", "name": "catalog.ui.unit.name", "level": "catalog.ui.unit.level",
	"kind": "catalog.ui.unit.kind", "parent_code": "catalog.ui.unit.parent", "effective_from": "catalog.ui.effective_from",
	"effective_to": "catalog.ui.unit.effective_to", "successors": "catalog.ui.unit.successors",
}

// unitLevels are the levels a unit may have, for filters and the form.
var unitLevels = []Level{LevelProvince, LevelDistrict, LevelCommune}

// unitKinds are every unit kind in the order the form offers them.
var unitKinds = []UnitKind{KindProvince, KindCity, KindRural, KindUrban, KindTown, KindCommune, KindWard, KindSpecialZone, KindTownship}

type unitListView struct {
	listFilters
	Rows        []unitRow
	Total       int
	Page, Pages int
	PrevURL     string
	NextURL     string
}

// unitRow is one unit of the list with what it became: its direct successors
// and, when that differs, the units in force today that it is now part of.
type unitRow struct {
	U           AdminUnit
	ParentName  string
	State       string
	Successors  []AdminUnit
	Current     []AdminUnit
	ShowCurrent bool
}

// allUnits loads every unit, current and historical, by code.
func (p *Pages) allUnits(r *http.Request) ([]AdminUnit, map[string]AdminUnit, error) {
	list, err := p.h.svc.AdminUnits(r.Context(), AdminUnitQuery{IncludeHistory: true})
	if err != nil {
		return nil, nil, err
	}
	m := make(map[string]AdminUnit, len(list))
	for _, u := range list {
		m[u.Code] = u
	}
	return list, m, nil
}

func (p *Pages) unitList(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	ctx := r.Context()
	v := unitListView{listFilters: readFilters(r, unitLevels)}
	list, err := p.h.svc.AdminUnits(ctx, AdminUnitQuery{IncludeHistory: v.History, Level: v.Level, Text: v.Text})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	_, all, err := p.allUnits(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Total = len(list)
	v.Pages = max((v.Total+unitPageSize-1)/unitPageSize, 1)
	v.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	v.Page = min(max(v.Page, 1), v.Pages)
	list = list[(v.Page-1)*unitPageSize : min(v.Page*unitPageSize, v.Total)]
	today := p.h.svc.Today()
	lookup := mapLookup(all)
	for _, u := range list {
		row := unitRow{U: u, State: lifeState(u.EffectiveFrom, u.EffectiveTo, today)}
		if parent, ok := all[u.ParentCode]; ok {
			row.ParentName = parent.FullName()
		}
		for _, s := range u.Successors {
			if su, ok := all[s]; ok {
				row.Successors = append(row.Successors, su)
			}
		}
		slices.SortFunc(row.Successors, func(a, b AdminUnit) int { return strings.Compare(a.Code, b.Code) })
		if !u.InForce(today) && len(u.Successors) > 0 {
			row.Current = ResolveUnits(u.Code, today, lookup)
			row.ShowCurrent = !slices.EqualFunc(row.Current, row.Successors, func(a, b AdminUnit) bool { return a.Code == b.Code })
		}
		v.Rows = append(v.Rows, row)
	}
	link := func(page int) string {
		q := v.values()
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		if len(q) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = link(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.NextURL = link(v.Page + 1)
	}
	p.shell.Render(w, r, p.pages["admin_units"], http.StatusOK, v)
}

// unitNode is a unit in a history tree: the units merged into it, or the
// units it was merged into, and theirs in turn.
type unitNode struct {
	U        AdminUnit
	Children []unitNode
}

// unitTree follows next from code, depth first, visiting each unit once (the
// successor graph has no cycles; seen guards against bad data all the same).
func unitTree(code string, next func(string) []AdminUnit, seen map[string]bool) []unitNode {
	var out []unitNode
	for _, u := range next(code) {
		if seen[u.Code] {
			continue
		}
		seen[u.Code] = true
		out = append(out, unitNode{U: u, Children: unitTree(u.Code, next, seen)})
	}
	return out
}

// unitEditView is the unit page: the unit as stored with its history (not for
// a new unit) and the form, holding what was typed.
type unitEditView struct {
	formErrors
	New        bool
	U          AdminUnit // the form's values
	Successors string    // the successors input as typed
	Stored     AdminUnit
	State      string
	ParentName string
	Formed     []unitNode  // predecessors, recursively
	Became     []unitNode  // successors, recursively
	Current    []AdminUnit // the units in force today it is part of
	Levels     []Level
	Kinds      []UnitKind
	Parents    []AdminUnit
	Agencies   []Agency // agencies seated in the unit
}

func (p *Pages) renderUnit(w http.ResponseWriter, r *http.Request, status int, v unitEditView) {
	ctx := r.Context()
	list, all, err := p.allUnits(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Levels, v.Kinds = unitLevels, unitKinds
	for _, u := range list {
		if (u.Level == LevelProvince || u.Level == LevelDistrict) && u.Code != v.U.Code {
			v.Parents = append(v.Parents, u)
		}
	}
	if !v.New {
		code := v.U.Code
		stored, ok := all[code]
		if !ok {
			p.fail(w, r, fmt.Errorf("admin unit %s: %w", code, ErrNotFound))
			return
		}
		v.Stored = stored
		v.State = lifeState(stored.EffectiveFrom, stored.EffectiveTo, p.h.svc.Today())
		if parent, ok := all[stored.ParentCode]; ok {
			v.ParentName = parent.FullName()
		}
		preds := map[string][]AdminUnit{}
		for _, u := range list {
			for _, s := range u.Successors {
				preds[s] = append(preds[s], u)
			}
		}
		v.Formed = unitTree(code, func(c string) []AdminUnit { return preds[c] }, map[string]bool{code: true})
		v.Became = unitTree(code, func(c string) []AdminUnit {
			var out []AdminUnit
			for _, s := range all[c].Successors {
				if u, ok := all[s]; ok {
					out = append(out, u)
				}
			}
			slices.SortFunc(out, func(a, b AdminUnit) int { return strings.Compare(a.Code, b.Code) })
			return out
		}, map[string]bool{code: true})
		if v.Current, err = p.h.svc.ResolveAdminUnit(ctx, code, calendar.Date{}); err != nil {
			p.fail(w, r, err)
			return
		}
		if v.Agencies, err = p.h.svc.Agencies(ctx, AgencyQuery{AdminUnitCode: code, IncludeHistory: true}); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.shell.Render(w, r, p.pages["admin_unit_edit"], status, v)
}

func (p *Pages) unitNew(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	u := AdminUnit{Level: LevelCommune, Kind: KindCommune, EffectiveFrom: p.h.svc.Today()}
	// Since the 2025 reform a commune's parent is the province: offer it.
	if provinces, err := p.h.svc.AdminUnits(r.Context(), AdminUnitQuery{Level: LevelProvince}); err == nil && len(provinces) == 1 {
		u.ParentCode = provinces[0].Code
	}
	p.renderUnit(w, r, http.StatusOK, unitEditView{New: true, U: u})
}

func (p *Pages) unitDetail(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	u, err := p.h.svc.AdminUnit(r.Context(), r.PathValue("code"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderUnit(w, r, http.StatusOK, unitEditView{U: u, Successors: strings.Join(u.Successors, "; ")})
}

// unitFromForm reads the unit form; bad dates are returned as field errors.
func unitFromForm(f url.Values) (AdminUnit, []FieldError) {
	var bad []FieldError
	u := AdminUnit{Code: upperCode(f.Get("code")), Name: f.Get("name"), Level: Level(f.Get("level")), Kind: UnitKind(f.Get("kind")),
		ParentCode: upperCode(f.Get("parent_code")), EffectiveFrom: formDate(f, "effective_from", &bad),
		EffectiveTo: formDate(f, "effective_to", &bad), Successors: splitCodes(f.Get("successors"))}
	return u, bad
}

// unitSave creates a unit (POST /admin/catalog/units) or updates the unit at
// the path; the code of an existing unit never changes.
func (p *Pages) unitSave(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") || !p.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	u, pre := unitFromForm(r.PostForm)
	isNew := r.PathValue("code") == ""
	if isNew {
		if u.Code != "" {
			_, err := p.h.svc.AdminUnit(ctx, u.Code)
			switch {
			case err == nil:
				pre = append(pre, FieldError{Field: "code", Code: CodeDuplicate, Message: fmt.Sprintf("Đã có đơn vị hành chính mã %s.", u.Code)})
			case !errors.Is(err, ErrNotFound):
				p.fail(w, r, err)
				return
			}
		}
	} else {
		stored, err := p.h.svc.AdminUnit(ctx, r.PathValue("code"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		u.Code = stored.Code
	}
	var err error
	var saved AdminUnit
	if len(pre) > 0 {
		u.Normalize()
		err = u.Validate() // to show every problem at once; nothing is saved
	} else {
		saved, err = p.h.svc.SaveAdminUnit(ctx, u)
	}
	if fe, invalid := collectErrors(i18n.FromRequest(r), unitLabels, nil, pre, err); invalid {
		p.renderUnit(w, r, http.StatusUnprocessableEntity, unitEditView{formErrors: fe, New: isNew, U: u, Successors: r.PostForm.Get("successors")})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.unit.saved")
	http.Redirect(w, r, "/admin/catalog/units/"+url.PathEscape(saved.Code), http.StatusSeeOther)
}

// ---- agencies and their units -------------------------------------------------------

// agencyLabels are the inputs of the agency forms (edit and rename) and their labels.
var agencyLabels = map[string]string{
	"eid": "catalog.ui.agency.eid", "name": "catalog.ui.agency.name", "short_name": "catalog.ui.agency.short_name",
	"kind": "catalog.ui.agency.kind", "level": "catalog.ui.agency.level", "parent_eid": "catalog.ui.agency.parent",
	"admin_unit_code": "catalog.ui.agency.admin_unit", "effective_from": "catalog.ui.effective_from",
	"effective_to": "catalog.ui.agency.effective_to", "new_eid": "catalog.ui.agency.new_eid",
	"address": "catalog.ui.contact.address", "phone": "catalog.ui.contact.phone", "email": "catalog.ui.contact.email",
	"website": "catalog.ui.contact.website", "opening_hours": "catalog.ui.contact.opening_hours",
}

// agencyLevels are the levels an agency may have.
var agencyLevels = []Level{LevelProvince, LevelCommune}

// agencyBranch is an agency in the tree of the agency list, with the agencies
// and units directly under it.
type agencyBranch struct {
	A        Agency
	State    string
	Children []*agencyBranch
	lang     i18n.Lang
}

// T translates key into the page's language, for the recursive tree template,
// which does not see the page.
func (b *agencyBranch) T(key string) string { return i18n.T(b.lang, key) }

// agencyRow is a search result of the agency list.
type agencyRow struct {
	A          Agency
	State      string
	ParentName string
}

type agencyListView struct {
	listFilters
	Tree  []*agencyBranch // without search text
	Found []agencyRow     // with search text, best match first
	Total int
}

func (p *Pages) agencyList(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	ctx := r.Context()
	v := agencyListView{listFilters: readFilters(r, agencyLevels)}
	list, err := p.h.svc.Agencies(ctx, AgencyQuery{IncludeHistory: v.History, Level: v.Level, Text: v.Text})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Total = len(list)
	today := p.h.svc.Today()
	if v.Text != "" {
		all, err := p.h.svc.Agencies(ctx, AgencyQuery{IncludeHistory: true})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		names := map[string]string{}
		for _, a := range all {
			names[a.EID] = a.Name
		}
		for _, a := range list {
			v.Found = append(v.Found, agencyRow{A: a, State: lifeState(a.EffectiveFrom, a.EffectiveTo, today), ParentName: names[a.ParentEID]})
		}
	} else {
		v.Tree = agencyTree(list, today, i18n.FromRequest(r))
	}
	p.shell.Render(w, r, p.pages["admin_agencies"], http.StatusOK, v)
}

// agencyTree arranges agencies under their parents, keeping the list's order
// (by e-ID) among siblings. An agency whose parent is not in the list (none,
// or filtered out) is a root.
func agencyTree(list []Agency, today calendar.Date, lang i18n.Lang) []*agencyBranch {
	nodes := make(map[string]*agencyBranch, len(list))
	for _, a := range list {
		nodes[a.EID] = &agencyBranch{A: a, State: lifeState(a.EffectiveFrom, a.EffectiveTo, today), lang: lang}
	}
	var roots []*agencyBranch
	for _, a := range list {
		n := nodes[a.EID]
		if parent, ok := nodes[a.ParentEID]; ok && parent != n {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	// Parent links form a tree (the service refuses cycles); should bad data
	// hold one, its members are shown as roots instead of being lost.
	reached := map[*agencyBranch]bool{}
	var mark func(n *agencyBranch)
	mark = func(n *agencyBranch) {
		if reached[n] {
			return
		}
		reached[n] = true
		for _, c := range n.Children {
			mark(c)
		}
	}
	for _, n := range roots {
		mark(n)
	}
	for _, a := range list {
		if n := nodes[a.EID]; !reached[n] {
			n.Children = nil
			roots = append(roots, n)
		}
	}
	return roots
}

// agencyEditView is the agency page: the agency as stored, its units, the
// edit form (holding what was typed) and the rename form.
type agencyEditView struct {
	formErrors
	New          bool
	A            Agency // the edit form's values
	Stored       Agency
	State        string
	ParentName   string
	UnitName     string
	Children     []Agency
	Parents      []Agency
	Units        []AdminUnit
	Levels       []Level
	Kinds        []AgencyKind
	NewEID       string
	RenameErrors formErrors
}

func (p *Pages) renderAgency(w http.ResponseWriter, r *http.Request, status int, v agencyEditView) {
	ctx := r.Context()
	all, err := p.h.svc.Agencies(ctx, AgencyQuery{IncludeHistory: true})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	units, err := p.h.svc.AdminUnits(ctx, AdminUnitQuery{IncludeHistory: true})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Levels, v.Kinds = agencyLevels, []AgencyKind{KindAgency, KindUnit}
	for _, u := range units {
		if u.Level == LevelProvince || u.Level == LevelCommune {
			v.Units = append(v.Units, u)
		}
	}
	for _, a := range all {
		if v.New || a.EID != v.Stored.EID {
			v.Parents = append(v.Parents, a)
		}
	}
	if !v.New {
		today := p.h.svc.Today()
		v.State = lifeState(v.Stored.EffectiveFrom, v.Stored.EffectiveTo, today)
		for _, a := range all {
			switch {
			case a.EID == v.Stored.ParentEID:
				v.ParentName = a.Name
			case a.ParentEID == v.Stored.EID:
				v.Children = append(v.Children, a)
			}
		}
		for _, u := range units {
			if u.Code == v.Stored.AdminUnitCode {
				v.UnitName = u.FullName()
			}
		}
	}
	p.shell.Render(w, r, p.pages["admin_agency_edit"], status, v)
}

func (p *Pages) agencyNew(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	a := Agency{Kind: KindAgency, Level: LevelProvince, EffectiveFrom: p.h.svc.Today()}
	// "Add a unit" links from an agency page name the parent.
	if parent, err := p.h.svc.Agency(r.Context(), upperCode(r.URL.Query().Get("parent"))); err == nil {
		a.ParentEID, a.Kind, a.Level = parent.EID, KindUnit, parent.Level
	}
	p.renderAgency(w, r, http.StatusOK, agencyEditView{New: true, A: a})
}

// agencyDetail shows an agency. A former e-ID leads to the agency's page
// under its current e-ID.
func (p *Pages) agencyDetail(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	a, err := p.h.svc.Agency(r.Context(), r.PathValue("eid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if a.EID != r.PathValue("eid") {
		http.Redirect(w, r, "/admin/catalog/agencies/"+url.PathEscape(a.EID), http.StatusSeeOther)
		return
	}
	p.renderAgency(w, r, http.StatusOK, agencyEditView{A: a, Stored: a})
}

// agencyFromForm reads the agency form; bad dates are returned as field errors.
func agencyFromForm(f url.Values) (Agency, []FieldError) {
	var bad []FieldError
	a := Agency{EID: upperCode(f.Get("eid")), Name: f.Get("name"), ShortName: f.Get("short_name"), Kind: AgencyKind(f.Get("kind")),
		Level: Level(f.Get("level")), ParentEID: upperCode(f.Get("parent_eid")), AdminUnitCode: upperCode(f.Get("admin_unit_code")),
		EffectiveFrom: formDate(f, "effective_from", &bad), EffectiveTo: formDate(f, "effective_to", &bad),
		Address: f.Get("address"), Phone: f.Get("phone"), Email: f.Get("email"), Website: f.Get("website"),
		OpeningHours: f.Get("opening_hours")}
	return a, bad
}

// agencySave creates an agency or unit (POST /admin/catalog/agencies) or
// updates the one at the path. Its e-IDs do not change here: see agencyRename.
func (p *Pages) agencySave(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") || !p.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	a, pre := agencyFromForm(r.PostForm)
	isNew := r.PathValue("eid") == ""
	var stored Agency
	if isNew {
		if a.EID != "" {
			other, err := p.h.svc.Agency(ctx, a.EID)
			switch {
			case err == nil && other.EID == a.EID:
				pre = append(pre, FieldError{Field: "eid", Code: CodeDuplicate, Message: fmt.Sprintf("Đã có cơ quan mã %s (%s).", a.EID, other.Name)})
			case err == nil:
				pre = append(pre, FieldError{Field: "eid", Code: CodeDuplicate,
					Message: fmt.Sprintf("Mã định danh %s là mã cũ của %s (nay là %s); không thể dùng lại.", a.EID, other.Name, other.EID)})
			case !errors.Is(err, ErrNotFound):
				p.fail(w, r, err)
				return
			}
		}
	} else {
		var err error
		if stored, err = p.h.svc.Agency(ctx, r.PathValue("eid")); err != nil {
			p.fail(w, r, err)
			return
		}
		a.EID, a.FormerEIDs = stored.EID, stored.FormerEIDs
	}
	var err error
	var saved Agency
	if len(pre) > 0 {
		a.Normalize()
		err = a.Validate()
	} else {
		saved, err = p.h.svc.SaveAgency(ctx, a)
	}
	if fe, invalid := collectErrors(i18n.FromRequest(r), agencyLabels, nil, pre, err); invalid {
		p.renderAgency(w, r, http.StatusUnprocessableEntity, agencyEditView{formErrors: fe, New: isNew, A: a, Stored: stored})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.agency.saved")
	http.Redirect(w, r, "/admin/catalog/agencies/"+url.PathEscape(saved.EID), http.StatusSeeOther)
}

// agencyRename gives the agency at the path a new e-ID; the current one
// becomes a former e-ID and keeps resolving to it.
func (p *Pages) agencyRename(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") || !p.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	stored, err := p.h.svc.Agency(ctx, r.PathValue("eid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	newEID := upperCode(r.PostForm.Get("new_eid"))
	var pre []FieldError
	switch {
	case newEID == "":
		pre = append(pre, FieldError{Field: "new_eid", Code: CodeRequired, Message: "Không được để trống."})
	case newEID == stored.EID:
		pre = append(pre, FieldError{Field: "new_eid", Code: CodeDuplicate, Message: "Mã mới trùng mã hiện tại."})
	default:
		// E-IDs in use, or once used, are refused here with a clearer
		// reason than the service's (which would speak of former e-IDs).
		other, err := p.h.svc.Agency(ctx, newEID)
		switch {
		case err == nil && other.EID == stored.EID:
			pre = append(pre, FieldError{Field: "new_eid", Code: CodeDuplicate,
				Message: fmt.Sprintf("Mã định danh %s là mã cũ của chính cơ quan này; mã đã dùng không được cấp lại.", newEID)})
		case err == nil && other.EID == newEID:
			pre = append(pre, FieldError{Field: "new_eid", Code: CodeDuplicate, Message: fmt.Sprintf("Mã định danh %s đã thuộc về %s.", newEID, other.Name)})
		case err == nil:
			pre = append(pre, FieldError{Field: "new_eid", Code: CodeDuplicate,
				Message: fmt.Sprintf("Mã định danh %s là mã cũ của %s (nay là %s); mã đã dùng không được cấp lại.", newEID, other.Name, other.EID)})
		case err != nil && !errors.Is(err, ErrNotFound):
			p.fail(w, r, err)
			return
		}
	}
	var saved Agency
	if len(pre) == 0 {
		saved, err = p.h.svc.RenameAgency(ctx, stored.EID, newEID)
	}
	// Every problem of a rename is about the new e-ID.
	toNew := func(string) string { return "new_eid" }
	if fe, invalid := collectErrors(i18n.FromRequest(r), agencyLabels, toNew, pre, err); invalid {
		p.renderAgency(w, r, http.StatusUnprocessableEntity, agencyEditView{A: stored, Stored: stored, NewEID: newEID, RenameErrors: fe})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.agency.renamed")
	http.Redirect(w, r, "/admin/catalog/agencies/"+url.PathEscape(saved.EID), http.StatusSeeOther)
}

// ---- fields ---------------------------------------------------------------------------

var fieldLabels = map[string]string{"code": "catalog.ui.fields.code", "name": "catalog.ui.fields.name"}

type fieldListView struct {
	Fields []Field
}

func (p *Pages) fieldList(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	fields, err := p.h.svc.Fields(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["admin_fields"], http.StatusOK, fieldListView{Fields: fields})
}

type fieldEditView struct {
	formErrors
	New bool
	F   Field
}

func (p *Pages) fieldNew(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	p.shell.Render(w, r, p.pages["admin_field_edit"], http.StatusOK, fieldEditView{New: true})
}

func (p *Pages) fieldEdit(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	f, err := p.h.svc.Field(r.Context(), r.PathValue("code"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["admin_field_edit"], http.StatusOK, fieldEditView{F: f})
}

// fieldSave creates a field (POST /admin/catalog/fields) or renames the one
// at the path; its code does not change.
func (p *Pages) fieldSave(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") || !p.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	f := Field{Code: strings.TrimSpace(r.PostForm.Get("code")), Name: r.PostForm.Get("name")}
	isNew := r.PathValue("code") == ""
	var pre []FieldError
	if isNew {
		if f.Code != "" {
			old, err := p.h.svc.Field(ctx, f.Code)
			switch {
			case err == nil:
				pre = append(pre, FieldError{Field: "code", Code: CodeDuplicate, Message: fmt.Sprintf("Đã có lĩnh vực mã %s (%s).", f.Code, old.Name)})
			case !errors.Is(err, ErrNotFound):
				p.fail(w, r, err)
				return
			}
		}
	} else {
		stored, err := p.h.svc.Field(ctx, r.PathValue("code"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		f.Code = stored.Code
	}
	var err error
	if len(pre) > 0 {
		f.Normalize()
		err = f.Validate()
	} else {
		_, err = p.h.svc.SaveField(ctx, f)
	}
	if fe, invalid := collectErrors(i18n.FromRequest(r), fieldLabels, nil, pre, err); invalid {
		p.shell.Render(w, r, p.pages["admin_field_edit"], http.StatusUnprocessableEntity, fieldEditView{formErrors: fe, New: isNew, F: f})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.fields.saved")
	http.Redirect(w, r, "/admin/catalog/fields", http.StatusSeeOther)
}
