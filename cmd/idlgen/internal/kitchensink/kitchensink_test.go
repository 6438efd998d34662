package kitchensink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gagliardetto/solana-go"

	"github.com/upgrade-manager/upgrade-manager/cmd/idlgen/internal/kitchensink"
	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
)

var update = flag.Bool("update", false, "rewrite golden files")

func key(b byte) solana.PublicKey {
	var k solana.PublicKey
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func ptr[T any](v T) *T { return &v }

// full has every option set and every container non-empty.
func full() kitchensink.Prims {
	inner := kitchensink.Shape{Kind: kitchensink.ShapeKindCircle, Circle: kitchensink.ShapeCircle{Radius: 9}}
	return kitchensink.Prims{
		Flag: true, AU8: 255, AI8: -128, AU16: 65535, AI16: -2, AU32: 1 << 31, AI32: -1 << 31,
		AU64: 1<<64 - 1, AI64: -1 << 63,
		AU128: idlcodec.Uint128{Lo: ^uint64(0), Hi: ^uint64(0)}, AI128: idlcodec.Int128{Lo: ^uint64(0), Hi: -1},
		Text: "héllo \"quoted\"\n", Blob: []byte{0xde, 0xad, 0xbe, 0xef}, Key: key(1),
		Arr: [4]byte{1, 2, 3, 4}, Nums: [3]uint64{1, 2, 1 << 60}, Signed: [2]int8{-1, 1},
		Keys: [2]solana.PublicKey{key(2), key(3)}, Flags: [2]bool{true, false},
		Names: [2]string{"a", "bc"}, Grid: [2][2]byte{{1, 2}, {3, 4}},
		Blobs: [][]byte{{1}, {}, {2, 3}}, Strs: []string{"x", ""}, Shorts: []uint16{1, 65535},
		Bools: []bool{false, true}, Wides: []idlcodec.Int128{{Lo: 5}, {Lo: ^uint64(0) - 4, Hi: -1}},
		OptU64: ptr(uint64(42)), OptStr: ptr("opt"), OptOpt: ptr(ptr(uint8(3))),
		OptKeys:  ptr([]solana.PublicKey{key(4)}),
		OptShape: &kitchensink.Shape{Kind: kitchensink.ShapeKindNested, Nested: kitchensink.ShapeNested{Inner: &inner}},
		OptArr:   ptr([8]byte{8, 7, 6, 5, 4, 3, 2, 1}),
		Colors:   []kitchensink.Color{kitchensink.ColorRed, kitchensink.ColorBlue}, Color: kitchensink.ColorGreen,
		Points:    [2]kitchensink.Point{{X: -1, Y: 1}, {X: 2, Y: -2}},
		PointList: []kitchensink.Point{{X: 5, Y: 6}},
		Pair:      kitchensink.Pair{Field0: 7, Field1: "pair"},
		Shapes: []kitchensink.Shape{
			{Kind: kitchensink.ShapeKindRect, Rect: kitchensink.ShapeRect{W: 3, H: 4}},
			{Kind: kitchensink.ShapeKindNothing},
			{Kind: kitchensink.ShapeKindTagged, Tagged: kitchensink.ShapeTagged{Field0: 1, Field1: key(5)}},
			{Kind: kitchensink.ShapeKindKind, KindVariant: kitchensink.ShapeKindVariant{V: 6}},
		},
	}
}

// sparse has every option unset and every vector empty.
func sparse() kitchensink.Prims {
	return kitchensink.Prims{Blob: []byte{}, Blobs: [][]byte{}, Strs: []string{}, Shorts: []uint16{},
		Bools: []bool{}, Wides: []idlcodec.Int128{}, Colors: []kitchensink.Color{}, PointList: []kitchensink.Point{},
		Shapes: []kitchensink.Shape{}}
}

func reason(err error) idlcodec.Reason {
	var e *idlcodec.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return 0
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]kitchensink.Prims{"full": full(), "sparse": sparse()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			enc := v.AppendBorsh(nil)
			var got kitchensink.Prims
			n, err := got.UnmarshalBorsh(append(enc, 0xaa))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(enc) {
				t.Fatalf("read %d bytes of %d", n, len(enc))
			}
			if again := got.AppendBorsh(nil); !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs:\n%x\n%x", again, enc)
			}
			if a, b := string(got.AppendJSON(nil)), string(v.AppendJSON(nil)); a != b {
				t.Fatalf("JSON differs after round trip:\n%s\n%s", a, b)
			}
		})
	}
}

func TestJSONGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"full", "sparse"} {
		v := full()
		if name == "sparse" {
			v = sparse()
		}
		got, err := json.Marshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, got, "", "  "); err != nil {
			t.Fatalf("%s renders invalid JSON: %v\n%s", name, err, got)
		}
		indented.WriteByte('\n')
		path := filepath.Join("testdata", name+".json")
		if *update {
			if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(indented.Bytes(), want) {
			t.Errorf("%s JSON differs from %s:\n%s", name, path, indented.Bytes())
		}
	}
}

func TestShortPrefixes(t *testing.T) {
	t.Parallel()
	v := full()
	enc := v.AppendBorsh(nil)
	for k := range len(enc) {
		var got kitchensink.Prims
		if _, err := got.UnmarshalBorsh(enc[:k]); reason(err) != idlcodec.ReasonShort {
			t.Fatalf("prefix of %d/%d bytes: err = %v, want ReasonShort", k, len(enc), err)
		}
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	v := sparse()
	enc := v.AppendBorsh(nil)
	// sparse: flag at 0; text length at 67 (after 1+1+1+2+2+4+4+8+8+16+16 = 63 fixed bytes... computed below).
	textAt := 1 + 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 16 + 16
	cases := map[string]func(b []byte) []byte{
		"bool 2": func(b []byte) []byte { b[0] = 2; return b },
		"utf-8": func(b []byte) []byte {
			out := append([]byte{}, b[:textAt]...)
			out = idlcodec.AppendBytes(out, []byte{0xff})
			return append(out, b[textAt+4:]...)
		},
	}
	for name, mutate := range cases {
		b := mutate(append([]byte{}, enc...))
		var got kitchensink.Prims
		if _, err := got.UnmarshalBorsh(b); reason(err) != idlcodec.ReasonInvalid {
			t.Errorf("%s: err = %v, want ReasonInvalid", name, err)
		}
	}
	var s kitchensink.Shape
	if _, err := s.UnmarshalBorsh([]byte{6}); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("enum tag 6: %v", err)
	}
	var c kitchensink.Color
	if _, err := c.UnmarshalBorsh([]byte{3}); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("unit enum tag 3: %v", err)
	}
	nested := []byte{4, 2} // Nested with option tag 2
	if _, err := s.UnmarshalBorsh(nested); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("option tag 2: %v", err)
	} else {
		var e *idlcodec.Error
		errors.As(err, &e)
		if e.Offset != 1 {
			t.Errorf("option tag 2 reported at %d, want 1", e.Offset)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	t.Parallel()
	evt := &kitchensink.Evt{DiscriminatorField: 9, Prims: full(), Tail: 77}
	disc := evt.Discriminator()
	data := evt.AppendBorsh(disc[:])
	got, err := kitchensink.DecodeEvent(data)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := got.(*kitchensink.Evt); !ok || e.Tail != 77 || e.DiscriminatorField != 9 || e.EventName() != "Evt" {
		t.Fatalf("DecodeEvent = %#v", got)
	}
	if _, err := kitchensink.DecodeEvent(append(data, 0)); reason(err) != idlcodec.ReasonTrailing {
		t.Errorf("trailing byte: %v", err)
	}
	bad := append([]byte{}, data...)
	bad[0] ^= 1
	if _, err := kitchensink.DecodeEvent(bad); reason(err) != idlcodec.ReasonUnknownDiscriminator {
		t.Errorf("unknown discriminator: %v", err)
	}
	if _, err := kitchensink.DecodeEvent(data[:5]); reason(err) != idlcodec.ReasonShort {
		t.Errorf("no discriminator: %v", err)
	}
	var e *idlcodec.Error
	if _, err := kitchensink.DecodeEvent(data[:len(data)-1]); !errors.As(err, &e) || e.Reason != idlcodec.ReasonShort || e.Offset != len(data)-8 {
		t.Errorf("short tail: %v (offset want %d)", err, len(data)-8)
	}
	empty := (&kitchensink.Empty{}).Discriminator()
	if got, err := kitchensink.DecodeEvent(empty[:]); err != nil || got.EventName() != "Empty" {
		t.Errorf("empty event: %v, %v", got, err)
	}
	if got := kitchensink.EventNames(); len(got) != 2 || got[0] != kitchensink.EventNameEvt || got[1] != kitchensink.EventNameEmpty {
		t.Errorf("EventNames = %v", got)
	}
	for _, name := range kitchensink.EventNames() {
		if e := kitchensink.NewEvent(name); e == nil || e.EventName() != name {
			t.Errorf("NewEvent(%q) = %#v", name, e)
		}
	}
	if e := kitchensink.NewEvent("Acct"); e != nil {
		t.Errorf("NewEvent of an account = %#v, want nil", e)
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	a := &kitchensink.Acct{Counter: 3, Owner: key(9), History: []uint64{1, 2}}
	disc := a.Discriminator()
	data := append(a.AppendBorsh(disc[:]), make([]byte, 40)...) // room to spare
	var got kitchensink.Acct
	if err := got.UnmarshalAccount(data); err != nil || got.Counter != 3 || len(got.History) != 2 {
		t.Fatalf("UnmarshalAccount = %+v, %v", got, err)
	}
	any, err := kitchensink.DecodeAccount(data)
	if err != nil || any.AccountName() != "Acct" {
		t.Fatalf("DecodeAccount = %v, %v", any, err)
	}
	data[0] ^= 1
	if err := got.UnmarshalAccount(data); reason(err) != idlcodec.ReasonUnknownDiscriminator {
		t.Errorf("wrong discriminator: %v", err)
	}
}

// TestInstruction builds an instruction for the IDL's address and for a
// deployment elsewhere: every address the builder fills in (the program, the
// absent optional account, the constant-seed PDA, the event authority) must be
// that deployment's, derived here without the generated code.
func TestInstruction(t *testing.T) {
	t.Parallel()
	for _, id := range []solana.PublicKey{kitchensink.ProgramID, key(99)} {
		t.Run(id.String(), func(t *testing.T) {
			t.Parallel()
			testInstruction(t, id)
		})
	}
}

func testInstruction(t *testing.T, id solana.PublicKey) {
	p := kitchensink.New(id)
	if p.ID() != id {
		t.Fatalf("ID = %s, want %s", p.ID(), id)
	}
	maybe := key(20)
	accts := kitchensink.DoThingAccounts{Payer: key(10), GroupInnerA: key(11), GroupInnerB: key(12), Vault: key(13), State: key(14)}
	shape := kitchensink.Shape{Kind: kitchensink.ShapeKindRect, Rect: kitchensink.ShapeRect{W: 1, H: 2}}
	ix := p.NewDoThingInstruction(7, "m", nil, []solana.PublicKey{key(30)}, shape, [32]byte{1}, true, -3, accts)
	data, err := ix.Data()
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	want = append(want, 0x48, 0x24, 0xb5, 0x98, 0x13, 0x06, 0x67, 0x29)
	want = append(want, 7, 0, 0, 0, 0, 0, 0, 0)
	want = append(want, 1, 0, 0, 0, 'm', 0)
	want = append(want, 1, 0, 0, 0)
	k := key(30)
	want = append(want, k[:]...)
	want = append(want, 1, 1, 0, 2, 0)
	want = append(want, 1)
	want = append(want, make([]byte, 31)...)
	want = append(want, 1, 0xfd, 0xff)
	if !bytes.Equal(data, want) {
		t.Fatalf("data\n%x\nwant\n%x", data, want)
	}
	if name, ok := kitchensink.InstructionName(data); !ok || name != "do_thing" {
		t.Errorf("InstructionName = %q, %v", name, ok)
	}
	metas := ix.Accounts()
	type m struct {
		key  solana.PublicKey
		w, s bool
	}
	oracle := solana.MustPublicKeyFromBase58("Apxu8KPHGa9pB95wr3YSXNdsLpCk8czBVnwHZaNYwY14")
	fixed, _, _ := solana.FindProgramAddress([][]byte{{1, 2, 3}}, id)
	authority, _, _ := solana.FindProgramAddress([][]byte{[]byte("__event_authority")}, id)
	if p.EventAuthority() != authority {
		t.Errorf("EventAuthority = %s, want %s", p.EventAuthority(), authority)
	}
	wantMetas := []m{
		{key: key(10), w: true, s: true},
		{key: id}, // optional, absent
		{key: key(11), w: true},
		{key: key(12), s: true},
		{key: key(13), w: true},
		{key: key(14)},
		{key: fixed},
		{key: solana.SystemProgramID},
		{key: oracle},
		{key: authority},
		{key: id},
	}
	if len(metas) != len(wantMetas) {
		t.Fatalf("%d accounts, want %d", len(metas), len(wantMetas))
	}
	for i, w := range wantMetas {
		if metas[i].PublicKey != w.key || metas[i].IsWritable != w.w || metas[i].IsSigner != w.s {
			t.Errorf("account %d = %+v, want %+v", i, *metas[i], w)
		}
	}
	accts.Maybe = &maybe
	ix = p.NewDoThingInstruction(7, "m", ptr(uint8(1)), nil, shape, [32]byte{}, false, 0, accts)
	if got := ix.Accounts()[1]; got.PublicKey != maybe || !got.IsWritable {
		t.Errorf("optional account present = %+v", *got)
	}
	if ix.ProgramID() != id {
		t.Errorf("program = %s", ix.ProgramID())
	}
}

func TestPDAs(t *testing.T) {
	t.Parallel()
	if p := kitchensink.New(solana.PublicKey{}); p.ID() != kitchensink.ProgramID {
		t.Errorf("New(zero).ID = %s, want the IDL's %s", p.ID(), kitchensink.ProgramID)
	}
	for _, id := range []solana.PublicKey{kitchensink.ProgramID, key(99)} {
		p := kitchensink.New(id)
		ea, _, err := p.FindEventAuthorityAddress()
		if err != nil || ea != p.EventAuthority() {
			t.Errorf("FindEventAuthorityAddress = %s, %v; EventAuthority = %s", ea, err, p.EventAuthority())
		}
		got, bump, err := p.FindVaultAddress(key(1), 5, 6)
		amount := []byte{5, 0, 0, 0, 0, 0, 0, 0}
		counter := []byte{6, 0, 0, 0, 0, 0, 0, 0}
		k := key(1)
		want, wantBump, _ := solana.FindProgramAddress([][]byte{[]byte("vault"), k[:], amount, counter}, id)
		if err != nil || got != want || bump != wantBump {
			t.Errorf("FindVaultAddress of %s = %s %d %v, want %s %d", id, got, bump, err, want, wantBump)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	if got := kitchensink.ErrBroken.Error(); got != "Broken (6000): It broke" {
		t.Errorf("ErrBroken = %q", got)
	}
	if got := kitchensink.ErrorCode(6001).Name(); got != "AlsoBroken" {
		t.Errorf("6001 = %q", got)
	}
	if got := kitchensink.ErrorCode(1).Error(); got != "custom program error 1" {
		t.Errorf("1 = %q", got)
	}
}

func TestConstants(t *testing.T) {
	t.Parallel()
	if kitchensink.Small != 7 || kitchensink.Negative != -1000 || kitchensink.Seed != "seed" ||
		kitchensink.BinarySeed != "\x00\xff\n" || kitchensink.Greeting != `hello "world"` || !kitchensink.Enabled {
		t.Error("constants differ from the IDL")
	}
	if kitchensink.Admin.String() != "Apxu8KPHGa9pB95wr3YSXNdsLpCk8czBVnwHZaNYwY14" {
		t.Errorf("Admin = %s", kitchensink.Admin)
	}
	var huge idlcodec.Uint128
	huge.Lo, huge.Hi = kitchensink.Huge&(1<<64-1), kitchensink.Huge>>64
	if huge.String() != "340282366920938463463374607431768211455" {
		t.Errorf("Huge = %s", huge)
	}
}

// FuzzPrims decodes arbitrary bytes; whatever decodes must encode back to
// exactly the bytes read, and render valid JSON.
func FuzzPrims(f *testing.F) {
	for _, v := range []kitchensink.Prims{full(), sparse()} {
		f.Add(v.AppendBorsh(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v kitchensink.Prims
		n, err := v.UnmarshalBorsh(b)
		if err != nil {
			if reason(err) == 0 {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if enc := v.AppendBorsh(nil); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", enc, b[:n])
		}
		if !json.Valid(v.AppendJSON(nil)) {
			t.Fatalf("invalid JSON %s", v.AppendJSON(nil))
		}
	})
}
