package main

import (
	"context"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/x")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-addr", "127.0.0.1:0", "-allowed-origins", "https://a.example, https://b.example"}, ""},
		{[]string{"-max-page-size", "0"}, "max page size"},
		{[]string{"-database-url", ""}, "database URL"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		m := NewMain()
		err := m.ParseFlags(context.Background(), tt.args)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.args, err)
			} else if len(m.Config.AllowedOrigins) != 2 || m.Config.AllowedOrigins[1] != "https://b.example" {
				t.Errorf("origins = %q", m.Config.AllowedOrigins)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}

// The environment behaves as in every binary (cmd/internal/cli): an empty variable counts as
// unset, and a value the flag rejects is an error naming the flag and the variable instead of a
// silent default.
func TestParseFlagsEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://localhost/x")
	t.Setenv("GRAPHQL_ADDR", "")
	m := NewMain()
	if err := m.ParseFlags(context.Background(), nil); err != nil || m.Config.Addr != "127.0.0.1:8080" {
		t.Fatalf("GRAPHQL_ADDR empty: err %v, addr %q; want the default", err, m.Config.Addr)
	}
	for k, v := range map[string]string{"GRAPHQL_MAX_PAGE_SIZE": "lots", "GRAPHQL_REQUEST_TIMEOUT": "10", "GRAPHQL_GRAPHIQL": "sure"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			err := NewMain().ParseFlags(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%q: ParseFlags = %v, want an error naming %s", k, v, err, k)
			}
		})
	}
}
