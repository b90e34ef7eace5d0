package nationalportal

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// CommandUsage describes the command line of Command.
const CommandUsage = `usage:
  congso nationalportal backfill -since YYYY-MM-DD [-wait]   sync the dossiers received since that day (Vietnam time)
  congso nationalportal backfill -all [-wait]                sync every dossier
  congso nationalportal backfill-cancel                      stop the backfill in progress
  congso nationalportal status                               the backfill's progress and the reconciliation schedule
A backfill is carried out by the servers' timer scheduler (the adapter must be enabled there);
starting it again with the same period resumes it. -wait follows its progress until it is complete.`

// ErrUsage reports a command line Command does not understand (print
// CommandUsage, exit 2).
var ErrUsage = errors.New("nationalportal: usage")

// Command runs `congso nationalportal ...` (args after "nationalportal")
// against the database d, whose schema includes Migrations: it records
// backfill requests and reads progress; the servers do the work. by names
// the operator (for the record; "cli" when empty). It writes to stdout and
// returns ErrUsage (wrapped) for a bad command line.
func Command(ctx context.Context, d *db.DB, args []string, by string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no subcommand", ErrUsage)
	}
	if by == "" {
		by = "cli"
	}
	queue := QueueStats(outbox.NewDispatcher(d, outbox.Config{}).Stats)
	fs := flag.NewFlagSet("nationalportal "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sinceFlag := fs.String("since", "", "first reception day, YYYY-MM-DD")
	all := fs.Bool("all", false, "every dossier")
	wait := fs.Bool("wait", false, "follow the progress until the backfill is complete")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: %v", ErrUsage, args[0], errors.Join(err, argsLeft(fs.Args())))
	}
	switch args[0] {
	case "backfill":
		if (*sinceFlag == "") == !*all {
			return fmt.Errorf("%w: give -since YYYY-MM-DD or -all", ErrUsage)
		}
		var since time.Time
		if *sinceFlag != "" {
			t, err := time.ParseInLocation("2006-01-02", *sinceFlag, Location)
			if err != nil || t.After(time.Now()) {
				return fmt.Errorf("%w: -since %q is not a past day YYYY-MM-DD", ErrUsage, *sinceFlag)
			}
			since = t
		}
		dead, err := backfillDead(ctx, queue)
		if err != nil {
			return err
		}
		if err := startBackfill(ctx, d, since, by, dead, time.Now()); err != nil {
			return err
		}
		st, err := backfillStatus(ctx, d, queue)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backfill %d started (or resumed)\n", st.ID)
		printBackfill(stdout, st)
		if *wait {
			return followBackfill(ctx, d, queue, st, stdout)
		}
		return nil
	case "backfill-cancel":
		if err := cancelBackfill(ctx, d, by, time.Now()); err != nil {
			return err
		}
		st, err := backfillStatus(ctx, d, queue)
		if err != nil {
			return err
		}
		printBackfill(stdout, st)
		return nil
	case "status":
		st, err := backfillStatus(ctx, d, queue)
		if err != nil {
			return err
		}
		printBackfill(stdout, st)
		j, ok, err := loadJob(ctx, d.Read(), reconcileJob)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(stdout, "reconciliation: not scheduled yet")
			return nil
		}
		fmt.Fprintf(stdout, "reconciliation: every %s, runs %d, next %s\n", j.Interval, j.Runs, cliTime(j.NextRunAt))
		if !j.LastStartedAt.IsZero() {
			res := fmt.Sprintf("ok, %s to %s, %d mismatches (report %d)", cliTime(j.LastFrom), cliTime(j.LastTo), j.LastMismatches, j.LastReportID)
			if !j.LastOK {
				res = "failed: " + j.LastError
			}
			fmt.Fprintf(stdout, "  last run %s: %s\n", cliTime(j.LastStartedAt), res)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown subcommand %q", ErrUsage, args[0])
}

func argsLeft(a []string) error {
	if len(a) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected arguments %q", a)
}

func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(Location).Format("2006-01-02 15:04")
}

func printBackfill(w io.Writer, st BackfillStatus) {
	if st.State == BackfillNone {
		fmt.Fprintln(w, "backfill: none")
		return
	}
	state := st.State
	if st.Complete {
		state = "complete"
	}
	fmt.Fprintf(w, "backfill %d (since %s, by %s): %s, done %d/%d, pending %d, failed %d, pages %d\n", st.ID,
		describeSince(st.Since), st.RequestedBy, state, st.Done, st.Total, st.Pending, st.Failed, st.Pages)
	if st.LastError != "" {
		fmt.Fprintf(w, "  last error %s: %s\n", cliTime(st.LastErrorAt), st.LastError)
	}
}

// followBackfill prints the progress every few seconds until the backfill
// is complete or cancelled, or ctx ends.
func followBackfill(ctx context.Context, d *db.DB, q QueueStats, last BackfillStatus, w io.Writer) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for !last.Complete && last.State != BackfillCancelled {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		st, err := backfillStatus(ctx, d, q)
		if err != nil {
			return err
		}
		if st != last {
			printBackfill(w, st)
		}
		last = st
	}
	return nil
}
