// Package architecture holds the test that keeps the package picture in
// docs/ARCHITECTURE.md true to the code: the picture is drawn from go list
// (UPDATE_ARCHITECTURE=1 go test ./cmd/internal/architecture redraws it), and
// the test fails when an import was added or removed without redrawing it.
// It has no code of its own.
package architecture
