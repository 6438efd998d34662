// Command idlgen generates a Go package from an Anchor IDL (0.30+ format):
//
//	idlgen -idl program/idl/upgrade_manager.json -out indexer/upgrademanager [-package name]
//
// The package it writes holds the program ID; every defined type as a Go
// type with a straight-line borsh decoder (UnmarshalBorsh), an encoder
// (AppendBorsh) and a JSON rendering (AppendJSON, MarshalJSON); events
// with their discriminators and DecodeEvent, which rejects unknown
// discriminators, short input and trailing bytes with *idlcodec.Error;
// accounts with their discriminators and decoders; a builder per
// instruction; PDA helpers where the IDL gives the seeds; the program's
// error codes. Every file it writes starts with the "Code generated ...
// DO NOT EDIT." line, and it removes generated files it no longer writes.
//
// Unlike anchor-go, the decoders use no reflection and reject trailing
// bytes, and an enum with fields is a struct of a Kind and one value per
// variant, so decoding one allocates nothing for it.
//
// Not supported (the generator fails naming them): generic types, f32 and
// f64, COption, type aliases, discriminators other than 8 bytes for events
// and accounts, vectors of zero-sized types.
package main
