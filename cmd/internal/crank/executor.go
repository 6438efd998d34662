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
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// candidate is an approved proposal the read model thinks may be due.
type candidate struct {
	Address    solana.PublicKey
	Kind       string
	Governance solana.PublicKey
	Program    solana.PublicKey // zero for config changes
	Buffer     solana.PublicKey // zero when there is none
	Spill      solana.PublicKey
}

// executor executes approved proposals once the chain's clock passes their eta.
type executor struct {
	models  *readmodel.Store
	chain   *chain
	send    *sender
	metrics *Metrics
	log     *slog.Logger
	// inFlight holds the proposals being executed, so one is never sent twice at once.
	inFlight map[solana.PublicKey]bool
}

// candidates reads approved, not-stale proposals from the read model, earliest eta first. The
// read model may lag: each is checked on chain before anything is sent.
func (e *executor) candidates(ctx context.Context) ([]candidate, error) {
	rows, err := e.models.ApprovedProposals(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]candidate, 0, len(rows))
	for _, r := range rows {
		c := candidate{Kind: r.Kind}
		for _, k := range []struct {
			s   string
			dst *solana.PublicKey
		}{{r.Address, &c.Address}, {r.Governance, &c.Governance}, {r.Program, &c.Program}, {r.Buffer, &c.Buffer}, {r.Spill, &c.Spill}} {
			if k.s == "" {
				continue
			}
			if *k.dst, err = solana.PublicKeyFromBase58(k.s); err != nil {
				return nil, fmt.Errorf("candidate %s: bad key %q: %w", r.Address, k.s, err)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// tick executes every due proposal once; it returns the number executed.
func (e *executor) tick(ctx context.Context) (int, error) {
	cands, err := e.candidates(ctx)
	if err != nil {
		e.metrics.errors.WithLabelValues("execute", "database").Inc()
		return 0, err
	}
	done := 0
	for _, c := range cands {
		if e.inFlight[c.Address] {
			continue
		}
		e.inFlight[c.Address] = true
		ok, err := e.execute(ctx, c)
		delete(e.inFlight, c.Address)
		if err != nil {
			if ctx.Err() != nil {
				return done, ctx.Err()
			}
			e.log.Error("execute proposal", "proposal", c.Address, "kind", c.Kind, "error", err)
			continue
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// due checks on chain that the proposal is approved, not stale, and inside its window.
func (e *executor) due(ctx context.Context, c candidate) (*um.Proposal, bool, error) {
	var p um.Proposal
	if err := e.chain.decode(ctx, c.Address, &p); err != nil {
		return nil, false, err
	}
	var g um.Governance
	if err := e.chain.decode(ctx, p.Governance, &g); err != nil {
		return nil, false, err
	}
	now, err := e.chain.now(ctx)
	if err != nil {
		return nil, false, err
	}
	switch {
	case p.Status != um.ProposalStatusApproved:
		return &p, false, nil
	case p.MemberSetSeqno != g.MemberSetSeqno:
		return &p, false, nil
	case now < p.Eta:
		return &p, false, nil
	case now >= p.Eta+g.GracePeriodSeconds:
		return &p, false, nil
	}
	return &p, true, nil
}

// execute carries out one candidate if it is due; it reports whether it executed it.
func (e *executor) execute(ctx context.Context, c candidate) (bool, error) {
	p, due, err := e.due(ctx, c)
	if err != nil {
		e.metrics.errors.WithLabelValues("execute", "chain_state").Inc()
		return false, err
	}
	if !due {
		return false, nil
	}
	if p.Kind == um.ProposalKindUpgrade || p.Kind == um.ProposalKindRollback {
		if err := e.extend(ctx, c, p); err != nil {
			return false, err
		}
	}
	ix, err := e.chain.build.Execute(e.send.payer.PublicKey(), c.Address, p, c.Spill)
	if err != nil {
		return false, err
	}
	return e.land(ctx, "execute", c, ix, um.ErrProposalNotApproved)
}

// extend grows the programdata until the proposal's binary fits: at most 10 KiB per call and
// one call per slot, so it waits for the next slot between calls.
func (e *executor) extend(ctx context.Context, c candidate, p *um.Proposal) error {
	programdata := txbuild.Programdata(p.Program)
	for {
		pd, err := e.chain.account(ctx, programdata)
		if err != nil {
			return err
		}
		buf, err := e.chain.account(ctx, p.Buffer)
		if err != nil {
			return err
		}
		const bufferHeader, programdataHeader = 37, 45
		need := int64(len(buf.Data.GetBinary())-bufferHeader) - int64(len(pd.Data.GetBinary())-programdataHeader)
		if need <= 0 {
			return nil
		}
		ix := e.chain.build.Extend(e.send.payer.PublicKey(), c.Address, p)
		e.log.Info("extending programdata", "proposal", c.Address, "missing_bytes", need)
		if _, err := e.land(ctx, "extend", c, ix, um.ErrExtendNotNeeded); err != nil {
			return err
		}
		if e.send.dryRun {
			return nil
		}
		// The loader refuses a second extension in the slot of the first. The extension has
		// landed (confirmed), so the chain's slot now is at or past the one it landed in: the
		// next call must wait for a slot after that. (Waiting for the slot read before sending,
		// plus one, was already true at confirmation, and the next call was refused.)
		landed, err := e.send.rpc.GetSlot(ctx, e.send.commitment)
		if err != nil {
			return fmt.Errorf("get slot: %w", err)
		}
		if err := waitForSlot(ctx, e.send, landed+1); err != nil {
			return err
		}
	}
}

// land sends one action and accounts for it; raceCode is the program error that means someone
// else did it first. It reports whether this crank landed it.
func (e *executor) land(ctx context.Context, action string, c candidate, ix solana.Instruction, raceCode um.ErrorCode) (bool, error) {
	e.metrics.attempts.WithLabelValues("execute", action).Inc()
	res, err := e.send.send(ctx, []solana.Instruction{ix}, func(code uint32) bool { return code == uint32(raceCode) })
	switch {
	case errors.Is(err, errRaceLost):
		e.metrics.racesLost.WithLabelValues("execute", action).Inc()
		e.log.Info("race lost: already done", "action", action, "proposal", c.Address)
		return false, nil
	case err != nil:
		var se *SimulationError
		kind := "rpc"
		if errors.As(err, &se) {
			kind = "simulation"
		}
		e.metrics.errors.WithLabelValues("execute", kind).Inc()
		return false, fmt.Errorf("%s %s: %w", action, c.Address, err)
	case res.DryRun:
		e.log.Info("dry run: simulation passed, not sent", "action", action, "proposal", c.Address, "kind", c.Kind)
		return false, nil
	}
	e.metrics.successes.WithLabelValues("execute", action).Inc()
	e.metrics.lamportsSpent.WithLabelValues("execute").Add(float64(res.Spent))
	e.log.Info("landed", "action", action, "proposal", c.Address, "kind", c.Kind, "signature", res.Signature)
	return true, nil
}

// waitForSlot polls until the chain's slot reaches slot.
func waitForSlot(ctx context.Context, s *sender, slot uint64) error {
	for {
		cur, err := s.rpc.GetSlot(ctx, s.commitment)
		if err == nil && cur >= slot {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.poll):
		}
	}
}
