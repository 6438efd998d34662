package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
	"github.com/upgrade-manager/upgrade-manager/migrations/pgtest"
)

// The graphql binary stopped with SIGTERM closes every websocket with
// 1001 before it exits, and sends nothing before that which would end a
// subscription: a complete tells a graphql-ws client the subscription is
// over, so it would not resubscribe after reconnecting. (It used to exit
// without waiting for the close frames, so some clients saw the
// connection drop, 1006, and a subscription could get a complete when the
// broker closed before the connection did.)
func TestSIGTERMClosesWebsocketsWith1001(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "graphql")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-database-url", pgtest.NewDB(t))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	ready := make(chan string, 1)
	go func() {
		addr := regexp.MustCompile(`msg="graphql server ready" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
		exitErr = cmd.Wait()
		close(exited)
	}()
	var url string
	select {
	case addr := <-ready:
		url = "ws://" + addr + "/graphql"
	case <-time.After(60 * time.Second):
		t.Fatal("graphql not ready after 60 s")
	}

	const clients = 60
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conns := make([]*websocket.Conn, clients)
	var g errgroup.Group
	for i := range clients {
		g.Go(func() error {
			proto, start := "graphql-transport-ws", "subscribe"
			if i%2 == 1 {
				proto, start = "graphql-ws", "start"
			}
			c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{proto}})
			if err != nil {
				return err
			}
			conns[i] = c
			for _, m := range []string{`{"type":"connection_init"}`,
				`{"id":"s","type":"` + start + `","payload":{"query":"subscription { events { seq } }"}}`} {
				if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
					return err
				}
			}
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					return err
				}
				if strings.Contains(string(b), `"connection_ack"`) {
					return nil
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	// The subscriptions are running once the server counts them.
	base := strings.Replace(strings.TrimSuffix(url, "/graphql"), "ws://", "http://", 1)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, _ := graphtest.Metric(base, "upgrade_manager_graphql_subscriptions"); n == clients {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions not running after 30 s", clients)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		for {
			_, b, err := c.Read(ctx)
			if err == nil {
				if strings.Contains(string(b), `"complete"`) || strings.Contains(string(b), `"error"`) {
					t.Errorf("client %d: %s before the close", i, b)
				}
				continue
			}
			if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
				t.Errorf("client %d: %v, want close 1001", i, err)
			}
			break
		}
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("graphql exited with %v after SIGTERM", exitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("graphql still running 30 s after SIGTERM")
	}
}
