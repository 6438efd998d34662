package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes in extensions.code of the errors users see.
const (
	// CodeBadUserInput: an argument, cursor, id or filter is malformed or
	// out of range.
	CodeBadUserInput = "BAD_USER_INPUT"
	// CodeSlowConsumer: the subscription fell too far behind and was ended.
	CodeSlowConsumer = "SLOW_CONSUMER"
	// CodeQueryTooComplex: the operation exceeds the depth or complexity limit.
	CodeQueryTooComplex = "QUERY_TOO_COMPLEX"
	// CodeTimeout: the request ran out of time (its deadline or the
	// database's statement_timeout).
	CodeTimeout = "TIMEOUT"
	// CodeCancelled: the client left before the request finished.
	CodeCancelled = "CANCELLED"
	// CodeBadRequest: the request came the wrong way, e.g. a subscription
	// over plain HTTP.
	CodeBadRequest = "BAD_REQUEST"
	// CodeTooManySubscriptions: the connection, or the server, already
	// runs as many subscriptions as it allows.
	CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"
	// CodeReverted: the subscription ended because the indexer reverted
	// events (their slot was abandoned); refetch and resubscribe.
	CodeReverted = "REVERTED"
	// CodeResync: the subscription ended because the indexer rebuilt its
	// projections without removing events; refetch and resubscribe.
	CodeResync = "RESYNC"
	// CodeInternal: anything else; the message is "internal error" and the
	// cause is logged.
	CodeInternal = "INTERNAL_SERVER_ERROR"
	// CodeClusterMismatch: the database does not hold the data of the
	// cluster the RPC serves (yet), so nothing is served (HTTP 503).
	CodeClusterMismatch = "CLUSTER_MISMATCH"
)

// Error is an error a user may see: its message and code reach the client
// as they are. Every other error is reported as "internal error".
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

func badInput(format string, args ...any) error {
	return &Error{Code: CodeBadUserInput, Message: fmt.Sprintf(format, args...)}
}

// gqlgen's own errors (parse and validation failures, input coercion,
// complexity) carry these codes and are safe to show.
var gqlgenCodes = map[string]bool{
	"GRAPHQL_PARSE_FAILED":          true,
	"GRAPHQL_VALIDATION_FAILED":     true,
	"COMPLEXITY_LIMIT_EXCEEDED":     true,
	"PERSISTED_QUERY_NOT_FOUND":     true,
	"PERSISTED_QUERY_NOT_SUPPORTED": true,
}

// errorPresenter shows *Error values and gqlgen's own errors as they are,
// and everything else as "internal error", logged with its cause.
func errorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var appErr *Error
		if errors.As(err, &appErr) {
			gqlErr.Message = appErr.Message
			gqlErr.Extensions = map[string]any{"code": appErr.Code}
			return gqlErr
		}
		if code, ok := gqlErr.Extensions["code"].(string); ok && gqlgenCodes[code] {
			if code == "COMPLEXITY_LIMIT_EXCEEDED" {
				gqlErr.Extensions["code"] = CodeQueryTooComplex
			}
			return gqlErr
		}
		if stopped := stoppedError(ctx, err); stopped != nil {
			stopped.Path = gqlErr.Path
			return stopped
		}
		var src *gqlerror.Error
		if errors.As(err, &src) && src.Err == nil {
			// Raised by gqlgen itself (e.g. a null in a non-null field's input).
			if gqlErr.Extensions == nil {
				gqlErr.Extensions = map[string]any{}
			}
			if _, ok := gqlErr.Extensions["code"]; !ok {
				gqlErr.Extensions["code"] = CodeBadUserInput
			}
			return gqlErr
		}
		logger.ErrorContext(ctx, "graphql internal error", slog.Any("error", err), slog.String("path", gqlErr.Path.String()))
		return &gqlerror.Error{
			Message:    "internal error",
			Path:       gqlErr.Path,
			Extensions: map[string]any{"code": CodeInternal},
		}
	}
}

// recoverFunc turns a resolver panic into an internal error; the error
// presenter logs it.
func recoverFunc(ctx context.Context, v any) error {
	return fmt.Errorf("panic in resolver: %v", v)
}
