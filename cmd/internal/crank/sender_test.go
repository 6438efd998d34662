package crank

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCustomCode(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"InstructionError":[0,{"Custom":6019}]}`), &v); err != nil {
		t.Fatal(err)
	}
	if code, ok := customCode(v); !ok || code != 6019 {
		t.Fatalf("customCode = %d, %v", code, ok)
	}
	if err := json.Unmarshal([]byte(`{"InstructionError":[0,"InvalidAccountData"]}`), &v); err != nil {
		t.Fatal(err)
	}
	if _, ok := customCode(v); ok {
		t.Fatal("a non-custom error has no code")
	}
	err := classify(map[string]any{"InstructionError": []any{0.0, map[string]any{"Custom": 6019.0}}}, nil, func(c uint32) bool { return c == 6019 })
	if !errors.Is(err, errRaceLost) {
		t.Fatalf("classify: %v", err)
	}
}

// A refusal by the loader reads as the instruction, the error's name and the loader's own log
// line, not as a Go map.
func TestSimulationErrorIsReadable(t *testing.T) {
	const loader = "BPFLoaderUpgradeab1e11111111111111111111111"
	const ours = "UpgradeMgr111111111111111111111111111111111"
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		name string
		err  any
		logs []string
		want string
	}{
		{"the loader refuses a second extension in one slot", decode(`{"InstructionError":[1,"InvalidArgument"]}`), []string{
			"Program " + ours + " invoke [1]",
			"Program log: Instruction: ExtendProgramdata",
			"Program " + loader + " invoke [2]",
			"Program was extended in this block already",
			"Program " + loader + " failed: invalid program argument",
			"Program " + ours + " consumed 5012 of 200000 compute units",
			"Program " + ours + " failed: invalid program argument",
		}, `simulation failed: instruction 1: InvalidArgument: "Program was extended in this block already"`},
		{"an error with a payload", decode(`{"InstructionError":[0,{"BorshIoError":"Unknown"}]}`), nil,
			`simulation failed: instruction 0: {"BorshIoError":"Unknown"}`},
		{"a transaction-level error", decode(`"BlockhashNotFound"`), nil, "simulation failed: BlockhashNotFound"},
		{"another shape", decode(`{"InsufficientFundsForRent":{"account_index":2}}`), nil,
			`simulation failed: {"InsufficientFundsForRent":{"account_index":2}}`},
		{"the program's own error", decode(`{"InstructionError":[0,{"Custom":6019}]}`), []string{
			"Program " + ours + " invoke [1]",
			"Program log: AnchorError occurred. Error Code: ProposalNotApproved.",
			"Program " + ours + " failed: custom program error: 0x1783",
		}, `(ProposalNotApproved): "AnchorError occurred. Error Code: ProposalNotApproved."`},
	} {
		got := classify(tt.err, tt.logs, nil).Error()
		if !strings.Contains(got, tt.want) || strings.Contains(got, "map[") {
			t.Errorf("%s: %q, want it to hold %q and no Go map", tt.name, got, tt.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	m := &migrator{progress: &out}
	m.draw(50, 200)
	m.draw(200, 200)
	got := out.String()
	for _, want := range []string{"\r[##########" + strings.Repeat(".", 30) + "] 50/200 (25%)", "] 200/200 (100%)\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("progress output %q lacks %q", got, want)
		}
	}
}
