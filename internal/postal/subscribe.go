package postal

import (
	"context"
	"fmt"

	"github.com/congso/congso/internal/platform/outbox"
)

// Deliveries tells whether a dossier's result goes by post, and where; the
// dossier module (which records the applicant's choice) implements it.
type Deliveries interface {
	// PostalDelivery returns the shipment to create for a dossier whose
	// result is ready; ok is false when the applicant did not choose post.
	PostalDelivery(ctx context.Context, code string) (in ShipInput, ok bool, err error)
}

// ResultReadyHandler returns an outbox handler for the dossier event that
// says a result is ready to return (its Key is the dossier code): it ships
// the result when the applicant chose post. Redelivery is harmless, as Ship
// returns the dossier's open shipment; a carrier error is left to Sync
// rather than retried by the dispatcher, once the shipment is recorded.
func (s *Service) ResultReadyHandler(d Deliveries) outbox.Handler {
	return func(ctx context.Context, ev outbox.Event) error {
		in, ok, err := d.PostalDelivery(ctx, ev.Key)
		if err != nil {
			return fmt.Errorf("postal delivery of %s: %w", ev.Key, err)
		}
		if !ok {
			return nil
		}
		sh, err := s.Ship(ctx, in)
		if err != nil && sh.ClientRef == "" {
			return err // not even recorded: let the dispatcher retry
		}
		if err != nil {
			s.log.WarnContext(ctx, "postal shipment requested, carrier not reached; the postal job retries", "dossier", ev.Key, "err", err)
		}
		return nil
	}
}
