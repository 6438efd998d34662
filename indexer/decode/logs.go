package decode

import "strings"

// LineKind classifies one log line by the runtime's grammar.
type LineKind uint8

// Kinds of log lines. Programs write only through "Program log:" (sol_log)
// and "Program data:" (sol_log_data); the runtime writes the rest, so the
// invoke stack follows from lines no program can forge.
const (
	// LineOther is any line outside the grammar below.
	LineOther LineKind = iota
	// LineInvoke is "Program <id> invoke [<depth>]".
	LineInvoke
	// LineSuccess is "Program <id> success".
	LineSuccess
	// LineFailed is "Program <id> failed: <reason>".
	LineFailed
	// LineConsumed is "Program <id> consumed <n> of <m> compute units".
	LineConsumed
	// LineLog is "Program log: <text>".
	LineLog
	// LineData is "Program data: <base64> [<base64> ...]".
	LineData
	// LineReturn is "Program return: <id> <base64>".
	LineReturn
	// LineTruncated is "Log truncated": the 10,000-byte log limit was hit.
	LineTruncated
)

var lineKindNames = [...]string{"other", "invoke", "success", "failed", "consumed", "log", "data", "return", "truncated"}

// String names the kind.
func (k LineKind) String() string {
	if int(k) < len(lineKindNames) {
		return lineKindNames[k]
	}
	return "unknown"
}

// LogLine is one parsed log line.
type LogLine struct {
	Kind LineKind
	// Program is the program ID of invoke, success, failed, consumed and return lines.
	Program string
	// Depth is the invoke depth of an invoke line.
	Depth int
	// Text is what follows the fixed part: the message of log and failed
	// lines, the payload of data and return lines.
	Text string
}

// maxDepth bounds the invoke depths the parser tracks. The runtime allows
// 5 (9 once SIMD-0268 is active); deeper invoke lines are not the runtime's.
const maxDepth = 64

// ParseLogLine classifies one log line. It looks at structure, not
// substrings: "Program log: ... invoke [2]" is a log line.
func ParseLogLine(s string) LogLine {
	const program = "Program "
	if !strings.HasPrefix(s, program) {
		if s == "Log truncated" {
			return LogLine{Kind: LineTruncated}
		}
		return LogLine{}
	}
	rest := s[len(program):]
	switch {
	case strings.HasPrefix(rest, "log: "):
		return LogLine{Kind: LineLog, Text: rest[len("log: "):]}
	case strings.HasPrefix(rest, "data: "):
		return LogLine{Kind: LineData, Text: rest[len("data: "):]}
	case rest == "data:":
		return LogLine{Kind: LineData}
	case strings.HasPrefix(rest, "return: "):
		id, payload, _ := strings.Cut(rest[len("return: "):], " ")
		if !isProgramID(id) {
			return LogLine{}
		}
		return LogLine{Kind: LineReturn, Program: id, Text: payload}
	}
	id, tail, ok := strings.Cut(rest, " ")
	if !ok || !isProgramID(id) {
		return LogLine{}
	}
	switch {
	case tail == "success":
		return LogLine{Kind: LineSuccess, Program: id}
	case strings.HasPrefix(tail, "failed: "):
		return LogLine{Kind: LineFailed, Program: id, Text: tail[len("failed: "):]}
	case strings.HasPrefix(tail, "consumed "):
		return LogLine{Kind: LineConsumed, Program: id, Text: tail[len("consumed "):]}
	case strings.HasPrefix(tail, "invoke [") && strings.HasSuffix(tail, "]"):
		digits := tail[len("invoke [") : len(tail)-1]
		if len(digits) == 0 || len(digits) > 3 {
			return LogLine{}
		}
		d := 0
		for i := 0; i < len(digits); i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return LogLine{}
			}
			d = d*10 + int(c-'0')
		}
		if d < 1 || d > maxDepth {
			return LogLine{}
		}
		return LogLine{Kind: LineInvoke, Program: id, Depth: d}
	}
	return LogLine{}
}

// isProgramID reports whether s can be a base58 public key.
func isProgramID(s string) bool {
	if len(s) < 32 || len(s) > 44 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !base58Char[c] {
			return false
		}
	}
	return true
}

var base58Char = func() (t [128]bool) {
	for _, c := range "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// LogData is a "Program data:" line written while the program asked for
// was on top of the invoke stack.
type LogData struct {
	// Line indexes the line in the log messages.
	Line int
	// InstructionIndex is the top-level instruction the line belongs to, -1
	// when the log does not say (an invoke [1] line was lost).
	InstructionIndex int
	// StackHeight is the depth of the invoke stack, 1 for a top-level instruction.
	StackHeight int
	// Payload is the text after "Program data: ": base64 fields separated by spaces.
	Payload string
}

// LogScan is what ParseLogs found in one transaction's log messages.
type LogScan struct {
	// Data are the program's data lines in log order.
	Data []LogData
	// Truncated is set when the log holds "Log truncated": lines were
	// dropped after that point (not necessarily all of them, the runtime
	// keeps later lines that still fit).
	Truncated bool
}

// ParseLogs walks logs with an invoke stack and returns the data lines
// written while program was on top of it. topLevel, when given, lists the
// program of each top-level instruction: an "invoke [1]" line then moves
// to the next instruction of that program, so instructions that log
// nothing (precompiles on older runtimes) do not shift the indexes.
// Without it every "invoke [1]" line starts the next instruction.
func ParseLogs(logs []string, program string, topLevel []string) LogScan {
	return parseLogs(logs, program, topLevelPrograms{names: topLevel})
}

// topLevelPrograms names the program of each top-level instruction, from a
// list or from a transaction's message.
type topLevelPrograms struct {
	names []string
	tx    *Transaction
}

func (t topLevelPrograms) known() bool { return t.names != nil || t.tx != nil }

func (t topLevelPrograms) len() int {
	if t.tx != nil {
		return len(t.tx.Instructions)
	}
	return len(t.names)
}

func (t topLevelPrograms) at(i int) string {
	if t.tx != nil {
		return t.tx.key(int(t.tx.Instructions[i].ProgramIDIndex))
	}
	return t.names[i]
}

func parseLogs(logs []string, program string, top topLevelPrograms) LogScan {
	var scan LogScan
	var stackArr [maxDepth]string
	stack := stackArr[:0]
	cur := -1
	for i, line := range logs {
		// Cheap filter: every line the walk reacts to starts with "Program " or is "Log truncated".
		if len(line) < 13 || line[0] != 'P' && line[0] != 'L' {
			continue
		}
		l := ParseLogLine(line)
		switch l.Kind {
		case LineTruncated:
			scan.Truncated = true
		case LineInvoke:
			if l.Depth == 1 {
				cur = nextTopLevel(cur, l.Program, top)
				stack = stack[:0]
			} else if l.Depth-1 < len(stack) {
				// Frames above the caller ended without their lines (lost to truncation).
				stack = stack[:l.Depth-1]
			} else {
				// Frames below whose invoke lines were lost.
				for len(stack) < l.Depth-1 {
					stack = append(stack, "")
				}
			}
			stack = append(stack, l.Program)
		case LineSuccess, LineFailed:
			// Pop the program's frame; if it is not on top, the lines of the
			// frames above it were lost, and they ended too.
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k] == l.Program {
					stack = stack[:k]
					break
				}
			}
		case LineData:
			if len(stack) > 0 && stack[len(stack)-1] == program {
				scan.Data = append(scan.Data, LogData{Line: i, InstructionIndex: cur, StackHeight: len(stack), Payload: l.Text})
			}
		}
	}
	return scan
}

// nextTopLevel returns the index of the top-level instruction an
// "invoke [1]" line of program starts, after the one at cur.
func nextTopLevel(cur int, program string, top topLevelPrograms) int {
	if top.known() {
		for k := cur + 1; k < top.len(); k++ {
			if top.at(k) == program {
				return k
			}
		}
	}
	return cur + 1
}
