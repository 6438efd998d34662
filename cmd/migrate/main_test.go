package main

import (
	"bytes"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/migrations"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestRunUpStatusDown(t *testing.T) {
	t.Parallel()
	url := pgtest.NewEmptyDB(t)

	files, err := fs.Glob(migrations.FS(), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	sort.Strings(files)
	steps := []struct {
		args []string
		want string
	}{
		{args: []string{"status", "-database-url", url}, want: "pending"},
		{args: []string{"-database-url", url, "up"}, want: "OK    up " + files[len(files)-1]},
		{args: []string{"up", "-database-url", url}, want: "no migrations to apply"},
		{args: []string{"status", "-database-url", url}, want: "applied"},
	}
	// Down rolls back one migration at a time, newest first.
	for i := len(files) - 1; i >= 0; i-- {
		steps = append(steps, struct {
			args []string
			want string
		}{args: []string{"down", "-database-url", url}, want: "OK    down " + files[i]})
	}
	steps = append(steps, struct {
		args []string
		want string
	}{args: []string{"down", "-database-url", url}, want: "no migration to roll back"})
	for _, s := range steps {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out}
		if err := m.ParseFlags(t.Context(), s.args); err != nil {
			t.Fatalf("%v: ParseFlags: %v", s.args, err)
		}
		if err := m.Run(t.Context()); err != nil {
			t.Fatalf("%v: Run: %v", s.args, err)
		}
		if !strings.Contains(out.String(), s.want) {
			t.Fatalf("%v: output %q does not contain %q", s.args, out.String(), s.want)
		}
	}
}

func TestParseFlagsRejects(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no command", args: nil, want: "command missing"},
		{name: "unknown command", args: []string{"sideways", "-database-url", "postgres://x"}, want: "unknown command"},
		{name: "no database", args: []string{"up"}, want: "DATABASE_URL"},
		{name: "extra argument", args: []string{"up", "now", "-database-url", "postgres://x"}, want: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &out}
			err := m.ParseFlags(t.Context(), tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseFlags(%v) = %v, want error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
