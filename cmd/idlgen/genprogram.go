package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/gagliardetto/solana-go"
)

// eventAuthoritySeed is the seed of the PDA emit_cpi! signs with.
const eventAuthoritySeed = "__event_authority"

func (g *gen) hasEventCPI() bool {
	for _, ix := range g.idl.Instructions {
		for _, a := range flatten(ix.Accounts, "") {
			if isEventAuthority(a.AccountItem) {
				return true
			}
		}
	}
	return false
}

func isEventAuthority(a AccountItem) bool {
	return a.PDA != nil && a.PDA.Program == nil && len(a.PDA.Seeds) == 1 &&
		a.PDA.Seeds[0].Kind == "const" && string(a.PDA.Seeds[0].Value) == eventAuthoritySeed
}

// hasFixedPDA reports whether an instruction has an account the builder
// derives from constant seeds alone (other than the event authority).
func (g *gen) hasFixedPDA() bool {
	for _, ix := range g.idl.Instructions {
		accts := flatten(ix.Accounts, "")
		for i := range accts {
			if strings.HasPrefix(g.autoAccount(accts, i), "p.mustFind(") {
				return true
			}
		}
	}
	return false
}

func (g *gen) programFile() *file {
	f := newFile("program.go")
	f.use("github.com/gagliardetto/solana-go")
	name := g.idl.Metadata.Name
	f.p("// ProgramAddress is the address of %s in base58, from the IDL.", name)
	f.p("const ProgramAddress = %q", g.idl.Address)
	f.p("")
	f.p("// ProgramID is the address of %s in the IDL. A deployment at another", name)
	f.p("// address is New(its address); nothing here assumes this one. Treat it as a constant.")
	f.p("var ProgramID = %s", keyLit(g.programID))
	f.p("")
	cpi := g.hasEventCPI()
	if cpi {
		f.p("// EventAuthoritySeed is the seed of the PDA [%q] every emit_cpi! event is signed by.", eventAuthoritySeed)
		f.p("const EventAuthoritySeed = %q", eventAuthoritySeed)
		f.p("")
	}
	f.p("// Program is %s deployed at one address: it derives that deployment's", name)
	f.p("// PDAs and builds instructions for it. New makes one; it never changes and is")
	f.p("// safe for concurrent use.")
	f.p("type Program struct {")
	f.p("id solana.PublicKey")
	if cpi {
		f.p("eventAuthority solana.PublicKey")
	}
	f.p("}")
	f.p("")
	f.p("// New returns %s deployed at id; the zero key means ProgramID.", name)
	f.p("func New(id solana.PublicKey) *Program {")
	f.p("if id.IsZero() { id = ProgramID }")
	f.p("p := &Program{id: id}")
	if cpi {
		f.p("p.eventAuthority = p.mustFind([]byte(EventAuthoritySeed))")
	}
	f.p("return p")
	f.p("}")
	f.p("")
	f.p("// ID is the program's address.")
	f.p("func (p *Program) ID() solana.PublicKey { return p.id }")
	f.p("")
	if cpi {
		f.p("// EventAuthority is the PDA [%q] of the program: the first account", eventAuthoritySeed)
		f.p("// of the instruction every emit_cpi! event travels in.")
		f.p("func (p *Program) EventAuthority() solana.PublicKey { return p.eventAuthority }")
		f.p("")
	}
	if cpi || g.hasFixedPDA() {
		f.p("// mustFind derives a PDA of the program from constant seeds. Such seeds")
		f.p("// are short and fixed, so only a program without any off-curve address")
		f.p("// for them could fail, which does not happen.")
		f.p("func (p *Program) mustFind(seeds ...[]byte) solana.PublicKey {")
		f.p("k, _, err := solana.FindProgramAddress(seeds, p.id)")
		f.p("if err != nil { panic(\"derive a PDA of \" + p.id.String() + \": \" + err.Error()) }")
		f.p("return k")
		f.p("}")
		f.p("")
	}
	for _, c := range g.idl.Constants {
		g.constant(f, c)
	}
	return f
}

// seedLit is the Go expression of the constant seed b: the IDL constant
// that holds it when there is one, so no seed is spelled twice.
func (g *gen) seedLit(b []byte) string {
	if string(b) == eventAuthoritySeed && g.hasEventCPI() {
		return "[]byte(EventAuthoritySeed)"
	}
	for _, c := range g.idl.Constants {
		t := c.Type
		if !(t.Prim == "bytes" || t.Vec != nil && t.Vec.Prim == "u8" || t.Array != nil && t.Array.Prim == "u8") {
			continue
		}
		if v, ok := parseByteList(strings.TrimSpace(c.Value)); ok && bytes.Equal(v, b) {
			if name, ok := g.constNames[c.Name]; ok {
				return "[]byte(" + name + ")"
			}
		}
	}
	if isPrintable(b) {
		return fmt.Sprintf("[]byte(%q)", string(b))
	}
	return "[]byte{" + bytesLit(b) + "}"
}

func (g *gen) constant(f *file, c Constant) {
	name := exported(c.Name)
	if _, ok := g.taken[name]; ok {
		name += "Const"
	}
	g.taken[name] = "constant " + c.Name
	g.constNames[c.Name] = name
	if !g.constantDecl(f, name, c) {
		f.p("// The constant %s (%s = %s) has no Go form here.", c.Name, c.Type, strings.TrimSpace(c.Value))
	}
	f.p("")
}

// constantDecl writes c as a Go constant (or a var for pubkeys) and reports
// whether its type and value allow one.
func (g *gen) constantDecl(f *file, name string, c Constant) bool {
	val := strings.TrimSpace(c.Value)
	t := c.Type
	first := fmt.Sprintf("%s is the constant %s.", name, c.Name)
	switch {
	case t.Prim == "bool":
		if val != "true" && val != "false" {
			return false
		}
		docComment(f, first, c.Docs)
		f.p("const %s = %s", name, val)
	case t.Prim == "u128" || t.Prim == "i128":
		num := strings.ReplaceAll(val, "_", "")
		if !isDecimal(num) {
			return false
		}
		docComment(f, first+" It is untyped: no Go integer type holds every "+t.Prim+".", c.Docs)
		f.p("const %s = %s", name, num)
	case isNumeric(t.Prim):
		num := strings.ReplaceAll(val, "_", "")
		bits, _ := strconv.Atoi(t.Prim[1:])
		var err error
		if t.Prim[0] == 'u' {
			_, err = strconv.ParseUint(num, 10, bits)
		} else {
			_, err = strconv.ParseInt(num, 10, bits)
		}
		if err != nil {
			return false
		}
		docComment(f, first, c.Docs)
		f.p("const %s %s = %s", name, g.goType(t), num)
	case t.Prim == "bytes", t.Vec != nil && t.Vec.Prim == "u8", t.Array != nil && t.Array.Prim == "u8":
		b, ok := parseByteList(val)
		if !ok {
			return false
		}
		docComment(f, first+" Use it as []byte("+name+").", c.Docs)
		f.p("const %s = %s", name, strconv.Quote(string(b)))
	case t.Prim == "string":
		s, err := strconv.Unquote(val)
		if err != nil {
			return false
		}
		docComment(f, first, c.Docs)
		f.p("const %s = %s", name, strconv.Quote(s))
	case t.Prim == "pubkey":
		k, err := solana.PublicKeyFromBase58(val)
		if err != nil {
			return false
		}
		f.use("github.com/gagliardetto/solana-go")
		docComment(f, first+" Treat it as a constant.", c.Docs)
		f.p("var %s = %s // %s", name, keyLit(k), k)
	default:
		return false
	}
	return true
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseByteList reads a Rust byte slice literal such as "[1, 2, 3]".
func parseByteList(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	if inner == "" {
		return []byte{}, true
	}
	var out []byte
	for _, part := range strings.Split(inner, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 8)
		if err != nil {
			return nil, false
		}
		out = append(out, byte(n))
	}
	return out, true
}

func (g *gen) eventsFile() *file {
	f := newFile("events.go")
	f.use(idlcodecPath)
	f.use("encoding/binary")
	f.p("// Event is an event %s emits: a type with a discriminator whose", g.idl.Metadata.Name)
	f.p("// encoding follows its discriminator in an emit_cpi! instruction or an emit! log line.")
	f.p("type Event interface {")
	f.p("// EventName returns the event's name in the IDL.")
	f.p("EventName() string")
	f.p("// Discriminator returns the 8 bytes that precede the event's borsh encoding.")
	f.p("Discriminator() [8]byte")
	f.p("// UnmarshalBorsh decodes the event (without discriminator) from the start of b.")
	f.p("UnmarshalBorsh(b []byte) (int, error)")
	f.p("// AppendBorsh appends the event's borsh encoding (without discriminator).")
	f.p("AppendBorsh(dst []byte) []byte")
	f.p("// AppendJSON appends the event's fields as JSON.")
	f.p("AppendJSON(dst []byte) []byte")
	f.p("}")
	f.p("")
	if len(g.idl.Events) > 0 {
		f.p("var (")
		for _, e := range g.idl.Events {
			f.p("_ Event = (*%s)(nil)", g.goNames[e.Name])
		}
		f.p(")")
		f.p("")
	}
	if len(g.idl.Events) > 0 {
		f.p("// The events' names in the IDL, as EventName returns them and the event")
		f.p("// log stores them.")
		f.p("const (")
		for _, e := range g.idl.Events {
			f.p("EventName%s = %q", g.goNames[e.Name], e.Name)
		}
		f.p(")")
		f.p("")
	}
	f.p("// Event discriminators as little-endian integers, for DecodeEvent's switch.")
	f.p("const (")
	for _, e := range g.idl.Events {
		f.p("eventDisc%s = 0x%016x", g.goNames[e.Name], discU64(e.Discriminator))
	}
	if len(g.idl.Events) == 0 {
		f.p("_ = 0")
	}
	f.p(")")
	f.p("")
	for _, e := range g.idl.Events {
		n := g.goNames[e.Name]
		f.p("// EventName returns %q.", e.Name)
		f.p("func (*%s) EventName() string { return EventName%s }", n, n)
		f.p("")
		f.p("// Discriminator returns the bytes that precede %s's encoding.", n)
		f.p("func (*%s) Discriminator() [8]byte { return [8]byte{%s} }", n, bytesLit(e.Discriminator))
		f.p("")
	}
	f.p("// NewEvent returns a zero event of the IDL name, nil for a name that is")
	f.p("// not an event.")
	f.p("func NewEvent(name string) Event {")
	f.p("switch name {")
	for _, e := range g.idl.Events {
		f.p("case EventName%s: return new(%s)", g.goNames[e.Name], g.goNames[e.Name])
	}
	f.p("}")
	f.p("return nil")
	f.p("}")
	f.p("")
	f.p("// EventNames lists the events in IDL order.")
	f.p("func EventNames() []string {")
	names := make([]string, len(g.idl.Events))
	for i, e := range g.idl.Events {
		names[i] = strconv.Quote(e.Name)
	}
	f.p("return []string{%s}", strings.Join(names, ", "))
	f.p("}")
	f.p("")
	f.p("// DecodeEvent decodes data, an event's discriminator followed by its borsh")
	f.p("// encoding, which must end where the event does. Errors are *idlcodec.Error:")
	f.p("// ReasonUnknownDiscriminator, ReasonShort, ReasonTrailing or ReasonInvalid,")
	f.p("// with offsets into data.")
	f.p("func DecodeEvent(data []byte) (Event, error) {")
	f.p("if len(data) < 8 { return nil, idlcodec.ShortError(\"event discriminator\", 0, 8, len(data)) }")
	f.p("var e Event")
	f.p("switch binary.LittleEndian.Uint64(data) {")
	for _, e := range g.idl.Events {
		n := g.goNames[e.Name]
		f.p("case eventDisc%s: e = new(%s)", n, n)
	}
	f.p("default: return nil, idlcodec.UnknownDiscriminatorError(\"event\", data[:8])")
	f.p("}")
	f.p("n, err := e.UnmarshalBorsh(data[8:])")
	f.p("if err != nil { return nil, idlcodec.Shift(err, 8) }")
	f.p("if rest := len(data) - 8 - n; rest != 0 { return nil, idlcodec.TrailingError(e.EventName(), 8+n, rest) }")
	f.p("return e, nil")
	f.p("}")
	return f
}

func (g *gen) accountsFile() *file {
	f := newFile("accounts.go")
	f.use(idlcodecPath)
	f.use("encoding/binary")
	f.p("// Account is an account type of %s: a type with a discriminator that", g.idl.Metadata.Name)
	f.p("// starts the data of every account of that type.")
	f.p("type Account interface {")
	f.p("// AccountName returns the account type's name in the IDL.")
	f.p("AccountName() string")
	f.p("// Discriminator returns the 8 bytes that start the account's data.")
	f.p("Discriminator() [8]byte")
	f.p("// UnmarshalBorsh decodes the account (without discriminator) from the start of b.")
	f.p("UnmarshalBorsh(b []byte) (int, error)")
	f.p("// AppendBorsh appends the account's borsh encoding (without discriminator).")
	f.p("AppendBorsh(dst []byte) []byte")
	f.p("// AppendJSON appends the account's fields as JSON.")
	f.p("AppendJSON(dst []byte) []byte")
	f.p("}")
	f.p("")
	if len(g.idl.Accounts) > 0 {
		f.p("var (")
		for _, a := range g.idl.Accounts {
			f.p("_ Account = (*%s)(nil)", g.goNames[a.Name])
		}
		f.p(")")
		f.p("")
	}
	f.p("// Account discriminators as little-endian integers, for DecodeAccount's switch.")
	f.p("const (")
	for _, a := range g.idl.Accounts {
		f.p("accountDisc%s = 0x%016x", g.goNames[a.Name], discU64(a.Discriminator))
	}
	if len(g.idl.Accounts) == 0 {
		f.p("_ = 0")
	}
	f.p(")")
	f.p("")
	for _, a := range g.idl.Accounts {
		n := g.goNames[a.Name]
		f.p("// AccountName returns %q.", a.Name)
		f.p("func (*%s) AccountName() string { return %q }", n, a.Name)
		f.p("")
		f.p("// Discriminator returns the bytes that start a %s account's data.", n)
		f.p("func (*%s) Discriminator() [8]byte { return [8]byte{%s} }", n, bytesLit(a.Discriminator))
		f.p("")
		f.p("// UnmarshalAccount decodes a %s account's data: its discriminator, then", n)
		f.p("// the fields. Bytes after the fields are allowed: accounts are allocated")
		f.p("// with room to spare.")
		f.p("func (v *%s) UnmarshalAccount(data []byte) error {", n)
		f.p("if len(data) < 8 { return idlcodec.ShortError(%q, 0, 8, len(data)) }", a.Name+" discriminator")
		f.p("if binary.LittleEndian.Uint64(data) != accountDisc%s { return idlcodec.UnknownDiscriminatorError(%q, data[:8]) }", n, "account "+a.Name)
		f.p("_, err := v.UnmarshalBorsh(data[8:])")
		f.p("return idlcodec.Shift(err, 8)")
		f.p("}")
		f.p("")
	}
	f.p("// AccountNames lists the account types in IDL order.")
	f.p("func AccountNames() []string {")
	names := make([]string, len(g.idl.Accounts))
	for i, a := range g.idl.Accounts {
		names[i] = strconv.Quote(a.Name)
	}
	f.p("return []string{%s}", strings.Join(names, ", "))
	f.p("}")
	f.p("")
	f.p("// DecodeAccount decodes an account's data by its discriminator. Bytes after")
	f.p("// the fields are allowed.")
	f.p("func DecodeAccount(data []byte) (Account, error) {")
	f.p("if len(data) < 8 { return nil, idlcodec.ShortError(\"account discriminator\", 0, 8, len(data)) }")
	f.p("var a Account")
	f.p("switch binary.LittleEndian.Uint64(data) {")
	for _, a := range g.idl.Accounts {
		n := g.goNames[a.Name]
		f.p("case accountDisc%s: a = new(%s)", n, n)
	}
	f.p("default: return nil, idlcodec.UnknownDiscriminatorError(\"account\", data[:8])")
	f.p("}")
	f.p("if _, err := a.UnmarshalBorsh(data[8:]); err != nil { return nil, idlcodec.Shift(err, 8) }")
	f.p("return a, nil")
	f.p("}")
	return f
}

func (g *gen) errorsFile() *file {
	f := newFile("errors.go")
	f.use("strconv")
	f.p("// ErrorCode is a custom error of %s: the n of InstructionError(i, Custom(n)).", g.idl.Metadata.Name)
	f.p("type ErrorCode uint32")
	f.p("")
	if len(g.idl.Errors) > 0 {
		f.p("// Error codes of %s.", g.idl.Metadata.Name)
		f.p("const (")
		for _, e := range g.idl.Errors {
			n := "Err" + exported(e.Name)
			f.p("// %s (%d): %s", n, e.Code, sentence(e.Msg))
			f.p("%s ErrorCode = %d", n, e.Code)
		}
		f.p(")")
		f.p("")
	}
	f.p("// Name returns the code's IDL name, or \"\" when the program defines no such code.")
	f.p("func (c ErrorCode) Name() string {")
	f.p("switch c {")
	for _, e := range g.idl.Errors {
		f.p("case Err%s: return %q", exported(e.Name), e.Name)
	}
	f.p("}")
	f.p("return \"\"")
	f.p("}")
	f.p("")
	f.p("// Message returns the code's message from the IDL, or \"\".")
	f.p("func (c ErrorCode) Message() string {")
	f.p("switch c {")
	for _, e := range g.idl.Errors {
		f.p("case Err%s: return %q", exported(e.Name), e.Msg)
	}
	f.p("}")
	f.p("return \"\"")
	f.p("}")
	f.p("")
	f.p("// Error returns \"Name (code): message\", or \"custom program error code\" for unknown codes.")
	f.p("func (c ErrorCode) Error() string {")
	f.p("if n := c.Name(); n != \"\" { return n + \" (\" + strconv.FormatUint(uint64(c), 10) + \"): \" + c.Message() }")
	f.p("return \"custom program error \" + strconv.FormatUint(uint64(c), 10)")
	f.p("}")
	return f
}

// wellKnown are the solana-go names of addresses IDLs fix accounts to.
var wellKnown = map[string]string{
	solana.SystemProgramID.String():                    "solana.SystemProgramID",
	solana.SysVarRentPubkey.String():                   "solana.SysVarRentPubkey",
	solana.SysVarClockPubkey.String():                  "solana.SysVarClockPubkey",
	solana.SysVarInstructionsPubkey.String():           "solana.SysVarInstructionsPubkey",
	solana.BPFLoaderUpgradeableProgramID.String():      "solana.BPFLoaderUpgradeableProgramID",
	solana.TokenProgramID.String():                     "solana.TokenProgramID",
	solana.SPLAssociatedTokenAccountProgramID.String(): "solana.SPLAssociatedTokenAccountProgramID",
}

// flatAccount is an instruction account with nested groups flattened.
type flatAccount struct {
	AccountItem
	path string // IDL path, group names joined with "."
}

func flatten(items []AccountItem, prefix string) []flatAccount {
	var out []flatAccount
	for _, a := range items {
		p := prefix + a.Name
		if len(a.Accounts) > 0 {
			out = append(out, flatten(a.Accounts, p+".")...)
			continue
		}
		out = append(out, flatAccount{AccountItem: a, path: p})
	}
	return out
}

// autoAccount is the expression an account takes without the caller's
// say, or "" when the caller supplies it.
func (g *gen) autoAccount(accts []flatAccount, i int) string {
	a := accts[i]
	if a.Optional {
		return ""
	}
	if a.Address != "" {
		if k, err := solana.PublicKeyFromBase58(a.Address); err == nil {
			if k == g.programID {
				return "p.id"
			}
			if name, ok := wellKnown[k.String()]; ok {
				return name
			}
			return fmt.Sprintf("solana.MustPublicKeyFromBase58(%q)", k.String())
		}
	}
	if isEventAuthority(a.AccountItem) {
		return "p.eventAuthority"
	}
	if a.PDA != nil && a.PDA.Program == nil && len(a.PDA.Seeds) > 0 {
		var seeds []string
		for _, s := range a.PDA.Seeds {
			if s.Kind != "const" {
				return ""
			}
			seeds = append(seeds, g.seedLit(s.Value))
		}
		return "p.mustFind(" + strings.Join(seeds, ", ") + ")"
	}
	// #[event_cpi] appends event_authority and the program itself.
	if a.Name == "program" && i > 0 && isEventAuthority(accts[i-1].AccountItem) {
		return "p.id"
	}
	return ""
}

func (g *gen) instructionsFile() *file {
	f := newFile("instructions.go")
	f.use("github.com/gagliardetto/solana-go")
	f.use("encoding/binary")
	hasOptional := false
	for _, ix := range g.idl.Instructions {
		base := exported(ix.Name)
		accts := flatten(ix.Accounts, "")
		// Accounts struct.
		f.p("// %sAccounts are the accounts of %s the caller chooses; the", base, ix.Name)
		f.p("// builder adds fixed addresses, the event authority and the program.")
		f.p("type %sAccounts struct {", base)
		for i, a := range accts {
			if g.autoAccount(accts, i) != "" {
				continue
			}
			var notes []string
			if a.Signer {
				notes = append(notes, "signer")
			}
			if a.Writable {
				notes = append(notes, "writable")
			}
			if a.Optional {
				notes = append(notes, "optional: nil passes the program ID in its place")
			}
			if a.Address != "" {
				notes = append(notes, "always "+a.Address)
			}
			if a.PDA != nil {
				notes = append(notes, "a PDA")
			}
			desc := "the account " + a.path
			if len(notes) > 0 {
				desc += " (" + strings.Join(notes, "; ") + ")"
			}
			f.p("// %s is %s.", exported(a.path), desc)
			fieldDocs(f, a.Docs)
			typ := "solana.PublicKey"
			if a.Optional {
				typ = "*solana.PublicKey"
				hasOptional = true
			}
			f.p("%s %s", exported(a.path), typ)
		}
		f.p("}")
		f.p("")
		// Builder.
		type param struct{ name, goType string }
		var params []param
		used := map[string]bool{"p": true} // p is the receiver
		for _, arg := range ix.Args {
			n := unexported(arg.Name)
			for used[n] {
				n += "_"
			}
			used[n] = true
			g.typeImports(f, arg.Type)
			params = append(params, param{n, g.goType(arg.Type)})
		}
		docComment(f, fmt.Sprintf("New%sInstruction builds the instruction %s.", base, ix.Name), ix.Docs)
		var sig []string
		for _, p := range params {
			sig = append(sig, p.name+" "+p.goType)
		}
		sig = append(sig, "accounts "+base+"Accounts")
		f.p("func (p *Program) New%sInstruction(%s) *solana.GenericInstruction {", base, strings.Join(sig, ", "))
		size := 8
		for _, arg := range ix.Args {
			size += g.minSize(arg.Type)
		}
		f.p("dst := make([]byte, 0, %d)", size)
		f.p("dst = append(dst, %s)", bytesLit(ix.Discriminator))
		c := &coder{g: g, f: f}
		for i, arg := range ix.Args {
			c.encode(params[i].name, arg.Type)
		}
		f.p("return solana.NewInstruction(p.id, solana.AccountMetaSlice{")
		for i, a := range accts {
			flags := ""
			if a.Writable {
				flags += ", IsWritable: true"
			}
			if a.Signer {
				flags += ", IsSigner: true"
			}
			if auto := g.autoAccount(accts, i); auto != "" {
				f.p("{PublicKey: %s%s}, // %s", auto, flags, a.path)
				continue
			}
			if a.Optional {
				f.p("p.optionalMeta(accounts.%s, %t, %t),", exported(a.path), a.Writable, a.Signer)
				continue
			}
			f.p("{PublicKey: accounts.%s%s},", exported(a.path), flags)
		}
		f.p("}, dst)")
		f.p("}")
		f.p("")
	}
	if hasOptional {
		f.p("// optionalMeta passes an optional account, or the program ID when it is")
		f.p("// absent, as Anchor expects.")
		f.p("func (p *Program) optionalMeta(k *solana.PublicKey, writable, signer bool) *solana.AccountMeta {")
		f.p("if k == nil { return &solana.AccountMeta{PublicKey: p.id} }")
		f.p("return &solana.AccountMeta{PublicKey: *k, IsWritable: writable, IsSigner: signer}")
		f.p("}")
		f.p("")
	}
	f.p("// Instruction discriminators as little-endian integers.")
	f.p("const (")
	for _, ix := range g.idl.Instructions {
		f.p("ixDisc%s = 0x%016x", exported(ix.Name), discU64(ix.Discriminator))
	}
	if len(g.idl.Instructions) == 0 {
		f.p("_ = 0")
	}
	f.p(")")
	f.p("")
	f.p("// InstructionName names the instruction whose data starts with data's")
	f.p("// first 8 bytes, and reports whether there is one.")
	f.p("func InstructionName(data []byte) (string, bool) {")
	f.p("if len(data) < 8 { return \"\", false }")
	f.p("switch binary.LittleEndian.Uint64(data) {")
	for _, ix := range g.idl.Instructions {
		f.p("case ixDisc%s: return %q, true", exported(ix.Name), ix.Name)
	}
	f.p("}")
	f.p("return \"\", false")
	f.p("}")
	return f
}

// seedParam is a PDA seed the caller supplies.
type seedParam struct {
	name   string
	t      Type
	source string // IDL path, for the doc comment
}

// pdaFunc is one generated PDA helper.
type pdaFunc struct {
	name   string
	key    string
	consts map[int][]byte
	params map[int]seedParam
	n      int
	doc    []string
}

func (g *gen) pdasFile() *file {
	f := newFile("pdas.go")
	var funcs []*pdaFunc
	byName := map[string]*pdaFunc{}
	for _, ix := range g.idl.Instructions {
		accts := flatten(ix.Accounts, "")
		for _, a := range accts {
			if a.PDA == nil || a.PDA.Program != nil || len(a.PDA.Seeds) == 0 {
				continue
			}
			pf := &pdaFunc{consts: map[int][]byte{}, params: map[int]seedParam{}, n: len(a.PDA.Seeds)}
			ok := true
			var key strings.Builder
			usedNames := map[string]bool{"p": true} // p is the receiver
			for i, s := range a.PDA.Seeds {
				switch s.Kind {
				case "const":
					pf.consts[i] = s.Value
					fmt.Fprintf(&key, "c%x;", []byte(s.Value))
					pf.doc = append(pf.doc, seedDoc(s.Value))
				case "account", "arg":
					t, found := g.seedType(ix, s)
					if !found || !seedable(t) {
						ok = false
						break
					}
					segs := strings.Split(s.Path, ".")
					n := unexported(segs[len(segs)-1])
					for usedNames[n] {
						n += "2"
					}
					usedNames[n] = true
					pf.params[i] = seedParam{name: n, t: t, source: s.Path}
					fmt.Fprintf(&key, "p%s;", t)
					desc := s.Path
					if t.Prim != "pubkey" {
						desc += " (" + t.String() + ")"
					}
					pf.doc = append(pf.doc, desc)
				default:
					ok = false
				}
			}
			if !ok {
				continue
			}
			pf.key = key.String()
			name := "Find" + exported(a.Name) + "Address"
			if prev, ok := byName[name]; ok {
				if prev.key == pf.key {
					continue
				}
				name = "Find" + exported(ix.Name) + exported(a.Name) + "Address"
				if _, ok := byName[name]; ok {
					continue
				}
			}
			if _, clash := g.taken[name]; clash {
				continue
			}
			g.taken[name] = "PDA helper"
			pf.name = name
			byName[name] = pf
			funcs = append(funcs, pf)
		}
	}
	if len(funcs) == 0 {
		return nil
	}
	f.use("github.com/gagliardetto/solana-go")
	for _, pf := range funcs {
		var sig, seeds []string
		for i := 0; i < pf.n; i++ {
			if c, ok := pf.consts[i]; ok {
				seeds = append(seeds, g.seedLit(c))
				continue
			}
			p := pf.params[i]
			g.typeImports(f, p.t)
			sig = append(sig, p.name+" "+g.goType(p.t))
			seeds = append(seeds, g.seedExpr(f, p))
		}
		f.p("// %s derives a PDA of the program from the seeds %s,", pf.name, strings.Join(pf.doc, ", "))
		f.p("// and returns it with its bump.")
		f.p("func (p *Program) %s(%s) (solana.PublicKey, uint8, error) {", pf.name, strings.Join(sig, ", "))
		f.p("return solana.FindProgramAddress([][]byte{%s}, p.id)", strings.Join(seeds, ", "))
		f.p("}")
		f.p("")
	}
	return f
}

// sentence ends s with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

func seedDoc(b []byte) string {
	if isPrintable(b) {
		return strconv.Quote(string(b))
	}
	return "0x" + fmt.Sprintf("%x", b)
}

func isPrintable(b []byte) bool {
	for _, c := range string(b) {
		if c > unicode.MaxASCII || !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// seedable reports whether a seed of type t has a fixed byte form here.
func seedable(t Type) bool {
	switch {
	case t.Prim != "":
		return t.Prim == "pubkey" || t.Prim == "string" || t.Prim == "bytes" || (isNumeric(t.Prim) && t.Prim != "u128" && t.Prim != "i128")
	case t.Array != nil:
		return t.Array.Prim == "u8"
	case t.Vec != nil:
		return t.Vec.Prim == "u8"
	}
	return false
}

func (g *gen) seedExpr(f *file, p seedParam) string {
	t := p.t
	switch {
	case t.Prim == "pubkey", t.Array != nil:
		return p.name + "[:]"
	case t.Prim == "string":
		return "[]byte(" + p.name + ")"
	case t.Prim == "bytes", t.Vec != nil:
		return p.name
	case t.Prim == "u8":
		return "{" + p.name + "}"
	case t.Prim == "i8":
		return "{byte(" + p.name + ")}"
	}
	f.use("encoding/binary")
	bits := t.Prim[1:]
	if t.Prim[0] == 'i' {
		return fmt.Sprintf("binary.LittleEndian.AppendUint%s(nil, uint%s(%s))", bits, bits, p.name)
	}
	return fmt.Sprintf("binary.LittleEndian.AppendUint%s(nil, %s)", bits, p.name)
}

// seedType resolves the type of an account or argument seed.
func (g *gen) seedType(ix Instruction, s Seed) (Type, bool) {
	segs := strings.Split(s.Path, ".")
	if s.Kind == "arg" {
		for _, a := range ix.Args {
			if a.Name == segs[0] {
				return g.fieldPath(a.Type, segs[1:])
			}
		}
		return Type{}, false
	}
	if len(segs) == 1 {
		return Type{Prim: "pubkey"}, true
	}
	if s.Account == "" {
		return Type{}, false
	}
	return g.fieldPath(Type{Defined: s.Account}, segs[1:])
}

func (g *gen) fieldPath(t Type, segs []string) (Type, bool) {
	for _, seg := range segs {
		if t.Defined == "" || g.types[t.Defined] == nil {
			return Type{}, false
		}
		found := false
		for _, f := range g.types[t.Defined].Type.Fields.Named {
			if f.Name == seg {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return Type{}, false
		}
	}
	return t, true
}
