package graphtest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mr-tron/base58"
)

// Key returns a deterministic base58 public key for name.
func Key(name string) string {
	h := sha256.Sum256([]byte(name))
	return base58.Encode(h[:])
}

// CopyFrom is what SeedProposals writes with: a pool, connection or
// transaction.
type CopyFrom interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// SeedProposals writes a governance and n active proposals of it straight
// into the projections, for tests and benchmarks of paging that need more
// rows than the scenario has. Proposal i is created at start + i/per
// seconds, so per proposals share each creation time. It returns the
// governance's address; proposal i's address is Key(prefix + i).
func SeedProposals(ctx context.Context, db CopyFrom, prefix string, n, per int, start time.Time) (string, error) {
	gov := Key(prefix + "governance")
	_, err := db.Exec(ctx, `INSERT INTO governance (address, create_key, threshold, rollback_threshold,
			timelock_seconds, rollback_timelock_seconds, grace_period_seconds, spill, member_set_seqno,
			created_at, created_slot, created_signature, updated_at, updated_slot, last_seq)
		VALUES ($1, $1, 2, 2, 172800, 3600, 1209600, $1, 0, $2, 1, 'seed', $2, 1, 0)
		ON CONFLICT DO NOTHING`, gov, start)
	if err != nil {
		return "", fmt.Errorf("seed governance: %w", err)
	}
	proposer := Key(prefix + "proposer")
	rows := make([][]any, n)
	for i := range rows {
		at := start.Add(time.Duration(i/per) * time.Second)
		rows[i] = []any{Key(prefix + strconv.Itoa(i)), gov, int64(i), "upgrade", Key(prefix + "program"),
			"ipfs://seed", "00", proposer, "active", int16(2), int64(0), at, int64(i), "seed", at, int64(i), int64(i)}
	}
	_, err = db.CopyFrom(ctx, pgx.Identifier{"proposal"}, []string{"address", "governance", "index", "kind",
		"program", "metadata_uri", "build_hash", "proposer", "status", "threshold", "member_set_seqno",
		"created_at", "created_slot", "created_signature", "updated_at", "updated_slot", "last_seq"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return "", fmt.Errorf("seed proposals: %w", err)
	}
	return gov, nil
}
