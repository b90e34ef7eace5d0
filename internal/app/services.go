package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/dossierui"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/payment/paygov"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/portal"
	"github.com/congso/congso/internal/postal"
	"github.com/congso/congso/internal/postal/vnpost"
	"github.com/congso/congso/internal/web"
)

// services are the applicant-facing capabilities around the dossier
// module: the personal data store, notifications, payment, postal
// delivery, the national-portal link and the portal pages. Payment, postal
// and the national portal are external systems: each is on only when its
// address is configured, and absent from the UI otherwise.
type services struct {
	DataStore *datastore.Service
	Notify    *notify.Service
	Payment   *payment.Service
	Postal    *postal.Service
	National  *nationalportal.Service

	paymentSettings  payment.Settings
	postalSettings   postal.Settings
	nationalSettings nationalportal.Settings
}

// getenv reads the modules' own CONGSO_* settings (documented in
// docs/configuration.md).
var getenv = os.Getenv

func (a *App) initServices(ctx context.Context) error {
	var err error
	a.DataStore, err = datastore.New(a.DB, datastore.Config{Blobs: a.Blobs, Dossiers: a.Dossier, Agencies: a.Catalog,
		MaxUploadBytes: a.Cfg.MaxUploadBytes})
	if err != nil {
		return fmt.Errorf("datastore: %w", err)
	}
	a.DataStore.Subscribe(a.Outbox)

	ncfg, err := notify.ConfigFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	ncfg.BaseURL, ncfg.Logger = a.Cfg.BaseURL, a.Log
	if ncfg.Sender == "" || getenv("CONGSO_NOTIFY_SENDER") == "" {
		ncfg.Sender = "Cổng Dịch vụ công " + a.Cfg.ProvinceName
	}
	a.Notify, err = notify.New(a.DB, ncfg, notify.Deps{Dossiers: notifyFacts{a.Dossier}, Accounts: notifyAccounts{a.Identity}})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	a.Notify.Subscribe(a.Outbox)

	if a.paymentSettings, err = payment.SettingsFromEnv(getenv); err != nil {
		return fmt.Errorf("payment: %w", err)
	}
	if s := a.paymentSettings; s.Enabled() {
		a.Payment, err = payment.New(a.DB, payment.Config{Dossiers: paymentDossiers{a.Dossier},
			Platform:     &paygov.Client{BaseURL: s.URL, MerchantCode: s.MerchantCode, Secret: []byte(s.Secret)},
			MerchantCode: s.MerchantCode, Secret: []byte(s.Secret), LinkKey: []byte(s.LinkKey), BaseURL: a.Cfg.BaseURL,
			IPNURL: s.IPNURL, Expiry: s.Expiry, QueryAfter: s.QueryAfter, Logger: a.Log})
		if err != nil {
			return fmt.Errorf("payment: %w", err)
		}
		a.workers = append(a.workers, worker{name: "payment-sync", run: every(s.SyncEvery, func(ctx context.Context) error {
			_, err := a.Payment.SyncPending(ctx)
			return err
		}, a)}, worker{name: "payment-reconcile", run: a.dailyAt(s.ReconcileAt, func(ctx context.Context, day calendar.Date) error {
			_, err := a.Payment.Reconcile(ctx, day.AddDays(-1).String())
			return err
		})})
	}

	if a.postalSettings, err = postal.SettingsFromEnv(getenv); err != nil {
		return fmt.Errorf("postal: %w", err)
	}
	if s := a.postalSettings; s.Enabled() {
		a.Postal, err = postal.New(a.DB, postal.Config{Carrier: &vnpost.Client{BaseURL: s.URL, PartnerCode: s.PartnerCode, Secret: []byte(s.Secret)},
			PartnerCode: s.PartnerCode, Secret: []byte(s.Secret), QueryAfter: s.QueryAfter, Logger: a.Log,
			CanView: func(ctx context.Context, p *identity.Principal, code string) bool {
				_, err := a.Dossier.Get(ctx, code, p)
				return err == nil
			}})
		if err != nil {
			return fmt.Errorf("postal: %w", err)
		}
		ship := a.Postal.ResultReadyHandler(postalDeliveries{a})
		a.Outbox.Subscribe(dossier.TopicTransition, "postal.ship", func(ctx context.Context, ev outbox.Event) error {
			var de dossier.Event
			if err := ev.Decode(&de); err != nil {
				return err
			}
			if de.Status != dossier.StatusResultReady || de.From == de.To {
				return nil
			}
			return ship(ctx, ev)
		})
		a.workers = append(a.workers, worker{name: "postal-sync", run: every(s.SyncEvery, func(ctx context.Context) error {
			_, err := a.Postal.Sync(ctx)
			return err
		}, a)})
	}

	if a.nationalSettings, err = nationalportal.SettingsFromEnv(getenv); err != nil {
		return fmt.Errorf("national portal: %w", err)
	}
	if s := a.nationalSettings; s.Enabled {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("national portal: %w", err)
		}
		client := nationalportal.NewClient(nationalportal.ClientConfig{URL: s.URL, Username: s.Username, Password: s.Password,
			Unit: s.Unit, Timeout: s.Timeout})
		a.National, err = nationalportal.New(a.DB, nationalportal.Config{Dossiers: a.Dossier, Portal: client,
			InboundAgency: s.InboundAgency, InboundUnit: s.InboundUnit, InboundDesks: s.InboundDesks, People: a.Identity, Logger: a.Log,
			Queue: a.Outbox.Stats, BackfillPage: s.BackfillPage, BackfillPause: s.BackfillPause, ReconcileInterval: s.ReconcileInterval})
		if err != nil {
			return fmt.Errorf("national portal: %w", err)
		}
		a.National.Subscribe(a.Outbox)
		// Reconciliation and backfill steps are durable timers: one node
		// runs each when due, also after a restart.
		a.National.HandleTimers(a.Timers)
		if err := a.National.ScheduleReconciliation(ctx); err != nil {
			return fmt.Errorf("national portal: %w", err)
		}
		if s.PullInterval > 0 {
			a.workers = append(a.workers, worker{name: "national-portal-pull", run: func(ctx context.Context) error {
				a.National.RunPull(ctx, s.PullInterval)
				return ctx.Err()
			}})
		}
	}
	return nil
}

// indexSources are the other modules' metrics of the 766 index.
func (a *App) indexSources() []stats.MetricSource {
	src := []stats.MetricSource{
		func(ctx context.Context, agency string, from, to time.Time) (stats.Metrics, error) {
			return a.Dossier.RatingMetrics(ctx, agency, from, to)
		},
		func(ctx context.Context, agency string, from, to time.Time) (stats.Metrics, error) {
			loc := calendar.Default().Location()
			list, err := a.DataStore.Counts(ctx, datastore.CountsQuery{Agency: agency,
				From: calendar.DateOf(from.In(loc)), To: calendar.DateOf(to.In(loc))})
			if err != nil {
				return nil, err
			}
			m := stats.Metrics{"dossiers_digitized": 0, "results_electronic": 0, "dossiers_reused": 0}
			for _, c := range list {
				m["dossiers_digitized"] += float64(c.DossiersDigitized)
				m["results_electronic"] += float64(c.DossiersWithResult)
				m["dossiers_reused"] += float64(c.DossiersReusing)
			}
			return m, nil
		},
	}
	return src
}

func (a *App) routeServices(mux *http.ServeMux, catPages *catalog.Pages) error {
	datastore.NewHandlers(a.DataStore).Routes(mux)
	dsPages, err := datastore.NewPages(a.DataStore, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	dsPages.Routes(mux)
	a.Shell.AddNav(datastore.NavItems()...)
	a.Web.Cards = append(a.Web.Cards, datastore.HomeCards()...)

	notify.NewHandlers(a.Notify).Routes(mux)
	nPages, err := notify.NewPages(a.Notify, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	nPages.Routes(mux)
	a.Shell.AddNav(notify.NavItems()...)

	pcfg := portal.Config{Dossiers: a.Dossier, Catalog: a.Catalog, DB: a.DB, Shell: a.Shell, ErrorPage: a.Web.ErrorPage,
		DeskAgency: a.Cfg.PortalDeskAgency, DeskUnit: a.Cfg.PortalDeskUnit, Profiles: a.Identity, Stats: a.Stats,
		Documents: portalDocuments{a.DataStore}}
	if a.Payment != nil {
		payment.NewHandlers(a.Payment).Routes(mux)
		a.Shell.AddNav(payment.NavItems()...)
		pcfg.PayURL = func(code string, n int) string {
			return "/payment/dossiers/" + code + "/fees/" + strconv.Itoa(n) + "/pay"
		}
	}
	if a.Postal != nil {
		postal.NewHandlers(a.Postal).Routes(mux)
		pcfg.PostalDelivery = true
		pcfg.Shipments = func(ctx context.Context, code string) ([]portal.Shipment, error) {
			ss, err := a.Postal.ForDossier(ctx, code)
			if err != nil {
				return nil, err
			}
			out := make([]portal.Shipment, 0, len(ss))
			for _, s := range ss {
				out = append(out, portal.Shipment{TrackingCode: s.TrackingCode, Status: s.Status.Label(), At: s.StatusAt})
			}
			return out, nil
		}
	}
	if a.National != nil {
		h := nationalportal.NewHandlers(a.National, a.Outbox.Stats)
		h.Routes(mux)
		np, err := nationalportal.NewPages(h, a.Shell, a.Web.ErrorPage)
		if err != nil {
			return err
		}
		np.Routes(mux)
		a.Shell.AddNav(nationalportal.NavItems()...)
	}
	pp, err := portal.NewPages(pcfg)
	if err != nil {
		return err
	}
	pp.Routes(mux)
	a.Shell.AddNav(portal.NavItems()...)
	a.Web.Cards = append(a.Web.Cards, portal.HomeCards()...)
	if catPages != nil {
		catPages.ApplyURL = portal.ApplyURL
	}
	return nil
}

// every runs f now and then every d until ctx ends, logging failures.
func every(d time.Duration, f func(ctx context.Context) error, a *App) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("periodic job", "err", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

// dailyAt runs f once a day at hh:mm (Vietnam time) with that day's date.
func (a *App) dailyAt(hhmm string, f func(ctx context.Context, day calendar.Date) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		loc := calendar.Default().Location()
		at, err := time.ParseInLocation("15:04", hhmm, loc)
		if err != nil {
			return fmt.Errorf("daily job time %q: %w", hhmm, err)
		}
		for {
			now := time.Now().In(loc)
			next := time.Date(now.Year(), now.Month(), now.Day(), at.Hour(), at.Minute(), 0, 0, loc)
			if !next.After(now) {
				next = next.AddDate(0, 0, 1)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(next)):
			}
			if err := f(ctx, calendar.DateOf(next)); err != nil && ctx.Err() == nil {
				a.Log.Warn("daily job", "err", err)
			}
		}
	}
}

// --- adapters between modules ---

// notifyFacts gives the notify module what its templates need.
type notifyFacts struct{ d *dossier.Service }

func (n notifyFacts) DossierFacts(ctx context.Context, code string) (notify.DossierFacts, error) {
	owner, d, err := n.d.Source(ctx, code)
	if errors.Is(err, dossier.ErrNotFound) {
		return notify.DossierFacts{}, fmt.Errorf("%s: %w", code, notify.ErrNotFound)
	}
	if err != nil {
		return notify.DossierFacts{}, err
	}
	f := notify.DossierFacts{Contact: notify.Contact{AccountID: owner, Name: d.Applicant.Name, Email: d.Applicant.Email,
		Phone: d.Applicant.Phone, Lang: "vi"}, ProcedureName: d.ProcedureName, ReceivedAt: d.ReceivedAt, DueAt: d.DueAt}
	for _, no := range d.Notices {
		nn := notify.Notice{Kind: string(no.Kind), CaseVersion: no.CaseVersion, Reason: no.Reason, NewDue: no.NewDue, PreviousDue: no.PreviousDue}
		for _, df := range no.Defects {
			nn.Items = append(nn.Items, df.Message)
		}
		f.Notices = append(f.Notices, nn)
	}
	for _, fee := range d.Fees {
		f.Fees = append(f.Fees, notify.Fee{Name: fee.Name, Amount: fee.Amount, Paid: fee.Status == dossier.FeePaid, Reference: fee.Reference})
	}
	return f, nil
}

// notifyAccounts gives the notify module a person's contact.
type notifyAccounts struct{ id *identity.Service }

func (n notifyAccounts) AccountContact(ctx context.Context, personID string) (notify.Contact, error) {
	p, err := n.id.GetPerson(ctx, personID)
	if errors.Is(err, identity.ErrNotFound) {
		return notify.Contact{}, fmt.Errorf("%s: %w", personID, notify.ErrNotFound)
	}
	if err != nil {
		return notify.Contact{}, err
	}
	return notify.Contact{AccountID: p.ID, Name: p.FullName, Email: p.Email, Phone: p.Phone, Lang: "vi"}, nil
}

// paymentDossiers is the payment module's view of the dossiers: trusted
// reads, and the right to pay for officials who see the dossier and for
// the applicant who owns it.
type paymentDossiers struct{ d *dossier.Service }

func (p paymentDossiers) Fees(ctx context.Context, code string) ([]dossier.Fee, error) {
	return p.d.Fees(ctx, code)
}

func (p paymentDossiers) MarkFeePaid(ctx context.Context, in dossier.FeePaymentInput) (dossier.Fee, error) {
	return p.d.MarkFeePaid(ctx, in)
}

func (p paymentDossiers) CanView(ctx context.Context, pr *identity.Principal, code string) bool {
	if !pr.Authenticated() {
		return false
	}
	if _, err := p.d.GetMine(ctx, code, pr.PersonID); err == nil {
		return true
	}
	_, err := p.d.Get(ctx, code, pr)
	return err == nil
}

// postalDeliveries tells the postal module where a result goes.
type postalDeliveries struct{ a *App }

func (p postalDeliveries) PostalDelivery(ctx context.Context, code string) (postal.ShipInput, bool, error) {
	_, d, err := p.a.Dossier.Source(ctx, code)
	if err != nil {
		return postal.ShipInput{}, false, err
	}
	if d.ReturnMethod != dossier.ReturnByPost {
		return postal.ShipInput{}, false, nil
	}
	sender := postal.Party{Name: d.ReceivingAgency}
	if ag, err := p.a.Catalog.Agency(ctx, d.ReceivingAgency); err == nil {
		sender.Name = ag.Name
	}
	return postal.ShipInput{DossierCode: d.Code, SenderAgency: d.ReceivingAgency, Sender: sender,
		Recipient: postal.Party{Name: d.Applicant.Name, Phone: d.Applicant.Phone, Address: d.DeliveryAddress}}, true, nil
}

// reuseResolver lets the dossier module attach documents cited from the
// personal data store.
type reuseResolver struct{ a *App }

func (r reuseResolver) ResolveReuse(ctx context.Context, owner, ref string) (string, string, error) {
	if !datastore.IsRef(ref) {
		return "", "", fmt.Errorf("not a data store reference: %q", ref)
	}
	res, err := r.a.DataStore.Resolve(ctx, owner, ref)
	if err != nil {
		return "", "", err
	}
	return res.FileName, res.Hash, nil
}

// portalDocuments offers the applicant's stored documents on the
// application form.
type portalDocuments struct{ s *datastore.Service }

func (p portalDocuments) Candidates(ctx context.Context, owner, docName string) ([]portal.StoredDoc, error) {
	docs, err := p.s.Pick(ctx, owner, datastore.PickQuery{DocType: docName, Limit: 10})
	if err != nil {
		return nil, err
	}
	loc := calendar.Default().Location()
	out := make([]portal.StoredDoc, 0, len(docs))
	for _, d := range docs {
		sd := portal.StoredDoc{Ref: d.Ref(), Name: d.Title, Issuer: d.Issuer.Name, FileName: d.Current.FileName, Hash: d.Current.Hash}
		if !d.Current.IssuedOn.IsZero() {
			sd.IssuedAt = d.Current.IssuedOn.In(loc)
		}
		if !d.Current.ValidUntil.IsZero() {
			sd.ValidTo = d.Current.ValidUntil.In(loc)
		}
		out = append(out, sd)
	}
	return out, nil
}

// relatedSections are what the notification, payment and postal modules
// know of a dossier, for its page in the workspace.
func (a *App) relatedSections(ctx context.Context, code string) ([]dossierui.RelatedSection, error) {
	loc := calendar.Default().Location()
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("15:04 02/01/2006")
	}
	var out []dossierui.RelatedSection
	ds, err := a.Notify.ForDossier(ctx, code)
	if err != nil {
		return nil, err
	}
	sec := dossierui.RelatedSection{ID: "notifications", Title: "dossierui.related.notifications",
		Headers: []string{"dossierui.related.time", "dossierui.related.channel", "dossierui.related.recipient", "dossierui.related.subject", "dossierui.related.status"}}
	for _, d := range ds {
		st := string(d.Status)
		if d.LastError != "" && d.Status != "sent" {
			st += " (" + d.LastError + ")"
		}
		sec.Rows = append(sec.Rows, []string{when(d.CreatedAt), string(d.Channel), d.Recipient, d.Subject, st})
	}
	out = append(out, sec)
	if a.Payment != nil {
		ps, err := a.Payment.ForDossier(ctx, code)
		if err != nil {
			return nil, err
		}
		sec := dossierui.RelatedSection{ID: "payments", Title: "dossierui.related.payments",
			Headers: []string{"dossierui.related.time", "dossierui.related.fee", "dossierui.related.amount", "dossierui.related.status", "dossierui.related.receipt"}}
		for _, p := range ps {
			sec.Rows = append(sec.Rows, []string{when(p.CreatedAt), p.FeeName, web.FormatVND(p.Amount), string(p.Status), p.Receipt()})
		}
		out = append(out, sec)
	}
	if a.Postal != nil {
		ss, err := a.Postal.ForDossier(ctx, code)
		if err != nil {
			return nil, err
		}
		sec := dossierui.RelatedSection{ID: "shipments", Title: "dossierui.related.shipments",
			Headers: []string{"dossierui.related.time", "dossierui.related.tracking", "dossierui.related.recipient", "dossierui.related.status"}}
		for _, s := range ss {
			sec.Rows = append(sec.Rows, []string{when(s.CreatedAt), s.TrackingCode, s.Recipient.Name + ", " + s.Recipient.Address, string(s.Status)})
		}
		out = append(out, sec)
	}
	return out, nil
}
