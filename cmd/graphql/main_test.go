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
