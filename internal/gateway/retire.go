package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// ErrNodeLive is RetireNode's refusal of a node that still sends
// heartbeats.
var ErrNodeLive = errors.New("the node is running")

// RetireOptions tune RetireNode.
type RetireOptions struct {
	// LiveFor: a heartbeat younger than this means the node runs (default:
	// the live window of nodes polling every second, 10 s).
	LiveFor time.Duration
	// JournalDir is the message log journal folder on this machine ("":
	// not checked).
	JournalDir string
}

// RetiredNode is what RetireNode did.
type RetiredNode struct {
	Node string
	// Records is the node's chain length; Signed how many of its records
	// were unsigned and are now signed (FirstSeq–LastSeq, one batch).
	Records           int64
	Signed            int64
	FirstSeq, LastSeq int64
	// Listed: the node was in the node list and is no longer.
	Listed bool
	// DamagedSegments are the node's journal segments kept aside as
	// damaged on this machine (their records after the damage are lost).
	DamagedSegments []string
}

// RetireNode closes the message log of a node taken out of service for
// good and takes it off the node list. A node that stopped without its
// last signing run (a crash, a machine that is gone) leaves records in the
// database that no batch signs, and verify reports them as unsigned for
// as long as they are kept: RetireNode signs them as one batch with key
// (the key must be one verify trusts: a node's key, or one pinned with
// -key). Its heartbeat row goes, so that the status page and doctor stop
// reporting it down, and the concurrency slots it held are freed.
//
// A node whose heartbeat is younger than opt.LiveFor is refused with
// ErrNodeLive: it would go on writing. Records still in the node's
// journal (on its own disk) are not in the database: start the node once
// to move them, or they go with the machine. With opt.JournalDir (the
// journal folder on the machine RetireNode runs on), a node whose journal
// there holds such records is refused too.
func RetireNode(ctx context.Context, d *db.DB, node string, key *Key, opt RetireOptions) (RetiredNode, error) {
	out := RetiredNode{Node: node}
	if node == "" || key == nil {
		return out, errors.New("gateway: retire needs a node name and a signing key")
	}
	if opt.LiveFor <= 0 {
		opt.LiveFor = nodeLiveFor(time.Second)
	}
	if opt.JournalDir != "" {
		waiting, damaged, _, err := journalWaiting(ctx, d, opt.JournalDir, node)
		if err != nil {
			return out, fmt.Errorf("gateway: journal of %s: %w", node, err)
		}
		if waiting > 0 {
			return out, fmt.Errorf("gateway: node %s: %d records wait in its journal in %s: start the node once so that they reach the database", node, waiting, opt.JournalDir)
		}
		// Damaged segments stay aside for good (their records after the
		// damage are not in the log, and never will be): said, not a
		// refusal.
		out.DamagedSegments = damaged
	}
	s := NewStore(d, nil)
	nodes, err := s.Nodes(ctx, opt.LiveFor)
	if err != nil {
		return out, err
	}
	var seen time.Time
	for _, n := range nodes {
		if n.Node == node {
			out.Listed, seen = true, n.SeenAt
			// (on either clock: a running node whose clock is behind is
			// Reporting, not Live)
			if n.Live || n.Reporting {
				return out, fmt.Errorf("gateway: node %s: %w (last heartbeat %s): stop it first", node, ErrNodeLive, n.SeenAt.Format(time.RFC3339))
			}
		}
	}
	var seq, signed int64
	err = d.Read().QueryRowContext(ctx, `SELECT seq, signed_seq FROM gateway_msglog_head WHERE node = $1`, node).Scan(&seq, &signed)
	switch {
	case errors.Is(err, sql.ErrNoRows) && !out.Listed:
		return out, fmt.Errorf("gateway: no node %s: it has neither a message log nor a heartbeat", node)
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return out, fmt.Errorf("gateway: message log of %s: %w", node, err)
	}
	out.Records = seq
	if seq > signed {
		ml, err := NewMessageLog(d, LogConfig{Node: node, Key: key})
		if err != nil {
			return out, err
		}
		if err := ml.Sign(ctx); err != nil {
			return out, fmt.Errorf("gateway: sign the records of %s: %w", node, err)
		}
		out.Signed, out.FirstSeq, out.LastSeq = seq-signed, signed+1, seq
	}
	if !out.Listed {
		return out, nil
	}
	// Off the list only as last seen: a node that started meanwhile (its
	// heartbeat moved seen_at) keeps its row and its slots.
	started := false
	err = d.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gateway_nodes WHERE node = $1 AND seen_at = $2`, node, seen)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			started = err == nil
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM gateway_slots WHERE node = $1`, node)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("gateway: take %s off the node list: %w", node, err)
	}
	if started {
		return out, fmt.Errorf("gateway: node %s: %w (it sent a heartbeat while being retired): stop it first", node, ErrNodeLive)
	}
	return out, nil
}
