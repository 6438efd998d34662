package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// rawRPC calls one JSON-RPC method and returns its result undecoded. The checker and
// the fault injector use it rather than the indexer's client: they share no code with it.
type rawRPC struct {
	url    string
	client *http.Client
}

func newRawRPC(url string) *rawRPC {
	return &rawRPC{url: url, client: &http.Client{Timeout: 30 * time.Second}}
}

// rpcError is a JSON-RPC error answer.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

func (r *rawRPC) call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: decode answer: %w", method, err)
	}
	if out.Error != nil {
		return nil, fmt.Errorf("%s: %w", method, out.Error)
	}
	return out.Result, nil
}

// devStatus is localnet's dev_status answer.
type devStatus struct {
	Processed     uint64 `json:"processed"`
	Confirmed     uint64 `json:"confirmed"`
	Finalized     uint64 `json:"finalized"`
	UnixTimestamp int64  `json:"unixTimestamp"`
}

func (r *rawRPC) devStatus(ctx context.Context) (devStatus, error) {
	var s devStatus
	res, err := r.call(ctx, "dev_status")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(res, &s)
}

func ed25519FromSeed(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }
