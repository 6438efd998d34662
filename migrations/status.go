package migrations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/pressly/goose/v3"
)

// WriteStatus writes statuses as a table, one migration a line, as the
// command-line tools print it.
func WriteStatus(w io.Writer, statuses []*goose.MigrationStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tAPPLIED AT\tMIGRATION")
	for _, s := range statuses {
		applied := "-"
		if s.State == goose.StateApplied {
			applied = s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.State, applied, s.Source.Path)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write migration status: %w", err)
	}
	return nil
}

// RunCommand runs the migrate command up, down (one step) or status against databaseURL and
// reports to w, as `migrate` and `indexer migrate` do.
func RunCommand(ctx context.Context, w io.Writer, databaseURL, command string) error {
	switch command {
	case "up":
		res, err := Up(ctx, databaseURL)
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(w, "no migrations to apply")
		}
		for _, r := range res {
			fmt.Fprintln(w, r)
		}
	case "down":
		res, err := Down(ctx, databaseURL)
		if errors.Is(err, goose.ErrNoNextVersion) {
			fmt.Fprintln(w, "no migration to roll back")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(w, res)
	case "status":
		st, err := Status(ctx, databaseURL)
		if err != nil {
			return err
		}
		return WriteStatus(w, st)
	default:
		return fmt.Errorf("unknown migrate command %q: want up, down or status", command)
	}
	return nil
}
