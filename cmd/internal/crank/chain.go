package crank

import (
	"context"
	"errors"
	"fmt"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// errAccountMissing is returned when an account the crank expects does not exist on chain.
var errAccountMissing = errors.New("account not found")

// chain reads what the crank must check on chain before acting: the program's accounts and the
// chain's own clock (never the local one).
type chain struct {
	rpc        *rpc.Client
	commitment rpc.CommitmentType
	programID  solana.PublicKey
	// build makes every instruction the crank sends, for the configured deployment.
	build *txbuild.Builder
}

func (c *chain) account(ctx context.Context, key solana.PublicKey) (*rpc.Account, error) {
	res, err := c.rpc.GetAccountInfoWithOpts(ctx, key, &rpc.GetAccountInfoOpts{Commitment: c.commitment})
	if err != nil {
		if errors.Is(err, rpc.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", key, errAccountMissing)
		}
		return nil, fmt.Errorf("get account %s: %w", key, err)
	}
	if res == nil || res.Value == nil {
		return nil, fmt.Errorf("%s: %w", key, errAccountMissing)
	}
	return res.Value, nil
}

// decode fetches key and decodes it as one of the program's accounts, checking its owner.
func (c *chain) decode(ctx context.Context, key solana.PublicKey, into interface{ UnmarshalAccount([]byte) error }) error {
	a, err := c.account(ctx, key)
	if err != nil {
		return err
	}
	if !a.Owner.Equals(c.programID) {
		return fmt.Errorf("account %s is owned by %s, not upgrade_manager", key, a.Owner)
	}
	if err := into.UnmarshalAccount(a.Data.GetBinary()); err != nil {
		return fmt.Errorf("decode account %s: %w", key, err)
	}
	return nil
}

// now is the chain's unix time: the Clock sysvar's unix_timestamp.
func (c *chain) now(ctx context.Context) (int64, error) {
	a, err := c.account(ctx, solana.SysVarClockPubkey)
	if err != nil {
		return 0, fmt.Errorf("read the clock sysvar: %w", err)
	}
	clock, err := upgrademanager.DecodeClock(a.Data.GetBinary())
	if err != nil {
		return 0, err
	}
	return clock.UnixTimestamp, nil
}
