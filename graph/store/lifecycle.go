package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// The account lifecycle (migration 00013): closed accounts, revoked releases, hand-overs and
// voting deadlines, read beside the main rows so that lists load them in one query each.

// AccountClosure is a row of account_closure: a proposal or migration job whose ended account
// was closed and its rent returned.
type AccountClosure struct {
	Address string
	// Kind is proposal or migration_job.
	Kind string
	// Status is the status the account ended in, lower case.
	Status        string
	Actor         string
	RentCollector string
	Lamports      int64
	ClosedAt      time.Time
	Slot          int64
	Signature     string
}

// AccountClosures returns the closures of the accounts at addresses, by address; an account
// that was not closed has none.
func (s *Store) AccountClosures(ctx context.Context, addresses []string) (map[string]*AccountClosure, error) {
	rows, err := collect(ctx, s.db, "account closures", func(row pgx.Row) (*AccountClosure, error) {
		var c AccountClosure
		err := row.Scan(&c.Address, &c.Kind, &c.Status, &c.Actor, &c.RentCollector, &c.Lamports,
			&c.ClosedAt, &c.Slot, &c.Signature)
		return &c, err
	}, `SELECT address, kind, status, actor, rent_collector, lamports, closed_at, slot, signature
		FROM account_closure WHERE address = ANY($1)`, addresses)
	return byKey(rows, func(c *AccountClosure) string { return c.Address }), err
}

// ReleaseRevocation is a row of release_revocation: an executed RevokeRelease took hash out of
// program's rollback history.
type ReleaseRevocation struct {
	Program   string
	Hash      string
	Proposal  string
	RevokedAt time.Time
	Slot      int64
	Signature string
}

// RevocationsByProgram returns each program's revocations, oldest first, by program id.
func (s *Store) RevocationsByProgram(ctx context.Context, programs []string) (map[string][]*ReleaseRevocation, error) {
	rows, err := collect(ctx, s.db, "release revocations", func(row pgx.Row) (*ReleaseRevocation, error) {
		var r ReleaseRevocation
		err := row.Scan(&r.Program, &r.Hash, &r.Proposal, &r.RevokedAt, &r.Slot, &r.Signature)
		return &r, err
	}, `SELECT program, hash, proposal, revoked_at, slot, signature FROM release_revocation
		WHERE program = ANY($1) ORDER BY program, seq`, programs)
	return groupBy(rows, func(r *ReleaseRevocation) string { return r.Program }), err
}

// RevocationOf returns the revocation that took release out of the history, if any: the first
// revocation of its hash after it was deployed (a later deployment of the same binary is a new,
// unrevoked release; the program never revokes the binary deployed now, so a revocation is
// always in a later slot than the deployment it revokes).
func RevocationOf(release *Release, revocations []*ReleaseRevocation) *ReleaseRevocation {
	for _, r := range revocations {
		if r.Hash == release.Hash && r.Slot > release.DeploySlot {
			return r
		}
	}
	return nil
}

// HandOver is a row of program_hand_over: an executed SetUpgradeAuthority gave the program's
// upgrade authority away (NewAuthority) or made it immutable (NewAuthority nil).
type HandOver struct {
	Program      string
	NewAuthority *string
	Proposal     string
	HandedOverAt time.Time
	Slot         int64
	Signature    string
}

// HandOversByProgram returns the hand-over of each program that had one, by program id.
func (s *Store) HandOversByProgram(ctx context.Context, programs []string) (map[string]*HandOver, error) {
	rows, err := collect(ctx, s.db, "hand-overs", func(row pgx.Row) (*HandOver, error) {
		var h HandOver
		err := row.Scan(&h.Program, &h.NewAuthority, &h.Proposal, &h.HandedOverAt, &h.Slot, &h.Signature)
		return &h, err
	}, `SELECT program, new_authority, proposal, handed_over_at, slot, signature
		FROM program_hand_over WHERE program = ANY($1)`, programs)
	return byKey(rows, func(h *HandOver) string { return h.Program }), err
}

// VotingPeriods returns each governance's voting period in seconds (0: none), by address.
func (s *Store) VotingPeriods(ctx context.Context, governances []string) (map[string]*int64, error) {
	type row struct {
		address string
		seconds int64
	}
	rows, err := collect(ctx, s.db, "voting periods", func(r pgx.Row) (*row, error) {
		var v row
		err := r.Scan(&v.address, &v.seconds)
		return &v, err
	}, `SELECT address, voting_period_seconds FROM governance WHERE address = ANY($1)`, governances)
	out := make(map[string]*int64, len(rows))
	for _, r := range rows {
		out[r.address] = &r.seconds
	}
	return out, err
}

// RentCollectors returns each governance's rent collector, by address: nil when it has none
// (each closed account's rent goes back to whoever paid for it).
func (s *Store) RentCollectors(ctx context.Context, governances []string) (map[string]*string, error) {
	type row struct {
		address   string
		collector *string
	}
	rows, err := collect(ctx, s.db, "rent collectors", func(r pgx.Row) (*row, error) {
		var v row
		err := r.Scan(&v.address, &v.collector)
		return &v, err
	}, `SELECT address, rent_collector FROM governance WHERE address = ANY($1)`, governances)
	out := make(map[string]*string, len(rows))
	for _, r := range rows {
		out[r.address] = r.collector
	}
	return out, err
}
