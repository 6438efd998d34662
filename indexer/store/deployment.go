package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrOtherDeployment is returned by every writer when the database was
// claimed by another program's indexer: a database holds one deployment
// (migration 00015), because the event log and the projections are one.
var ErrOtherDeployment = errors.New("the database holds another deployment's data")

// Claim claims the database for programID's deployment unless it is
// claimed already: the first indexer that writes owns the database, and
// every writer after it must follow the same program. It returns an error
// wrapping ErrOtherDeployment, naming both program ids, when another
// program claimed it. Every writer claims on its own; the indexer calls
// Claim first to refuse at start-up rather than at its first write.
func Claim(ctx context.Context, db DBTX, programID string) error {
	b := &pgx.Batch{}
	var claimed string
	queueClaim(b, programID, &claimed)
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("claim the database for program %s: %w", programID, err)
	}
	return checkClaim(claimed, programID)
}

// ClaimedProgram returns the program id the database was claimed for, or
// ErrNotFound while it is unclaimed (nothing written, or reset).
func ClaimedProgram(ctx context.Context, db DBTX) (string, error) {
	var id string
	err := db.QueryRow(ctx, `SELECT program_id FROM deployment`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read the database's deployment: %w", err)
	}
	return id, nil
}

// queueClaim queues the claim of the database for programID and the read
// of the claim into *claimed. They are two statements so that the read
// sees a claim another transaction committed while the insert waited for it
// (at READ COMMITTED each statement takes a new snapshot).
func queueClaim(b *pgx.Batch, programID string, claimed *string) {
	b.Queue(`INSERT INTO deployment (program_id) VALUES ($1) ON CONFLICT DO NOTHING`, programID)
	b.Queue(`SELECT program_id FROM deployment`).QueryRow(func(r pgx.Row) error { return r.Scan(claimed) })
}

func checkClaim(claimed, programID string) error {
	if claimed != programID {
		return fmt.Errorf("%w: it is program %s's database and this indexer follows program %s; "+
			"give each program id a database of its own (a new database, or -database-url of the right one)",
			ErrOtherDeployment, claimed, programID)
	}
	return nil
}
