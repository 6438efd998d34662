package graph

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operationGuard bounds each operation: a query or mutation gets a
// deadline (its database statements are cancelled with it), a
// subscription must come over a websocket, and an operation stopped by
// its deadline or by its client leaving is logged once, not once per
// field that failed because of it.
type operationGuard struct {
	timeout time.Duration
	logger  *slog.Logger
	// share, when not nil, runs equal subscriptions once.
	share *shareGroups
	// subscriptions counts open subscriptions when share is nil.
	subscriptions prometheus.Gauge
}

var (
	_ graphql.HandlerExtension     = operationGuard{}
	_ graphql.OperationInterceptor = operationGuard{}
)

func (operationGuard) ExtensionName() string                   { return "OperationGuard" }
func (operationGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (g operationGuard) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation != nil && op.Operation.Operation == ast.Subscription {
		if wsOpFrom(ctx) == nil {
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
				Message:    "subscriptions are served over a websocket (graphql-transport-ws or graphql-ws) at /graphql, not over plain HTTP",
				Extensions: map[string]any{"code": CodeBadRequest},
			}}})
		}
		if g.share != nil {
			return g.share.join(ctx, op, next)
		}
		countWhileRunning(ctx, g.subscriptions)
		return next(ctx)
	}
	note := &stopNote{}
	ctx = context.WithValue(ctx, stopNoteKey{}, note)
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		defer cancel()
		resp := h(ctx)
		if n := note.fields.Load(); n > 0 {
			name := op.OperationName
			if note.deadline.Load() {
				g.logger.WarnContext(ctx, "graphql request stopped at its deadline; the client should narrow it, or raise -request-timeout",
					slog.String("operation", name), slog.Int64("fields", n), slog.Duration("timeout", g.timeout))
			} else {
				g.logger.DebugContext(ctx, "graphql request cancelled: the client left",
					slog.String("operation", name), slog.Int64("fields", n))
			}
		}
		return resp
	}
}

// stopNote counts the fields of one operation that failed because it was
// stopped, so the stop is logged once.
type stopNote struct {
	fields   atomic.Int64
	deadline atomic.Bool
}

type stopNoteKey struct{}

// stoppedError turns an error caused by the operation's deadline, its
// client leaving or PostgreSQL's statement_timeout into a TIMEOUT or
// CANCELLED error and notes it for the operation's one log line. It
// returns nil for any other error.
func stoppedError(ctx context.Context, err error) *gqlerror.Error {
	var pgErr *pgconn.PgError
	deadline := errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || (errors.As(err, &pgErr) && pgErr.Code == "57014")
	cancelled := !deadline && errors.Is(err, context.Canceled)
	if !deadline && !cancelled {
		return nil
	}
	if note, ok := ctx.Value(stopNoteKey{}).(*stopNote); ok {
		note.fields.Add(1)
		if deadline {
			note.deadline.Store(true)
		}
	}
	if deadline {
		return &gqlerror.Error{
			Message:    "the request ran out of time; ask for less (smaller pages, fewer counts, narrower filters)",
			Extensions: map[string]any{"code": CodeTimeout},
		}
	}
	return &gqlerror.Error{Message: "the request was cancelled", Extensions: map[string]any{"code": CodeCancelled}}
}
