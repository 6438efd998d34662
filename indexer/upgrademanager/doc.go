// Package upgrademanager is the Go side of the upgrade_manager Anchor
// program, generated from its IDL (program/idl/upgrade_manager.json) by
// cmd/idlgen: the program ID and event authority, every IDL type with a
// reflection-free borsh decoder and encoder and a JSON rendering, the
// events (DecodeEvent) and accounts (DecodeAccount) with their
// discriminators, a builder per instruction, PDA helpers and the error
// codes.
//
// Everything but this file is generated; `make generate` rewrites it from
// the IDL and `make verify` fails when the committed files are stale.
//
// The JSON rendering (AppendJSON, MarshalJSON) keys fields by their IDL
// names and writes pubkeys in base58, byte arrays and byte vectors in
// lowercase hex, integers up to 64 bits as numbers, 128-bit integers as
// decimal strings, options as null or the value, unit enum variants as
// their name and variants with fields as {"Variant": {fields}}. It is the
// same JSON program/tests writes into the scenario vectors.
package upgrademanager

//go:generate go run ../../cmd/idlgen -idl ../../program/idl/upgrade_manager.json -out .
