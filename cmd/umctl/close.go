package main

import (
	"context"
	"flag"
)

// closeCmd closes an ended proposal, or with --job the completed or cancelled job of a
// migration proposal: anyone may, and the rent goes to the governance's rent collector (or
// whoever paid for the account), never to the caller. The read model keeps the history.
func closeCmd(fs *flag.FlagSet) body {
	job := fs.Bool("job", false, "close the migration job of PROPOSAL (a migration proposal) instead of the proposal")
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, err := oneArg("PROPOSAL", args)
		if err != nil {
			return nil, err
		}
		payer, err := c.payer()
		if err != nil {
			return nil, err
		}
		if *job {
			plan, err := c.reader.PlanCloseMigrationJob(ctx, addr, payer.pub)
			if err != nil {
				return nil, err
			}
			return c.submitPlan(ctx, plan, "job", payer, signer{})
		}
		plan, err := c.reader.PlanCloseProposal(ctx, addr, payer.pub)
		if err != nil {
			return nil, err
		}
		return c.submitPlan(ctx, plan, "proposal", payer, signer{})
	}
}
