package rpctest

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/upgrade-manager/upgrade-manager/indexer/chain"
)

// Tx is a transaction the server can publish.
type Tx struct {
	Signature  string
	Slot       uint64
	BlockIndex int
	Failed     bool
	// Result is the getTransaction result (json encoding).
	Result json.RawMessage
}

// Server is a replaying RPC node. Its zero value is not usable; call New.
type Server struct {
	program string
	srv     *httptest.Server

	mu          sync.Mutex
	txs         map[string]*Tx
	order       []*Tx // published, in chain order
	confirmed   uint64
	finalized   uint64
	clock       int64
	rateLimit   int // HTTP requests still to answer 429
	requests    map[string]int
	subs        map[*wsConn]bool
	nextSub     uint64
	notify      NotifyMode
	held        []*Tx // notifications held back by NotifyMode.Hold
	listReverse bool
	unlisted    map[string]bool // left out of confirmed listings
	genesis     string
	faults      []*Fault
	log         []Request
	lagSlot     uint64          // the lagging node's tip; 0: none
	lagMethods  map[string]bool // methods the lagging node answers
}

// Request is one HTTP request the server answered.
type Request struct {
	Method string
	// At is when it arrived.
	At time.Time
	// Status is the HTTP status of the answer.
	Status int
	// Fault says an injected fault answered it.
	Fault bool
}

// Log returns every HTTP request answered so far, in arrival order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Lag makes a node that stopped at slot answer every request of methods,
// as one node behind a load balancer does: its confirmed and finalized tips
// are slot, it knows no transaction after it, and it honours
// minContextSlot by answering -32016. Lag(0) ends it.
func (s *Server) Lag(slot uint64, methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lagSlot = slot
	s.lagMethods = map[string]bool{}
	for _, m := range methods {
		s.lagMethods[m] = true
	}
}

// lagView makes the server's state the lagging node's for one request and
// returns the function that restores it (locked).
func (s *Server) lagView(method string) func() {
	if s.lagSlot == 0 || !s.lagMethods[method] {
		return func() {}
	}
	conf, fin, txs, order := s.confirmed, s.finalized, s.txs, s.order
	s.confirmed, s.finalized = min(conf, s.lagSlot), min(fin, s.lagSlot)
	s.txs, s.order = map[string]*Tx{}, nil
	for _, t := range order {
		if t.Slot <= s.lagSlot {
			s.txs[t.Signature] = t
			s.order = append(s.order, t)
		}
	}
	return func() { s.confirmed, s.finalized, s.txs, s.order = conf, fin, txs, order }
}

// contextSlot is the slot a node answers at for commitment c (locked).
func (s *Server) contextSlot(c string) uint64 {
	if c == "finalized" || c == "" {
		return s.finalized
	}
	return s.confirmed
}

// minContextSlotError is the node's answer to a minContextSlot it has not
// reached (locked).
func (s *Server) minContextSlotError(o opts) *rpcError {
	if o.MinContextSlot == 0 || o.MinContextSlot <= s.contextSlot(o.Commitment) {
		return nil
	}
	return &rpcError{Code: -32016, Message: "Minimum context slot has not been reached",
		Data: map[string]any{"contextSlot": s.contextSlot(o.Commitment)}}
}

// Fault makes the server answer requests with an error instead, as a
// load-balanced public RPC does now and then.
type Fault struct {
	// Method is the JSON-RPC method it applies to.
	Method string
	// Slot, when not 0, limits a getBlock fault to that slot.
	Slot uint64
	// Signature, when set, limits a fault to requests whose first
	// parameter is that signature (getTransaction).
	Signature string
	// Every, when above 1, answers only every Every-th matching request.
	Every int
	// Null answers a null result instead of an error, as a node that does
	// not have a transaction yet does.
	Null bool
	// Code is the JSON-RPC error code to answer (e.g. -32004 block not
	// available, -32007 slot skipped); ignored when HTTPStatus is set.
	Code int
	// HTTPStatus answers with that HTTP status instead (429, 503).
	HTTPStatus int
	// RetryAfter is the Retry-After header of an HTTP error, if any.
	RetryAfter string
	// Times is how many requests it answers; negative: until ClearFaults.
	Times int

	seen int // matching requests so far
}

// Inject adds a fault; faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// fault returns the fault that answers a request of method, if any, and
// counts it (locked).
func (s *Server) fault(method string, params []json.RawMessage) *Fault {
	for _, f := range s.faults {
		if f.Method != method || f.Times == 0 {
			continue
		}
		if f.Slot != 0 {
			slot, err := param[uint64](params, 0)
			if err != nil || slot != f.Slot {
				continue
			}
		}
		if f.Signature != "" {
			sig, err := param[string](params, 0)
			if err != nil || sig != f.Signature {
				continue
			}
		}
		if f.seen++; f.Every > 1 && f.seen%f.Every != 0 {
			continue
		}
		if f.Times > 0 {
			f.Times--
		}
		c := *f
		return &c
	}
	return nil
}

// faultMessages are the node's messages for the codes tests inject.
var faultMessages = map[int]string{
	-32001: "Block %d cleaned up, does not exist on node. First available block: 0",
	-32004: "Block not available for slot %d",
	-32005: "Node is unhealthy",
	-32007: "Slot %d was skipped, or missing due to ledger jump to recent snapshot",
	-32009: "Slot %d was skipped, or missing in long-term storage",
	-32014: "BlockStatus status not available for slot %d",
	-32016: "Minimum context slot has not been reached",
}

// NotifyMode says how publishing notifies subscribers.
type NotifyMode struct {
	// Drop sends no notification at all.
	Drop bool
	// Duplicate sends every notification twice.
	Duplicate bool
	// Reverse sends the notifications of one Publish call newest first.
	Reverse bool
	// Hold keeps notifications back until Release.
	Hold bool
}

// New starts a server for program. Close it when done.
func New(program string) *Server {
	s := &Server{
		program:  program,
		txs:      map[string]*Tx{},
		requests: map[string]int{},
		subs:     map[*wsConn]bool{},
		unlisted: map[string]bool{},
		genesis:  "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the HTTP JSON-RPC endpoint.
func (s *Server) URL() string { return s.srv.URL }

// WSURL is the websocket endpoint.
func (s *Server) WSURL() string {
	u, err := chain.WebsocketEndpoint(s.srv.URL, "")
	if err != nil {
		panic(err) // httptest's URL is always http://host:port
	}
	return u
}

// Close severs every connection and stops the server.
func (s *Server) Close() {
	s.Sever()
	s.srv.Close()
}

// Publish adds txs to the chain at confirmed commitment and notifies log
// subscribers. Transactions must not be older than those published before.
func (s *Server) Publish(txs ...Tx) {
	s.mu.Lock()
	var fresh []*Tx
	for _, t := range txs {
		if _, ok := s.txs[t.Signature]; ok {
			continue
		}
		p := &t
		s.txs[t.Signature] = p
		s.order = append(s.order, p)
		s.confirmed = max(s.confirmed, t.Slot)
		fresh = append(fresh, p)
	}
	slices.SortStableFunc(s.order, func(a, b *Tx) int {
		return cmp.Or(cmp.Compare(a.Slot, b.Slot), cmp.Compare(a.BlockIndex, b.BlockIndex))
	})
	mode := s.notify
	if mode.Hold {
		s.held = append(s.held, fresh...)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.send(fresh, mode)
}

// Release sends the notifications held back, in the current mode.
func (s *Server) Release() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	mode := s.notify
	s.mu.Unlock()
	mode.Hold = false
	s.send(held, mode)
}

// SetNotifyMode changes how later publications notify.
func (s *Server) SetNotifyMode(m NotifyMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notify = m
}

func (s *Server) send(txs []*Tx, mode NotifyMode) {
	if mode.Drop || len(txs) == 0 {
		return
	}
	txs = slices.Clone(txs)
	if mode.Reverse {
		slices.Reverse(txs)
	}
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.subs))
	for c := range s.subs {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		for _, t := range txs {
			c.notify(t)
			if mode.Duplicate {
				c.notify(t)
			}
		}
	}
}

// SetSlots sets the confirmed and finalized tips (never below published
// transactions for confirmed).
func (s *Server) SetSlots(confirmed, finalized uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.confirmed = max(s.confirmed, confirmed)
	s.finalized = finalized
}

// FinalizeAll finalizes every published slot.
func (s *Server) FinalizeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finalized = s.confirmed
}

// SetClock sets the Clock sysvar's unix_timestamp.
func (s *Server) SetClock(unix int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = unix
}

// Abandon removes transactions from the chain, as when their fork is
// abandoned before finalization.
func (s *Server) Abandon(sigs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sig := range sigs {
		delete(s.txs, sig)
	}
	s.order = slices.DeleteFunc(s.order, func(t *Tx) bool { _, ok := s.txs[t.Signature]; return !ok })
}

// RateLimit answers the next n HTTP requests with 429 Too Many Requests.
func (s *Server) RateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = n
}

// ListWithinSlotReversed makes getSignaturesForAddress list the
// transactions of one slot in block order instead of newest first, as a
// node may (the order inside a slot is not specified).
func (s *Server) ListWithinSlotReversed(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listReverse = on
}

// SetGenesis changes the genesis hash the server reports, as another
// cluster would.
func (s *Server) SetGenesis(hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.genesis = hash
}

// Unlist leaves sigs out of getSignaturesForAddress at confirmed
// commitment (finalized listings still hold them), as a node whose
// signature index lags may.
func (s *Server) Unlist(sigs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sig := range sigs {
		s.unlisted[sig] = true
	}
}

// Requests returns how many HTTP requests of method were received.
func (s *Server) Requests(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[method]
}

// Subscribers returns the number of live log subscriptions.
func (s *Server) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.subs {
		n += c.subscriptions()
	}
	return n
}

// Sever closes every websocket connection.
func (s *Server) Sever() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.subs))
	for c := range s.subs {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		s.serveWS(w, r)
		return
	}
	var req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests[req.Method]++
	s.log = append(s.log, Request{Method: req.Method, At: time.Now(), Status: http.StatusOK})
	entry := len(s.log) - 1
	limited := s.rateLimit > 0
	if limited {
		s.rateLimit--
	}
	f := s.fault(req.Method, req.Params)
	s.log[entry].Fault = f != nil
	s.mu.Unlock()
	if limited || f != nil && f.HTTPStatus != 0 {
		s.mu.Lock()
		s.log[entry].Status = http.StatusTooManyRequests
		if !limited {
			s.log[entry].Status = f.HTTPStatus
		}
		s.mu.Unlock()
	}
	if limited {
		http.Error(w, "Too many requests for a specific RPC call", http.StatusTooManyRequests)
		return
	}
	if f != nil && f.HTTPStatus != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		http.Error(w, http.StatusText(f.HTTPStatus), f.HTTPStatus)
		return
	}
	var (
		result any
		rpcErr *rpcError
	)
	if f != nil && f.Null {
		result = nil
	} else if f != nil {
		msg := faultMessages[f.Code]
		if msg == "" {
			msg = "Server error"
		}
		if strings.Contains(msg, "%d") {
			slot, _ := param[uint64](req.Params, 0)
			msg = fmt.Sprintf(msg, slot)
		}
		rpcErr = &rpcError{Code: f.Code, Message: msg}
	} else {
		result, rpcErr = s.handle(req.Method, req.Params)
	}
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if rpcErr != nil {
		resp["error"] = rpcErr
	} else {
		resp["result"] = result
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

type opts struct {
	Commitment string `json:"commitment"`
	Limit      int    `json:"limit"`
	Before     string `json:"before"`
	Until      string `json:"until"`
	// MinContextSlot is honoured by getSlot, getSignaturesForAddress and
	// getAccountInfo.
	MinContextSlot uint64 `json:"minContextSlot"`
}

func param[T any](params []json.RawMessage, i int) (T, *rpcError) {
	var v T
	if i >= len(params) {
		return v, nil
	}
	if err := json.Unmarshal(params[i], &v); err != nil {
		return v, &rpcError{Code: -32602, Message: fmt.Sprintf("invalid param %d: %v", i, err)}
	}
	return v, nil
}

// reached reports whether slot has reached commitment c (locked).
func (s *Server) reached(slot uint64, c string) bool {
	if c == "finalized" || c == "" {
		return slot <= s.finalized
	}
	return slot <= s.confirmed
}

func (s *Server) handle(method string, params []json.RawMessage) (any, *rpcError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.lagView(method)()
	switch method {
	case "getHealth":
		return "ok", nil
	case "getGenesisHash":
		return s.genesis, nil
	case "getSlot":
		o, err := param[opts](params, 0)
		if err != nil {
			return nil, err
		}
		if err := s.minContextSlotError(o); err != nil {
			return nil, err
		}
		return s.contextSlot(o.Commitment), nil
	case "getSignaturesForAddress":
		addr, err := param[string](params, 0)
		if err != nil {
			return nil, err
		}
		o, err := param[opts](params, 1)
		if err != nil {
			return nil, err
		}
		if err := s.minContextSlotError(o); err != nil {
			return nil, err
		}
		if o.Limit == 0 {
			o.Limit = 1000
		}
		if addr != s.program {
			return []any{}, nil
		}
		return s.signatures(o), nil
	case "getTransaction":
		sig, err := param[string](params, 0)
		if err != nil {
			return nil, err
		}
		o, err := param[opts](params, 1)
		if err != nil {
			return nil, err
		}
		t, ok := s.txs[sig]
		if !ok || !s.reached(t.Slot, o.Commitment) {
			return nil, nil
		}
		return t.Result, nil
	case "getBlock":
		slot, err := param[uint64](params, 0)
		if err != nil {
			return nil, err
		}
		o, err := param[opts](params, 1)
		if err != nil {
			return nil, err
		}
		if !s.reached(slot, o.Commitment) {
			return nil, &rpcError{Code: -32004, Message: fmt.Sprintf("Block not available for slot %d", slot)}
		}
		var sigs []string
		for _, t := range s.order {
			if t.Slot == slot {
				sigs = append(sigs, t.Signature)
			}
		}
		if len(sigs) == 0 {
			return nil, &rpcError{Code: -32007, Message: fmt.Sprintf("Slot %d was skipped, or missing due to ledger jump to recent snapshot", slot)}
		}
		return map[string]any{"signatures": sigs, "blockHeight": slot, "blockTime": nil,
			"blockhash": "11111111111111111111111111111111", "parentSlot": slot - 1,
			"previousBlockhash": "11111111111111111111111111111111"}, nil
	case "getSignatureStatuses":
		sigs, err := param[[]string](params, 0)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(sigs))
		for i, sig := range sigs {
			t, ok := s.txs[sig]
			if !ok {
				continue
			}
			status := "confirmed"
			if t.Slot <= s.finalized {
				status = "finalized"
			}
			var txErr any
			if t.Failed {
				txErr = map[string]any{"InstructionError": []any{0, "Custom"}}
			}
			out[i] = map[string]any{"slot": t.Slot, "confirmations": nil, "err": txErr, "confirmationStatus": status}
		}
		return map[string]any{"context": map[string]any{"slot": s.confirmed}, "value": out}, nil
	case "getAccountInfo":
		addr, err := param[string](params, 0)
		if err != nil {
			return nil, err
		}
		o, err := param[opts](params, 1)
		if err != nil {
			return nil, err
		}
		if err := s.minContextSlotError(o); err != nil {
			return nil, err
		}
		if addr != "SysvarC1ock11111111111111111111111111111111" {
			return map[string]any{"context": map[string]any{"slot": s.confirmed}, "value": nil}, nil
		}
		data := make([]byte, 40)
		binary.LittleEndian.PutUint64(data[0:], s.confirmed)
		binary.LittleEndian.PutUint64(data[32:], uint64(s.clock))
		return map[string]any{"context": map[string]any{"slot": s.confirmed}, "value": map[string]any{
			"data": []string{base64.StdEncoding.EncodeToString(data), "base64"}, "executable": false,
			"lamports": 1169280, "owner": "Sysvar1111111111111111111111111111111111111", "rentEpoch": 0, "space": 40,
		}}, nil
	default:
		return nil, &rpcError{Code: -32601, Message: "Method not found"}
	}
}

// signatures answers getSignaturesForAddress (locked).
func (s *Server) signatures(o opts) []any {
	var list []*Tx
	for i := len(s.order) - 1; i >= 0; i-- {
		t := s.order[i]
		if !s.reached(t.Slot, o.Commitment) || (o.Commitment == "confirmed" && s.unlisted[t.Signature]) {
			continue
		}
		list = append(list, t)
	}
	if s.listReverse {
		// Within each slot, oldest first.
		slices.SortStableFunc(list, func(a, b *Tx) int {
			return cmp.Or(cmp.Compare(b.Slot, a.Slot), cmp.Compare(a.BlockIndex, b.BlockIndex))
		})
	}
	start := 0
	if o.Before != "" {
		start = len(list)
		for i, t := range list {
			if t.Signature == o.Before {
				start = i + 1
				break
			}
		}
	}
	var out []any
	for _, t := range list[start:] {
		if t.Signature == o.Until || len(out) == o.Limit {
			break
		}
		var txErr any
		if t.Failed {
			txErr = map[string]any{"InstructionError": []any{0, "Custom"}}
		}
		status := "confirmed"
		if t.Slot <= s.finalized {
			status = "finalized"
		}
		out = append(out, map[string]any{"signature": t.Signature, "slot": t.Slot, "err": txErr,
			"memo": nil, "blockTime": nil, "confirmationStatus": status})
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// wsConn is one websocket client.
type wsConn struct {
	s    *Server
	conn *websocket.Conn
	ctx  context.Context

	mu   sync.Mutex
	subs map[uint64]bool
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	conn.SetReadLimit(1 << 20)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &wsConn{s: s, conn: conn, ctx: ctx, subs: map[uint64]bool{}}
	s.mu.Lock()
	s.subs[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
		_ = conn.CloseNow()
	}()
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		if json.Unmarshal(msg, &req) != nil {
			continue
		}
		switch req.Method {
		case "logsSubscribe":
			s.mu.Lock()
			s.nextSub++
			id := s.nextSub
			s.mu.Unlock()
			c.mu.Lock()
			c.subs[id] = true
			c.mu.Unlock()
			c.write(map[string]any{"jsonrpc": "2.0", "result": id, "id": req.ID})
		case "logsUnsubscribe":
			if id, err := param[uint64](req.Params, 0); err == nil {
				c.mu.Lock()
				delete(c.subs, id)
				c.mu.Unlock()
			}
			c.write(map[string]any{"jsonrpc": "2.0", "result": true, "id": req.ID})
		default:
			c.write(map[string]any{"jsonrpc": "2.0", "error": rpcError{Code: -32601, Message: "Method not found"}, "id": req.ID})
		}
	}
}

func (c *wsConn) subscriptions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs)
}

func (c *wsConn) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.Write(c.ctx, websocket.MessageText, b)
}

func (c *wsConn) notify(t *Tx) {
	c.mu.Lock()
	ids := make([]uint64, 0, len(c.subs))
	for id := range c.subs {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	var txErr any
	if t.Failed {
		txErr = map[string]any{"InstructionError": []any{0, "Custom"}}
	}
	for _, id := range ids {
		c.write(map[string]any{"jsonrpc": "2.0", "method": "logsNotification", "params": map[string]any{
			"result": map[string]any{
				"context": map[string]any{"slot": t.Slot},
				"value":   map[string]any{"signature": t.Signature, "err": txErr, "logs": []string{}},
			},
			"subscription": id,
		}})
	}
}

func (c *wsConn) close() {
	_ = c.conn.CloseNow()
}
