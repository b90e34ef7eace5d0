package calendardb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
)

// DefaultPollInterval is how often [Provider.Run] checks for edits made on
// other nodes when ProviderConfig.PollInterval is zero.
const DefaultPollInterval = 30 * time.Second

// ProviderConfig configures a [Provider].
type ProviderConfig struct {
	// Options configure every Calendar built (office hours, weekend, time
	// zone). Their Announcements rank below the stored ones of the same year;
	// IgnoreShipped drops the shipped announcements.
	Options calendar.Options
	// PollInterval is how often Run checks the revision; zero means
	// DefaultPollInterval.
	PollInterval time.Duration
	// Logger receives load errors and skipped rows; nil means slog.Default().
	Logger *slog.Logger
}

// Provider holds the current working-day calendar of the installation and
// rebuilds it when the stored announcements change. It is safe for
// concurrent use.
type Provider struct {
	store *Store
	cfg   ProviderConfig

	// base lists the announcements below the stored ones: configured first,
	// then shipped years not configured.
	base []Record

	cur atomic.Pointer[snapshot]

	mu  sync.Mutex // serialises loads, so that rev only grows
	rev int64      // revision of the last successful load; under mu

	// ticks, when set by a test, replaces Run's ticker.
	ticks <-chan time.Time
}

// snapshot is what one load produced; immutable.
type snapshot struct {
	cal     *calendar.Calendar
	records map[int]Record // the announcement governing each year that has one
}

// NewProvider loads the stored announcements from store and builds the
// first Calendar. It fails if the options are unusable or the database
// cannot be read.
func NewProvider(ctx context.Context, store *Store, cfg ProviderConfig) (*Provider, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Options.Announcements = slices.Clone(cfg.Options.Announcements)
	p := &Provider{store: store, cfg: cfg}
	configured := map[int]bool{}
	for _, a := range cfg.Options.Announcements {
		configured[a.Year] = true
		p.base = append(p.base, Record{Year: a.Year, Origin: OriginConfigured, Announcement: a})
	}
	if !cfg.Options.IgnoreShipped {
		shipped, err := calendar.ShippedAnnouncements()
		if err != nil {
			return nil, fmt.Errorf("new calendar provider: %w", err)
		}
		for _, a := range shipped {
			if !configured[a.Year] {
				p.base = append(p.base, Record{Year: a.Year, Origin: OriginShipped, Announcement: a})
			}
		}
	}
	if err := p.Reload(ctx); err != nil {
		return nil, fmt.Errorf("new calendar provider: %w", err)
	}
	return p, nil
}

// Calendar returns the current calendar. It never blocks and never returns
// nil; the Calendar returned does not change, a later edit gives a new one.
func (p *Provider) Calendar() *calendar.Calendar { return p.cur.Load().cal }

// Store returns the store the provider reads.
func (p *Provider) Store() *Store { return p.store }

// Governing returns the announcement that governs year in the current
// calendar (stored, configured or shipped), and false when the year follows
// the default rule.
func (p *Provider) Governing(year int) (Record, bool) {
	r, ok := p.cur.Load().records[year]
	return r, ok
}

// List returns, by year, the announcement of each year that has one, read
// afresh from the database: the stored ones and, for the other years, the
// configured or shipped ones.
func (p *Provider) List(ctx context.Context) ([]Record, error) {
	stored, err := p.store.List(ctx)
	if err != nil {
		return nil, err
	}
	return merge(stored, p.base), nil
}

// Get returns the announcement of year read afresh: the stored one, else the
// configured or shipped one, else an error wrapping [ErrNotFound].
func (p *Provider) Get(ctx context.Context, year int) (Record, error) {
	r, err := p.store.Get(ctx, year)
	if !errors.Is(err, ErrNotFound) {
		return r, err
	}
	for _, b := range p.base {
		if b.Year == year {
			return b, nil
		}
	}
	return Record{}, err
}

// Put stores a like [Store.Put] and rebuilds the calendar before returning.
// Once the write commits Put reports success: a failed rebuild is logged and
// retried by the next Refresh.
func (p *Provider) Put(ctx context.Context, a calendar.Announcement, actor string) (Record, error) {
	r, err := p.store.Put(ctx, a, actor)
	if err != nil {
		return Record{}, err
	}
	p.reloadAfterWrite(ctx)
	return r, nil
}

// PutIfVersion stores a like [Store.PutIfVersion] and rebuilds the calendar
// before returning.
func (p *Provider) PutIfVersion(ctx context.Context, a calendar.Announcement, actor string, version int64) (Record, error) {
	r, err := p.store.PutIfVersion(ctx, a, actor, version)
	if err != nil {
		return Record{}, err
	}
	p.reloadAfterWrite(ctx)
	return r, nil
}

// Delete deletes the stored announcement of year like [Store.Delete] and
// rebuilds the calendar before returning.
func (p *Provider) Delete(ctx context.Context, year int, actor string) error {
	if err := p.store.Delete(ctx, year, actor); err != nil {
		return err
	}
	p.reloadAfterWrite(ctx)
	return nil
}

// reloadAfterWrite rebuilds the calendar after a committed write. The write
// stands even if the rebuild fails, so the failure is logged rather than
// returned; the revision was not recorded, so the next Refresh retries.
func (p *Provider) reloadAfterWrite(ctx context.Context) {
	// The caller going away must not leave this node on the old calendar.
	if err := p.Reload(context.WithoutCancel(ctx)); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "calendar: rebuild after a write", "err", err)
	}
}

// Refresh reloads the announcements if the revision changed since the last
// load, and reports whether it did. Run calls it every poll interval.
func (p *Provider) Refresh(ctx context.Context) (bool, error) {
	rev, err := p.store.Revision(ctx)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rev == p.rev {
		return false, nil
	}
	if err := p.load(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Reload rebuilds the calendar from the database unconditionally. On error
// the current calendar stays.
func (p *Provider) Reload(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.load(ctx)
}

// load builds a new snapshot; p.mu is held. The revision is read before the
// rows, so a write that commits in between is seen again at the next
// Refresh rather than missed.
func (p *Provider) load(ctx context.Context) error {
	rev, err := p.store.Revision(ctx)
	if err != nil {
		return err
	}
	stored, err := p.store.List(ctx)
	if err != nil {
		return err
	}
	usable := stored[:0:0]
	for _, r := range stored {
		if err := Validate(r.Announcement); err != nil {
			p.cfg.Logger.ErrorContext(ctx, "calendar: stored announcement skipped", "year", r.Year, "err", err)
			continue
		}
		usable = append(usable, r)
	}
	records := map[int]Record{}
	opts := p.cfg.Options
	opts.Announcements = nil
	for _, r := range merge(usable, p.base) {
		records[r.Year] = r
		if r.Origin != OriginShipped {
			opts.Announcements = append(opts.Announcements, r.Announcement)
		}
	}
	cal, err := calendar.New(opts)
	if err != nil {
		return fmt.Errorf("build calendar: %w", err)
	}
	p.cur.Store(&snapshot{cal: cal, records: records})
	p.rev = rev
	return nil
}

// merge returns stored and, for the years stored lacks, base, by year.
func merge(stored, base []Record) []Record {
	out := slices.Clone(stored)
	have := map[int]bool{}
	for _, r := range stored {
		have[r.Year] = true
	}
	for _, b := range base {
		if !have[b.Year] {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b Record) int { return a.Year - b.Year })
	return out
}

// Run calls Refresh every poll interval until ctx is cancelled, then returns
// nil, so that edits made on other nodes reach this one. Errors are logged
// and retried at the next tick.
func (p *Provider) Run(ctx context.Context) error {
	ticks := p.ticks
	if ticks == nil {
		t := time.NewTicker(p.cfg.PollInterval)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
			if _, err := p.Refresh(ctx); err != nil && ctx.Err() == nil {
				p.cfg.Logger.ErrorContext(ctx, "calendar: refresh", "err", err)
			}
		}
	}
}
