package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Nodes: every gateway node writes a heartbeat row when it polls the
// registry. The rows show the operators which nodes are up and which
// registry revision each serves, and they let the nodes share concurrency
// limits: a client × service limited to L calls at a time may have
// L / N of them on each of the N live nodes (the first L mod N nodes in
// name order get one more), so the calls in flight over the whole
// gateway never pass L, whichever node the load balancer picks. A node
// that stops is no longer counted after [nodeLiveFor] and the others
// take its share.

// nodeLiveFor is how long a heartbeat keeps a node counted as live: a few
// polls, so one slow poll does not change the shares.
func nodeLiveFor(poll time.Duration) time.Duration {
	return max(5*poll, 10*time.Second)
}

func nodeMigrations() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 4, Name: "nodes", Up: `
CREATE TABLE gateway_nodes (
	node TEXT PRIMARY KEY,
	started_at {{time}} NOT NULL,
	seen_at {{time}} NOT NULL,
	revision BIGINT NOT NULL
);`}}
}

func nodeClashMigration() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 10, Name: "nodes: one process per name", Up: `
ALTER TABLE gateway_nodes ADD COLUMN process TEXT NOT NULL DEFAULT '';
ALTER TABLE gateway_nodes ADD COLUMN clash_at {{time}};`}}
}

// Two processes must not run as one node: they would append to one hash
// chain from two journals whose numbers collide in the head row, so a
// restart could insert records twice or skip some. Each heartbeat row
// carries the writing process's random id; a process that finds another
// id on its row, after it wrote the row itself, notes the clash there
// (clash_at). The status page, its JSON and `congso gateway doctor` show
// it while it lasts, and the node logs an error at every heartbeat. A
// node that restarts sees its former process's id once, at its first
// heartbeat, which is no clash.

// Node is a gateway node as it last reported itself.
type Node struct {
	Node      string    `json:"node"`
	StartedAt time.Time `json:"started_at"`
	SeenAt    time.Time `json:"seen_at"`
	// Revision is the registry revision the node served at SeenAt.
	Revision int64 `json:"revision"`
	// Live: seen recently enough to be counted in the concurrency shares
	// (on the reading node's clock).
	Live bool `json:"live"`
	// Reporting: its last heartbeat is recent on the database server's
	// clock, its own clock's skew taken out. A running node whose clock is
	// behind is Reporting but not Live (doctor's node clock check says
	// so); a node neither Live nor Reporting is down.
	Reporting bool `json:"reporting"`
	// Duplicate: two processes run under this name (a clash noted within
	// the time a node stays live).
	Duplicate bool `json:"duplicate,omitempty"`
	// ClockSkew is how far the node's clock was ahead of the database
	// server's at its last heartbeat (behind: negative), to the
	// millisecond. The nodes share quota windows, concurrency slots and
	// the message log's times through the database: their clocks must
	// agree (doctor warns past 1 s, fails past 5 s).
	ClockSkew time.Duration `json:"-"`
	// ClockSkewMillis is ClockSkew in milliseconds (JSON).
	ClockSkewMillis int64 `json:"clock_skew_ms"`
}

func nodeClockMigration() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 13, Name: "nodes: clock skew", Up: `
ALTER TABLE gateway_nodes ADD COLUMN clock_skew_ms BIGINT NOT NULL DEFAULT 0;`}}
}

// dbClockMillis reads the database server's clock (Unix milliseconds).
func dbClockMillis(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, dialect db.Dialect) (int64, error) {
	query := `SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
	if dialect == db.Postgres {
		query = `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`
	}
	var ms int64
	return ms, q.QueryRowContext(ctx, query).Scan(&ms)
}

// heartbeat records that node is up and serves revision, written by
// process; wrote says the process wrote the row before. It reports the
// other process found on the row, if any (a clash, noted on the row).
func (s *Store) heartbeat(ctx context.Context, node string, started time.Time, revision int64, process string, wrote bool) (string, error) {
	now := s.now().UTC()
	var other string
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		// The node's clock against the server's, read between two of its
		// own readings.
		t0 := s.now()
		dbMillis, err := dbClockMillis(ctx, tx, tx.Dialect)
		if err != nil {
			return err
		}
		t1 := s.now()
		skew := t0.Add(t1.Sub(t0)/2).UnixMilli() - dbMillis
		lock := ""
		if tx.Dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		var prev string
		err = tx.QueryRowContext(ctx, `SELECT process FROM gateway_nodes WHERE node = $1`+lock, node).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		other = ""
		var clash *time.Time
		if wrote && prev != "" && prev != process {
			other, clash = prev, &now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO gateway_nodes (node, started_at, seen_at, revision, process, clash_at, clock_skew_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (node) DO UPDATE SET started_at = excluded.started_at, seen_at = excluded.seen_at, revision = excluded.revision,
	process = excluded.process, clash_at = COALESCE(excluded.clash_at, gateway_nodes.clash_at), clock_skew_ms = excluded.clock_skew_ms`,
			node, started.UTC(), now, revision, process, clash, skew)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("gateway heartbeat: %w", err)
	}
	return other, nil
}

// Nodes lists the nodes that ever reported, live first then by name;
// live means seen within liveFor.
func (s *Store) Nodes(ctx context.Context, liveFor time.Duration) ([]Node, error) {
	dbNow, err := dbClockMillis(ctx, s.db.Read(), s.db.Dialect())
	if err != nil {
		return nil, fmt.Errorf("gateway nodes: %w", err)
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT node, started_at, seen_at, revision, clash_at, clock_skew_ms FROM gateway_nodes ORDER BY node`)
	if err != nil {
		return nil, fmt.Errorf("gateway nodes: %w", err)
	}
	defer rows.Close()
	since := s.now().Add(-liveFor)
	var out []Node
	for rows.Next() {
		var n Node
		var clash sql.NullTime
		if err := rows.Scan(&n.Node, &n.StartedAt, &n.SeenAt, &n.Revision, &clash, &n.ClockSkewMillis); err != nil {
			return nil, fmt.Errorf("gateway nodes: %w", err)
		}
		n.StartedAt, n.SeenAt = n.StartedAt.UTC(), n.SeenAt.UTC()
		n.Live = n.SeenAt.After(since)
		n.ClockSkew = time.Duration(n.ClockSkewMillis) * time.Millisecond
		n.Reporting = n.SeenAt.UnixMilli()-n.ClockSkewMillis > dbNow-liveFor.Milliseconds()
		n.Duplicate = clash.Valid && clash.Time.After(since)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gateway nodes: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Node) int {
		if a.Live != b.Live {
			if a.Live {
				return -1
			}
			return 1
		}
		return 0
	})
	return out, nil
}

// cluster is what a node knows of the live nodes: how many, and its own
// place among them in name order.
type cluster struct {
	n, rank int
}

// share is this node's part of a concurrency limit.
func (c cluster) share(limit int64) int64 {
	n := int64(max(c.n, 1))
	s := limit / n
	if int64(c.rank) < limit%n {
		s++
	}
	return s
}

// clusterOf places self among the live nodes.
func clusterOf(nodes []Node, self string) cluster {
	var live []string
	for _, n := range nodes {
		if n.Live {
			live = append(live, n.Node)
		}
	}
	if !slices.Contains(live, self) {
		live = append(live, self)
	}
	slices.Sort(live)
	return cluster{n: len(live), rank: slices.Index(live, self)}
}

// beat writes the node's heartbeat and reads the live nodes again.
func (rt *Runtime) beat(ctx context.Context) error {
	other, err := rt.store.heartbeat(ctx, rt.cfg.Node, rt.started, rt.snap.Load().reg.Revision, rt.process, rt.beats > 0)
	if err != nil {
		return err
	}
	rt.beats++
	if other != "" {
		rt.cfg.Logger.Error("gateway: another process runs as this node: their message logs collide; give each node its own CONGSO_GATEWAY_NODE",
			"node", rt.cfg.Node, "process", rt.process, "other", other)
	}
	nodes, err := rt.store.Nodes(ctx, nodeLiveFor(rt.cfg.PollInterval))
	if err != nil {
		return err
	}
	c := clusterOf(nodes, rt.cfg.Node)
	rt.cluster.Store(&c)
	return nil
}

// LiveNodes is how many live nodes this node counted at its last
// heartbeat (itself included): its concurrency shares follow from it.
func (rt *Runtime) LiveNodes() int { return rt.cluster.Load().n }

// Nodes lists the gateway nodes that share this node's database, as they
// last reported.
func (rt *Runtime) Nodes(ctx context.Context) ([]Node, error) {
	return rt.store.Nodes(ctx, nodeLiveFor(rt.cfg.PollInterval))
}
