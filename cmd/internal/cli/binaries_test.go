package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryBinaryBehavesTheSame runs the real binaries: -h prints the usage and exits 0, and a
// variable whose value the flag rejects stops the binary with exit 2 and a message naming the
// flag and the variable, instead of running with the default.
func TestEveryBinaryBehavesTheSame(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary")
	}
	dir := t.TempDir()
	root := filepath.Join("..", "..", "..")
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/...")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/...: %v\n%s", err, out)
	}
	run := func(env []string, name string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, name), args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(out)
		}
		t.Fatalf("%s: %v", name, err)
		return 0, ""
	}
	for _, tt := range []struct {
		bin  string
		help []string
	}{
		{"indexer", []string{"-h"}},
		{"graphql", []string{"-h"}},
		{"crank", []string{"execute", "-h"}},
		{"umctl", []string{"approve", "-h"}},
		{"dev", []string{"-h"}},
		{"migrate", []string{"-h"}},
		{"chaos", []string{"-h"}},
	} {
		if code, out := run(nil, tt.bin, tt.help...); code != 0 || !strings.Contains(out, "-") {
			t.Errorf("%s %s: exit %d, output %q; want the usage and exit 0", tt.bin, strings.Join(tt.help, " "), code, out)
		}
	}
	for _, tt := range []struct {
		bin, variable, flag string
		args                []string
	}{
		{"indexer", "INDEXER_BATCH_SIZE", "batch-size", []string{"-database-url", "postgres://127.0.0.1:1/x"}},
		{"graphql", "GRAPHQL_MAX_PAGE_SIZE", "max-page-size", []string{"-database-url", "postgres://127.0.0.1:1/x"}},
		{"crank", "CRANK_POLL_INTERVAL", "poll-interval", []string{"execute", "-database-url", "postgres://127.0.0.1:1/x"}},
		{"crank", "CRANK_LOG_LEVEL", "log-level", []string{"migrate", "-database-url", "postgres://127.0.0.1:1/x"}},
	} {
		code, out := run([]string{tt.variable + "=not-a-value"}, tt.bin, tt.args...)
		if code != 2 || !strings.Contains(out, tt.flag) || !strings.Contains(out, tt.variable) {
			t.Errorf("%s with %s=not-a-value: exit %d, output %q; want exit 2 naming -%s and %s", tt.bin, tt.variable, code, out, tt.flag, tt.variable)
		}
	}
}
