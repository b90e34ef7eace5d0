package calendardb

import (
	"context"
	"github.com/congso/congso/internal/platform/audit"
	"log/slog"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
)

// TestRunPollsOnEachTickAndStopsOnCancel drives Run with a tick channel of
// its own: a send on the unbuffered channel is taken only when Run waits in
// its select, so after a second send the first tick's refresh has finished.
func TestRunPollsOnEachTickAndStopsOnCancel(t *testing.T) {
	d := dbtest.SQLite(t, append(audit.Migrations(), Migrations()...))
	ctx := context.Background()
	cfg := ProviderConfig{Logger: slog.New(slog.DiscardHandler)}
	writer, err := NewProvider(ctx, NewStore(d, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := NewProvider(ctx, NewStore(d, nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	reader.ticks = ticks
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- reader.Run(runCtx) }()

	day := calendar.Date{Year: 2027, Month: time.March, Day: 1}
	a := calendar.Announcement{Year: 2027, Title: "Nghỉ thêm", DaysOff: []calendar.Period{{From: day}}}
	if _, err := writer.Put(ctx, a, "admin"); err != nil {
		t.Fatal(err)
	}
	if !reader.Calendar().IsWorkingDate(day) {
		t.Fatal("reader changed without a tick")
	}
	ticks <- time.Time{}
	ticks <- time.Time{}
	if reader.Calendar().IsWorkingDate(day) {
		t.Fatal("reader did not pick up the edit on its tick")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on cancel")
	}
}

func TestCatalogsComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(messageFS, "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
}
