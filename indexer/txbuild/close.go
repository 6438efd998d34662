package txbuild

import (
	"context"
	"fmt"

	"github.com/gagliardetto/solana-go"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Codes of the close checks.
const (
	// CodeNotEnded: the proposal is still active or approved, or the migration job still active.
	CodeNotEnded Code = "NOT_ENDED"
)

// RentCollector is where the program sends the rent of an account paid by payer when it is
// closed under gov: the governance's rent collector when it has one, else payer.
func RentCollector(gov *um.Governance, payer solana.PublicKey) solana.PublicKey {
	if gov.RentCollector.IsZero() {
		return payer
	}
	return gov.RentCollector
}

// JobRentCollector is where a closed migration job's rent goes: RentCollector of whoever paid
// for it, or of the spill account for a job made before layout 3 (which does not record it).
func JobRentCollector(gov *um.Governance, job *um.MigrationJob) solana.PublicKey {
	if job.Payer.IsZero() {
		return RentCollector(gov, gov.Spill)
	}
	return RentCollector(gov, job.Payer)
}

// CloseProposal closes the ended proposal at address (p, under gov); anyone may sign, and the
// rent goes to RentCollector(gov, p.Proposer), never to signer.
func (b *Builder) CloseProposal(signer, address solana.PublicKey, p *um.Proposal, gov *um.Governance) *solana.GenericInstruction {
	return b.client.NewCloseProposalInstruction(um.CloseProposalAccounts{
		Signer: signer, Governance: p.Governance, Proposal: address,
		RentCollector: RentCollector(gov, p.Proposer),
	})
}

// CloseMigrationJob closes the completed or cancelled job at address (job, under gov); anyone
// may sign, and the rent goes to JobRentCollector(gov, job).
func (b *Builder) CloseMigrationJob(signer, address solana.PublicKey, job *um.MigrationJob, gov *um.Governance) *solana.GenericInstruction {
	return b.client.NewCloseMigrationJobInstruction(um.CloseMigrationJobAccounts{
		Signer: signer, Governance: job.Governance, Job: address,
		RentCollector: JobRentCollector(gov, job),
	})
}

// ProposalEnded reports whether p has ended for good (executed, cancelled, rejected or
// expired), so that close_proposal accepts it.
func ProposalEnded(p *um.Proposal) bool {
	switch p.Status {
	case um.ProposalStatusExecuted, um.ProposalStatusCancelled, um.ProposalStatusRejected, um.ProposalStatusExpired:
		return true
	}
	return false
}

// CheckCloseProposal refuses closing a proposal that has not ended.
func CheckCloseProposal(address solana.PublicKey, p *um.Proposal) error {
	if !ProposalEnded(p) {
		return refuse(CodeNotEnded, "only executed, cancelled, rejected or expired proposals close; one past its window is expired first (`expire`)",
			"proposal %s is %s", address, StatusName(p.Status))
	}
	return nil
}

// CheckCloseMigrationJob refuses closing a job that is still active.
func CheckCloseMigrationJob(address solana.PublicKey, job *um.MigrationJob) error {
	if job.Status == um.MigrationStatusActive {
		return refuse(CodeNotEnded, "only completed or cancelled jobs close",
			"migration job %s is still active", address)
	}
	return nil
}

// PlanCloseProposal plans closing the ended proposal at proposal, signed by signer.
func (r *Reader) PlanCloseProposal(ctx context.Context, proposal, signer solana.PublicKey) (*Plan, error) {
	p, g, err := r.proposalWithGovernance(ctx, proposal)
	if err != nil {
		return nil, err
	}
	if err := CheckCloseProposal(proposal, p); err != nil {
		return nil, err
	}
	to := RentCollector(g, p.Proposer)
	return &Plan{
		Summary:      fmt.Sprintf("close %s proposal #%d (%s, %s); its rent goes to %s", StatusName(p.Status), p.Index, KindName(p.Kind), proposal, to),
		Instructions: []solana.Instruction{r.Builder.CloseProposal(signer, proposal, p, g)},
		Address:      proposal,
		Details:      map[string]string{"rentCollector": to.String()},
	}, nil
}

// PlanCloseMigrationJob plans closing the job of the migration proposal at proposal, signed by
// signer.
func (r *Reader) PlanCloseMigrationJob(ctx context.Context, proposal, signer solana.PublicKey) (*Plan, error) {
	job, err := r.MigrationJob(ctx, proposal)
	if err != nil {
		return nil, err
	}
	address := r.Builder.MigrationJob(proposal)
	if err := CheckCloseMigrationJob(address, job); err != nil {
		return nil, err
	}
	g, err := r.Governance(ctx, job.Governance)
	if err != nil {
		return nil, err
	}
	to := JobRentCollector(g, job)
	return &Plan{
		Summary:      fmt.Sprintf("close migration job %s of proposal %s (%d accounts migrated); its rent goes to %s", address, proposal, job.MigratedCount, to),
		Instructions: []solana.Instruction{r.Builder.CloseMigrationJob(signer, address, job, g)},
		Address:      address,
		Details:      map[string]string{"rentCollector": to.String()},
	}, nil
}
