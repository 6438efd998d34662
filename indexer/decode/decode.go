package decode

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
	"github.com/upgrade-manager/upgrade-manager/indexer/upgrademanager"
)

// EventIxTag is what Anchor's emit_cpi! puts before an event in the self-CPI's
// data: EVENT_IX_TAG 0x1d9acb512ea545e4, little-endian.
var EventIxTag = [8]byte{0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d}

const eventIxTag = "\xe4\x45\xa5\x2e\x51\xcb\x9a\x1d"

// Position says where in a transaction an event was.
type Position struct {
	// Signature is the transaction's first signature.
	Signature string
	// InstructionIndex is the top-level instruction the event belongs to; -1
	// for a log event whose instruction the log does not reveal.
	InstructionIndex int
	// InnerIndex indexes the emit_cpi! instruction among the top-level
	// instruction's inner instructions; -1 for an event read from the log.
	InnerIndex int
	// StackHeight is the emit_cpi! instruction's stack height, or for a log
	// event the depth of the invoke stack; 0 when unknown.
	StackHeight int
	// Ordinal numbers the transaction's events from 0 in order. Events that
	// fail to decode take their number too, so the others keep theirs when a
	// later decoder reads them: (Signature, Ordinal) is a stable key.
	Ordinal int
}

// Event is one decoded event.
type Event struct {
	// Name is the event's IDL name.
	Name     string
	Position Position
	// Data is the event: one of the upgrademanager event types, e.g.
	// *upgrademanager.ProposalCreated.
	Data upgrademanager.Event
	// Raw is the event's discriminator followed by its borsh encoding. It
	// may share memory with the input transaction.
	Raw []byte
}

// JSON renders the event's fields by the IDL JSON convention (see
// package upgrademanager).
func (e *Event) JSON() []byte { return e.Data.AppendJSON(nil) }

// Result is what Decode found in one transaction.
type Result struct {
	// Events are the transaction's events in order, numbered by Ordinal.
	Events []Event
	// Errors are the events that did not decode, in order.
	Errors []*Error
	// Failed is set when the transaction failed; it then has no events.
	Failed bool
	// Truncated is set when the log was truncated. Events read from the log
	// may then be missing; emit_cpi! events never are.
	Truncated bool

	// arena holds the decoded bytes Raw points into; DecodeInto reuses it.
	arena []byte
}

// reset empties r for DecodeInto, keeping its buffers.
func (r *Result) reset() {
	*r = Result{Events: r.Events[:0], Errors: r.Errors[:0], arena: r.arena[:0]}
	// Drop references to the previous events so they can be collected.
	clear(r.Events[:cap(r.Events)])
	clear(r.Errors[:cap(r.Errors)])
}

// buffers returns r's arena emptied with room for size bytes, and r.Events
// with room for n events.
func (r *Result) buffers(size, n int) []byte {
	if cap(r.arena) < size {
		r.arena = make([]byte, 0, size)
	}
	if cap(r.Events)-len(r.Events) < n {
		ev := make([]Event, len(r.Events), len(r.Events)+n)
		copy(ev, r.Events)
		r.Events = ev
	}
	return r.arena[:0]
}

// Decoder finds and decodes the program's events in transactions. It
// holds no mutable state and is safe for concurrent use.
type Decoder struct {
	program      solana.PublicKey
	programB58   string
	authority    solana.PublicKey
	authorityB58 string
	// First 8 bytes of the base58 forms, to reject other keys with one compare.
	programHead, authorityHead uint64
}

// New returns a Decoder for the events of program (upgrademanager.New of
// the deployment's address).
func New(program *upgrademanager.Program) *Decoder {
	d := &Decoder{program: program.ID(), authority: program.EventAuthority()}
	d.programB58 = d.program.String()
	d.authorityB58 = d.authority.String()
	d.programHead, d.authorityHead = head8(d.programB58), head8(d.authorityB58)
	return d
}

// ProgramID is the program whose events the decoder reads.
func (d *Decoder) ProgramID() solana.PublicKey { return d.program }

// EventAuthority is the PDA ["__event_authority"] of the program: the
// first account of every emit_cpi! instruction.
func (d *Decoder) EventAuthority() solana.PublicKey { return d.authority }

// Decode returns the events of tx. It never panics on malformed input; an
// event that does not decode becomes an *Error and the others still
// decode. See the package documentation for which instructions and log
// lines count as events.
func (d *Decoder) Decode(tx *Transaction) Result {
	var r Result
	d.DecodeInto(&r, tx)
	return r
}

// DecodeInto is Decode writing into r and reusing its buffers: the events,
// errors and the bytes behind their Raw from r's previous use are
// overwritten, so copy what must outlive the next call. It saves two
// allocations per transaction in loops that handle one transaction at a
// time.
func (d *Decoder) DecodeInto(r *Result, tx *Transaction) {
	r.reset()
	if tx.Failed {
		r.Failed = true
		return
	}
	if d.decodeCPI(tx, r) {
		r.Truncated = truncatedLog(tx.LogMessages)
	} else {
		d.decodeLogs(tx, r)
	}
}

// keyClass remembers which account keys are the program and which its
// event authority. Only keys that inner instructions name are looked at:
// on a cold transaction each key is a cache miss.
type keyClass struct {
	seen, prog, auth [4]uint64 // bit i: key i (keys are u8-indexed on chain)
}

// classify reports whether key i of tx is the program and whether it is the
// event authority.
func (d *Decoder) classify(c *keyClass, tx *Transaction, i int) (prog, auth bool) {
	if i >= 256 {
		return d.compareKey(tx, i)
	}
	w, bit := i>>6, uint64(1)<<(i&63)
	if c.seen[w]&bit == 0 {
		c.seen[w] |= bit
		p, a := d.compareKey(tx, i)
		if p {
			c.prog[w] |= bit
		}
		if a {
			c.auth[w] |= bit
		}
	}
	return c.prog[w]&bit != 0, c.auth[w]&bit != 0
}

func (d *Decoder) compareKey(tx *Transaction, i int) (prog, auth bool) {
	if tx.Keys != nil {
		if i >= len(tx.Keys) {
			return false, false
		}
		k := &tx.Keys[i]
		return *k == d.program, *k == d.authority
	}
	if i >= len(tx.AccountKeys) {
		return false, false
	}
	k := tx.AccountKeys[i]
	h := head8(k)
	return h == d.programHead && k == d.programB58, h == d.authorityHead && k == d.authorityB58
}

// head8 packs the first 8 bytes of s (base58 keys are 32 to 44 bytes).
func head8(s string) uint64 {
	if len(s) < 8 {
		return 0
	}
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// isEventCPI reports whether ix is a call of the program whose first
// account is the event authority: the only shape emit_cpi! produces, and
// one only the program can produce in a successful transaction, since
// Anchor's handler requires the authority's signature.
func (d *Decoder) isEventCPI(c *keyClass, tx *Transaction, ix *Instruction) bool {
	if len(ix.Accounts) == 0 {
		return false
	}
	if prog, _ := d.classify(c, tx, int(ix.ProgramIDIndex)); !prog {
		return false
	}
	_, auth := d.classify(c, tx, int(ix.Accounts[0]))
	return auth
}

// decodeCPI reads the emit_cpi! events and reports whether there were any
// (decodable or not).
func (d *Decoder) decodeCPI(tx *Transaction, r *Result) bool {
	var keys keyClass
	// First pass: count the candidates and size one buffer for all their data.
	n, size := 0, 0
	for li := range tx.InnerInstructions {
		ins := tx.InnerInstructions[li].Instructions
		for j := range ins {
			if ix := &ins[j]; d.isEventCPI(&keys, tx, ix) {
				n++
				if ix.DataBytes == nil {
					size += idlcodec.Base58DecodedLenMax(len(ix.Data))
				}
			}
		}
	}
	if n == 0 {
		return false
	}
	arena := r.buffers(size, n)
	ord := 0
	for li := range tx.InnerInstructions {
		list := &tx.InnerInstructions[li]
		for j := range list.Instructions {
			ix := &list.Instructions[j]
			if !d.isEventCPI(&keys, tx, ix) {
				continue
			}
			pos := Position{Signature: tx.Signature, InstructionIndex: int(list.Index), InnerIndex: j, StackHeight: int(ix.StackHeight)}
			data := ix.DataBytes
			if data == nil {
				start := len(arena)
				var err error
				if arena, err = idlcodec.AppendBase58Decode(arena, ix.Data); err != nil {
					arena = arena[:start]
					pos.Ordinal = ord
					ord++
					r.Errors = append(r.Errors, &Error{Reason: ReasonEncoding, Position: pos, Raw: []byte(ix.Data), Err: err})
					continue
				}
				data = arena[start:len(arena):len(arena)]
			}
			if len(data) < len(eventIxTag) || string(data[:len(eventIxTag)]) != eventIxTag {
				continue // a call with the authority first but no event in it
			}
			pos.Ordinal = ord
			ord++
			appendEvent(r, data[len(eventIxTag):], pos)
		}
	}
	r.arena = arena
	return ord > 0
}

// appendEvent decodes raw (discriminator and borsh) into r.
func appendEvent(r *Result, raw []byte, pos Position) {
	ev, err := upgrademanager.DecodeEvent(raw)
	if err != nil {
		r.Errors = append(r.Errors, &Error{Reason: reasonOf(err), Position: pos, Raw: raw, Err: err})
		return
	}
	r.Events = append(r.Events, Event{Name: ev.EventName(), Position: pos, Data: ev, Raw: raw})
}

// logHints says whether logs hold any data line and whether they were
// truncated, without parsing them.
func logHints(logs []string) (data, truncated bool) {
	for _, l := range logs {
		// Both lines are 13 bytes or longer; test one telling byte before comparing.
		if len(l) < 13 {
			continue
		}
		switch l[0] {
		case 'P':
			if l[8] == 'd' && l[:13] == "Program data:" {
				data = true
			}
		case 'L':
			if l == "Log truncated" {
				truncated = true
			}
		}
	}
	return data, truncated
}

func (d *Decoder) scanLogs(tx *Transaction) LogScan {
	var top topLevelPrograms
	if len(tx.Instructions) > 0 && tx.keyCount() > 0 {
		top.tx = tx
	}
	return parseLogs(tx.LogMessages, d.programB58, top)
}

// truncatedLog reports whether logs hold "Log truncated". It reads the
// text of 13-byte lines only.
func truncatedLog(logs []string) bool {
	for _, l := range logs {
		if len(l) == len("Log truncated") && l == "Log truncated" {
			return true
		}
	}
	return false
}

// decodeLogs reads emit! events from the program's "Program data:" lines.
func (d *Decoder) decodeLogs(tx *Transaction, r *Result) {
	data, truncated := logHints(tx.LogMessages)
	r.Truncated = truncated
	if !data {
		return
	}
	scan := d.scanLogs(tx)
	if len(scan.Data) == 0 {
		return
	}
	size := 0
	for _, ld := range scan.Data {
		size += base64.StdEncoding.DecodedLen(len(ld.Payload))
	}
	arena := r.buffers(size, len(scan.Data))
	for ord, ld := range scan.Data {
		pos := Position{Signature: tx.Signature, InstructionIndex: ld.InstructionIndex, InnerIndex: -1, StackHeight: ld.StackHeight, Ordinal: ord}
		if ld.Payload == "" || strings.IndexByte(ld.Payload, ' ') >= 0 {
			// emit! logs one field; several (or none) are some other sol_log_data.
			r.Errors = append(r.Errors, &Error{Reason: ReasonMalformed, Position: pos, Raw: []byte(ld.Payload),
				Err: fmt.Errorf("data line has %d fields, an event has 1", len(strings.Fields(ld.Payload)))})
			continue
		}
		start := len(arena)
		m, err := base64.StdEncoding.Decode(arena[start:start+base64.StdEncoding.DecodedLen(len(ld.Payload))], readOnlyBytes(ld.Payload))
		if err != nil {
			r.Errors = append(r.Errors, &Error{Reason: ReasonEncoding, Position: pos, Raw: []byte(ld.Payload), Err: err})
			continue
		}
		arena = arena[:start+m]
		appendEvent(r, arena[start:start+m:start+m], pos)
	}
	r.arena = arena
}

// DecodeRaw decodes one event from its raw bytes (discriminator and borsh,
// as Event.Raw holds them), e.g. to replay stored events. A failure is an
// *Error at pos.
func DecodeRaw(raw []byte, pos Position) (Event, error) {
	var r Result
	appendEvent(&r, raw, pos)
	if len(r.Errors) > 0 {
		return Event{}, r.Errors[0]
	}
	return r.Events[0], nil
}
