// Command chaos runs the whole system on this machine (the localnet, PostgreSQL, two
// indexers on one database, two GraphQL replicas, two timelock executors and two migration
// drivers, each a real binary) under a generated workload while it injects faults on a
// seeded schedule, then checks the read model against the chain and writes a report.
//
// Usage:
//
//	go run ./cmd/chaos [-seed N] [-proposals N] [-migrate-accounts N] [-faults-per-class N] [-report FILE]
//
// The pieces are separate so the workload can grow: schedule.go (which fault when, from
// the seed), faults.go (how each fault class is injected), workload.go (the transactions),
// subscriber.go (GraphQL subscribers over both websocket protocols), check.go (the read
// model against an independent walk of the chain) and report.go. A failing run prints its
// seed; `chaos -seed N` with the same sizes repeats the same schedule and workload choices
// (see docs/OPERATIONS.md).
package main
