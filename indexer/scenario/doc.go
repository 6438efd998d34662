// Package scenario loads program/vectors/scenario.json, the program's full
// lifecycle scenario as real transactions in getTransaction shape with the
// events each one emitted, for the indexer's tests and benchmarks: Load,
// AssertProjections (the projections the whole scenario must leave),
// DumpProjections to compare databases, and Synthesize for benchmark data
// at scale.
package scenario
