package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/rpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/txbuild"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// proposalRow is one line of `status`, from the chain or the read model.
type proposalRow struct {
	Index     uint64   `json:"index"`
	Address   string   `json:"address"`
	Kind      string   `json:"kind"`
	Status    string   `json:"status"`
	Approvals int      `json:"approvals"`
	Threshold int      `json:"threshold"`
	Missing   []string `json:"missing"`
	Eta       *string  `json:"eta"`
	// SecondsToEta is positive while the timelock runs; SecondsToExpiry while it may execute.
	SecondsToEta    *int64 `json:"secondsToEta,omitempty"`
	SecondsToExpiry *int64 `json:"secondsToExpiry,omitempty"`
}

type statusResult struct {
	Governance string        `json:"governance"`
	Source     string        `json:"source"`
	Threshold  int           `json:"threshold"`
	Members    []string      `json:"members"`
	Proposals  []proposalRow `json:"proposals"`
}

func (s statusResult) text(w io.Writer) {
	fmt.Fprintf(w, "governance %s (%d-of-%d, from %s)\n", s.Governance, s.Threshold, len(s.Members), s.Source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPROPOSAL\tKIND\tSTATUS\tAPPROVALS\tMISSING\tWHEN")
	for _, p := range s.Proposals {
		missing := "-"
		if len(p.Missing) > 0 && (p.Status == "active" || p.Status == "approved") {
			short := make([]string, len(p.Missing))
			for i, m := range p.Missing {
				short[i] = m[:min(8, len(m))] + "…"
			}
			missing = strings.Join(short, ",")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", p.Index, p.Address, p.Kind, p.Status, p.Approvals, p.Threshold, missing, when(p))
	}
	_ = tw.Flush()
}

func when(p proposalRow) string {
	switch {
	case p.SecondsToEta != nil:
		return "eta in " + (time.Duration(*p.SecondsToEta) * time.Second).String()
	case p.SecondsToExpiry != nil:
		return "executable; expires in " + (time.Duration(*p.SecondsToExpiry) * time.Second).String()
	case p.Eta != nil:
		return "eta " + *p.Eta
	}
	return "-"
}

func statusCmd(fs *flag.FlagSet) body {
	govFlag := fs.String("governance", "", "governance address (or --program)")
	programFlag := fs.String("program", "", "a managed program: its governance")
	chain := fs.Bool("chain", false, "read straight from the chain instead of the GraphQL read model")
	return func(c *cli, ctx context.Context, _ []string) (any, error) {
		var gov solana.PublicKey
		var err error
		switch {
		case *govFlag != "":
			gov, err = parseKey("--governance", *govFlag)
		case *programFlag != "":
			var program solana.PublicKey
			if program, err = parseKey("--program", *programFlag); err == nil {
				var mp *um.ManagedProgram
				if mp, err = c.reader.ManagedProgram(ctx, program); err == nil {
					gov = mp.Governance
				}
			}
		default:
			err = fmt.Errorf("--governance or --program is required")
		}
		if err != nil {
			return nil, err
		}
		if *chain || c.graphqlURL == "" {
			return c.statusFromChain(ctx, gov)
		}
		return c.statusFromGraphQL(ctx, gov)
	}
}

func (c *cli) statusFromChain(ctx context.Context, gov solana.PublicKey) (any, error) {
	g, err := c.reader.Governance(ctx, gov)
	if err != nil {
		return nil, err
	}
	now, err := c.reader.Now(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := c.reader.Proposals(ctx, gov)
	if err != nil {
		return nil, err
	}
	res := statusResult{Governance: gov.String(), Source: "chain", Threshold: int(g.Threshold), Proposals: []proposalRow{}}
	for _, m := range g.Members {
		res.Members = append(res.Members, m.String())
	}
	for _, p := range ps {
		res.Proposals = append(res.Proposals, chainRow(g, p, now))
	}
	return res, nil
}

func chainRow(g *um.Governance, p txbuild.ProposalAt, now int64) proposalRow {
	approvals := p.Approvals
	status := txbuild.StatusName(p.Status)
	if p.MemberSetSeqno != g.MemberSetSeqno {
		approvals = 0
		if p.Status == um.ProposalStatusActive || p.Status == um.ProposalStatusApproved {
			status = "stale"
		}
	}
	threshold := g.Threshold
	if p.Kind == um.ProposalKindRollback {
		threshold = g.RollbackThreshold
	}
	row := proposalRow{Index: p.Index, Address: p.Address.String(), Kind: txbuild.KindName(p.Kind), Status: status, Threshold: int(threshold), Missing: []string{}}
	for i, m := range g.Members {
		if approvals&(1<<i) != 0 {
			row.Approvals++
		} else {
			row.Missing = append(row.Missing, m.String())
		}
	}
	if p.Eta != 0 {
		eta := time.Unix(p.Eta, 0).UTC().Format(time.RFC3339)
		row.Eta = &eta
		if p.Status == um.ProposalStatusApproved && status != "stale" {
			if now < p.Eta {
				left := p.Eta - now
				row.SecondsToEta = &left
			} else if exp := p.Eta + g.GracePeriodSeconds - now; exp > 0 {
				row.SecondsToExpiry = &exp
			}
		}
	}
	return row
}

// graphql runs one query against the read model.
func (c *cli) graphql(ctx context.Context, query string, vars map[string]any, into any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.graphqlURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("GraphQL request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GraphQL at %s: %w (is the server running? --chain reads the chain instead)", c.graphqlURL, err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("GraphQL answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(out.Errors) > 0 {
		return fmt.Errorf("GraphQL: %s", out.Errors[0].Message)
	}
	return json.Unmarshal(out.Data, into)
}

func (c *cli) statusFromGraphQL(ctx context.Context, gov solana.PublicKey) (any, error) {
	var data struct {
		Governance *struct {
			Threshold int
			Members   []struct{ Address string }
		}
		Proposals struct {
			Nodes []struct {
				Address, Kind, Status string
				Index                 json.Number
				ApprovalCount         int
				ApprovalsStale        bool
				CancelThreshold       int
				MemberSetSeqno        string
				Approvals             []struct{ Member, MemberSetSeqno string }
				Eta                   *string
				ExecutionWindowEndsAt *string
			}
		}
	}
	// The server works out what counts: stale approvals (approvalsStale), the threshold under
	// the governance's current settings (cancelThreshold: the same as approving's) and the end
	// of the execution window.
	err := c.graphql(ctx, `query($g: PublicKey!) {
  governance(address: $g) { threshold members { address } }
  proposals(filter: {governance: $g}, first: 100, orderBy: {field: CREATED_AT, direction: ASC}) {
    nodes { address index kind status approvalCount approvalsStale cancelThreshold memberSetSeqno approvals { member memberSetSeqno } eta executionWindowEndsAt }
  }
}`, map[string]any{"g": gov.String()}, &data)
	if err != nil {
		return nil, err
	}
	if data.Governance == nil {
		return nil, &txbuild.Error{Code: txbuild.CodeNotFound, Message: fmt.Sprintf("the read model does not know governance %s", gov), Hint: "check the address, or read the chain with --chain"}
	}
	res := statusResult{Governance: gov.String(), Source: "graphql " + c.graphqlURL, Threshold: data.Governance.Threshold, Proposals: []proposalRow{}}
	for _, m := range data.Governance.Members {
		res.Members = append(res.Members, m.Address)
	}
	now := time.Now().Unix()
	if chainNow, err := c.reader.Now(ctx); err == nil {
		now = chainNow
	}
	for _, n := range data.Proposals.Nodes {
		idx, _ := n.Index.Int64()
		row := proposalRow{Index: uint64(idx), Address: n.Address, Kind: strings.ToLower(n.Kind), Status: strings.ToLower(n.Status),
			Approvals: n.ApprovalCount, Threshold: n.CancelThreshold, Eta: n.Eta, Missing: []string{}}
		approved := map[string]bool{}
		if n.ApprovalsStale {
			row.Approvals = 0 // given under an older member set: they no longer count
		} else {
			for _, a := range n.Approvals {
				// Approvals dropped by a stale reset stay listed under their older seqno.
				if a.MemberSetSeqno == n.MemberSetSeqno {
					approved[a.Member] = true
				}
			}
		}
		for _, m := range res.Members {
			if !approved[m] {
				row.Missing = append(row.Missing, m)
			}
		}
		if n.Eta != nil && n.ExecutionWindowEndsAt != nil && (row.Status == "approved" || row.Status == "ready_to_execute") {
			eta, err1 := time.Parse(time.RFC3339, *n.Eta)
			end, err2 := time.Parse(time.RFC3339, *n.ExecutionWindowEndsAt)
			if err1 == nil && err2 == nil {
				if left := eta.Unix() - now; left > 0 {
					row.SecondsToEta = &left
				} else if exp := end.Unix() - now; exp > 0 {
					row.SecondsToExpiry = &exp
				}
			}
		}
		res.Proposals = append(res.Proposals, row)
	}
	return res, nil
}

func showCmd(fs *flag.FlagSet) body {
	chain := fs.Bool("chain", false, "history from the chain's signatures instead of the GraphQL read model")
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, p, g, err := c.proposalState(ctx, args)
		if err != nil {
			return nil, err
		}
		now, err := c.reader.Now(ctx)
		if err != nil {
			return nil, err
		}
		row := chainRow(g, txbuild.ProposalAt{Address: addr, Proposal: p}, now)
		res := map[string]any{
			"proposal": row, "governance": p.Governance.String(), "proposer": p.Proposer.String(),
			"metadataUri": p.MetadataURI, "buildHash": hex.EncodeToString(p.BuildHash[:]),
			"createdAt":   time.Unix(p.CreatedAt, 0).UTC().Format(time.RFC3339),
			"cancelVotes": popcount(p.CancelVotes), "memberSetSeqno": p.MemberSetSeqno,
		}
		if !p.Program.IsZero() {
			res["program"] = p.Program.String()
		}
		if !p.Buffer.IsZero() {
			res["buffer"], res["bufferHash"], res["bufferElfLength"], res["extendBytesNeeded"] =
				p.Buffer.String(), hex.EncodeToString(p.BufferHash[:]), p.BufferElfLen, p.ExtendBytesNeeded
		}
		if p.ConfigChange != nil {
			res["configChange"] = json.RawMessage(p.ConfigChange.AppendJSON(nil))
		}
		if p.Migration != nil {
			res["migration"] = json.RawMessage(p.Migration.AppendJSON(nil))
		}
		if p.ExecutedAt != 0 {
			res["executedAt"] = time.Unix(p.ExecutedAt, 0).UTC().Format(time.RFC3339)
		}
		if *chain || c.graphqlURL == "" {
			res["history"], err = c.chainHistory(ctx, addr)
			res["historySource"] = "chain signatures"
		} else {
			res["history"], err = c.graphqlHistory(ctx, addr)
			res["historySource"] = "graphql " + c.graphqlURL
		}
		if err != nil {
			return nil, err
		}
		return showResult(res), nil
	}
}

// showResult is `show`'s answer: JSON as it is, text as a summary and a history table.
type showResult map[string]any

func (s showResult) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]any(s)) }

func (s showResult) text(w io.Writer) {
	row := s["proposal"].(proposalRow)
	fmt.Fprintf(w, "proposal #%d %s: %s, %s, %d/%d approvals, %s\n", row.Index, row.Address, row.Kind, row.Status, row.Approvals, row.Threshold, when(row))
	if len(row.Missing) > 0 && (row.Status == "active" || row.Status == "approved") {
		fmt.Fprintf(w, "  not approved by: %s\n", strings.Join(row.Missing, ", "))
	}
	for _, k := range []string{"governance", "proposer", "program", "buffer", "bufferHash", "bufferElfLength", "extendBytesNeeded", "buildHash", "metadataUri", "createdAt", "executedAt", "cancelVotes"} {
		if v, ok := s[k]; ok && v != "" {
			fmt.Fprintf(w, "  %-18s %v\n", k+":", v)
		}
	}
	for _, k := range []string{"configChange", "migration"} {
		if v, ok := s[k].(json.RawMessage); ok {
			fmt.Fprintf(w, "  %-18s %s\n", k+":", v)
		}
	}
	fmt.Fprintf(w, "history (%s):\n", s["historySource"])
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range s["history"].([]map[string]any) {
		var cols []string
		for _, k := range []string{"time", "event", "by", "slot", "signature"} {
			if v, ok := e[k]; ok {
				cols = append(cols, fmt.Sprint(v))
			}
		}
		if failed, _ := e["failed"].(bool); failed {
			cols = append(cols, "FAILED")
		}
		fmt.Fprintln(tw, "  "+strings.Join(cols, "\t"))
	}
	_ = tw.Flush()
}

func popcount(v uint32) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// chainHistory lists the transactions that touched the proposal, oldest first.
func (c *cli) chainHistory(ctx context.Context, addr solana.PublicKey) ([]map[string]any, error) {
	commitment := c.commitment
	if commitment == rpc.CommitmentProcessed {
		commitment = rpc.CommitmentConfirmed
	}
	sigs, err := c.rpc.GetSignaturesForAddressWithOpts(ctx, addr, &rpc.GetSignaturesForAddressOpts{Commitment: commitment})
	if err != nil {
		return nil, fmt.Errorf("get signatures of %s: %w", addr, err)
	}
	out := []map[string]any{}
	v0 := uint64(0)
	for i := len(sigs) - 1; i >= 0; i-- {
		s := sigs[i]
		e := map[string]any{"signature": s.Signature.String(), "slot": s.Slot, "failed": s.Err != nil}
		if s.BlockTime != nil {
			e["time"] = s.BlockTime.Time().UTC().Format(time.RFC3339)
		}
		// Name what the transaction did from its upgrade_manager instructions.
		res, err := c.rpc.GetTransaction(ctx, s.Signature, &rpc.GetTransactionOpts{
			Encoding: solana.EncodingBase64, Commitment: commitment, MaxSupportedTransactionVersion: &v0,
		})
		if err == nil && res != nil && res.Transaction != nil {
			if tx, err := res.Transaction.GetTransaction(); err == nil {
				var names []string
				for _, ix := range tx.Message.Instructions {
					if int(ix.ProgramIDIndex) < len(tx.Message.AccountKeys) && tx.Message.AccountKeys[ix.ProgramIDIndex].Equals(c.programID) {
						if name, ok := um.InstructionName(ix.Data); ok {
							names = append(names, name)
						}
					}
				}
				if len(names) > 0 {
					e["event"] = strings.Join(names, "+")
				}
				if len(tx.Message.AccountKeys) > 0 {
					e["by"] = tx.Message.AccountKeys[0].String()
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// graphqlHistory is the proposal's life from the read model: creation, each approval (and
// revocation), approval, execution or closing.
func (c *cli) graphqlHistory(ctx context.Context, addr solana.PublicKey) ([]map[string]any, error) {
	var data struct {
		Proposal *struct {
			CreatedAt, CreatedSignature, Proposer string
			ApprovedAt                            *string
			Approvals                             []struct {
				Member, ApprovedAt, Signature string
				RevokedAt, RevokedSignature   *string
			}
			Execution *struct{ Signature, ExecutedAt, Executor string }
			ClosedAt  *string
			ClosedSig *string `json:"closedSignature"`
			Status    string
		}
	}
	err := c.graphql(ctx, `query($p: PublicKey!) { proposal(address: $p) {
  createdAt createdSignature proposer approvedAt status
  approvals(includeRevoked: true) { member approvedAt signature revokedAt revokedSignature }
  execution { signature executedAt executor } closedAt closedSignature } }`, map[string]any{"p": addr.String()}, &data)
	if err != nil {
		return nil, err
	}
	if data.Proposal == nil {
		return nil, &txbuild.Error{Code: txbuild.CodeNotFound, Message: fmt.Sprintf("the read model does not know proposal %s yet", addr), Hint: "the indexer may lag; try again or pass --chain"}
	}
	p := data.Proposal
	out := []map[string]any{{"event": "created", "time": p.CreatedAt, "by": p.Proposer, "signature": p.CreatedSignature}}
	for _, a := range p.Approvals {
		out = append(out, map[string]any{"event": "approved", "time": a.ApprovedAt, "by": a.Member, "signature": a.Signature})
		if a.RevokedAt != nil {
			out = append(out, map[string]any{"event": "revoked", "time": *a.RevokedAt, "by": a.Member, "signature": deref(a.RevokedSignature)})
		}
	}
	if p.ApprovedAt != nil {
		out = append(out, map[string]any{"event": "threshold reached", "time": *p.ApprovedAt})
	}
	if p.Execution != nil {
		out = append(out, map[string]any{"event": "executed", "time": p.Execution.ExecutedAt, "by": p.Execution.Executor, "signature": p.Execution.Signature})
	}
	if p.ClosedAt != nil && p.Execution == nil {
		out = append(out, map[string]any{"event": strings.ToLower(p.Status), "time": *p.ClosedAt, "signature": deref(p.ClosedSig)})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type migrationResult struct {
	Job      string  `json:"job"`
	Status   string  `json:"status"`
	Migrated uint64  `json:"migrated"`
	Total    uint64  `json:"total"`
	Batches  uint64  `json:"batches"`
	Progress float64 `json:"progress"`
}

func (m migrationResult) text(w io.Writer) {
	const width = 30
	filled := int(m.Progress * width)
	fmt.Fprintf(w, "job %s %s\n[%s%s] %d/%d accounts (%.1f%%) in %d batches\n", m.Job, m.Status,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), m.Migrated, m.Total, 100*m.Progress, m.Batches)
}

func migrationStatusCmd(fs *flag.FlagSet) body {
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		addr, err := oneArg("PROPOSAL", args)
		if err != nil {
			return nil, err
		}
		j, err := c.reader.MigrationJob(ctx, addr)
		if err != nil {
			return nil, fmt.Errorf("%w (a migration proposal has a job once executed)", err)
		}
		m := migrationResult{Job: c.build.MigrationJob(addr).String(), Status: strings.ToLower(j.Status.String()),
			Migrated: j.MigratedCount, Total: j.Spec.TotalAccounts, Batches: j.BatchCount}
		if m.Total > 0 {
			m.Progress = float64(m.Migrated) / float64(m.Total)
		}
		return m, nil
	}
}

type verifyResult struct {
	Proposal string `json:"proposal"`
	Match    bool   `json:"match"`
	// ProposalHash is what the program recorded from the buffer when the proposal was made.
	ProposalHash string `json:"proposalHash"`
	// ProgramHash is the local file hashed as the program hashes a buffer: sha256 of the ELF
	// without trailing zero padding. solana-verify's get-executable-hash computes the same.
	ProgramHash string `json:"programHash"`
	// FileSHA256 is sha256 of the whole file (sha256sum), padding included.
	FileSHA256 string `json:"fileSha256"`
	// BufferNow is the hash of the buffer's contents now, when it still exists.
	BufferNow *string `json:"bufferHashNow,omitempty"`
}

func (v verifyResult) text(w io.Writer) {
	verdict := "MATCH: the proposal deploys this build"
	if !v.Match {
		verdict = "MISMATCH: the proposal does NOT deploy this build; do not approve it"
	}
	fmt.Fprintf(w, "%s\n  proposal's buffer hash (recorded on chain at proposal time): %s\n", verdict, v.ProposalHash)
	fmt.Fprintf(w, "  local build, hashed as the program hashes a buffer\n    (sha256 of the ELF without trailing zeros; = solana-verify get-executable-hash): %s\n", v.ProgramHash)
	fmt.Fprintf(w, "  local file sha256 (sha256sum, padding included; not what the program compares): %s\n", v.FileSHA256)
	if v.BufferNow != nil {
		fmt.Fprintf(w, "  buffer on chain now: %s\n", *v.BufferNow)
	}
}

func verifyCmd(fs *flag.FlagSet) body {
	so := fs.String("so", "", "the program file you built (target/deploy/NAME.so)")
	return func(c *cli, ctx context.Context, args []string) (any, error) {
		if *so == "" {
			return nil, fmt.Errorf("--so FILE is required")
		}
		addr, err := oneArg("PROPOSAL", args)
		if err != nil {
			return nil, err
		}
		local, err := os.ReadFile(*so)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", *so, err)
		}
		p, err := c.reader.Proposal(ctx, addr)
		if err != nil {
			return nil, err
		}
		if p.Kind != um.ProposalKindUpgrade && p.Kind != um.ProposalKindRollback {
			return nil, &txbuild.Error{Code: txbuild.CodeWrongProposalKind, Message: fmt.Sprintf("proposal %s is a %s: it deploys no binary", addr, txbuild.KindName(p.Kind))}
		}
		ph, fh := txbuild.ELFHash(local), sha256.Sum256(local)
		res := verifyResult{Proposal: addr.String(), ProposalHash: hex.EncodeToString(p.BufferHash[:]),
			ProgramHash: hex.EncodeToString(ph[:]), FileSHA256: hex.EncodeToString(fh[:]), Match: ph == p.BufferHash}
		if a, err := c.reader.Account(ctx, p.Buffer); err == nil {
			if elf, err := txbuild.BufferELF(a.Data.GetBinary()); err == nil {
				h := txbuild.ELFHash(elf)
				s := hex.EncodeToString(h[:])
				res.BufferNow = &s
			}
		}
		if !res.Match {
			if !c.jsonOut {
				c.print(res)
			}
			return nil, &txbuild.Error{Code: "HASH_MISMATCH", Message: fmt.Sprintf("%s hashes to %s, proposal %s deploys %s", *so, res.ProgramHash, addr, res.ProposalHash),
				Hint: "do not approve: rebuild from the proposal's build hash, or ask the proposer which binary they uploaded"}
		}
		return res, nil
	}
}
