package graph

import (
	"strings"

	"github.com/upgrade-manager/upgrade-manager/graph/store"
)

var statusToStore = map[ProposalStatus]string{
	ProposalStatusActive:         store.StatusActive,
	ProposalStatusApproved:       store.StatusApproved,
	ProposalStatusReadyToExecute: store.StatusReady,
	ProposalStatusExecuted:       store.StatusExecuted,
	ProposalStatusCancelled:      store.StatusCancelled,
	ProposalStatusExpired:        store.StatusExpired,
	ProposalStatusStale:          store.StatusStale,
	ProposalStatusRejected:       store.StatusRejected,
}

var statusFromStore = invert(statusToStore)

var kindToStore = map[ProposalKind]string{
	ProposalKindUpgrade:      "upgrade",
	ProposalKindRollback:     "rollback",
	ProposalKindConfigChange: "config_change",
	ProposalKindMigration:    "migration",
}

var kindFromStore = invert(kindToStore)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// proposalStatus maps a status of the read model to the enum; an unknown
// one is an internal error.
func proposalStatus(s string) (ProposalStatus, error) {
	if st, ok := statusFromStore[s]; ok {
		return st, nil
	}
	return "", &unknownValueError{what: "proposal status", value: s}
}

// eventStatus maps a status as events spell it ("Active") to the enum.
func eventStatus(s string) (ProposalStatus, error) { return proposalStatus(strings.ToLower(s)) }

type unknownValueError struct{ what, value string }

func (e *unknownValueError) Error() string {
	return "unknown " + e.what + " " + e.value + " in the read model"
}

func (f *ProposalFilter) toStore() store.ProposalFilter {
	if f == nil {
		return store.ProposalFilter{}
	}
	out := store.ProposalFilter{
		Governance:         f.Governance,
		Program:            f.Program,
		Proposer:           f.Proposer,
		CreatedAfter:       f.CreatedAfter,
		CreatedBefore:      f.CreatedBefore,
		AwaitingApprovalBy: f.AwaitingApprovalBy,
	}
	for _, s := range f.Status {
		out.Statuses = append(out.Statuses, statusToStore[s])
	}
	for _, k := range f.Kind {
		out.Kinds = append(out.Kinds, kindToStore[k])
	}
	return out
}

var migrationStatusToStore = map[MigrationStatus]string{
	MigrationStatusActive:    "active",
	MigrationStatusCompleted: "completed",
	MigrationStatusCancelled: "cancelled",
}

var migrationStatusFromStore = invert(migrationStatusToStore)

// migrationRate is accounts migrated per second of chain time between the
// job's start and its last batch; nil before chain time passed.
func migrationRate(m *store.Migration) *float64 {
	end := m.UpdatedAt
	if m.CompletedAt != nil {
		end = *m.CompletedAt
	}
	elapsed := end.Sub(m.StartedAt).Seconds()
	if elapsed <= 0 {
		return nil
	}
	rate := float64(m.MigratedCount) / elapsed
	return &rate
}

// eventNames returns the names of an EventName list.
func eventNames(names []EventName) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out
}
