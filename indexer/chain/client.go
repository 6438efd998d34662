package chain

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gagliardetto/solana-go/rpc"
	"github.com/gagliardetto/solana-go/rpc/jsonrpc"

	"github.com/upgrade-manager/upgrade-manager/indexer/backoff"
	"github.com/upgrade-manager/upgrade-manager/indexer/commitment"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// Errors the client returns for answers that are not failures.
var (
	// ErrNotFound: the node does not have the transaction at the asked
	// commitment (getTransaction answered null).
	ErrNotFound = errors.New("not found")
	// ErrBlockUnavailable: the node did not give the block after a bounded
	// number of attempts (-32004 block not available, -32005 unhealthy,
	// -32014 status not available yet, -32001 cleaned up, transport errors):
	// on a load-balanced RPC these say "not this node, not yet". Ask again
	// later; the block exists.
	ErrBlockUnavailable = errors.New("block unavailable")
	// ErrSlotSkipped: the node says the slot has no block (-32007 skipped,
	// -32009 skipped in long-term storage), the only answers that do.
	ErrSlotSkipped = errors.New("slot skipped")
)

// blockAttempts bounds the getBlock attempts of BlockSignatures over
// transient errors (rate limits are waited out and not counted): with the
// default backoff, about a minute.
const blockAttempts = 8

// Commitment is an RPC commitment level: the project's one commitment
// type, package commitment's.
type Commitment = commitment.Level

// The commitments the indexer reads at.
const (
	Confirmed = commitment.Confirmed
	Finalized = commitment.Finalized
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// URL is the HTTP JSON-RPC endpoint.
	URL string
	// Timeout bounds one request; zero means 30s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between retries of a failed
	// request; zero means 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient, when set, replaces the default HTTP client; its
	// transport is wrapped by the client's limiter.
	HTTPClient *http.Client
	// RatePerSecond, when positive, caps the requests the client sends
	// per second, over all its callers and retries included (a free-tier
	// RPC's quota).
	RatePerSecond float64
	Logger        *slog.Logger
	Metrics       *Metrics
}

// Client reads the chain over JSON-RPC with solana-go. Every call retries
// rate limits (HTTP 429), transport failures, timeouts and transient node
// errors with exponential backoff and jitter until it succeeds or ctx ends;
// a rate limit on one call pauses all calls of the client, so that
// concurrent workers back off together instead of hammering the node.
// Answers that are final (a transaction the node does not have, invalid
// parameters) return at once.
type Client struct {
	cfg     ClientConfig
	rpc     *rpc.Client
	logger  *slog.Logger
	metrics *Metrics

	// limiter gates every HTTP request: rate-limit pauses and the pace.
	limiter *limiter

	// seenConfirmed and seenFinalized are the newest slots any answer
	// showed at each commitment: requests that take minContextSlot ask
	// for at least these, so a node behind one already heard from (one of
	// many behind a load balancer) answers -32016 instead of an old view.
	seenConfirmed, seenFinalized atomic.Uint64
}

func (c *Client) seen(commitment Commitment) *atomic.Uint64 {
	if commitment == Finalized {
		return &c.seenFinalized
	}
	return &c.seenConfirmed
}

// observe records that a node answered at slot for commitment.
func (c *Client) observe(commitment Commitment, slot uint64) {
	s := c.seen(commitment)
	for {
		old := s.Load()
		if slot <= old || s.CompareAndSwap(old, slot) {
			return
		}
	}
}

// withMinContextSlot adds minContextSlot to opts when a slot was seen at
// commitment.
func (c *Client) withMinContextSlot(opts map[string]any, commitment Commitment) map[string]any {
	if slot := c.seen(commitment).Load(); slot > 0 {
		opts["minContextSlot"] = slot
	}
	return opts
}

// Seen returns the newest slot an answer at commitment showed.
func (c *Client) Seen(commitment Commitment) uint64 { return c.seen(commitment).Load() }

// NewClient returns a client for cfg.URL.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	lim := newLimiter(cfg.RatePerSecond)
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		base = tr
	}
	hc.Transport = &limitedTransport{base: base, limiter: lim}
	c := rpc.NewWithCustomRPCClient(jsonrpc.NewClientWithOpts(cfg.URL, &jsonrpc.RPCClientOpts{HTTPClient: &hc}))
	return &Client{
		cfg:     cfg,
		rpc:     c,
		logger:  logger,
		metrics: cfg.Metrics,
		limiter: lim,
	}
}

// Close releases the client's connections.
func (c *Client) Close() error { return c.rpc.Close() }

// errorKind classifies a failed call for retries and the errors metric.
type errorKind string

const (
	kindRateLimited errorKind = "rate_limited"
	kindTransport   errorKind = "transport"
	kindNode        errorKind = "node"  // transient node-side errors
	kindFinal       errorKind = "final" // retrying cannot help
)

// JSON-RPC error codes of the Solana node (solana-rpc-client-api's custom
// errors) that the client acts on.
const (
	codeBlockCleanedUp          = -32001
	codeBlockNotAvailable       = -32004
	codeNodeUnhealthy           = -32005
	codeSlotSkipped             = -32007
	codeLongTermStorageSlotSkip = -32009
	codeBlockStatusNotAvailable = -32014
	codeMinContextSlot          = -32016
	codeMethodNotFound          = -32601
	codeInvalidParams           = -32602
)

func classify(err error) errorKind {
	var rpcErr *jsonrpc.RPCError
	var httpErr *jsonrpc.HTTPError
	switch {
	case errors.As(err, &rpcErr):
		switch rpcErr.Code {
		case 429:
			return kindRateLimited
		case codeMethodNotFound, codeInvalidParams:
			return kindFinal
		default:
			return kindNode
		}
	case errors.As(err, &httpErr):
		if httpErr.Code == http.StatusTooManyRequests {
			return kindRateLimited
		}
		return kindNode
	default:
		return kindTransport
	}
}

// rpcCode returns the JSON-RPC error code of err, or 0.
func rpcCode(err error) int {
	var rpcErr *jsonrpc.RPCError
	if errors.As(err, &rpcErr) {
		return rpcErr.Code
	}
	return 0
}

// call runs one JSON-RPC method with retries. final, when not nil, picks
// out errors that are answers rather than failures: call returns those at
// once.
func (c *Client) call(ctx context.Context, out any, method string, params []any, final func(error) bool) error {
	return c.callBounded(ctx, out, method, params, final, 0)
}

// callBounded is call giving up after attempts failures that are not rate
// limits (0: never), returning the last one.
func (c *Client) callBounded(ctx context.Context, out any, method string, params []any, final func(error) bool, attempts int) error {
	var b backoff.Backoff
	b.Min, b.Max = c.cfg.MinBackoff, c.cfg.MaxBackoff
	failures := 0
	for {
		// Wait here, on ctx, not inside the request's own timeout.
		if err := c.limiter.wait(ctx); err != nil {
			return err
		}
		c.metrics.request(method)
		cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		sent := time.Now()
		err := c.rpc.RPCCallForInto(cctx, out, method, params)
		c.metrics.observe(method, time.Since(sent))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		kind := classify(err)
		if final != nil && final(err) {
			return err
		}
		c.metrics.failure(method, kind)
		if kind == kindFinal {
			return fmt.Errorf("%s: %w", method, err)
		}
		d := b.Next()
		if kind == kindRateLimited {
			// The transport has set the pause the node asked for
			// (Retry-After); without one, this call's own backoff pauses the
			// client. Either way every worker waits the same window, and
			// concurrent 429s do not lengthen it.
			if !c.limiter.paused() {
				c.limiter.pauseFor(d)
			}
			d = 0
		} else if failures++; attempts > 0 && failures >= attempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", method, failures, err)
		}
		// Log the first failure and then every tenth: a node that is down
		// must be visible without flooding the log.
		if n := b.Attempts(); n == 1 || n%10 == 0 {
			c.logger.Warn("rpc call failed; retrying", slog.String("method", method),
				slog.String("kind", string(kind)), slog.Int("attempt", n), slog.Duration("retry_in", d),
				slog.String("error", shortError(err)))
		}
		if err := backoff.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// shortError renders err in one line: solana-go's RPC errors dump structs.
func shortError(err error) string {
	var rpcErr *jsonrpc.RPCError
	if errors.As(err, &rpcErr) {
		return fmt.Sprintf("rpc error %d: %s", rpcErr.Code, rpcErr.Message)
	}
	return err.Error()
}

// Signature is one entry of getSignaturesForAddress.
type Signature struct {
	Signature string
	Slot      uint64
	Failed    bool
	// Finalized says the listing's confirmationStatus was finalized.
	Finalized bool
}

// Signatures returns up to limit (at most 1000) signatures of transactions
// that mention address, newest first, starting strictly before before when
// it is not empty.
func (c *Client) Signatures(ctx context.Context, address, before string, limit int, commitment Commitment) ([]Signature, error) {
	opts := c.withMinContextSlot(map[string]any{"limit": limit, "commitment": commitment}, commitment)
	if before != "" {
		opts["before"] = before
	}
	var out []struct {
		Signature          string          `json:"signature"`
		Slot               uint64          `json:"slot"`
		Err                json.RawMessage `json:"err"`
		ConfirmationStatus string          `json:"confirmationStatus"`
	}
	if err := c.call(ctx, &out, "getSignaturesForAddress", []any{address, opts}, nil); err != nil {
		return nil, fmt.Errorf("list signatures for %s: %w", address, err)
	}
	sigs := make([]Signature, len(out))
	for i, s := range out {
		sigs[i] = Signature{Signature: s.Signature, Slot: s.Slot, Failed: len(s.Err) > 0 && string(s.Err) != "null",
			Finalized: s.ConfirmationStatus == string(Finalized)}
	}
	return sigs, nil
}

// Transaction returns the getTransaction result for sig (json encoding,
// version 0 transactions allowed) as the node sent it, or ErrNotFound when
// the node has no such transaction at commitment.
func (c *Client) Transaction(ctx context.Context, sig string, commitment Commitment) (json.RawMessage, error) {
	var out json.RawMessage
	opts := map[string]any{"encoding": "json", "commitment": commitment, "maxSupportedTransactionVersion": 0}
	if err := c.call(ctx, &out, "getTransaction", []any{sig, opts}, nil); err != nil {
		return nil, fmt.Errorf("fetch transaction %s: %w", sig, err)
	}
	if len(out) == 0 || string(out) == "null" {
		return nil, ErrNotFound
	}
	return out, nil
}

// BlockSignatures returns the signatures of the block at slot in block
// order. It returns ErrSlotSkipped when the node says the slot has no block
// (-32007, -32009), and ErrBlockUnavailable when transient answers (-32004,
// -32005, -32014, -32001, -32016, server and transport errors) persist over
// a bounded number of attempts. Any other failure (a node without getBlock)
// is returned as it is.
func (c *Client) BlockSignatures(ctx context.Context, slot uint64, commitment Commitment) ([]string, error) {
	var out *struct {
		Signatures []string `json:"signatures"`
	}
	opts := map[string]any{
		"encoding": "json", "transactionDetails": "signatures", "rewards": false,
		"commitment": commitment, "maxSupportedTransactionVersion": 0,
	}
	skipped := func(err error) bool {
		switch rpcCode(err) {
		case codeSlotSkipped, codeLongTermStorageSlotSkip:
			return true
		}
		return false
	}
	err := c.callBounded(ctx, &out, "getBlock", []any{slot, opts}, skipped, blockAttempts)
	switch {
	case err == nil && out == nil:
		// null: the node has no block at this commitment yet.
		return nil, fmt.Errorf("block %d: %w (null)", slot, ErrBlockUnavailable)
	case err == nil:
		return out.Signatures, nil
	case skipped(err):
		return nil, fmt.Errorf("block %d: %w (%s)", slot, ErrSlotSkipped, shortError(err))
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case classify(err) != kindFinal:
		return nil, fmt.Errorf("block %d: %w (%s)", slot, ErrBlockUnavailable, shortError(err))
	}
	return nil, fmt.Errorf("fetch block %d: %w", slot, err)
}

// Status is the status of a signature.
type Status struct {
	Slot uint64
	// Commitment is processed, confirmed or finalized.
	Commitment string
	Failed     bool
}

// Statuses are getSignatureStatuses' answer.
type Statuses struct {
	// ContextSlot is the slot the answering node had reached: a signature
	// it does not know proves nothing about slots after it.
	ContextSlot uint64
	// Value holds the status of each signature asked, nil when unknown.
	Value []*Status
}

// SignatureStatuses returns the status of each of sigs (at most 256),
// searching the whole history, with the slot the node answered at.
// getSignatureStatuses takes no minContextSlot; the caller weighs
// ContextSlot.
func (c *Client) SignatureStatuses(ctx context.Context, sigs []string) (Statuses, error) {
	var out struct {
		Context struct {
			Slot uint64 `json:"slot"`
		} `json:"context"`
		Value []*struct {
			Slot               uint64          `json:"slot"`
			ConfirmationStatus string          `json:"confirmationStatus"`
			Err                json.RawMessage `json:"err"`
		} `json:"value"`
	}
	if err := c.call(ctx, &out, "getSignatureStatuses", []any{sigs, map[string]any{"searchTransactionHistory": true}}, nil); err != nil {
		return Statuses{}, fmt.Errorf("fetch signature statuses: %w", err)
	}
	if len(out.Value) != len(sigs) {
		return Statuses{}, fmt.Errorf("fetch signature statuses: %d answers for %d signatures", len(out.Value), len(sigs))
	}
	st := Statuses{ContextSlot: out.Context.Slot, Value: make([]*Status, len(sigs))}
	for i, v := range out.Value {
		if v != nil {
			st.Value[i] = &Status{Slot: v.Slot, Commitment: v.ConfirmationStatus, Failed: len(v.Err) > 0 && string(v.Err) != "null"}
		}
	}
	return st, nil
}

// Slot returns the newest slot at commitment, from a node at least as far
// as any answer seen before.
func (c *Client) Slot(ctx context.Context, commitment Commitment) (uint64, error) {
	var slot uint64
	opts := c.withMinContextSlot(map[string]any{"commitment": commitment}, commitment)
	if err := c.call(ctx, &slot, "getSlot", []any{opts}, nil); err != nil {
		return 0, fmt.Errorf("fetch slot: %w", err)
	}
	c.observe(commitment, slot)
	return slot, nil
}

// clockSysvar is the Clock sysvar's address.
const clockSysvar = "SysvarC1ock11111111111111111111111111111111"

// Clock returns the Clock sysvar at commitment: its slot and the
// unix_timestamp programs compare deadlines with.
func (c *Client) Clock(ctx context.Context, commitment Commitment) (slot uint64, now time.Time, err error) {
	var out struct {
		Context struct {
			Slot uint64 `json:"slot"`
		} `json:"context"`
		Value *struct {
			Data []string `json:"data"`
		} `json:"value"`
	}
	opts := c.withMinContextSlot(map[string]any{"encoding": "base64", "commitment": commitment}, commitment)
	if err := c.call(ctx, &out, "getAccountInfo", []any{clockSysvar, opts}, nil); err != nil {
		return 0, time.Time{}, fmt.Errorf("fetch clock: %w", err)
	}
	c.observe(commitment, out.Context.Slot)
	if out.Value == nil || len(out.Value.Data) == 0 {
		return 0, time.Time{}, errors.New("fetch clock: no clock sysvar")
	}
	data, err := base64.StdEncoding.DecodeString(out.Value.Data[0])
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("fetch clock: malformed clock sysvar: %w", err)
	}
	clock, err := upgrademanager.DecodeClock(data)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("fetch clock: %w", err)
	}
	return clock.Slot, clock.Time(), nil
}

// GenesisHash returns the cluster's genesis hash, which tells clusters
// apart.
func (c *Client) GenesisHash(ctx context.Context) (string, error) {
	var h string
	if err := c.call(ctx, &h, "getGenesisHash", nil, nil); err != nil {
		return "", fmt.Errorf("fetch genesis hash: %w", err)
	}
	return h, nil
}
