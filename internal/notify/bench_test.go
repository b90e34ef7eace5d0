package notify_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
)

type countingEmail struct{ n atomic.Int64 }

func (c *countingEmail) SendEmail(context.Context, notify.Email) (string, error) {
	return fmt.Sprint(c.n.Add(1)), nil
}

type countingSMS struct{ n atomic.Int64 }

func (c *countingSMS) SendSMS(context.Context, notify.SMS) (string, error) {
	return fmt.Sprint(c.n.Add(1)), nil
}

// BenchmarkDossierEventToDeliveries measures one dossier event handled end
// to end on SQLite: facts, templates in three channels, rows, outbox
// events, and the two sends (senders in memory).
func BenchmarkDossierEventToDeliveries(b *testing.B) {
	d := dbtest.SQLite(b, migrations())
	clk := newClock()
	disp := outbox.NewDispatcher(d, outbox.Config{Now: clk.Now})
	dos := &dossiers{facts: map[string]notify.DossierFacts{}}
	em, sms := &countingEmail{}, &countingSMS{}
	svc, err := notify.New(d, notify.Config{Now: clk.Now, Sender: "UBND tỉnh Mẫu"}, notify.Deps{Dossiers: dos, Email: em, SMS: sms})
	if err != nil {
		b.Fatal(err)
	}
	svc.Subscribe(disp)
	ctx := context.Background()
	if err := disp.Register(ctx); err != nil {
		b.Fatal(err)
	}
	dos.facts[code] = factsFor(nhung())
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev := receivedEvent()
		ev.At = clk.Now()
		if err := d.Tx(ctx, func(tx *db.Tx) error {
			return outbox.Publish(ctx, tx, outbox.Event{Topic: dossier.TopicReceived, Key: code, Payload: ev, At: ev.At})
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := disp.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if em.n.Load() != int64(b.N) || sms.n.Load() != int64(b.N) {
		b.Fatalf("sent %d emails, %d SMS for %d events", em.n.Load(), sms.n.Load(), b.N)
	}
}
