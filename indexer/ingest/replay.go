package ingest

import (
	"context"
	"log/slog"

	"github.com/upgrade-manager/upgrade-manager/indexer/store"
)

// RetryReport says what RetryRefused did.
type RetryReport struct {
	// Applied are the refused transactions now applied; Refused the ones
	// the database refused again (their dead letters say why).
	Applied, Refused int
}

// RetryRefused applies programID's refused transactions again (dead
// letters of kind database, recorded when PostgreSQL refused their rows),
// oldest first, decoding each from the getTransaction result its dead
// letter kept: after the cause is fixed (a migration, a new indexer
// version), they land in their place in chain order. A transaction the
// database refuses again stays a dead letter; an outage ends the retry with
// an error.
func RetryRefused(ctx context.Context, db store.DBTX, programID string, d Decoder, logger *slog.Logger) (RetryReport, error) {
	var rep RetryReport
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	refused, err := store.RefusedTransactions(ctx, db, programID)
	if err != nil {
		return rep, err
	}
	for _, r := range refused {
		t, err := decodeTransaction(d, nil, r.Signature, r.Raw, r.Commitment)
		if err != nil {
			// Its result did not parse when it was first fetched either;
			// keep it for a later version.
			logger.Warn("refused transaction does not decode; left as a dead letter",
				slog.String("signature", r.Signature), slog.String("error", err.Error()))
			rep.Refused++
			continue
		}
		t.BlockIndex = r.BlockIndex
		if _, err := store.RetryRefused(ctx, db, programID, t); err != nil {
			if !store.IsDataError(err) {
				return rep, err
			}
			logger.Warn("the database refused the transaction again; it stays a dead letter",
				slog.String("signature", r.Signature), slog.String("error", err.Error()))
			rep.Refused++
			continue
		}
		rep.Applied++
	}
	if rep.Applied+rep.Refused > 0 {
		logger.Info("retried refused transactions", slog.Int("applied", rep.Applied), slog.Int("refused_again", rep.Refused))
	}
	return rep, nil
}
