package graph

// closedStatusToStore spells each ClosedAccountStatus as account_closure.status holds it (the
// projection lower-cases the program's ProposalStatus or MigrationStatus).
var closedStatusToStore = map[ClosedAccountStatus]string{
	ClosedAccountStatusExecuted:  "executed",
	ClosedAccountStatusCancelled: "cancelled",
	ClosedAccountStatusRejected:  "rejected",
	ClosedAccountStatusExpired:   "expired",
	ClosedAccountStatusCompleted: "completed",
}

var closedStatusFromStore = invert(closedStatusToStore)

// closedAccountStatus maps account_closure.status to the enum; an unknown one is an internal
// error, as for the other enums.
func closedAccountStatus(s string) (ClosedAccountStatus, error) {
	if st, ok := closedStatusFromStore[s]; ok {
		return st, nil
	}
	return "", &unknownValueError{what: "closed account status", value: s}
}
