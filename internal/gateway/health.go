package gateway

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/congso/congso/internal/platform/db"
)

// Watched is what the health collector reads: the database, the pub/sub
// (every node delivers) and, on a gateway node, its runtime and its TLS
// certificate (nil elsewhere, or when none). The nodes', message logs' and
// subscriptions' figures come from the database: every node exports the
// same, so alerts take their max.
type Watched struct {
	DB      *db.DB
	Runtime *Runtime
	PubSub  *PubSub
	Cert    *CertFile
}

// healthCollector exports the gateway's state, read at scrape time, so
// that alerts need not wait for someone to run doctor (docs/gateway.md,
// "Alerts").
type healthCollector struct {
	src                                  func() Watched
	registryAge, nodesLive               *prometheus.Desc
	heartbeatAge, clockSkew              *prometheus.Desc
	unsigned, signed                     *prometheus.Desc
	journalWaiting, journalFailing       *prometheus.Desc
	stampFailing, circuitOpen, certUntil *prometheus.Desc
	subPending, subDead                  *prometheus.Desc
}

// NewHealthCollector returns the collector of the gateway's health metrics;
// src gives what to read at each scrape (its DB nil: nothing).
func NewHealthCollector(src func() Watched) prometheus.Collector {
	sub := []string{"subscription", "topic", "subscriber"}
	return &healthCollector{src: src,
		registryAge: prometheus.NewDesc("congso_gateway_registry_age_seconds", "Time since this node last confirmed it serves the registry's latest revision.", nil, nil),
		nodesLive:   prometheus.NewDesc("congso_gateway_nodes_live", "Gateway nodes whose heartbeat is recent.", nil, nil),
		heartbeatAge: prometheus.NewDesc("congso_gateway_node_heartbeat_age_seconds",
			"Time since each listed gateway node's last heartbeat (congso gateway retire takes a node gone for good off the list).", []string{"node"}, nil),
		clockSkew: prometheus.NewDesc("congso_gateway_node_clock_skew_seconds",
			"How far each live node's clock is ahead of the database server's (behind: negative), at its last heartbeat.", []string{"node"}, nil),
		unsigned: prometheus.NewDesc("congso_gateway_msglog_unsigned_records",
			"Records of each node's message log not yet in a signed batch (nodes sign every CONGSO_GATEWAY_SIGN_INTERVAL).", []string{"node"}, nil),
		signed: prometheus.NewDesc("congso_gateway_msglog_signed_records",
			"Records of each node's message log in signed batches (it grows while the node signs: a node with unsigned records whose count stands still has stopped signing).", []string{"node"}, nil),
		journalWaiting: prometheus.NewDesc("congso_gateway_journal_waiting_records", "Records in this node's message log journal not yet in the database.", nil, nil),
		journalFailing: prometheus.NewDesc("congso_gateway_journal_failing", "1 while this node's journal writer cannot write to the database.", nil, nil),
		stampFailing: prometheus.NewDesc("congso_gateway_timestamping_failing",
			"1 while time-stamping has failed for longer than its grace (fail-closed services then refuse calls).", nil, nil),
		circuitOpen: prometheus.NewDesc("congso_gateway_circuit_open",
			"1 for each service version (or peer:INSTANCE) whose circuit is open on this node: calls are paused.", []string{"circuit"}, nil),
		certUntil: prometheus.NewDesc("congso_gateway_tls_certificate_expiry_timestamp_seconds", "When the gateway's TLS certificate in use expires (Unix time).", nil, nil),
		subPending: prometheus.NewDesc("congso_gateway_pubsub_pending_deliveries",
			"Deliveries of each webhook subscription not yet made (retrying, or held while paused).", sub, nil),
		subDead: prometheus.NewDesc("congso_gateway_pubsub_dead_letters", "Deliveries of each webhook subscription that gave up.", sub, nil),
	}
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.registryAge, c.nodesLive, c.heartbeatAge, c.clockSkew, c.unsigned, c.signed, c.journalWaiting,
		c.journalFailing, c.stampFailing, c.circuitOpen, c.certUntil, c.subPending, c.subDead} {
		ch <- d
	}
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.src()
	if h.DB == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	now := time.Now()
	liveFor := nodeLiveFor(time.Second)
	if rt := h.Runtime; rt != nil {
		now = rt.cfg.Now()
		liveFor = nodeLiveFor(rt.cfg.PollInterval)
		gauge(c.registryAge, now.Sub(rt.LastPoll()).Seconds())
		if l := rt.cfg.Log; l != nil {
			js := l.JournalStatus()
			if js.Enabled {
				gauge(c.journalWaiting, float64(js.Waiting))
				gauge(c.journalFailing, flag(!js.FailingSince.IsZero()))
			}
			if st := l.StampStatus(); st.Enabled {
				gauge(c.stampFailing, flag(st.Failing))
			}
		}
		for key, open := range rt.circuits() {
			gauge(c.circuitOpen, flag(open), key)
		}
	}
	if h.Runtime != nil {
		// (the whole gateway's, from the database: every node exports
		// the same)
		if nodes, err := NewStore(h.DB, func() time.Time { return now }).Nodes(ctx, liveFor); err == nil {
			live := 0
			for _, n := range nodes {
				gauge(c.heartbeatAge, now.Sub(n.SeenAt).Seconds(), n.Node)
				if n.Live {
					live++
				}
				if n.Live || n.Reporting { // (a node whose clock is behind is not Live)
					gauge(c.clockSkew, n.ClockSkew.Seconds(), n.Node)
				}
			}
			gauge(c.nodesLive, float64(live))
		}
		if heads, err := msglogHeads(ctx, h.DB); err == nil {
			for node, hd := range heads {
				gauge(c.unsigned, float64(hd[0]-hd[1]), node)
				gauge(c.signed, float64(hd[1]), node)
			}
		}
	}
	if h.Cert != nil {
		if cert := h.Cert.Certificate(); cert != nil && cert.Leaf != nil {
			gauge(c.certUntil, float64(cert.Leaf.NotAfter.Unix()))
		}
	}
	if h.PubSub != nil {
		if subs, err := h.PubSub.backlog(ctx); err == nil {
			for _, s := range subs {
				id := strconv.FormatInt(s.ID, 10)
				gauge(c.subPending, float64(s.Pending), id, s.Topic, s.Subscriber)
				gauge(c.subDead, float64(s.Dead), id, s.Topic, s.Subscriber)
			}
		}
	}
}

// circuits reports, for each circuit this node has used, whether it is open
// (its failures reached the threshold: paused, or letting a trial call
// through).
func (rt *Runtime) circuits() map[string]bool {
	rt.brMu.Lock()
	brs := make(map[string]*breaker, len(rt.breaker))
	for k, b := range rt.breaker {
		brs[k] = b
	}
	rt.brMu.Unlock()
	out := make(map[string]bool, len(brs))
	for k, b := range brs {
		b.mu.Lock()
		out[k] = b.failures >= rt.cfg.BreakerFailures
		b.mu.Unlock()
	}
	return out
}

// msglogHeads is, per node, its message log's length and how many of its
// records signed batches cover.
func msglogHeads(ctx context.Context, d *db.DB) (map[string][2]int64, error) {
	rows, err := d.Read().QueryContext(ctx, `SELECT node, seq, signed_seq FROM gateway_msglog_head`)
	if err != nil {
		return nil, fmt.Errorf("message log heads: %w", err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var node string
		var seq, signed int64
		if err := rows.Scan(&node, &seq, &signed); err != nil {
			return nil, fmt.Errorf("message log heads: %w", err)
		}
		out[node] = [2]int64{seq, signed}
	}
	return out, rows.Err()
}

// subBacklog is a live subscription's undelivered deliveries.
type subBacklog struct {
	ID                int64
	Topic, Subscriber string
	Pending, Dead     int64
}

// backlog counts each live subscription's pending and dead deliveries
// (on the subscription and state index: cheap enough for every scrape).
func (ps *PubSub) backlog(ctx context.Context) ([]subBacklog, error) {
	rows, err := ps.db.Read().QueryContext(ctx, `SELECT s.id, s.topic, s.subscriber,
	(SELECT COUNT(*) FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.state IN ('pending', 'paused')),
	(SELECT COUNT(*) FROM gateway_deliveries d WHERE d.subscription_id = s.id AND d.state = 'dead')
FROM gateway_subscriptions s WHERE s.deleted_at IS NULL ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("subscriptions backlog: %w", err)
	}
	defer rows.Close()
	var out []subBacklog
	for rows.Next() {
		var s subBacklog
		if err := rows.Scan(&s.ID, &s.Topic, &s.Subscriber, &s.Pending, &s.Dead); err != nil {
			return nil, fmt.Errorf("subscriptions backlog: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
