// Package faultproxy is a proxy in front of a Solana node's JSON-RPC (HTTP) and
// WebSocket ports that injects the faults a public RPC provider shows: dropped
// connections, HTTP 429 with Retry-After, 500, 503, slow answers, JSON-RPC
// -32004/-32005 errors, and duplicated or delayed logsNotification frames.
//
// A fault is switched on for a while with Set and ends by itself; the chaos run's
// scheduler decides when. Every request that passes is counted by method, so a run
// can report RPC requests per transaction.
package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Fault names one kind of misbehaviour of the proxy.
type Fault string

// The faults the proxy can inject.
const (
	// HTTP429 answers every JSON-RPC request with 429 Too Many Requests and Retry-After: 1.
	HTTP429 Fault = "http_429"
	// HTTP500 answers 500 Internal Server Error.
	HTTP500 Fault = "http_500"
	// HTTP503 answers 503 Service Unavailable.
	HTTP503 Fault = "http_503"
	// Slow holds each request for SlowDelay before forwarding it.
	Slow Fault = "slow"
	// BlockNotAvailable answers read methods with JSON-RPC error -32004.
	BlockNotAvailable Fault = "rpc_32004"
	// NodeUnhealthy answers read methods with JSON-RPC error -32005.
	NodeUnhealthy Fault = "rpc_32005"
	// DuplicateNotifications sends every logsNotification frame twice.
	DuplicateNotifications Fault = "ws_duplicate"
	// DelayNotifications holds every logsNotification frame for NotificationDelay.
	DelayNotifications Fault = "ws_delay"
)

// HTTPFaults are the faults of the JSON-RPC port.
var HTTPFaults = []Fault{HTTP429, HTTP500, HTTP503, Slow, BlockNotAvailable, NodeUnhealthy}

// WSFaults are the faults of the WebSocket port.
var WSFaults = []Fault{DuplicateNotifications, DelayNotifications}

// Config configures a Proxy.
type Config struct {
	// RPCURL and WSURL are the node's endpoints.
	RPCURL, WSURL string
	// SlowDelay is how long Slow holds a request (default 2 s).
	SlowDelay time.Duration
	// NotificationDelay is how long DelayNotifications holds a frame (default 1.5 s).
	NotificationDelay time.Duration
	Logger            *slog.Logger
}

// Proxy is a running fault proxy. Its zero value is not usable; call Start.
type Proxy struct {
	cfg      Config
	upstream *url.URL
	wsHost   string
	rpcLn    net.Listener
	wsLn     net.Listener
	srv      *http.Server
	log      *slog.Logger

	mu      sync.Mutex
	until   map[Fault]time.Time
	conns   map[net.Conn]struct{}
	methods map[string]int64
	faulted map[Fault]int64
	wg      sync.WaitGroup
	closed  bool
}

// Start listens on two free ports of 127.0.0.1 and proxies to cfg's endpoints.
func Start(cfg Config) (*Proxy, error) {
	if cfg.SlowDelay == 0 {
		cfg.SlowDelay = 2 * time.Second
	}
	if cfg.NotificationDelay == 0 {
		cfg.NotificationDelay = 1500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	up, err := url.Parse(cfg.RPCURL)
	if err != nil {
		return nil, fmt.Errorf("parse rpc url: %w", err)
	}
	ws, err := url.Parse(cfg.WSURL)
	if err != nil {
		return nil, fmt.Errorf("parse ws url: %w", err)
	}
	p := &Proxy{
		cfg: cfg, upstream: up, wsHost: ws.Host, log: cfg.Logger,
		until: map[Fault]time.Time{}, conns: map[net.Conn]struct{}{},
		methods: map[string]int64{}, faulted: map[Fault]int64{},
	}
	if p.rpcLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if p.wsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		p.rpcLn.Close()
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	p.srv = &http.Server{
		Handler:     p.rpcHandler(rp),
		ConnState:   p.trackHTTP,
		ReadTimeout: time.Minute,
	}
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _ = p.srv.Serve(p.rpcLn) }()
	go func() { defer p.wg.Done(); p.acceptWS() }()
	return p, nil
}

// RPCURL is the proxy's JSON-RPC endpoint.
func (p *Proxy) RPCURL() string { return "http://" + p.rpcLn.Addr().String() }

// WSURL is the proxy's WebSocket endpoint.
func (p *Proxy) WSURL() string { return "ws://" + p.wsLn.Addr().String() }

// Set switches f on for d (from now); a later Set of the same fault replaces the end.
func (p *Proxy) Set(f Fault, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until[f] = time.Now().Add(d)
}

// Clear switches every fault off.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.until)
}

func (p *Proxy) active(f Fault) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.until[f])
}

// DropConnections closes every open connection, HTTP and WebSocket, without a
// close frame, and returns how many it closed.
func (p *Proxy) DropConnections() int {
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a network failure gives
		}
		_ = c.Close()
	}
	return len(conns)
}

// Stats are the proxy's counters.
type Stats struct {
	// Methods counts JSON-RPC requests forwarded or faulted, by method.
	Methods map[string]int64
	// Faulted counts requests or frames a fault changed, by fault.
	Faulted map[Fault]int64
}

// Stats returns a copy of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Methods: map[string]int64{}, Faulted: map[Fault]int64{}}
	for k, v := range p.methods {
		s.Methods[k] = v
	}
	for k, v := range p.faulted {
		s.Faulted[k] = v
	}
	return s
}

// Close stops listening and closes every connection. Calling it twice is harmless.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	_ = p.wsLn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	_ = p.srv.Close()
	p.DropConnections()
	p.wg.Wait()
	return nil
}

func (p *Proxy) trackHTTP(c net.Conn, s http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s {
	case http.StateNew:
		p.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(p.conns, c)
	}
}

func (p *Proxy) count(method string, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.methods[method]++
	if f != "" {
		p.faulted[f]++
	}
}

// requestMethods returns the methods of a JSON-RPC request or batch.
func requestMethods(body []byte) ([]string, []json.RawMessage) {
	type req struct {
		Method string          `json:"method"`
		ID     json.RawMessage `json:"id"`
	}
	var one req
	if err := json.Unmarshal(body, &one); err == nil && one.Method != "" {
		return []string{one.Method}, []json.RawMessage{one.ID}
	}
	var batch []req
	if err := json.Unmarshal(body, &batch); err != nil {
		return []string{"invalid"}, []json.RawMessage{json.RawMessage("null")}
	}
	ms := make([]string, len(batch))
	ids := make([]json.RawMessage, len(batch))
	for i, r := range batch {
		ms[i], ids[i] = r.Method, r.ID
	}
	return ms, ids
}

// readMethod reports whether a JSON-RPC method only reads: the faults of a node that
// is behind or has not got a block yet apply to those, not to sends or dev methods.
func readMethod(m string) bool {
	switch m {
	case "sendTransaction", "simulateTransaction", "requestAirdrop", "getHealth":
		return false
	}
	return len(m) < 4 || m[:4] != "dev_"
}

func (p *Proxy) rpcHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		methods, ids := requestMethods(body)
		reads := true
		for _, m := range methods {
			reads = reads && readMethod(m)
		}
		fault := p.httpFault(reads)
		for _, m := range methods {
			p.count(m, fault)
		}
		switch fault {
		case HTTP429:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		case HTTP500:
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		case HTTP503:
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		case BlockNotAvailable, NodeUnhealthy:
			writeRPCErrors(w, fault, ids, len(methods) > 1 || (len(body) > 0 && body[0] == '['))
		case Slow:
			select {
			case <-time.After(p.cfg.SlowDelay):
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// httpFault picks the fault a request gets: the first active one, in a fixed order.
func (p *Proxy) httpFault(reads bool) Fault {
	for _, f := range HTTPFaults {
		if (f == BlockNotAvailable || f == NodeUnhealthy) && !reads {
			continue
		}
		if p.active(f) {
			return f
		}
	}
	return ""
}

func writeRPCErrors(w http.ResponseWriter, f Fault, ids []json.RawMessage, batch bool) {
	type rpcErr struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	}
	type resp struct {
		JSONRPC string          `json:"jsonrpc"`
		Error   rpcErr          `json:"error"`
		ID      json.RawMessage `json:"id"`
	}
	e := rpcErr{Code: -32004, Message: "Block not available for slot"}
	if f == NodeUnhealthy {
		e = rpcErr{Code: -32005, Message: "Node is behind by 42 slots", Data: json.RawMessage(`{"numSlotsBehind":42}`)}
	}
	out := make([]resp, len(ids))
	for i, id := range ids {
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		out[i] = resp{JSONRPC: "2.0", Error: e, ID: id}
	}
	w.Header().Set("Content-Type", "application/json")
	if batch {
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	_ = json.NewEncoder(w).Encode(out[0])
}

func (p *Proxy) acceptWS() {
	for {
		c, err := p.wsLn.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveWS(c)
		}()
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// serveWS relays one WebSocket connection byte for byte towards the node and
// frame by frame back, where the notification faults apply.
func (p *Proxy) serveWS(client net.Conn) {
	defer client.Close()
	up, err := net.DialTimeout("tcp", p.wsHost, 5*time.Second)
	if err != nil {
		p.log.Debug("dial websocket upstream", slog.Any("error", err))
		return
	}
	defer up.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	p.track(up)
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(up, client)
		_ = up.Close()
		done <- struct{}{}
	}()
	go func() {
		_ = p.relayFrames(client, up)
		_ = client.Close()
		done <- struct{}{}
	}()
	<-done
	_ = client.Close()
	_ = up.Close()
	<-done
}

// relayFrames copies the handshake answer, then server frames one by one.
func (p *Proxy) relayFrames(dst io.Writer, src net.Conn) error {
	br := bufio.NewReader(src)
	// The HTTP upgrade answer ends with an empty line.
	for {
		line, err := br.ReadSlice('\n')
		if _, werr := dst.Write(line); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	for {
		frame, payload, err := readFrame(br)
		if err != nil {
			return err
		}
		if bytes.Contains(payload, []byte(`"logsNotification"`)) {
			switch {
			case p.active(DuplicateNotifications):
				p.count("logsNotification", DuplicateNotifications)
				if _, err := dst.Write(frame); err != nil {
					return err
				}
			case p.active(DelayNotifications):
				p.count("logsNotification", DelayNotifications)
				time.Sleep(p.cfg.NotificationDelay)
			}
		}
		if _, err := dst.Write(frame); err != nil {
			return err
		}
	}
}

// readFrame reads one unmasked server frame and returns it whole and its payload.
func readFrame(r *bufio.Reader) (frame, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, nil, err
	}
	frame = append(frame, h[:]...)
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, nil, err
		}
		frame = append(frame, b[:]...)
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, nil, err
		}
		frame = append(frame, b[:]...)
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 {
		return nil, nil, errors.New("masked frame from the server")
	}
	if n > 64<<20 {
		return nil, nil, fmt.Errorf("frame of %d bytes", n)
	}
	start := len(frame)
	frame = append(frame, make([]byte, n)...)
	if _, err := io.ReadFull(r, frame[start:]); err != nil {
		return nil, nil, err
	}
	return frame, frame[start:], nil
}

// String formats s as one line per method, most requested first.
func (s Stats) String() string {
	type kv struct {
		k string
		v int64
	}
	var kvs []kv
	for k, v := range s.Methods {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v || (kvs[i].v == kvs[j].v && kvs[i].k < kvs[j].k) })
	var b bytes.Buffer
	for _, e := range kvs {
		b.WriteString(e.k + " " + strconv.FormatInt(e.v, 10) + "\n")
	}
	return b.String()
}
