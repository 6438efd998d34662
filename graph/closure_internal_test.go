package graph

import (
	"strings"
	"testing"

	um "github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Every ended status the program can close an account in maps to the enum as the projection
// writes it (lower case of the program's name); open statuses and unknown ones do not.
func TestClosedAccountStatusCoversTheProgramsEndedStatuses(t *testing.T) {
	t.Parallel()
	ended := []string{
		um.ProposalStatusExecuted.String(), um.ProposalStatusCancelled.String(),
		um.ProposalStatusRejected.String(), um.ProposalStatusExpired.String(),
		um.MigrationStatusCompleted.String(), um.MigrationStatusCancelled.String(),
	}
	seen := map[ClosedAccountStatus]bool{}
	for _, name := range ended {
		got, err := closedAccountStatus(strings.ToLower(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(got) != strings.ToUpper(name) {
			t.Errorf("%s maps to %s", name, got)
		}
		seen[got] = true
	}
	for _, s := range AllClosedAccountStatus {
		if !seen[s] {
			t.Errorf("enum value %s is no ended status of the program", s)
		}
	}
	for _, open := range []string{"active", "approved", "", "Executed", "EXECUTED"} {
		if _, err := closedAccountStatus(open); err == nil {
			t.Errorf("%q maps to an enum value, want an error", open)
		}
	}
}
