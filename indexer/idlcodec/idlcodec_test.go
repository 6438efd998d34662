package idlcodec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/mr-tron/base58"

	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
)

func TestBase58(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, ""},
		{"zero", []byte{0}, "1"},
		{"zeros", []byte{0, 0, 0}, "111"},
		{"one", []byte{1}, "2"},
		{"57", []byte{57}, "z"},
		{"58", []byte{58}, "21"},
		{"leading zero", []byte{0, 0xff}, "15Q"},
		{"system program", make([]byte, 32), strings.Repeat("1", 32)},
		{"max 32", bytes.Repeat([]byte{0xff}, 32), "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG"},
		{"hello", []byte("hello world"), "StV1DL6CwTryKyV"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := string(idlcodec.AppendBase58(nil, tc.in)); got != tc.want {
				t.Fatalf("encode = %q, want %q", got, tc.want)
			}
			got, err := idlcodec.AppendBase58Decode(nil, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.in) {
				t.Fatalf("decode = %x, want %x", got, tc.in)
			}
		})
	}
}

func TestBase58Invalid(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "O", "I", "l", "abc0", "2 3", "z\x00", "ü"} {
		_, err := idlcodec.AppendBase58Decode(nil, s)
		var be *idlcodec.Base58Error
		if !errors.As(err, &be) || !errors.Is(err, idlcodec.ErrBase58) {
			t.Errorf("decode %q: err = %v, want *Base58Error", s, err)
		}
	}
}

func TestBase58InvalidOffset(t *testing.T) {
	t.Parallel()
	// 25 digits: a first chunk of 5, then two full chunks of 10 (the unrolled path).
	valid := "1123456789ABCDEFGHJKLMNPQ"
	for _, at := range []int{2, 6, 14, 24} {
		s := valid[:at] + "0" + valid[at+1:]
		_, err := idlcodec.AppendBase58Decode(nil, s)
		var be *idlcodec.Base58Error
		if !errors.As(err, &be) || be.Offset != at || be.Char != '0' {
			t.Errorf("invalid digit at %d: err = %v", at, err)
		}
	}
}

func TestBase58Long(t *testing.T) {
	t.Parallel()
	// Longer than the stack buffers of both directions.
	in := make([]byte, 3000)
	for i := range in {
		in[i] = byte(i*7 + 3)
	}
	in[0], in[1] = 0, 0
	enc := idlcodec.AppendBase58(nil, in)
	if want := base58.Encode(in); string(enc) != want {
		t.Fatalf("encode differs from mr-tron/base58")
	}
	dec, err := idlcodec.AppendBase58Decode([]byte("prefix"), string(enc))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec, append([]byte("prefix"), in...)) {
		t.Fatal("round trip differs")
	}
}

func FuzzBase58(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{0, 0, 1, 2, 3}, "1112")
	f.Add(bytes.Repeat([]byte{0xff}, 40), "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG")
	f.Fuzz(func(t *testing.T, raw []byte, s string) {
		// mr-tron/base58, the reference, is quadratic; long inputs only slow the search.
		if len(raw) > 512 || len(s) > 700 {
			t.Skip()
		}
		enc := idlcodec.AppendBase58(nil, raw)
		if want := base58.Encode(raw); string(enc) != want {
			t.Fatalf("encode %x = %s, mr-tron says %s", raw, enc, want)
		}
		dec, err := idlcodec.AppendBase58Decode(nil, string(enc))
		if err != nil || !bytes.Equal(dec, raw) {
			t.Fatalf("round trip %x: %x, %v", raw, dec, err)
		}
		got, err := idlcodec.AppendBase58Decode(nil, s)
		want, werr := base58.Decode(s)
		if (err != nil) != (werr != nil) && s != "" {
			t.Fatalf("decode %q: err %v, mr-tron err %v", s, err, werr)
		}
		if err == nil && werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decode %q = %x, mr-tron says %x", s, got, want)
		}
	})
}

func TestInt128Decimal(t *testing.T) {
	t.Parallel()
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	u := func(hi, lo uint64) *big.Int {
		v := new(big.Int).Mul(new(big.Int).SetUint64(hi), two64)
		return v.Add(v, new(big.Int).SetUint64(lo))
	}
	for _, c := range [][2]uint64{
		{0, 0}, {0, 1}, {0, ^uint64(0)}, {1, 0}, {1, 1}, {^uint64(0), ^uint64(0)},
		{0x8000000000000000, 0}, {12345, 10_000_000_000_000_000_000 - 1}, {0x7fffffffffffffff, ^uint64(0)},
	} {
		hi, lo := c[0], c[1]
		if got, want := (idlcodec.Uint128{Lo: lo, Hi: hi}).String(), u(hi, lo).String(); got != want {
			t.Errorf("Uint128{%d,%d} = %s, want %s", hi, lo, got, want)
		}
		want := u(hi, lo)
		if hi >= 1<<63 {
			want.Sub(want, new(big.Int).Lsh(big.NewInt(1), 128))
		}
		if got := (idlcodec.Int128{Lo: lo, Hi: int64(hi)}).String(); got != want.String() {
			t.Errorf("Int128{%d,%d} = %s, want %s", int64(hi), lo, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"uote\`, "ctl\x00\x1f\n\r\t", "ünïcödé ✓", "bad\xffutf8", "js\u2028\u2029", "<html>&"} {
		out := idlcodec.AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q renders invalid JSON %s: %v", s, out, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q round trips to %q, encoding/json to %q", s, back, wantBack)
		}
	}
}

func TestBorshReads(t *testing.T) {
	t.Parallel()
	reason := func(err error) idlcodec.Reason {
		var e *idlcodec.Error
		if !errors.As(err, &e) {
			return 0
		}
		return e.Reason
	}
	if _, _, err := idlcodec.ReadBool([]byte{2}, 0, "b"); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("bool 2: %v", err)
	}
	if _, _, err := idlcodec.ReadBool(nil, 0, "b"); reason(err) != idlcodec.ReasonShort {
		t.Errorf("bool empty: %v", err)
	}
	if _, _, err := idlcodec.ReadOption([]byte{7}, 0, "o"); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("option 7: %v", err)
	}
	if _, _, err := idlcodec.ReadString([]byte{2, 0, 0, 0, 0xff, 0xfe}, 0, "s"); reason(err) != idlcodec.ReasonInvalid {
		t.Errorf("string not UTF-8: %v", err)
	}
	if _, _, err := idlcodec.ReadString([]byte{3, 0, 0, 0, 'a'}, 0, "s"); reason(err) != idlcodec.ReasonShort {
		t.Errorf("string short: %v", err)
	}
	// A forged length must not allocate beyond the input.
	if _, _, err := idlcodec.ReadLen([]byte{0xff, 0xff, 0xff, 0xff, 1, 2}, 0, 32, "v"); reason(err) != idlcodec.ReasonShort {
		t.Errorf("huge length: %v", err)
	}
	s, n, err := idlcodec.ReadString(idlcodec.AppendString([]byte{9}, "héllo"), 1, "s")
	if err != nil || s != "héllo" || n != 11 {
		t.Errorf("ReadString = %q, %d, %v", s, n, err)
	}
	b, n, err := idlcodec.ReadBytes(idlcodec.AppendBytes(nil, []byte{1, 2, 3}), 0, "v")
	if err != nil || !bytes.Equal(b, []byte{1, 2, 3}) || n != 7 {
		t.Errorf("ReadBytes = %x, %d, %v", b, n, err)
	}
}

func TestErrorShift(t *testing.T) {
	t.Parallel()
	err := idlcodec.Shift(idlcodec.ShortError("T.f", 3, 8, 2), 10)
	var e *idlcodec.Error
	if !errors.As(err, &e) || e.Offset != 13 {
		t.Fatalf("Shift: %v", err)
	}
	if got := err.Error(); got != "decode T.f at byte 13: short: need 8 bytes, have 2" {
		t.Errorf("Error() = %q", got)
	}
}
