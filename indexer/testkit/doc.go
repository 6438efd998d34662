// Package testkit holds what tests across the module share: waiting on a
// condition instead of sleeping, and a logger that writes to the test's own
// output. It is imported only from _test.go files and test-support packages.
package testkit
