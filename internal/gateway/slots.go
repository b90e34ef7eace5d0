package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Concurrency slots: a client × service limited to fewer calls at a time
// than there are live nodes cannot be split into per-node shares (some
// nodes would get none and refuse every call, however idle the service).
// Such a limit is kept in the database instead: L slots per client ×
// service, each a row a call claims for its length and deletes when it
// ends. A claim holds until the service's time limit plus a minute has
// passed, so a slot whose node died is free again then; a node that
// restarts frees its slots at once. Only these small limits pay the two
// statements per call; limits of at least the number of nodes stay in
// memory (nodes.go).

func slotMigrations() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 12, Name: "concurrency slots", Up: `
CREATE TABLE gateway_slots (
	qkey TEXT NOT NULL,
	slot INTEGER NOT NULL,
	node TEXT NOT NULL,
	holder TEXT NOT NULL,
	until_unix_ns BIGINT NOT NULL,
	PRIMARY KEY (qkey, slot)
);
CREATE INDEX gateway_slots_node ON gateway_slots (node);`}}
}

// slotMargin is how long past the service's time limit a claim holds.
const slotMargin = time.Minute

// takeSlot claims one of the limit slots of qkey for holder (a request id)
// on node until until; it returns -1 when all are held. Besides the slots,
// inFlight calls of this node admitted otherwise (in its share, before
// the limit or the node count changed) and slots held past a lowered
// limit count against it.
func (s *Store) takeSlot(ctx context.Context, qkey string, limit, inFlight int64, node, holder string, until time.Time) (int64, error) {
	slot := int64(-1)
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		slot = -1
		now := s.now().UnixNano()
		var held int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_slots WHERE qkey = $1 AND until_unix_ns >= $2`, qkey, now).Scan(&held); err != nil {
			return err
		}
		if held+inFlight >= limit {
			return nil
		}
		for i := int64(0); i < limit; i++ {
			res, err := tx.ExecContext(ctx, `INSERT INTO gateway_slots (qkey, slot, node, holder, until_unix_ns) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (qkey, slot) DO UPDATE SET node = excluded.node, holder = excluded.holder, until_unix_ns = excluded.until_unix_ns
WHERE gateway_slots.until_unix_ns < $6`, qkey, i, node, holder, until.UnixNano(), now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				slot = i
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return -1, fmt.Errorf("gateway concurrency slot: %w", err)
	}
	return slot, nil
}

// giveSlot frees a slot holder claimed (no other's, should its claim have
// lapsed and been taken).
func (s *Store) giveSlot(ctx context.Context, qkey string, slot int64, holder string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM gateway_slots WHERE qkey = $1 AND slot = $2 AND holder = $3`, qkey, slot, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("gateway concurrency slot: %w", err)
	}
	return nil
}

// clearSlots frees the slots node's former process held (it restarted:
// its calls are over).
func (s *Store) clearSlots(ctx context.Context, node string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM gateway_slots WHERE node = $1`, node)
		return err
	})
	if err != nil {
		return fmt.Errorf("gateway concurrency slots: %w", err)
	}
	return nil
}

// SlotsHeld is how many concurrency slots are held now.
func (s *Store) SlotsHeld(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_slots WHERE until_unix_ns >= $1`, s.now().UnixNano()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("gateway concurrency slots: %w", err)
	}
	return n, nil
}
