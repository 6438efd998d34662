// Package upgrademanager is the Go side of the upgrade_manager Anchor
// program, generated from its IDL (program/idl/upgrade_manager.json) by
// cmd/idlgen: every IDL type with a reflection-free borsh decoder and
// encoder and a JSON rendering, the events (DecodeEvent, the EventName*
// constants) and accounts (DecodeAccount) with their discriminators, and the
// error codes, which are the same for every deployment; and Program, the
// client of one deployment (New(programID)), whose methods derive its PDAs,
// its event authority and build its instructions. ProgramID is only the
// IDL's address: nothing else assumes it.
//
// Everything but this file and clock.go is generated; `make generate`
// rewrites it from the IDL and `make verify` fails when the committed files
// are stale.
//
// Its users are the indexer's decoder, indexer/txbuild, cmd/umctl, the
// cranks, cmd/chaos and cmd/dev, not the indexer alone. It stays under
// indexer/ (with indexer/idlcodec, its encodings) because program/ is the
// Rust workspace that go.mod ignores, so go test ./... never walks cargo's
// build trees; see docs/ARCHITECTURE.md.
//
// The JSON rendering (AppendJSON, MarshalJSON) keys fields by their IDL
// names and writes pubkeys in base58, byte arrays and byte vectors in
// lowercase hex, integers up to 64 bits as numbers, 128-bit integers as
// decimal strings, options as null or the value, unit enum variants as
// their name and variants with fields as {"Variant": {fields}}. It is the
// same JSON program/tests writes into the scenario vectors.
package upgrademanager

//go:generate go run ../../cmd/idlgen -idl ../../program/idl/upgrade_manager.json -out .
