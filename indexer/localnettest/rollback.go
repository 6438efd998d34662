package localnettest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// Rollback is dev_rollback's answer.
type Rollback struct {
	AbandonedSlots      []uint64 `json:"abandonedSlots"`
	ForkSlot            uint64   `json:"forkSlot"`
	Slot                uint64   `json:"slot"`
	RemovedTransactions []string `json:"removedTransactions"`
}

// maxAbandonTries bounds Abandon's rollbacks: each one that misses leaves
// the slot on the fork, and a node that outruns every try is not being
// tested any more.
const maxAbandonTries = 20

// Abandon makes the node abandon slot (and every slot after it on the
// fork) with dev_rollback, and returns the rollback that did.
//
// dev_rollback counts slots back from the tip, which moves on every slot
// time: a count read from dev_status before the call falls short when a
// slot was made in between (a loaded machine, 100 ms slots), and the
// rollback then abandons only slots after slot, leaving its transactions
// on the fork. Abandon checks the answer and repeats with a new count until
// slot is among the abandoned slots. The count skips the slots this node's
// earlier rollbacks abandoned (the fork's only gaps).
func (n *Node) Abandon(ctx context.Context, slot uint64) (Rollback, error) {
	n.rollbackMu.Lock()
	defer n.rollbackMu.Unlock()
	if n.abandoned == nil {
		n.abandoned = map[uint64]bool{}
	}
	for try := 1; ; try++ {
		var status struct {
			Processed uint64 `json:"processed"`
		}
		if err := n.call(ctx, "dev_status", []any{}, &status); err != nil {
			return Rollback{}, err
		}
		if status.Processed < slot {
			return Rollback{}, fmt.Errorf("abandon slot %d: the node's tip is slot %d", slot, status.Processed)
		}
		count := status.Processed - slot + 1
		for s := range n.abandoned {
			if s >= slot && s <= status.Processed {
				count--
			}
		}
		if n.beforeRollback != nil {
			n.beforeRollback(try)
		}
		var r Rollback
		if err := n.call(ctx, "dev_rollback", []any{count}, &r); err != nil {
			return Rollback{}, fmt.Errorf("abandon slot %d: %w", slot, err)
		}
		for _, s := range r.AbandonedSlots {
			n.abandoned[s] = true
		}
		if slices.Contains(r.AbandonedSlots, slot) {
			return r, nil
		}
		if try == maxAbandonTries {
			return r, fmt.Errorf("abandon slot %d: %d rollbacks missed it (last abandoned %v)", slot, try, r.AbandonedSlots)
		}
	}
}

// call makes one JSON-RPC call to the node and decodes its result into out.
func (n *Node) call(ctx context.Context, method string, params []any, out any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.RPCURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s: decode answer (HTTP %d): %w", method, resp.StatusCode, err)
	}
	if answer.Error != nil {
		return fmt.Errorf("%s: error %d: %s", method, answer.Error.Code, answer.Error.Message)
	}
	if err := json.Unmarshal(answer.Result, out); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}
