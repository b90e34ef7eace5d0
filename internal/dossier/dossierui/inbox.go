package dossierui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/workflow"
)

// inboxPageSize is the number of rows of an inbox page: enough for a
// morning's queue, small enough for a cheap phone.
const inboxPageSize = 25

// inboxTab is one of the four inboxes with its count.
type inboxTab struct {
	Kind    workflow.InboxKind
	Label   string // i18n key
	Count   int
	URL     string
	Current bool
}

// inboxRow is one piece of work.
type inboxRow struct {
	Code          string
	ProcedureName string
	ApplicantName string
	Step          string
	Branch        string
	Unit          string
	Assignee      string
	DueAt         time.Time
	SLA           sla
}

type inboxView struct {
	Tabs     []inboxTab
	Kind     workflow.InboxKind
	Rows     []inboxRow
	NextURL  string
	FirstURL string
	Code     string
	CodeErr  bool
}

var inboxKinds = []workflow.InboxKind{workflow.InboxQueue, workflow.InboxAssigned, workflow.InboxNearBreach, workflow.InboxOverdue}

func (p *Pages) inbox(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work", dossier.ActionView, identity.ActionDossierReceive)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	v := inboxView{Kind: workflow.InboxKind(q.Get("tab"))}
	// A dossier code typed in the search box opens the dossier.
	if code := strings.ToUpper(strings.TrimSpace(q.Get("code"))); code != "" {
		if dossier.ValidCode(code) {
			http.Redirect(w, r, "/work/dossiers/"+url.PathEscape(code), http.StatusSeeOther)
			return
		}
		v.Code, v.CodeErr = q.Get("code"), true
	}
	if !slices.Contains(inboxKinds, v.Kind) {
		v.Kind = workflow.InboxQueue
	}
	actor := dossier.ActorOf(pr)
	counts, err := p.wf.InboxCounts(ctx, actor, p.now())
	if err != nil {
		p.fail(w, r, "/work", err)
		return
	}
	for _, k := range inboxKinds {
		t := inboxTab{Kind: k, Label: "dossierui.inbox.tab." + string(k), URL: "/work?tab=" + string(k), Current: k == v.Kind}
		switch k {
		case workflow.InboxQueue:
			t.Count = counts.Queue
		case workflow.InboxAssigned:
			t.Count = counts.Assigned
		case workflow.InboxNearBreach:
			t.Count = counts.NearBreach
		case workflow.InboxOverdue:
			t.Count = counts.Overdue
		}
		v.Tabs = append(v.Tabs, t)
	}
	after := q.Get("after")
	if len(after) > 500 {
		after = ""
	}
	now := p.now()
	page, err := p.svc.Inbox(ctx, pr, workflow.InboxQuery{Kind: v.Kind, Now: now, Limit: inboxPageSize, After: after})
	if err != nil && after != "" {
		// A cursor from an old bookmark: start again from the first page.
		after = ""
		page, err = p.svc.Inbox(ctx, pr, workflow.InboxQuery{Kind: v.Kind, Now: now, Limit: inboxPageSize})
	}
	if err != nil {
		p.fail(w, r, "/work", err)
		return
	}
	lang := i18n.FromRequest(r)
	defs := p.defs(ctx)
	nm := p.names(ctx)
	sums := p.summaries(ctx, pr, page.Items)
	for _, it := range page.Items {
		row := inboxRow{Code: it.CaseID, Branch: it.Branch, Unit: nm.Unit(it.Unit), Assignee: nm.Person(it.Assignee), DueAt: it.DueAt,
			Step: stateName(lang, defs.get(it.DefinitionKey, 0), it.State),
			SLA:  badge(now, it.DueAt, it.WarnAt, false)}
		if s, ok := sums[it.CaseID]; ok {
			row.ProcedureName, row.ApplicantName = s.ProcedureName, s.ApplicantName
		}
		v.Rows = append(v.Rows, row)
	}
	if page.Next != "" {
		v.NextURL = "/work?tab=" + string(v.Kind) + "&after=" + url.QueryEscape(page.Next)
	}
	if after != "" {
		v.FirstURL = "/work?tab=" + string(v.Kind)
	}
	p.shell.Render(w, r, p.pages["inbox"], http.StatusOK, v)
}

// summaries finds the procedure and applicant of each work item.
//
// The dossier API has no batch lookup by codes yet, so this asks List for
// each code (one indexed query per row; a page has at most inboxPageSize
// rows). A dossier the viewer may not list keeps empty names.
func (p *Pages) summaries(ctx context.Context, pr *identity.Principal, items []workflow.WorkItem) map[string]dossier.Summary {
	out := make(map[string]dossier.Summary, len(items))
	units, all := identity.UnitsFor(pr, dossier.ActionView)
	for _, it := range items {
		if _, done := out[it.CaseID]; done {
			continue
		}
		q := dossier.ListQuery{Actor: pr, Text: it.CaseID, Limit: 1}
		switch {
		case all:
		case slices.Contains(units, it.Unit):
			q.Unit = it.Unit
		case len(units) > 0:
			q.Unit = units[0]
		default:
			continue
		}
		page, err := p.svc.List(ctx, q)
		if err != nil || len(page.Items) == 0 {
			continue
		}
		out[it.CaseID] = page.Items[0]
	}
	return out
}
