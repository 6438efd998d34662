package chain

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gagliardetto/solana-go/rpc/jsonrpc"
)

func TestWebsocketURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"http://127.0.0.1:8899", "ws://127.0.0.1:8900"},
		{"http://localhost:8899/", "ws://localhost:8900/"},
		{"https://api.devnet.solana.com", "wss://api.devnet.solana.com"},
		{"https://rpc.example.com/v1?api-key=x", "wss://rpc.example.com/v1?api-key=x"},
		{"http://[::1]:8899", "ws://[::1]:8900"},
		{"http://127.0.0.1:9000", "ws://127.0.0.1:9000"},
	} {
		got, err := WebsocketURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("WebsocketURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := WebsocketURL("ftp://x"); err == nil {
		t.Error("WebsocketURL accepted ftp")
	}
}

func TestWebsocketEndpoint(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, port, want string }{
		{"http://127.0.0.1:8899", "", "ws://127.0.0.1:8899"},
		{"http://127.0.0.1:7000", "7005", "ws://127.0.0.1:7005"},
		{"http://127.0.0.1:41234/graphql", "", "ws://127.0.0.1:41234/graphql"},
		{"https://rpc.example.com/v1?api-key=x", "443", "wss://rpc.example.com:443/v1?api-key=x"},
		{"wss://rpc.example.com", "", "wss://rpc.example.com"},
		{"http://[::1]:1", "2", "ws://[::1]:2"},
	} {
		got, err := WebsocketEndpoint(c.in, c.port)
		if err != nil || got != c.want {
			t.Errorf("WebsocketEndpoint(%q, %q) = %q, %v; want %q", c.in, c.port, got, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:8899", "http://[::1"} {
		if got, err := WebsocketEndpoint(bad, ""); err == nil {
			t.Errorf("WebsocketEndpoint(%q) = %q, want an error", bad, got)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want errorKind
	}{
		{&jsonrpc.RPCError{Code: 429}, kindRateLimited},
		{jsonrpc.NewHTTPError(429, errors.New("too many")), kindRateLimited},
		{jsonrpc.NewHTTPError(503, errors.New("unavailable")), kindNode},
		{&jsonrpc.RPCError{Code: codeNodeUnhealthy}, kindNode},
		{&jsonrpc.RPCError{Code: codeMethodNotFound}, kindFinal},
		{&jsonrpc.RPCError{Code: codeInvalidParams}, kindFinal},
		{fmt.Errorf("wrapped: %w", &jsonrpc.RPCError{Code: 429}), kindRateLimited},
		{errors.New("dial tcp: connection refused"), kindTransport},
	} {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
