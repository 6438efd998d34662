package ingest_test

import (
	"testing"
)

// A listing that already says finalized needs no promotion: those rows are
// written finalized, and no status is asked for them.
func TestListingConfirmationStatusIsUsed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publish(0, len(b.slots))
	b.srv.SetSlots(18, 12)
	b.start(b.newIngester(true))
	b.waitApplied(len(b.slots))
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE slot <= 12 AND commitment <> 'finalized'`, 0)
	assertCount(t, b.pool, `SELECT count(*) FROM chain_event WHERE slot <= 12 AND commitment <> 'finalized'`, 0)
	assertCount(t, b.pool, `SELECT count(*) FROM ingested_transaction WHERE slot > 12 AND commitment <> 'confirmed'`, 0)
	if n := b.srv.Requests("getSignatureStatuses"); n != 0 {
		t.Errorf("getSignatureStatuses requests = %d, want none", n)
	}
	b.assertComplete()
}
