// Package graph is the GraphQL read model of upgrade-manager: the resolvers
// of the schema in schema/*.graphqls (generated code from gqlgen.yml by
// `make generate`), the HTTP handler that serves it, and the Server that
// runs it with its notification listener.
//
// Queries read the indexer's projections through package store, with the
// nested fields of one response batched into one query per table
// (loaders.go). Subscriptions are fed by package fanout: one LISTEN
// connection per process, a broker that fans events out to subscribers,
// and a resume protocol on event cursors (stream.go).
//
// Errors users see carry extensions.code: BAD_USER_INPUT for malformed
// arguments, cursors and filters, QUERY_TOO_COMPLEX for operations over
// the depth or complexity limit, SLOW_CONSUMER for a subscription that
// fell behind; anything else is "internal error" (INTERNAL_SERVER_ERROR),
// with the cause logged.
package graph
