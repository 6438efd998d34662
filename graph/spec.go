package graph

import (
	"encoding/json"
	"fmt"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

// configChangeKinds maps the IDL's ConfigChange variants, as the indexer
// decodes them ({"Variant": {fields}}), to the enum.
var configChangeKinds = map[string]ConfigChangeKind{
	"AddMember":            ConfigChangeKindAddMember,
	"RemoveMember":         ConfigChangeKindRemoveMember,
	"SetThreshold":         ConfigChangeKindSetThreshold,
	"SetRollbackThreshold": ConfigChangeKindSetRollbackThreshold,
	"SetTimelock":          ConfigChangeKindSetTimelock,
	"SetRollbackTimelock":  ConfigChangeKindSetRollbackTimelock,
	"SetGracePeriod":       ConfigChangeKindSetGracePeriod,
	"SetVotingPeriod":      ConfigChangeKindSetVotingPeriod,
	"SetSpill":             ConfigChangeKindSetSpill,
	"RevokeRelease":        ConfigChangeKindRevokeRelease,
	"SetUpgradeAuthority":  ConfigChangeKindSetUpgradeAuthority,
	"ExtendMigration":      ConfigChangeKindExtendMigration,
	"CancelMigration":      ConfigChangeKindCancelMigration,
	"SetRentCollector":     ConfigChangeKindSetRentCollector,
}

// configChangeFields are the fields of every ConfigChange variant; each
// variant sets some.
type configChangeFields struct {
	Member             *string `json:"member"`
	Threshold          *int    `json:"threshold"`
	Seconds            *int64  `json:"seconds"`
	Spill              *string `json:"spill"`
	Program            *string `json:"program"`
	Hash               *string `json:"hash"`
	NewAuthority       *string `json:"new_authority"`
	Job                *string `json:"job"`
	AdditionalAccounts *int64  `json:"additional_accounts"`
	RentCollector      *string `json:"rent_collector"`
}

// configChangeSpec decodes a config change as the indexer stored it; nil
// for none. A variant this server does not know is an internal error: the
// schema has to learn it.
func configChangeSpec(raw json.RawMessage) (*ConfigChangeSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v map[string]configChangeFields
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 1 {
		return nil, fmt.Errorf("decode config change %s: want one variant (%v)", truncate(string(raw)), err)
	}
	for name, f := range v {
		kind, ok := configChangeKinds[name]
		if !ok {
			return nil, &unknownValueError{what: "config change", value: name}
		}
		return &ConfigChangeSpec{Kind: kind, Member: f.Member, Threshold: f.Threshold, Seconds: f.Seconds,
			Spill: f.Spill, ProgramID: f.Program, Hash: f.Hash, NewAuthority: f.NewAuthority,
			MigrationAddress: f.Job, AdditionalAccounts: f.AdditionalAccounts, RentCollector: f.RentCollector}, nil
	}
	return nil, nil
}

// migrationSpec decodes a migration spec as the indexer stored it; nil for
// none.
func migrationSpec(raw json.RawMessage) (*MigrationSpec, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var d struct {
		FromVersion   int     `json:"from_version"`
		ToVersion     int     `json:"to_version"`
		VersionOffset int     `json:"version_offset"`
		DataSize      int64   `json:"data_size"`
		Discriminator *string `json:"discriminator"`
		MigrateIxData string  `json:"migrate_ix_data"`
		TotalAccounts int64   `json:"total_accounts"`
		RequiredHash  string  `json:"required_hash"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode migration spec %s: %w", truncate(string(raw)), err)
	}
	return &MigrationSpec{FromVersion: d.FromVersion, ToVersion: d.ToVersion, VersionOffset: d.VersionOffset,
		DataSize: d.DataSize, Discriminator: d.Discriminator, MigrateInstructionData: d.MigrateIxData,
		TotalAccounts: d.TotalAccounts, RequiredHash: d.RequiredHash}, nil
}

// proposalOpen reports whether p can still gather votes.
func proposalOpen(p *store.Proposal) bool {
	return p.StoredStatus == store.StatusActive || p.StoredStatus == store.StatusApproved
}

// approvalsStale reports whether p is open but a config change executed
// after its approvals were given, so that they no longer count.
func approvalsStale(p *store.Proposal) bool { return p.EffectiveStatus == store.StatusStale }

// currentThreshold is the approvals (and cancel votes) p needs under the
// governance's settings now.
func currentThreshold(p *store.Proposal) int {
	if p.GovernanceThreshold != nil {
		return *p.GovernanceThreshold
	}
	return p.Threshold
}

// approvalsNeeded is how many approvals p still needs before its timelock
// starts.
func approvalsNeeded(p *store.Proposal) int {
	if !proposalOpen(p) {
		return 0
	}
	if approvalsStale(p) {
		return currentThreshold(p)
	}
	if p.StoredStatus == store.StatusApproved {
		return 0
	}
	return max(currentThreshold(p)-p.ApprovalCount, 0)
}

// clusterName names the public clusters by their genesis hashes.
func clusterName(genesis string) string {
	switch genesis {
	case "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d":
		return "mainnet-beta"
	case "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG":
		return "devnet"
	case "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY":
		return "testnet"
	}
	return "custom"
}
