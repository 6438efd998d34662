package faultproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/indexer/testkit"
)

// upstream is a JSON-RPC server answering {"result":"ok"} and a websocket server that
// sends a logsNotification, then a slotNotification, on every text message it gets.
func upstream(t *testing.T) (rpcURL, wsURL string) {
	t.Helper()
	rpc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","result":"ok","id":` + string(req.ID) + `}`))
	}))
	t.Cleanup(rpc.Close)
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			_, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"method":"logsNotification","params":{"n":`+string(msg)+`}}`))
			_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"method":"slotNotification"}`))
		}
	}))
	t.Cleanup(ws.Close)
	return rpc.URL, "ws" + strings.TrimPrefix(ws.URL, "http")
}

func start(t *testing.T) *Proxy {
	t.Helper()
	rpcURL, wsURL := upstream(t)
	p, err := Start(Config{RPCURL: rpcURL, WSURL: wsURL, SlowDelay: 300 * time.Millisecond, NotificationDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func post(t *testing.T, url, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"`+method+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHTTPFaults(t *testing.T) {
	p := start(t)
	if resp, body := post(t, p.RPCURL(), "getSlot"); resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("no fault: %d %s", resp.StatusCode, body)
	}
	cases := []struct {
		fault  Fault
		method string
		status int
		body   string
	}{
		{HTTP429, "getSlot", 429, "Too Many"},
		{HTTP500, "getSlot", 500, "Internal"},
		{HTTP503, "getSlot", 503, "Unavailable"},
		{BlockNotAvailable, "getTransaction", 200, `"code":-32004`},
		{NodeUnhealthy, "getSignaturesForAddress", 200, `"code":-32005`},
		// A send is not a read: the node-behind errors pass it through.
		{NodeUnhealthy, "sendTransaction", 200, `"ok"`},
		{Slow, "getSlot", 200, `"ok"`},
	}
	for _, c := range cases {
		t.Run(string(c.fault)+"/"+c.method, func(t *testing.T) {
			p.Clear()
			p.Set(c.fault, time.Minute)
			began := time.Now()
			resp, body := post(t, p.RPCURL(), c.method)
			if resp.StatusCode != c.status || !strings.Contains(body, c.body) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, body, c.status, c.body)
			}
			if c.fault == HTTP429 && resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
			}
			if c.fault == Slow && time.Since(began) < 300*time.Millisecond {
				t.Fatalf("slow answered in %v", time.Since(began))
			}
			if strings.Contains(c.body, "code") && !strings.Contains(body, `"id":7`) {
				t.Fatalf("error answer lost the id: %s", body)
			}
		})
	}
	p.Clear()
	p.Set(HTTP500, time.Millisecond)
	// The fault ends with its window (tests assert no timings: only that it
	// ends).
	testkit.Eventually(t, 0, "the fault's window to end", func() bool {
		resp, _ := post(t, p.RPCURL(), "getSlot")
		return resp.StatusCode == 200
	})
	st := p.Stats()
	if st.Methods["getSlot"] == 0 || st.Faulted[HTTP429] != 1 || st.Faulted[NodeUnhealthy] != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestBatchGetsOneErrorPerRequest(t *testing.T) {
	p := start(t)
	p.Set(BlockNotAvailable, time.Minute)
	resp, err := http.Post(p.RPCURL(), "application/json", strings.NewReader(`[{"id":1,"method":"getBlock"},{"id":2,"method":"getBlock"}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []struct {
		ID    int
		Error struct{ Code int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].ID != 1 || out[1].ID != 2 || out[1].Error.Code != -32004 {
		t.Fatalf("batch answer = %+v", out)
	}
}

func dialWS(t *testing.T, p *Proxy) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, p.WSURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// exchange sends msg and reads n frames.
func exchange(t *testing.T, c *websocket.Conn, msg string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range n {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %v: %v", got, err)
		}
		got = append(got, string(b))
	}
	return got
}

func TestWebsocketFaults(t *testing.T) {
	p := start(t)
	c := dialWS(t, p)
	if got := exchange(t, c, "1", 2); !strings.Contains(got[0], "logsNotification") || !strings.Contains(got[1], "slotNotification") {
		t.Fatalf("plain relay: %v", got)
	}
	// Large frames (16-bit and 64-bit lengths) pass whole.
	big := strings.Repeat("7", 70_000)
	if got := exchange(t, c, big, 2); !strings.Contains(got[0], big) {
		t.Fatal("large frame mangled")
	}

	p.Set(DuplicateNotifications, time.Minute)
	got := exchange(t, c, "2", 3)
	if got[0] != got[1] || !strings.Contains(got[0], `"n":2`) || !strings.Contains(got[2], "slotNotification") {
		t.Fatalf("duplicate: %v", got)
	}
	p.Clear()

	p.Set(DelayNotifications, time.Minute)
	began := time.Now()
	got = exchange(t, c, "3", 2)
	if time.Since(began) < 300*time.Millisecond || !strings.Contains(got[0], `"n":3`) {
		t.Fatalf("delay: %v after %v", got, time.Since(began))
	}
	p.Clear()

	if n := p.DropConnections(); n < 2 {
		t.Fatalf("dropped %d connections, want the client's and the upstream's", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil {
		t.Fatal("read after the drop succeeded")
	}
	// A new connection works.
	c2 := dialWS(t, p)
	if got := exchange(t, c2, "4", 2); !strings.Contains(got[0], `"n":4`) {
		t.Fatalf("after drop: %v", got)
	}
	if st := p.Stats(); st.Faulted[DuplicateNotifications] != 1 || st.Faulted[DelayNotifications] != 1 {
		t.Fatalf("stats = %+v", st.Faulted)
	}
}
