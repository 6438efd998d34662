package crank

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gagliardetto/solana-go"

	readmodel "github.com/upgrade-manager/upgrade-manager/graph/store"
	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
)

// anchorAccountNotInitialized is Anchor's AccountNotInitialized (3012): the account to close is
// gone, because someone else closed it first.
const anchorAccountNotInitialized = 3012

// closer closes ended proposals and migration jobs, permissionlessly: the program sends each
// account's rent to the governance's rent collector (or back to whoever paid it), never to the
// crank, which only pays the fee.
type closer struct {
	models *readmodel.Store
	reader *txbuild.Reader
	chain  *chain
	send   *sender
	// after is how long, by the chain's clock, an account stays open after it ended.
	after   time.Duration
	metrics *Metrics
	log     *slog.Logger
}

// tick closes every ended account the read model lists once; it returns the number closed.
func (c *closer) tick(ctx context.Context) (int, error) {
	now, err := c.chain.now(ctx)
	if err != nil {
		c.metrics.errors.WithLabelValues(KindClose, "rpc").Inc()
		return 0, err
	}
	cands, err := c.models.ClosableAccounts(ctx, time.Unix(now, 0).Add(-c.after))
	if err != nil {
		c.metrics.errors.WithLabelValues(KindClose, "database").Inc()
		return 0, err
	}
	done := 0
	for _, a := range cands {
		ok, err := c.close(ctx, a)
		if err != nil {
			if ctx.Err() != nil {
				return done, ctx.Err()
			}
			c.log.Error("close account; retrying at the next scan", "kind", a.Kind, "address", a.Address, "error", err)
			continue
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// close plans and lands the close of one account, after txbuild checked on chain that it has
// ended and is still there; it reports whether this crank closed it.
func (c *closer) close(ctx context.Context, a *readmodel.ClosableAccount) (bool, error) {
	proposal, err := solana.PublicKeyFromBase58(a.Proposal)
	if err != nil {
		return false, fmt.Errorf("bad proposal key %q in the read model: %w", a.Proposal, err)
	}
	signer := c.send.payer.PublicKey()
	action := "close_proposal"
	var plan *txbuild.Plan
	if a.Kind == "migration_job" {
		action = "close_migration_job"
		plan, err = c.reader.PlanCloseMigrationJob(ctx, proposal, signer)
	} else {
		plan, err = c.reader.PlanCloseProposal(ctx, proposal, signer)
	}
	var te *txbuild.Error
	switch {
	case errors.As(err, &te) && te.Code == txbuild.CodeNotFound:
		// Closed on chain already; the indexer has not recorded it yet.
		c.log.Debug("already closed", "kind", a.Kind, "address", a.Address)
		return false, nil
	case err != nil:
		c.metrics.errors.WithLabelValues(KindClose, "chain_state").Inc()
		return false, err
	}
	// The rent it holds, for the metric: what the rent collector gets back.
	acct, err := c.reader.Account(ctx, plan.Address)
	if err != nil {
		c.metrics.errors.WithLabelValues(KindClose, "chain_state").Inc()
		return false, err
	}
	c.metrics.attempts.WithLabelValues(KindClose, action).Inc()
	res, err := c.send.send(ctx, plan.Instructions, func(code uint32) bool { return code == anchorAccountNotInitialized })
	switch {
	case errors.Is(err, errRaceLost):
		c.metrics.racesLost.WithLabelValues(KindClose, action).Inc()
		c.log.Info("race lost: already closed", "kind", a.Kind, "address", a.Address)
		return false, nil
	case err != nil:
		var se *SimulationError
		kind := "rpc"
		if errors.As(err, &se) {
			kind = "simulation"
		}
		c.metrics.errors.WithLabelValues(KindClose, kind).Inc()
		return false, fmt.Errorf("%s %s: %w", action, a.Address, err)
	case res.DryRun:
		c.log.Info("dry run: simulation passed, not sent", "action", action, "address", a.Address)
		return false, nil
	}
	c.metrics.successes.WithLabelValues(KindClose, action).Inc()
	c.metrics.lamportsSpent.WithLabelValues(KindClose).Add(float64(res.Spent))
	c.metrics.rentReclaimed.WithLabelValues(a.Kind).Add(float64(acct.Lamports))
	c.log.Info("closed an ended account; its rent went to the rent collector", "kind", a.Kind, "address", a.Address,
		"status", a.Status, "lamports", acct.Lamports, "rent_collector", plan.Details["rentCollector"], "signature", res.Signature)
	return true, nil
}
