package decode_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/decode"
)

const (
	ours      = "UpgradeMgr111111111111111111111111111111111"
	system    = "11111111111111111111111111111111"
	token     = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
	ed25519   = "Ed25519SigVerify111111111111111111111111111"
	computeBP = "ComputeBudget111111111111111111111111111111"
)

func invoke(p string, d int) string {
	return "Program " + p + " invoke [" + string(rune('0'+d)) + "]"
}
func success(p string) string  { return "Program " + p + " success" }
func consumed(p string) string { return "Program " + p + " consumed 1000 of 200000 compute units" }
func data(b64 string) string   { return "Program data: " + b64 }

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		line string
		want decode.LogLine
	}{
		{invoke(ours, 1), decode.LogLine{Kind: decode.LineInvoke, Program: ours, Depth: 1}},
		{"Program " + ours + " invoke [12]", decode.LogLine{Kind: decode.LineInvoke, Program: ours, Depth: 12}},
		{"Program " + ours + " invoke [0]", decode.LogLine{}},
		{"Program " + ours + " invoke [65]", decode.LogLine{}},
		{"Program " + ours + " invoke [1000]", decode.LogLine{}},
		{"Program " + ours + " invoke []", decode.LogLine{}},
		{"Program " + ours + " invoke [x]", decode.LogLine{}},
		{"Program " + ours + " invoke [1] extra", decode.LogLine{}},
		{"Program " + ours + "  invoke [1]", decode.LogLine{}},
		{"Program log: Program " + ours + " invoke [2]", decode.LogLine{Kind: decode.LineLog, Text: "Program " + ours + " invoke [2]"}},
		{"Program log: Instruction: Approve", decode.LogLine{Kind: decode.LineLog, Text: "Instruction: Approve"}},
		{"Program log: ", decode.LogLine{Kind: decode.LineLog}},
		{"Program data: AAEC", decode.LogLine{Kind: decode.LineData, Text: "AAEC"}},
		{"Program data: AAEC AQID", decode.LogLine{Kind: decode.LineData, Text: "AAEC AQID"}},
		{"Program data:", decode.LogLine{Kind: decode.LineData}},
		{"Program return: " + ours + " AQID", decode.LogLine{Kind: decode.LineReturn, Program: ours, Text: "AQID"}},
		{"Program return: bogus AQID", decode.LogLine{}},
		{consumed(ours), decode.LogLine{Kind: decode.LineConsumed, Program: ours, Text: "1000 of 200000 compute units"}},
		{success(token), decode.LogLine{Kind: decode.LineSuccess, Program: token}},
		{"Program " + ours + " failed: custom program error: 0x1770", decode.LogLine{Kind: decode.LineFailed, Program: ours, Text: "custom program error: 0x1770"}},
		{"Program failed to complete: BPF program panicked", decode.LogLine{}},
		{"Program is not deployed", decode.LogLine{}},
		{"Program consumption: 1000 units remaining", decode.LogLine{}},
		{"Program 0OIl111111111111111111111111111111111 success", decode.LogLine{}},
		{"Log truncated", decode.LogLine{Kind: decode.LineTruncated}},
		{"log truncated", decode.LogLine{}},
		{"", decode.LogLine{}},
		{"Programme " + ours + " success", decode.LogLine{}},
	}
	for _, tc := range cases {
		if got := decode.ParseLogLine(tc.line); got != tc.want {
			t.Errorf("ParseLogLine(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func TestParseLogs(t *testing.T) {
	t.Parallel()
	type want = decode.LogData
	cases := []struct {
		name      string
		logs      []string
		topLevel  []string
		want      []want
		truncated bool
	}{
		{
			name: "nested invokes",
			logs: []string{
				invoke(ours, 1), "Program log: Instruction: Approve", data("QQ=="),
				invoke(token, 2), data("Qg=="), consumed(token), success(token),
				data("Qw=="),
				invoke(ours, 2), data("RA=="), consumed(ours), success(ours),
				consumed(ours), success(ours),
			},
			want: []want{
				{Line: 2, InstructionIndex: 0, StackHeight: 1, Payload: "QQ=="},
				{Line: 7, InstructionIndex: 0, StackHeight: 1, Payload: "Qw=="},
				{Line: 9, InstructionIndex: 0, StackHeight: 2, Payload: "RA=="},
			},
		},
		{
			name: "a log line that reads like an invoke is a log line",
			logs: []string{invoke(token, 1), "Program log: Program " + ours + " invoke [2]", data("QQ=="), success(token)},
		},
		{
			name: "another program's data at depth 2 is not ours",
			logs: []string{invoke(ours, 1), invoke(token, 2), data("QQ=="), success(token), success(ours)},
		},
		{
			name: "data before any invoke",
			logs: []string{data("QQ=="), invoke(ours, 1), success(ours), data("Qg==")},
		},
		{
			name: "failure pops the frame",
			logs: []string{
				invoke(ours, 1), invoke(token, 2), "Program " + token + " failed: insufficient funds",
				data("QQ=="), "Program " + ours + " failed: custom program error: 0x1", data("Qg=="),
			},
			want: []want{{Line: 3, InstructionIndex: 0, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name:      "truncation",
			logs:      []string{invoke(ours, 1), data("QQ=="), "Log truncated"},
			want:      []want{{Line: 1, InstructionIndex: 0, StackHeight: 1, Payload: "QQ=="}},
			truncated: true,
		},
		{
			name: "a hole after truncation resyncs on the next invoke",
			logs: []string{
				invoke(ours, 1), invoke(token, 2), "Log truncated",
				invoke(ours, 2), data("QQ=="),
			},
			want:      []want{{Line: 4, InstructionIndex: 0, StackHeight: 2, Payload: "QQ=="}},
			truncated: true,
		},
		{
			name:      "lost invoke lines below",
			logs:      []string{invoke(token, 1), "Log truncated", invoke(ours, 3), data("QQ==")},
			want:      []want{{Line: 3, InstructionIndex: 0, StackHeight: 3, Payload: "QQ=="}},
			truncated: true,
		},
		{
			name: "success of a frame below unwinds the frames above",
			logs: []string{invoke(ours, 1), invoke(token, 2), success(ours), data("QQ==")},
		},
		{
			name: "success of a program not on the stack changes nothing",
			logs: []string{invoke(ours, 1), success(token), data("QQ==")},
			want: []want{{Line: 2, InstructionIndex: 0, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name: "return data is not event data",
			logs: []string{invoke(ours, 1), "Program return: " + ours + " QQ==", consumed(ours), success(ours)},
		},
		{
			name: "second instruction",
			logs: []string{invoke(computeBP, 1), success(computeBP), invoke(ours, 1), data("QQ=="), success(ours)},
			want: []want{{Line: 3, InstructionIndex: 1, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name:     "an instruction that logs nothing, known from the message",
			logs:     []string{invoke(ours, 1), data("QQ=="), success(ours)},
			topLevel: []string{ed25519, ours},
			want:     []want{{Line: 1, InstructionIndex: 1, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name:     "an invoke the message does not explain counts on",
			logs:     []string{invoke(token, 1), success(token), invoke(ours, 1), data("QQ==")},
			topLevel: []string{ours},
			want:     []want{{Line: 3, InstructionIndex: 1, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name: "invoke [1] starts over",
			logs: []string{invoke(ours, 1), invoke(token, 2), invoke(system, 1), data("QQ==")},
		},
		{
			name: "an invoke deeper than the runtime allows is not an invoke",
			logs: []string{invoke(ours, 1), "Program " + token + " invoke [99]", data("QQ==")},
			want: []want{{Line: 2, InstructionIndex: 0, StackHeight: 1, Payload: "QQ=="}},
		},
		{
			name: "native runtime: duplicated invoke lines, no data lines",
			logs: []string{
				invoke(ours, 1), invoke(ours, 1), invoke(system, 1), invoke(system, 2), success(system), success(system),
				invoke(ours, 1), invoke(ours, 2), invoke(ours, 2), success(ours), success(ours), success(ours), success(ours), success(ours),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := decode.ParseLogs(tc.logs, ours, tc.topLevel)
			if !reflect.DeepEqual(got.Data, tc.want) {
				t.Errorf("data lines:\n got %+v\nwant %+v", got.Data, tc.want)
			}
			if got.Truncated != tc.truncated {
				t.Errorf("truncated = %v, want %v", got.Truncated, tc.truncated)
			}
		})
	}
}

// FuzzParseLogs feeds arbitrary logs (one line per "\n") to the walk: it
// must not panic, and every line it reports must be a data line with a
// sane position.
func FuzzParseLogs(f *testing.F) {
	f.Add(strings.Join([]string{invoke(ours, 1), data("QQ=="), invoke(token, 2), data("Qg=="), success(token), success(ours)}, "\n"))
	f.Add(strings.Join([]string{invoke(ours, 1), "Log truncated", invoke(ours, 5), data("QQ==")}, "\n"))
	f.Fuzz(func(t *testing.T, s string) {
		logs := strings.Split(s, "\n")
		for _, top := range [][]string{nil, {ours, token}} {
			scan := decode.ParseLogs(logs, ours, top)
			last := -1
			for _, d := range scan.Data {
				if d.Line <= last || d.Line >= len(logs) {
					t.Fatalf("line %d out of order or range", d.Line)
				}
				last = d.Line
				if l := decode.ParseLogLine(logs[d.Line]); l.Kind != decode.LineData || l.Text != d.Payload {
					t.Fatalf("line %d %q reported as data %q", d.Line, logs[d.Line], d.Payload)
				}
				if d.StackHeight < 1 || d.StackHeight > 64 || d.InstructionIndex < -1 {
					t.Fatalf("position %+v", d)
				}
			}
			if scan.Truncated != strings.Contains("\n"+s+"\n", "\nLog truncated\n") {
				t.Fatalf("truncated = %v", scan.Truncated)
			}
		}
	})
}
