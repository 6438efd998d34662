package main

import (
	"fmt"
	"strconv"
	"strings"
)

// member is one Go struct field generated from an IDL field.
type member struct {
	goName  string
	idlName string
	t       Type
	docs    []string
}

// baseMethods are the methods every generated struct carries; fields must
// not take their names.
var baseMethods = map[string]bool{
	"UnmarshalBorsh": true, "AppendBorsh": true, "AppendJSON": true, "MarshalJSON": true,
}

// methodsOf lists the methods the struct generated for the IDL type name carries.
func (g *gen) methodsOf(name string) map[string]bool {
	m := map[string]bool{}
	for k := range baseMethods {
		m[k] = true
	}
	if _, ok := g.events[name]; ok {
		m["EventName"], m["Discriminator"] = true, true
	}
	if _, ok := g.accounts[name]; ok {
		m["AccountName"], m["Discriminator"], m["UnmarshalAccount"] = true, true, true
	}
	return m
}

// membersOf names the Go fields of fs, steering clear of the methods.
func membersOf(fs Fields, methods map[string]bool) []member {
	var out []member
	for _, f := range fs.Named {
		name := exported(f.Name)
		if methods[name] {
			name += "Field"
		}
		out = append(out, member{goName: name, idlName: f.Name, t: f.Type, docs: f.Docs})
	}
	for i, t := range fs.Tuple {
		out = append(out, member{goName: fmt.Sprintf("Field%d", i), idlName: strconv.Itoa(i), t: t})
	}
	return out
}

// recv turns "(*p0)" into "p0" for method calls, which dereference themselves.
func recv(expr string) string {
	if strings.HasPrefix(expr, "(*") && strings.HasSuffix(expr, ")") && !strings.ContainsAny(expr[2:len(expr)-1], "()[]") {
		return expr[2 : len(expr)-1]
	}
	return expr
}

func (g *gen) typesFile() *file {
	f := newFile("types.go")
	for i := range g.idl.Types {
		td := &g.idl.Types[i]
		name := g.goNames[td.Name]
		what := "type"
		if _, ok := g.events[td.Name]; ok {
			what = "event"
		} else if _, ok := g.accounts[td.Name]; ok {
			what = "account"
		}
		switch {
		case td.Type.Kind == "struct":
			docComment(f, fmt.Sprintf("%s is the %s %s of %s.", name, what, td.Name, g.idl.Metadata.Name), td.Docs)
			g.genStruct(f, name, td.Name, td.Type.Fields)
		case g.isUnitEnum(td):
			g.genUnitEnum(f, name, td)
		default:
			g.genDataEnum(f, name, td)
		}
	}
	return f
}

// genStruct writes a struct type with its borsh and JSON methods.
func (g *gen) genStruct(f *file, name, idlName string, fs Fields) {
	ms := membersOf(fs, g.methodsOf(idlName))
	f.p("type %s struct {", name)
	for _, m := range ms {
		fieldDocs(f, m.docs)
		g.typeImports(f, m.t)
		f.p("%s %s", m.goName, g.goType(m.t))
	}
	f.p("}")
	f.p("")

	// UnmarshalBorsh
	c := &coder{g: g, f: newFile("")}
	c.f.imports = f.imports
	items := make([]item, len(ms))
	for i, m := range ms {
		items[i] = item{expr: "v." + m.goName, t: m.t, path: idlName + "." + m.idlName}
	}
	c.decodeSeq(items)
	f.p("// UnmarshalBorsh decodes v from the start of b and returns how many bytes it read.")
	f.p("func (v *%s) UnmarshalBorsh(b []byte) (int, error) {", name)
	if len(ms) == 0 {
		f.p("return 0, nil")
		f.p("}")
	} else {
		f.p("n := 0")
		if c.usesErr {
			f.p("var err error")
		}
		f.buf.Write(c.f.buf.Bytes())
		f.p("return n, nil")
		f.p("}")
	}
	f.p("")

	// AppendBorsh
	f.p("// AppendBorsh appends v's borsh encoding to dst.")
	f.p("func (v *%s) AppendBorsh(dst []byte) []byte {", name)
	e := &coder{g: g, f: f}
	for _, m := range ms {
		e.encode("v."+m.goName, m.t)
	}
	f.p("return dst")
	f.p("}")
	f.p("")

	// AppendJSON
	f.p("// AppendJSON appends v as JSON: fields keyed by their IDL names, pubkeys in")
	f.p("// base58, byte arrays in hex, 128-bit integers as decimal strings.")
	f.p("func (v *%s) AppendJSON(dst []byte) []byte {", name)
	j := &coder{g: g, f: f}
	if len(fs.Tuple) > 0 {
		for i, m := range ms {
			if i == 0 {
				f.p("dst = append(dst, '[')")
			} else {
				f.p("dst = append(dst, ',')")
			}
			j.json("v."+m.goName, m.t)
		}
		if len(ms) == 0 {
			f.p("dst = append(dst, '[')")
		}
		f.p("return append(dst, ']')")
	} else {
		if len(ms) == 0 {
			f.p("dst = append(dst, '{')")
		}
		for i, m := range ms {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			f.p("dst = append(dst, %q...)", sep+strconv.Quote(m.idlName)+":")
			j.json("v."+m.goName, m.t)
		}
		f.p("return append(dst, '}')")
	}
	f.p("}")
	f.p("")
	f.p("// MarshalJSON renders v as AppendJSON does.")
	f.p("func (v *%s) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }", name)
	f.p("")
}

func (g *gen) genUnitEnum(f *file, name string, td *TypeDef) {
	f.use(idlcodecPath)
	f.use("strconv")
	docComment(f, fmt.Sprintf("%s is the enum %s of %s.", name, td.Name, g.idl.Metadata.Name), td.Docs)
	f.p("type %s uint8", name)
	f.p("")
	f.p("// Variants of %s.", name)
	f.p("const (")
	for i, v := range td.Type.Variants {
		f.p("%s%s %s = %d", name, exported(v.Name), name, i)
	}
	f.p(")")
	f.p("")
	f.p("// String returns the variant's IDL name.")
	f.p("func (v %s) String() string {", name)
	f.p("switch v {")
	for _, v := range td.Type.Variants {
		f.p("case %s%s: return %q", name, exported(v.Name), v.Name)
	}
	f.p("}")
	f.p("return %q + strconv.Itoa(int(v)) + \")\"", name+"(")
	f.p("}")
	f.p("")
	f.p("// UnmarshalBorsh decodes v from the start of b and returns how many bytes it read.")
	f.p("func (v *%s) UnmarshalBorsh(b []byte) (int, error) {", name)
	f.p("if len(b) < 1 { return 0, idlcodec.ShortError(%q, 0, 1, 0) }", td.Name)
	if len(td.Type.Variants) < 256 {
		f.p("if b[0] >= %d { return 0, idlcodec.InvalidTagError(%q, 0, b[0]) }", len(td.Type.Variants), td.Name)
	}
	f.p("*v = %s(b[0])", name)
	f.p("return 1, nil")
	f.p("}")
	f.p("")
	f.p("// AppendBorsh appends v's borsh encoding to dst.")
	f.p("func (v %s) AppendBorsh(dst []byte) []byte { return append(dst, byte(v)) }", name)
	f.p("")
	f.p("// AppendJSON appends the variant's name as a JSON string.")
	f.p("func (v %s) AppendJSON(dst []byte) []byte { return idlcodec.AppendJSONString(dst, v.String()) }", name)
	f.p("")
	f.p("// MarshalJSON renders v as AppendJSON does.")
	f.p("func (v %s) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }", name)
	f.p("")
}

// variantType is the Go type holding a variant's fields.
func variantType(enum string, v Variant) string {
	n := exported(v.Name)
	if n == "Kind" {
		n += "Variant"
	}
	return enum + n
}

// variantField is the Go field of a data enum holding a variant's fields.
func variantField(v Variant) string {
	n := exported(v.Name)
	if baseMethods[n] || n == "Kind" {
		n += "Variant"
	}
	return n
}

func (g *gen) genDataEnum(f *file, name string, td *TypeDef) {
	f.use(idlcodecPath)
	f.use("strconv")
	kind := name + "Kind"
	docComment(f, fmt.Sprintf("%s is the enum %s of %s: Kind names the variant, and the field named after it holds that variant's fields.", name, td.Name, g.idl.Metadata.Name), td.Docs)
	f.p("type %s struct {", name)
	f.p("Kind %s", kind)
	for _, v := range td.Type.Variants {
		if v.Fields.Len() == 0 {
			continue
		}
		f.p("// %s is set when Kind is %s%s.", variantField(v), kind, exported(v.Name))
		f.p("%s %s", variantField(v), variantType(name, v))
	}
	f.p("}")
	f.p("")
	f.p("// %s names a variant of %s.", kind, name)
	f.p("type %s uint8", kind)
	f.p("")
	f.p("// Variants of %s.", name)
	f.p("const (")
	for i, v := range td.Type.Variants {
		f.p("%s%s %s = %d", kind, exported(v.Name), kind, i)
	}
	f.p(")")
	f.p("")
	f.p("// String returns the variant's IDL name.")
	f.p("func (k %s) String() string {", kind)
	f.p("switch k {")
	for _, v := range td.Type.Variants {
		f.p("case %s%s: return %q", kind, exported(v.Name), v.Name)
	}
	f.p("}")
	f.p("return %q + strconv.Itoa(int(k)) + \")\"", kind+"(")
	f.p("}")
	f.p("")

	f.p("// UnmarshalBorsh decodes v from the start of b and returns how many bytes it read.")
	f.p("func (v *%s) UnmarshalBorsh(b []byte) (int, error) {", name)
	f.p("if len(b) < 1 { return 0, idlcodec.ShortError(%q, 0, 1, 0) }", td.Name)
	f.p("k := %s(b[0])", kind)
	f.p("*v = %s{Kind: k}", name)
	f.p("switch k {")
	for _, v := range td.Type.Variants {
		f.p("case %s%s:", kind, exported(v.Name))
		if v.Fields.Len() == 0 {
			f.p("return 1, nil")
			continue
		}
		f.p("m, err := v.%s.UnmarshalBorsh(b[1:])", variantField(v))
		f.p("if err != nil { return 1, idlcodec.Shift(err, 1) }")
		f.p("return 1 + m, nil")
	}
	f.p("}")
	f.p("return 0, idlcodec.InvalidTagError(%q, 0, b[0])", td.Name)
	f.p("}")
	f.p("")

	f.p("// AppendBorsh appends v's borsh encoding to dst.")
	f.p("func (v *%s) AppendBorsh(dst []byte) []byte {", name)
	f.p("dst = append(dst, byte(v.Kind))")
	f.p("switch v.Kind {")
	for _, v := range td.Type.Variants {
		if v.Fields.Len() == 0 {
			continue
		}
		f.p("case %s%s:", kind, exported(v.Name))
		f.p("dst = v.%s.AppendBorsh(dst)", variantField(v))
	}
	f.p("}")
	f.p("return dst")
	f.p("}")
	f.p("")

	f.p("// AppendJSON appends v as JSON: a unit variant as its name, a variant with")
	f.p("// fields as {\"Name\": fields}.")
	f.p("func (v *%s) AppendJSON(dst []byte) []byte {", name)
	f.p("switch v.Kind {")
	for _, v := range td.Type.Variants {
		f.p("case %s%s:", kind, exported(v.Name))
		if v.Fields.Len() == 0 {
			f.p("return append(dst, %q...)", strconv.Quote(v.Name))
			continue
		}
		f.p("dst = append(dst, %q...)", "{"+strconv.Quote(v.Name)+":")
		f.p("dst = v.%s.AppendJSON(dst)", variantField(v))
		f.p("return append(dst, '}')")
	}
	f.p("}")
	f.p("return idlcodec.AppendJSONString(dst, v.Kind.String())")
	f.p("}")
	f.p("")
	f.p("// MarshalJSON renders v as AppendJSON does.")
	f.p("func (v *%s) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }", name)
	f.p("")

	for _, v := range td.Type.Variants {
		if v.Fields.Len() == 0 {
			continue
		}
		vn := variantType(name, v)
		f.p("// %s holds the fields of the variant %s::%s.", vn, td.Name, v.Name)
		g.genStruct(f, vn, td.Name+"::"+v.Name, v.Fields)
	}
}

// item is one value to decode: the Go lvalue, its IDL type, and the path
// errors name.
type item struct {
	expr string
	t    Type
	path string
}

// coder writes decoding, encoding or JSON statements into f.
type coder struct {
	g       *gen
	f       *file
	depth   int
	usesErr bool
}

func (c *coder) p(format string, args ...any) { c.f.p(format, args...) }

// off renders base+k.
func off(base string, k int) string {
	if base == "" || base == "0" {
		return strconv.Itoa(k)
	}
	if k == 0 {
		return base
	}
	return base + "+" + strconv.Itoa(k)
}

// decodeSeq decodes items in order, reading each run of fixed-size fields
// after one length check.
func (c *coder) decodeSeq(items []item) {
	for i := 0; i < len(items); {
		if _, ok := c.g.inlineSize(items[i].t); !ok {
			c.decodeOne(items[i])
			i++
			continue
		}
		j, size := i, 0
		for j < len(items) {
			s, ok := c.g.inlineSize(items[j].t)
			if !ok {
				break
			}
			size += s
			j++
		}
		c.run(items[i:j], size)
		i = j
	}
}

// run reads fixed-size items of total size from b[n:].
func (c *coder) run(items []item, size int) {
	if size == 0 {
		return
	}
	c.f.use(idlcodecPath)
	c.p("if len(b)-n < %d { return n, idlcodec.ShortError(%q, n, %d, len(b)-n) }", size, items[0].path, size)
	c.p("{")
	c.p("s := b[n : n+%d]", size)
	o := 0
	for _, it := range items {
		c.inlineRead(it, "s", strconv.Itoa(o), "n")
		s, _ := c.g.inlineSize(it.t)
		o += s
	}
	c.p("}")
	c.p("n += %d", size)
}

// inlineRead reads it from slice s at offset o; base+o is its offset in b.
func (c *coder) inlineRead(it item, s, o, base string) {
	t := it.t
	at := func(k int) string { return fmt.Sprintf("%s[%s:%s]", s, o, off(o, k)) }
	abs := base + "+" + o
	switch {
	case t.Prim != "":
		switch t.Prim {
		case "u8":
			c.p("%s = %s[%s]", it.expr, s, o)
		case "i8":
			c.p("%s = int8(%s[%s])", it.expr, s, o)
		case "u16", "u32", "u64":
			c.f.use("encoding/binary")
			bits := t.Prim[1:]
			c.p("%s = binary.LittleEndian.Uint%s(%s)", it.expr, bits, at(primSize(t.Prim)))
		case "i16", "i32", "i64":
			c.f.use("encoding/binary")
			bits := t.Prim[1:]
			c.p("%s = int%s(binary.LittleEndian.Uint%s(%s))", it.expr, bits, bits, at(primSize(t.Prim)))
		case "u128":
			c.p("%s = idlcodec.Uint128At(%s)", it.expr, at(16))
		case "i128":
			c.p("%s = idlcodec.Int128At(%s)", it.expr, at(16))
		case "bool":
			c.p("if %s[%s] > 1 { return %s, idlcodec.InvalidError(%q, %s, \"bool byte is not 0 or 1\") }", s, o, abs, it.path, abs)
			c.p("%s = %s[%s] == 1", it.expr, s, o)
		case "pubkey":
			c.f.use("github.com/gagliardetto/solana-go")
			c.p("%s = solana.PublicKey(%s)", it.expr, at(32))
		}
	case t.Defined != "":
		td := c.g.types[t.Defined]
		if nv := len(td.Type.Variants); nv < 256 {
			c.p("if %s[%s] >= %d { return %s, idlcodec.InvalidTagError(%q, %s, %s[%s]) }", s, o, nv, abs, it.path, abs, s, o)
		}
		c.p("%s = %s(%s[%s])", it.expr, c.g.goNames[t.Defined], s, o)
	case t.Array != nil:
		e := *t.Array
		if e.Prim == "u8" {
			c.p("%s = [%d]byte(%s)", it.expr, t.Len, at(t.Len))
			return
		}
		es := primSize(e.Prim)
		j := fmt.Sprintf("j%d", c.depth)
		c.depth++
		c.p("for %s := range %s {", j, it.expr)
		c.inlineRead(item{expr: it.expr + "[" + j + "]", t: e, path: it.path}, s, fmt.Sprintf("%s+%s*%d", o, j, es), base)
		c.p("}")
		c.depth--
	}
}

// decodeOne decodes a value that is not part of a run.
func (c *coder) decodeOne(it item) {
	t := it.t
	if s, ok := c.g.inlineSize(t); ok {
		c.run([]item{it}, s)
		return
	}
	c.f.use(idlcodecPath)
	d := c.depth
	switch {
	case t.Prim == "string":
		c.usesErr = true
		c.p("if %s, n, err = idlcodec.ReadString(b, n, %q); err != nil { return n, err }", it.expr, it.path)
	case t.Prim == "bytes" || (t.Vec != nil && t.Vec.Prim == "u8"):
		c.usesErr = true
		c.p("if %s, n, err = idlcodec.ReadBytes(b, n, %q); err != nil { return n, err }", it.expr, it.path)
	case t.Option != nil:
		c.usesErr = true
		c.p("{")
		c.p("var some%d bool", d)
		c.p("if some%d, n, err = idlcodec.ReadOption(b, n, %q); err != nil { return n, err }", d, it.path)
		c.p("if some%d {", d)
		c.p("p%d := new(%s)", d, c.g.goType(*t.Option))
		c.depth++
		c.decodeOne(item{expr: fmt.Sprintf("(*p%d)", d), t: *t.Option, path: it.path})
		c.depth--
		c.p("%s = p%d", it.expr, d)
		c.p("} else {")
		c.p("%s = nil", it.expr)
		c.p("}")
		c.p("}")
	case t.Vec != nil:
		c.usesErr = true
		e := *t.Vec
		c.p("{")
		c.p("var l%d int", d)
		c.p("if l%d, n, err = idlcodec.ReadLen(b, n, %d, %q); err != nil { return n, err }", d, c.g.minSize(e), it.path)
		c.p("%s = make(%s, l%d)", it.expr, c.g.goType(t), d)
		i := fmt.Sprintf("i%d", d)
		c.depth++
		if es, ok := c.g.inlineSize(e); ok {
			// ReadLen checked that l elements of es bytes fit.
			c.p("s%d := b[n : n+l%d*%d]", d, d, es)
			c.p("for %s := range %s {", i, it.expr)
			c.inlineRead(item{expr: it.expr + "[" + i + "]", t: e, path: it.path}, fmt.Sprintf("s%d", d), fmt.Sprintf("%s*%d", i, es), "n")
			c.p("}")
			c.p("n += l%d * %d", d, es)
		} else {
			c.p("for %s := range %s {", i, it.expr)
			c.decodeOne(item{expr: it.expr + "[" + i + "]", t: e, path: it.path})
			c.p("}")
		}
		c.depth--
		c.p("}")
	case t.Array != nil:
		i := fmt.Sprintf("i%d", d)
		c.depth++
		c.p("for %s := range %s {", i, it.expr)
		c.decodeOne(item{expr: it.expr + "[" + i + "]", t: *t.Array, path: it.path})
		c.p("}")
		c.depth--
	case t.Defined != "":
		c.p("{")
		c.p("m, e := %s.UnmarshalBorsh(b[n:])", recv(it.expr))
		c.p("if e != nil { return n, idlcodec.Shift(e, n) }")
		c.p("n += m")
		c.p("}")
	}
}

// encode appends the borsh encoding of expr (of type t) to dst.
func (c *coder) encode(expr string, t Type) {
	d := c.depth
	switch {
	case t.Prim != "":
		switch t.Prim {
		case "u8":
			c.p("dst = append(dst, %s)", expr)
		case "i8":
			c.p("dst = append(dst, byte(%s))", expr)
		case "u16", "u32", "u64":
			c.f.use("encoding/binary")
			c.p("dst = binary.LittleEndian.AppendUint%s(dst, %s)", t.Prim[1:], expr)
		case "i16", "i32", "i64":
			c.f.use("encoding/binary")
			c.p("dst = binary.LittleEndian.AppendUint%s(dst, uint%s(%s))", t.Prim[1:], t.Prim[1:], expr)
		case "u128", "i128":
			c.p("dst = %s.AppendBorsh(dst)", expr)
		case "bool":
			c.f.use(idlcodecPath)
			c.p("dst = idlcodec.AppendBool(dst, %s)", expr)
		case "pubkey":
			c.p("dst = append(dst, %s[:]...)", expr)
		case "string":
			c.f.use(idlcodecPath)
			c.p("dst = idlcodec.AppendString(dst, %s)", expr)
		case "bytes":
			c.f.use(idlcodecPath)
			c.p("dst = idlcodec.AppendBytes(dst, %s)", expr)
		}
	case t.Defined != "":
		c.p("dst = %s.AppendBorsh(dst)", recv(expr))
	case t.Option != nil:
		c.p("if %s == nil {", expr)
		c.p("dst = append(dst, 0)")
		c.p("} else {")
		c.p("dst = append(dst, 1)")
		c.depth++
		c.encode("(*"+expr+")", *t.Option)
		c.depth--
		c.p("}")
	case t.Vec != nil:
		c.f.use(idlcodecPath)
		if t.Vec.Prim == "u8" {
			c.p("dst = idlcodec.AppendBytes(dst, %s)", expr)
			return
		}
		c.p("dst = idlcodec.AppendLen(dst, len(%s))", expr)
		c.p("for i%d := range %s {", d, expr)
		c.depth++
		c.encode(fmt.Sprintf("%s[i%d]", expr, d), *t.Vec)
		c.depth--
		c.p("}")
	case t.Array != nil:
		if t.Array.Prim == "u8" {
			c.p("dst = append(dst, %s[:]...)", expr)
			return
		}
		c.p("for i%d := range %s {", d, expr)
		c.depth++
		c.encode(fmt.Sprintf("%s[i%d]", expr, d), *t.Array)
		c.depth--
		c.p("}")
	}
}

// json appends the JSON rendering of expr (of type t) to dst.
func (c *coder) json(expr string, t Type) {
	c.f.use(idlcodecPath)
	d := c.depth
	switch {
	case t.Prim != "":
		switch t.Prim {
		case "u8", "u16", "u32":
			c.p("dst = idlcodec.AppendJSONUint(dst, uint64(%s))", expr)
		case "u64":
			c.p("dst = idlcodec.AppendJSONUint(dst, %s)", expr)
		case "i8", "i16", "i32":
			c.p("dst = idlcodec.AppendJSONInt(dst, int64(%s))", expr)
		case "i64":
			c.p("dst = idlcodec.AppendJSONInt(dst, %s)", expr)
		case "u128":
			c.p("dst = idlcodec.AppendJSONUint128(dst, %s)", expr)
		case "i128":
			c.p("dst = idlcodec.AppendJSONInt128(dst, %s)", expr)
		case "bool":
			c.p("dst = idlcodec.AppendJSONBool(dst, %s)", expr)
		case "pubkey":
			c.p("dst = idlcodec.AppendJSONBase58(dst, %s[:])", expr)
		case "string":
			c.p("dst = idlcodec.AppendJSONString(dst, %s)", expr)
		case "bytes":
			c.p("dst = idlcodec.AppendJSONHex(dst, %s)", expr)
		}
	case t.Defined != "":
		c.p("dst = %s.AppendJSON(dst)", recv(expr))
	case t.Option != nil:
		c.p("if %s == nil {", expr)
		c.p("dst = append(dst, \"null\"...)")
		c.p("} else {")
		c.depth++
		c.json("(*"+expr+")", *t.Option)
		c.depth--
		c.p("}")
	case (t.Vec != nil && t.Vec.Prim == "u8"):
		c.p("dst = idlcodec.AppendJSONHex(dst, %s)", expr)
	case t.Array != nil && t.Array.Prim == "u8":
		c.p("dst = idlcodec.AppendJSONHex(dst, %s[:])", expr)
	case t.Vec != nil || t.Array != nil:
		e := t.Vec
		if e == nil {
			e = t.Array
		}
		c.p("dst = append(dst, '[')")
		c.p("for i%d := range %s {", d, expr)
		c.p("if i%d > 0 { dst = append(dst, ',') }", d)
		c.depth++
		c.json(fmt.Sprintf("%s[i%d]", expr, d), *e)
		c.depth--
		c.p("}")
		c.p("dst = append(dst, ']')")
	}
}
