package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// initPlatform builds the background services every module uses: the outbox
// dispatcher and the timer scheduler. Modules subscribe and register timer
// handlers during initModules; the workers start with Serve.
func (a *App) initPlatform(ctx context.Context) error {
	a.Outbox = outbox.NewDispatcher(a.DB, outbox.Config{Logger: a.Log})
	a.Timers = timer.NewScheduler(a.DB, timer.Config{Logger: a.Log, MaxAttempts: 50})
	a.workers = append(a.workers,
		worker{name: "outbox", run: a.Outbox.Run},
		worker{name: "timers", run: a.Timers.Run},
	)
	return nil
}

// startPlatform registers outbox subscriptions once every module has
// subscribed, before the server accepts requests, so no event published by a
// request misses a subscriber.
func (a *App) startPlatform(ctx context.Context) error {
	return a.Outbox.Register(ctx)
}

// platformCollector exports queue depths and the audit chain head to
// Prometheus, read at scrape time.
type platformCollector struct {
	a                               *App
	outPending, outDead, outLag     *prometheus.Desc
	timPending, timDead, timOverdue *prometheus.Desc
	auditSeq                        *prometheus.Desc
}

func newPlatformCollector() *platformCollector {
	l := []string{"topic", "subscriber"}
	return &platformCollector{
		outPending: prometheus.NewDesc("congso_outbox_deliveries_pending", "Outbox deliveries not yet done.", l, nil),
		outDead:    prometheus.NewDesc("congso_outbox_dead_letters", "Outbox deliveries that failed every attempt.", l, nil),
		outLag:     prometheus.NewDesc("congso_outbox_lag_seconds", "Age of the oldest pending event.", l, nil),
		timPending: prometheus.NewDesc("congso_timers_pending", "Durable timers waiting to fire.", nil, nil),
		timDead:    prometheus.NewDesc("congso_timers_dead", "Timers whose handler failed every attempt.", nil, nil),
		timOverdue: prometheus.NewDesc("congso_timers_overdue_seconds", "How late the earliest pending timer is (0 if none is due).", nil, nil),
		auditSeq:   prometheus.NewDesc("congso_audit_head_seq", "Sequence number of the newest audit entry.", nil, nil),
	}
}

func (c *platformCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.outPending, c.outDead, c.outLag, c.timPending, c.timDead, c.timOverdue, c.auditSeq} {
		ch <- d
	}
}

func (c *platformCollector) Collect(ch chan<- prometheus.Metric) {
	a := metricsApp.Load()
	if a == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	if st, err := a.Outbox.Stats(ctx); err == nil {
		for _, s := range st {
			ch <- prometheus.MustNewConstMetric(c.outPending, prometheus.GaugeValue, float64(s.Pending), s.Topic, s.Name)
			ch <- prometheus.MustNewConstMetric(c.outDead, prometheus.GaugeValue, float64(s.Dead), s.Topic, s.Name)
			lag := 0.0
			if !s.OldestPending.IsZero() {
				lag = now.Sub(s.OldestPending).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(c.outLag, prometheus.GaugeValue, lag, s.Topic, s.Name)
		}
	}
	if st, err := a.Timers.Stats(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.timPending, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(c.timDead, prometheus.GaugeValue, float64(st.Dead))
		over := 0.0
		if !st.NextDue.IsZero() && now.After(st.NextDue) {
			over = now.Sub(st.NextDue).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.timOverdue, prometheus.GaugeValue, over)
	}
	if seq, _, err := audit.Head(ctx, a.DB); err == nil {
		ch <- prometheus.MustNewConstMetric(c.auditSeq, prometheus.GaugeValue, float64(seq))
	}
}
