//go:build linux

package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/upgrade-manager/upgrade-manager/graph"
	"github.com/upgrade-manager/upgrade-manager/graph/fanout"
	"github.com/upgrade-manager/upgrade-manager/graph/graphtest"
)

// The fan-out benchmark's client process: the test binary run again with
// these set (see TestFanoutClientProcess).
const (
	envFanoutClientURL    = "UPGRADE_MANAGER_FANOUT_CLIENT_URL"
	envFanoutClientN      = "UPGRADE_MANAGER_FANOUT_CLIENT_N"
	envFanoutClientEvents = "UPGRADE_MANAGER_FANOUT_CLIENT_EVENTS"
)

// fanoutQuery is what every benchmark client subscribes to.
const fanoutQuery = `subscription { events { seq } }`

// BenchmarkFanout measures the websocket fan-out of committed events to
// 5,000 and 10,000 idle subscribers (graphql-transport-ws, fanoutQuery):
// for each of FANOUT_EVENTS (20) commits 500 ms apart, the time from just
// before COMMIT to each client having the message, and the memory the
// server holds per idle subscription (bytes/idle_sub: live heap after GC
// plus goroutine stacks; and the resident set). It runs once
// (-benchtime=1x); b.N is not used.
//
// The clients run in a process of their own (this test binary again, as
// TestFanoutClientProcess), so this process holds the server alone and
// its memory figures are the server's. They share the machine's cores
// with the server.
//
// Servers face the same clients, one after the other, for each size
// (FANOUT_VARIANTS, e.g. "floor,floor-detached,frames"; by default the
// last two):
//   - floor: a bare websocket server (coder/websocket, no GraphQL) that
//     LISTENs for the same NOTIFY and writes one pre-encoded frame to every
//     connection, from one goroutine per core, each connection served by
//     its net/http handler: what the machine can do;
//   - floor-detached: the floor with each connection read by a goroutine
//     of its own once net/http's handler has returned, as this server's
//     transport does;
//   - frames: the GraphQL server as it runs.
//
// FANOUT_SIZES (e.g. "5000,10000") and FANOUT_EVENTS change the sizes.
func BenchmarkFanout(b *testing.B) {
	raiseFileLimit(b)
	sizes := []int{5000, 10000}
	if s := os.Getenv("FANOUT_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("FANOUT_SIZES: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	events := 20
	if s := os.Getenv("FANOUT_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("FANOUT_EVENTS: %q is not a count", s)
		}
		events = n
	}
	for _, n := range sizes {
		variants := []string{"floor-detached", "frames"}
		if v := os.Getenv("FANOUT_VARIANTS"); v != "" {
			variants = strings.Split(v, ",")
		}
		for _, variant := range variants {
			b.Run(fmt.Sprintf("subscribers=%d/%s", n, variant), func(b *testing.B) {
				benchFanout(b, variant, n, events)
			})
		}
	}
}

// fanoutServer is what one variant's clients connect to.
type fanoutServer struct {
	wsURL string
	// subscribed returns how many subscriptions the server holds.
	subscribed func() int
}

func benchFanout(b *testing.B, variant string, subscribers, events int) {
	url, pool := benchPool(b)
	ctx := b.Context()

	var srv fanoutServer
	switch variant {
	case "floor":
		srv = startFloorServer(b, url, false)
	case "floor-detached":
		srv = startFloorServer(b, url, true)
	default:
		base := graphtest.StartServer(b, url, func(c *graph.ServerConfig) {
			c.WS = graph.WSLimits{ConnsPerAddr: 2 * subscribers, Conns: 2 * subscribers, OpsPerConn: 10, Ops: 2 * subscribers}
		})
		srv = fanoutServer{wsURL: graphtest.WSURL(base), subscribed: func() int { return int(subscribedCount(b, base)) }}
	}

	before := serverMemory()
	client := startFanoutClients(b, srv.wsURL, subscribers, events)
	for deadline := time.Now().Add(3 * time.Minute); srv.subscribed() < subscribers; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d subscriptions registered", srv.subscribed(), subscribers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := serverMemory()
	if dir := os.Getenv("FANOUT_HEAP_PROFILE_DIR"); dir != "" {
		writeHeapProfile(b, fmt.Sprintf("%s/heap-%s-%d.pprof", dir, variant, subscribers))
	}

	commits := make([]int64, events)
	cpu0 := processCPU(b)
	b.ResetTimer()
	for n := range events {
		tx, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO chain_event (signature, instruction_index, inner_index, ordinal, slot, name, data, raw, commitment)
			VALUES ($1, 0, -1, 0, $2, 'Bench', '{}', '', 'confirmed')`, fmt.Sprintf("bench%d", n), n)
		if err == nil {
			_, err = tx.Exec(ctx, `SELECT pg_notify($1, '{}')`, fanout.Channel)
		}
		if err != nil {
			b.Fatal(err)
		}
		commits[n] = time.Now().UnixNano()
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // one commit fanned out at a time
	}
	recv := client.results(b)
	b.StopTimer()
	cpu := processCPU(b) - cpu0 // before the clients close their connections
	client.wait(b)

	lat := make([]time.Duration, 0, subscribers*events)
	missing := 0
	for i := range subscribers {
		for n := range events {
			at := recv[i*events+n]
			if at == 0 {
				missing++
				continue
			}
			lat = append(lat, time.Duration(at-commits[n]))
		}
	}
	if missing > 0 {
		b.Fatalf("%d of %d messages never arrived", missing, subscribers*events)
	}
	percentiles(b, lat, "notify_to_client_")
	// This process is the server (and the benchmark's commits): its CPU
	// time is what the fan-out costs, steadier than latency on a busy machine.
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(events), "server_cpu_ms/event")
	perSub := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(subscribers) }
	b.ReportMetric(perSub(after.heap+after.stack, before.heap+before.stack), "bytes/idle_sub")
	b.ReportMetric(perSub(after.heap, before.heap), "heap_bytes/idle_sub")
	b.ReportMetric(perSub(after.rss, before.rss), "rss_bytes/idle_sub")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(subscribers), "goroutines/idle_sub")
	b.ReportMetric(perSub(after.stack, before.stack), "stack_bytes/idle_sub")
}

const gcCycles = 5

// memory is what this process holds.
type memory struct {
	heap       uint64 // live heap objects after GC
	stack      uint64 // goroutine stacks
	rss        uint64 // resident set
	goroutines int
}

// serverMemory measures this process after gcCycles collections, the
// last returning freed memory to the OS: each collection halves the
// stacks of goroutines that use less than a quarter of theirs, so an
// idle server's stacks shrink over its first few cycles (the runtime
// forces one every two minutes at least).
func serverMemory() memory {
	for range gcCycles - 1 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	out := memory{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			out.rss = pages * uint64(os.Getpagesize())
		}
	}
	return out
}

// writeHeapProfile writes the in-use heap (the idle subscriptions') to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// processCPU returns the user and system time this process has used.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// raiseFileLimit lifts this process's open-file limit to its hard limit:
// each connection is a descriptor.
func raiseFileLimit(tb testing.TB) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatal(err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			tb.Fatal(err)
		}
	}
}

// fanoutClients is the running client process.
type fanoutClients struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	n, evs int
}

// startFanoutClients starts the client process and returns once its n
// subscriptions are sent.
func startFanoutClients(b *testing.B, wsURL string, n, events int) *fanoutClients {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestFanoutClientProcess$", "-test.count=1", "-test.timeout=30m")
	cmd.Env = append(os.Environ(),
		envFanoutClientURL+"="+wsURL,
		envFanoutClientN+"="+strconv.Itoa(n),
		envFanoutClientEvents+"="+strconv.Itoa(events),
	)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := &fanoutClients{cmd: cmd, out: bufio.NewReaderSize(stdout, 1<<20), n: n, evs: events}
	// go test prints its own lines (=== RUN, PASS) around the test's output.
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			b.Fatalf("client process: %v", err)
		}
		if strings.TrimSpace(line) == "fanout-clients-ready" {
			return c
		}
	}
}

// results returns, for client i and event k, when the message arrived
// (UnixNano; 0: never) at index i*events+k.
func (c *fanoutClients) results(b *testing.B) []int64 {
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			b.Fatalf("client process: %v", err)
		}
		if strings.TrimSpace(line) == "fanout-clients-results" {
			break
		}
	}
	recv := make([]int64, c.n*c.evs)
	if err := binary.Read(c.out, binary.LittleEndian, recv); err != nil {
		b.Fatalf("client process results: %v", err)
	}
	return recv
}

// wait waits for the client process to close its connections and exit.
func (c *fanoutClients) wait(b *testing.B) {
	_, _ = io.Copy(io.Discard, c.out)
	if err := c.cmd.Wait(); err != nil {
		b.Fatalf("client process: %v", err)
	}
}

// TestFanoutClientProcess is BenchmarkFanout's client process and does
// nothing otherwise. It opens N websockets to URL, subscribes each to
// fanoutQuery, says so on stdout, then notes when each of the EVENTS data
// messages arrives on each (without decoding it) and writes those times
// to stdout.
func TestFanoutClientProcess(t *testing.T) {
	url := os.Getenv(envFanoutClientURL)
	if url == "" {
		t.Skip("run by BenchmarkFanout")
	}
	n, _ := strconv.Atoi(os.Getenv(envFanoutClientN))
	events, _ := strconv.Atoi(os.Getenv(envFanoutClientEvents))
	raiseFileLimit(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	clients := make([]*graphtest.WS, n)
	var g errgroup.Group
	g.SetLimit(16)
	for i := range clients {
		g.Go(func() error {
			ws, err := graphtest.DialWS(ctx, url, graphtest.TransportWS)
			if err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
			clients[i] = ws
			return ws.Subscribe(ctx, "e", fanoutQuery, nil)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ws := range clients {
			_ = ws.Close()
		}
	}()

	recv := make([]int64, n*events)
	var wg sync.WaitGroup
	for i, ws := range clients {
		wg.Go(func() {
			for k := 0; k < events; {
				msg, err := ws.NextRaw(ctx)
				if err != nil {
					return
				}
				if bytes.Contains(msg, []byte(`"next"`)) {
					recv[i*events+k] = time.Now().UnixNano()
					k++
				}
			}
		})
	}
	os.Stdout.WriteString("\nfanout-clients-ready\n")
	wg.Wait()
	w := bufio.NewWriter(os.Stdout)
	_, _ = w.WriteString("\nfanout-clients-results\n")
	_ = binary.Write(w, binary.LittleEndian, recv)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// startFloorServer serves the floor: graphql-transport-ws's handshake
// and subscribe accepted without GraphQL, then on each notification on
// fanout.Channel one pre-encoded message written to every subscribed
// connection.
func startFloorServer(b *testing.B, databaseURL string, detached bool) fanoutServer {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu    sync.Mutex
		conns []*websocket.Conn
		count atomic.Int64
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{graphtest.TransportWS}})
		if err != nil {
			return
		}
		if detached {
			go floorRead(ctx, c, &mu, &conns, &count)
			return
		}
		floorRead(ctx, c, &mu, &conns, &count)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()

	listen, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := listen.Exec(ctx, "LISTEN "+pgx.Identifier{fanout.Channel}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		workers := runtime.GOMAXPROCS(0)
		for seq := 1; ; seq++ {
			if _, err := listen.WaitForNotification(ctx); err != nil {
				return
			}
			frame := []byte(`{"payload":{"data":{"events":{"seq":"` + strconv.Itoa(seq) + `"}}},"id":"e","type":"next"}`)
			mu.Lock()
			all := conns
			mu.Unlock()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := w; i < len(all); i += workers {
						_ = all[i].Write(context.Background(), websocket.MessageText, frame)
					}
				})
			}
			wg.Wait()
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
		_ = listen.Close(context.Background())
		_ = hs.Close()
	})
	return fanoutServer{
		wsURL:      "ws://" + ln.Addr().String(),
		subscribed: func() int { return int(count.Load()) },
	}
}

// floorRead is the floor server's read loop for one connection: it answers
// connection_init and records the connection on subscribe. The detached
// floor runs it on a goroutine of its own after the handler has returned
// (net/http's connection goroutine, its request and buffers gone).
func floorRead(ctx context.Context, c *websocket.Conn, mu *sync.Mutex, conns *[]*websocket.Conn, count *atomic.Int64) {
	defer c.CloseNow()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		switch {
		case bytes.Contains(msg, []byte(`"connection_init"`)):
			if c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`)) != nil {
				return
			}
		case bytes.Contains(msg, []byte(`"subscribe"`)):
			mu.Lock()
			*conns = append(*conns, c)
			mu.Unlock()
			count.Add(1)
		}
	}
}
