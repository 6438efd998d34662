// Package pgtest gives each test its own freshly migrated PostgreSQL
// database, so tests run in parallel against the real thing.
//
// The server is the one at DATABASE_URL when that is set (its user needs the
// CREATEDB privilege; PostgreSQL 13 or later). Otherwise the first test that
// asks starts a throwaway cluster for the whole test binary through
// pgcluster.StartTemp. Every package that uses pgtest therefore stops that
// cluster from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// NewDB fails the test when TestMain does not call Main, in both modes, so a
// package cannot pass with DATABASE_URL set and leak clusters without it.
//
// Databases are cloned with CREATE DATABASE ... TEMPLATE from a template that
// holds the migrated schema. The template is named after migrations.Hash, so
// it is built once per migration set and server, not once per test; an
// advisory lock keeps concurrent test binaries from building it twice. A
// passing test's database is dropped; a failing test's is kept and its URL
// logged.
package pgtest
