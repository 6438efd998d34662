// Package graphtest gives the GraphQL server's tests and benchmarks a
// database filled from the program's real scenario and clients that speak
// the server's protocols: GraphQL over HTTP and both websocket
// subprotocols.
//
// The database is filled by the indexer's own store.ApplyBatch from the
// transactions and decoded events in program/vectors/scenario.json (read by
// indexer/scenario), so the projections the server reads are exactly the
// ones the indexer builds.
package graphtest
