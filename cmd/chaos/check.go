package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Checker compares the read model with the chain. It reads the chain over plain JSON-RPC
// and decodes with the generated decoders and indexer/decode only: it shares no code with
// the indexer's client, ingestion or store.
type Checker struct {
	rpc *rawRPC
	db  *pgxpool.Pool
	// Slack is how long past its eta a proposal may stay executable (a few crank polls).
	Slack time.Duration
	// Planted are accounts written with localnet's dev_setAccount, outside the program:
	// no event records them, so the read model cannot hold them.
	Planted map[string]bool
}

// ChainEvent is one event of the chain, in chain order.
type ChainEvent struct {
	Sig  string
	Slot uint64
	Name string
	Raw  []byte
	Data um.Event
}

// Snapshot is the chain as the checker read it.
type Snapshot struct {
	Events       []ChainEvent
	Transactions int // successful transactions of the program
	Accounts     map[string]um.Account
	// BufferLocks are the program's ["buffer_lock", buffer] accounts, by address (kept apart
	// from Accounts, whose rows the read model mirrors).
	BufferLocks map[string]*um.BufferLock
	Now         int64 // the chain's clock
}

// ReadChain walks the program's history (getSignaturesForAddress, newest first, then
// getBlock for the order inside each slot and getTransaction for each) at finalized
// commitment, and reads every account with getProgramAccounts.
func (c *Checker) ReadChain(ctx context.Context) (*Snapshot, error) {
	dec := decode.New(um.New(um.ProgramID))
	type sigInfo struct {
		Signature string          `json:"signature"`
		Slot      uint64          `json:"slot"`
		Err       json.RawMessage `json:"err"`
	}
	var sigs []sigInfo
	before := ""
	for {
		opts := map[string]any{"limit": 1000, "commitment": "finalized"}
		if before != "" {
			opts["before"] = before
		}
		res, err := c.rpc.call(ctx, "getSignaturesForAddress", um.ProgramID.String(), opts)
		if err != nil {
			return nil, err
		}
		var page []sigInfo
		if err := json.Unmarshal(res, &page); err != nil {
			return nil, fmt.Errorf("decode signatures: %w", err)
		}
		sigs = append(sigs, page...)
		if len(page) < 1000 {
			break
		}
		before = page[len(page)-1].Signature
	}
	// The order inside a slot is the block's.
	bySlot := map[uint64][]string{}
	for _, s := range sigs {
		if len(s.Err) > 0 && string(s.Err) != "null" {
			continue
		}
		bySlot[s.Slot] = append(bySlot[s.Slot], s.Signature)
	}
	slots := make([]uint64, 0, len(bySlot))
	for s := range bySlot {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	snap := &Snapshot{Accounts: map[string]um.Account{}, BufferLocks: map[string]*um.BufferLock{}}
	for _, slot := range slots {
		ours := map[string]bool{}
		for _, s := range bySlot[slot] {
			ours[s] = true
		}
		res, err := c.rpc.call(ctx, "getBlock", slot, map[string]any{"transactionDetails": "signatures", "rewards": false, "commitment": "finalized", "maxSupportedTransactionVersion": 0})
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", slot, err)
		}
		var block struct {
			Signatures []string `json:"signatures"`
		}
		if err := json.Unmarshal(res, &block); err != nil {
			return nil, fmt.Errorf("decode block %d: %w", slot, err)
		}
		for _, sig := range block.Signatures {
			if !ours[sig] {
				continue
			}
			delete(ours, sig)
			raw, err := c.rpc.call(ctx, "getTransaction", sig, map[string]any{"encoding": "json", "commitment": "finalized", "maxSupportedTransactionVersion": 0})
			if err != nil {
				return nil, err
			}
			tx, err := decode.ParseTransaction(raw)
			if err != nil {
				return nil, fmt.Errorf("transaction %s: %w", sig, err)
			}
			r := dec.Decode(tx)
			if len(r.Errors) > 0 {
				return nil, fmt.Errorf("transaction %s: undecodable event: %v", sig, r.Errors[0])
			}
			if r.Failed {
				continue
			}
			snap.Transactions++
			for _, ev := range r.Events {
				snap.Events = append(snap.Events, ChainEvent{Sig: sig, Slot: slot, Name: ev.Name, Raw: bytes.Clone(ev.Raw), Data: ev.Data})
			}
		}
		if len(ours) > 0 {
			return nil, fmt.Errorf("slot %d: getSignaturesForAddress lists %d transactions its block does not hold", slot, len(ours))
		}
	}

	res, err := c.rpc.call(ctx, "getProgramAccounts", um.ProgramID.String(), map[string]any{"encoding": "base64", "commitment": "finalized"})
	if err != nil {
		return nil, err
	}
	var accounts []struct {
		Pubkey  string `json:"pubkey"`
		Account struct {
			Data []string `json:"data"`
		} `json:"account"`
	}
	if err := json.Unmarshal(res, &accounts); err != nil {
		return nil, fmt.Errorf("decode program accounts: %w", err)
	}
	for _, a := range accounts {
		data, err := base64.StdEncoding.DecodeString(a.Account.Data[0])
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Pubkey, err)
		}
		acc, err := um.DecodeAccount(data)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Pubkey, err)
		}
		if lock, ok := acc.(*um.BufferLock); ok {
			snap.BufferLocks[a.Pubkey] = lock
			continue
		}
		snap.Accounts[a.Pubkey] = acc
	}
	st, err := c.rpc.devStatus(ctx)
	if err != nil {
		return nil, err
	}
	snap.Now = st.UnixTimestamp
	return snap, nil
}

// Check compares the database with snap and returns every mismatch.
func (c *Checker) Check(ctx context.Context, snap *Snapshot) ([]string, error) {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	ev, err := c.checkEvents(ctx, snap)
	if err != nil {
		return nil, err
	}
	bad = append(bad, ev...)

	seen := map[string]bool{}
	for addr, acc := range snap.Accounts {
		seen[addr] = true
		if c.Planted[addr] {
			continue
		}
		var m []string
		switch a := acc.(type) {
		case *um.Governance:
			m, err = c.checkGovernance(ctx, addr, a)
		case *um.Proposal:
			m, err = c.checkProposal(ctx, addr, a, snap)
		case *um.ManagedProgram:
			m, err = c.checkProgram(ctx, addr, a)
		case *um.MigrationJob:
			m, err = c.checkJob(ctx, addr, a)
		default:
			add("account %s: unexpected type %T", addr, acc)
		}
		if err != nil {
			return nil, err
		}
		bad = append(bad, m...)
	}
	// A buffer lock lives exactly as long as the proposal it backs is open: one left behind
	// keeps a buffer from any other proposal (BufferInUse) for good.
	for addr, lock := range snap.BufferLocks {
		p, ok := snap.Accounts[lock.Proposal.String()].(*um.Proposal)
		switch {
		case !ok:
			add("buffer lock %s: its proposal %s is not on chain", addr, lock.Proposal)
		case p.Status != um.ProposalStatusActive && p.Status != um.ProposalStatusApproved:
			add("buffer lock %s: its proposal %s is %s, yet the lock is open", addr, lock.Proposal, statusNames[p.Status])
		case p.Buffer != lock.Buffer:
			add("buffer lock %s: locks buffer %s, its proposal %s holds %s", addr, lock.Buffer, lock.Proposal, p.Buffer)
		}
	}
	// Rows with no account behind them.
	for _, q := range []struct{ table, col string }{
		{"governance", "address"}, {"proposal", "address"}, {"managed_program", "address"}, {"migration_job", "address"},
	} {
		// A closed proposal or job keeps its row (account_closure says so); its account is gone.
		rows, err := c.db.Query(ctx, "SELECT "+q.col+" FROM "+q.table+" x WHERE NOT EXISTS (SELECT 1 FROM account_closure c WHERE c.address = x."+q.col+")")
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[a] {
				add("%s %s: in the database, not on chain", q.table, a)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}

	// Each proposal executed at most once, on chain and in the log.
	executed := map[string]int{}
	for _, e := range snap.Events {
		if x, ok := e.Data.(*um.ProposalExecuted); ok {
			executed[x.Proposal.String()]++
		}
	}
	for p, n := range executed {
		if n > 1 {
			add("proposal %s executed %d times", p, n)
		}
	}
	return bad, nil
}

// checkEvents compares chain_event with the chain's events: the same events, each once,
// in chain order both by position and by seq.
func (c *Checker) checkEvents(ctx context.Context, snap *Snapshot) ([]string, error) {
	var bad []string
	rows, err := c.db.Query(ctx, `SELECT signature, slot, name, raw, commitment FROM chain_event
		ORDER BY slot, block_index, instruction_index, inner_index, ordinal`)
	if err != nil {
		return nil, err
	}
	type dbEvent struct {
		sig, name, commitment string
		slot                  uint64
		raw                   []byte
	}
	var byPos []dbEvent
	for rows.Next() {
		var e dbEvent
		if err := rows.Scan(&e.sig, &e.slot, &e.name, &e.raw, &e.commitment); err != nil {
			rows.Close()
			return nil, err
		}
		byPos = append(byPos, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var bySeq []string
	rows, err = c.db.Query(ctx, `SELECT signature || '/' || encode(raw, 'hex') FROM chain_event ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		bySeq = append(bySeq, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(byPos) != len(snap.Events) {
		bad = append(bad, fmt.Sprintf("chain_event holds %d events, the chain %d", len(byPos), len(snap.Events)))
	}
	count := map[string]int{}
	for _, e := range byPos {
		count[e.sig+"/"+hex.EncodeToString(e.raw)]++
	}
	for k, n := range count {
		if n > 1 {
			bad = append(bad, fmt.Sprintf("event %s is in the log %d times", k, n))
		}
	}
	firstPos, firstSeq := -1, -1
	for i := range min(len(byPos), len(snap.Events)) {
		want, got := snap.Events[i], byPos[i]
		if firstPos < 0 && (got.sig != want.Sig || got.name != want.Name || !bytes.Equal(got.raw, want.Raw) || got.slot != want.Slot) {
			firstPos = i
			bad = append(bad, fmt.Sprintf("event %d by position: log has %s %s (slot %d), chain has %s %s (slot %d)", i, got.sig, got.name, got.slot, want.Sig, want.Name, want.Slot))
		}
		if firstSeq < 0 && i < len(bySeq) && bySeq[i] != want.Sig+"/"+hex.EncodeToString(want.Raw) {
			firstSeq = i
			bad = append(bad, fmt.Sprintf("event %d by seq: log has %.100s, chain has %s %s", i, bySeq[i], want.Sig, want.Name))
		}
		if got.commitment != "finalized" && firstPos < 0 {
			bad = append(bad, fmt.Sprintf("event %s %s still %s", got.sig, got.name, got.commitment))
			firstPos = i
		}
	}
	return bad, nil
}

func (c *Checker) checkGovernance(ctx context.Context, addr string, g *um.Governance) ([]string, error) {
	var (
		createKey, spill                   string
		threshold, rbThreshold             int
		timelock, rbTimelock, grace, seqno int64
	)
	err := c.db.QueryRow(ctx, `SELECT create_key, threshold, rollback_threshold, timelock_seconds, rollback_timelock_seconds,
		grace_period_seconds, spill, member_set_seqno FROM governance WHERE address = $1`, addr).
		Scan(&createKey, &threshold, &rbThreshold, &timelock, &rbTimelock, &grace, &spill, &seqno)
	if err != nil {
		return []string{fmt.Sprintf("governance %s: not in the database (%v)", addr, err)}, nil
	}
	var bad []string
	cmp := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("governance %s: %s is %v in the database, %v on chain", addr, field, got, want))
		}
	}
	cmp("create_key", createKey, g.CreateKey.String())
	cmp("threshold", threshold, g.Threshold)
	cmp("rollback_threshold", rbThreshold, g.RollbackThreshold)
	cmp("timelock_seconds", timelock, g.TimelockSeconds)
	cmp("rollback_timelock_seconds", rbTimelock, g.RollbackTimelockSeconds)
	cmp("grace_period_seconds", grace, g.GracePeriodSeconds)
	cmp("spill", spill, g.Spill.String())
	cmp("member_set_seqno", seqno, g.MemberSetSeqno)
	rows, err := c.db.Query(ctx, `SELECT member FROM governance_member WHERE governance = $1 ORDER BY position`, addr)
	if err != nil {
		return nil, err
	}
	var members []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, err
		}
		members = append(members, m)
	}
	rows.Close()
	want := make([]string, len(g.Members))
	for i, m := range g.Members {
		want[i] = m.String()
	}
	cmp("members", members, want)
	return bad, rows.Err()
}

var statusNames = map[um.ProposalStatus]string{
	um.ProposalStatusActive: "active", um.ProposalStatusApproved: "approved", um.ProposalStatusExecuted: "executed",
	um.ProposalStatusCancelled: "cancelled", um.ProposalStatusExpired: "expired", um.ProposalStatusRejected: "rejected",
}

func (c *Checker) checkProposal(ctx context.Context, addr string, p *um.Proposal, snap *Snapshot) ([]string, error) {
	var (
		gov, status, proposer string
		index, seqno          int64
		approvals, cancels    int
		eta                   *time.Time
	)
	err := c.db.QueryRow(ctx, `SELECT governance, index, status, approvals, cancel_votes, member_set_seqno, eta, proposer
		FROM proposal WHERE address = $1`, addr).Scan(&gov, &index, &status, &approvals, &cancels, &seqno, &eta, &proposer)
	if err != nil {
		return []string{fmt.Sprintf("proposal %s: not in the database (%v)", addr, err)}, nil
	}
	var bad []string
	cmp := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("proposal %s: %s is %v in the database, %v on chain", addr, field, got, want))
		}
	}
	cmp("governance", gov, p.Governance.String())
	cmp("index", index, p.Index)
	cmp("status", status, statusNames[p.Status])
	cmp("approvals", approvals, bits.OnesCount32(p.Approvals))
	cmp("cancel_votes", cancels, bits.OnesCount32(p.CancelVotes))
	cmp("member_set_seqno", seqno, p.MemberSetSeqno)
	cmp("proposer", proposer, p.Proposer.String())
	var gotEta int64
	if eta != nil {
		gotEta = eta.Unix()
	}
	cmp("eta", gotEta, p.Eta)

	// Executable (approved, approvals current, inside its window) for longer than the slack:
	// the cranks failed it.
	if g, ok := snap.Accounts[p.Governance.String()].(*um.Governance); ok && p.Status == um.ProposalStatusApproved &&
		p.MemberSetSeqno == g.MemberSetSeqno && p.Eta > 0 &&
		snap.Now > p.Eta+int64(c.Slack.Seconds()) && snap.Now < p.Eta+g.GracePeriodSeconds {
		bad = append(bad, fmt.Sprintf("proposal %s: executable since %s, %ds ago, and not executed",
			addr, time.Unix(p.Eta, 0).UTC().Format(time.RFC3339), snap.Now-p.Eta))
	}
	return bad, nil
}

func (c *Checker) checkProgram(ctx context.Context, addr string, m *um.ManagedProgram) ([]string, error) {
	var (
		program, hash string
		count         int64
	)
	err := c.db.QueryRow(ctx, `SELECT program, current_hash, release_count FROM managed_program WHERE address = $1`, addr).
		Scan(&program, &hash, &count)
	if err != nil {
		return []string{fmt.Sprintf("managed_program %s: not in the database (%v)", addr, err)}, nil
	}
	var bad []string
	cmp := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("managed_program %s: %s is %v in the database, %v on chain", addr, field, got, want))
		}
	}
	cmp("program", program, m.Program.String())
	cmp("current_hash", hash, hex.EncodeToString(m.CurrentHash[:]))
	cmp("release_count", count, m.ReleaseCount)
	// The chain keeps the newest releases; the database all of them.
	rows, err := c.db.Query(ctx, `SELECT hash FROM program_release WHERE program = $1 ORDER BY release_number DESC LIMIT $2`, program, len(m.Releases))
	if err != nil {
		return nil, err
	}
	var got []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, err
		}
		got = append([]string{h}, got...)
	}
	rows.Close()
	want := make([]string, len(m.Releases))
	for i, r := range m.Releases {
		want[i] = hex.EncodeToString(r.Hash[:])
	}
	// Programs given their record with dev_setAccount have no releases on chain and none in the log.
	cmp("releases", got, want)
	return bad, rows.Err()
}

func (c *Checker) checkJob(ctx context.Context, addr string, j *um.MigrationJob) ([]string, error) {
	var (
		proposal, status         string
		migrated, batches, total int64
	)
	err := c.db.QueryRow(ctx, `SELECT proposal, status, migrated_count, batch_count, total_accounts FROM migration_job WHERE address = $1`, addr).
		Scan(&proposal, &status, &migrated, &batches, &total)
	if err != nil {
		return []string{fmt.Sprintf("migration_job %s: not in the database (%v)", addr, err)}, nil
	}
	var bad []string
	cmp := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("migration_job %s: %s is %v in the database, %v on chain", addr, field, got, want))
		}
	}
	wantStatus := "active"
	if j.Status == um.MigrationStatusCompleted {
		wantStatus = "completed"
	}
	cmp("proposal", proposal, j.Proposal.String())
	cmp("status", status, wantStatus)
	cmp("migrated_count", migrated, j.MigratedCount)
	cmp("batch_count", batches, j.BatchCount)
	cmp("total_accounts", total, j.Spec.TotalAccounts)
	return bad, nil
}

// CheckSubscribers compares what each subscriber saw with the log: every event of the
// log, in seq order, none twice. Events a subscriber saw that the log no longer holds
// (reverted with an abandoned fork) are reported as reverted, not as mismatches.
func (c *Checker) CheckSubscribers(ctx context.Context, subs []*Subscriber) (bad []string, reverted int, err error) {
	rows, err := c.db.Query(ctx, `SELECT seq, signature, instruction_index, inner_index, ordinal FROM chain_event ORDER BY seq`)
	if err != nil {
		return nil, 0, err
	}
	type logEvent struct {
		seq int64
		key string
	}
	var log []logEvent
	inLog := map[string]int64{}
	for rows.Next() {
		var e logEvent
		var sig string
		var ix, inner, ord int
		if err := rows.Scan(&e.seq, &sig, &ix, &inner, &ord); err != nil {
			rows.Close()
			return nil, 0, err
		}
		e.key = fmt.Sprintf("%s/%d/%d/%d", sig, ix, inner, ord)
		log = append(log, e)
		inLog[e.key] = e.seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for _, s := range subs {
		seen := s.Seen()
		count := map[string]int{}
		var kept []SeenEvent
		for _, e := range seen {
			count[e.Key()]++
			if count[e.Key()] == 2 {
				bad = append(bad, fmt.Sprintf("subscriber %s: event %s (seq %s) delivered twice", s.Name, e.Key(), e.Seq))
			}
			if seq, ok := inLog[e.Key()]; ok && strconv.FormatInt(seq, 10) == e.Seq {
				kept = append(kept, e)
			} else {
				reverted++
			}
		}
		if len(kept) != len(log) {
			bad = append(bad, fmt.Sprintf("subscriber %s: saw %d of the log's %d events", s.Name, len(kept), len(log)))
		}
		for i := range min(len(kept), len(log)) {
			if kept[i].Key() != log[i].key {
				bad = append(bad, fmt.Sprintf("subscriber %s: event %d is %s (seq %s), the log's is %s (seq %d)", s.Name, i, kept[i].Key(), kept[i].Seq, log[i].key, log[i].seq))
				break
			}
		}
	}
	return bad, reverted, nil
}
