package chain

import "testing"

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
