// Command dev runs the local development environment in the foreground:
//
//	dev [-database-url URL] [-pg-dir DIR] [-ephemeral] [-migrate=false] [-- COMMAND ARGS...]
//
// It uses the database at -database-url ($DATABASE_URL) or, without one,
// starts the persistent development cluster in -pg-dir (see
// pgcluster.DevDir), reusing it when it already runs, or with -ephemeral a
// throwaway cluster in a temporary directory. It applies the migrations,
// prints DATABASE_URL and the migration status, and runs until SIGINT or
// SIGTERM, then stops the cluster it started.
//
// Given a command, dev runs that instead of staying in the foreground, with
// DATABASE_URL in its environment, and exits with its exit status after
// stopping the cluster it started. The Makefile runs the Go tests and
// migrations that way, so a cluster never outlives a failed run:
//
//	dev -ephemeral -migrate=false -- go test ./...
//
// Further components of the environment (local validator, indexer, GraphQL
// server, cranks) join the supervisor in supervise.go. Only the local node is a
// child process; the indexer, GraphQL and the cranks (cmd/internal/crank) run
// in-process, and each prints the URL of its /metrics once it listens
// (INDEXER_METRICS_URL, CRANK_EXECUTE_METRICS_URL, CRANK_MIGRATE_METRICS_URL,
// CRANK_CLOSE_METRICS_URL).
package main
