package idlcodec

import (
	"errors"
	"math/bits"
	"strconv"
)

// Base58 with 64-bit limbs, ten digits at a time: 58^10 < 2^64, so each
// step is one multiply-add (decode) or one division (encode) per limb.
// Unlike mr-tron/base58 (which solana-go uses), decoding appends to the
// caller's buffer, so a decoder can put every instruction of a transaction
// into one allocation.

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Digits maps an ASCII byte to its digit value, 0xff when it is not a digit.
var base58Digits = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = byte(i)
	}
	return t
}()

// pow58[k] = 58^k for k <= 10.
var pow58 = [11]uint64{
	1, 58, 3364, 195112, 11316496, 656356768, 38068692544, 2207984167552,
	128063081718016, 7427658739644928, 430804206899405824,
}

// ErrBase58 is wrapped by every base58 decoding failure.
var ErrBase58 = errors.New("invalid base58")

// Base58Error is a base58 decoding failure at a character offset.
type Base58Error struct {
	Offset int
	Char   byte
}

// Error describes the failure.
func (e *Base58Error) Error() string {
	return "invalid base58 character " + strconv.QuoteRune(rune(e.Char)) + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns ErrBase58.
func (e *Base58Error) Unwrap() error { return ErrBase58 }

// Base58DecodedLenMax bounds the decoded length of n base58 characters.
func Base58DecodedLenMax(n int) int {
	// log(58)/log(256) < 0.7322
	return n*7322/10000 + 1
}

// AppendBase58Decode appends the bytes s encodes to dst. It allocates
// nothing when dst has room and s is up to 1,400 characters.
func AppendBase58Decode(dst []byte, s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	rest := s[zeros:]
	var stack [128]uint64
	limbs := stack[:0]
	if n := Base58DecodedLenMax(len(rest))/8 + 1; n > len(stack) {
		limbs = make([]uint64, 0, n)
	}
	k := len(rest) % 10
	if k == 0 {
		k = 10
	}
	for i := 0; i < len(rest); i += k {
		if i > 0 {
			k = 10
		}
		var acc uint64
		if k == 10 {
			// Two independent chains of five halve the multiply latency.
			c := rest[i : i+10]
			d0, d1, d2, d3, d4 := base58Digits[c[0]], base58Digits[c[1]], base58Digits[c[2]], base58Digits[c[3]], base58Digits[c[4]]
			d5, d6, d7, d8, d9 := base58Digits[c[5]], base58Digits[c[6]], base58Digits[c[7]], base58Digits[c[8]], base58Digits[c[9]]
			if (d0|d1|d2|d3|d4|d5|d6|d7|d8|d9)&0x80 != 0 {
				return dst, base58Invalid(rest, zeros, i)
			}
			hi := (((uint64(d0)*58+uint64(d1))*58+uint64(d2))*58+uint64(d3))*58 + uint64(d4)
			lo := (((uint64(d5)*58+uint64(d6))*58+uint64(d7))*58+uint64(d8))*58 + uint64(d9)
			acc = hi*656356768 + lo // 58^5
		} else {
			for j := i; j < i+k; j++ {
				d := base58Digits[rest[j]]
				if d == 0xff {
					return dst, base58Invalid(rest, zeros, j)
				}
				acc = acc*58 + uint64(d)
			}
		}
		mul, carry := pow58[k], acc
		for li, l := range limbs {
			hi, lo := bits.Mul64(l, mul)
			lo, c := bits.Add64(lo, carry, 0)
			limbs[li] = lo
			carry = hi + c
		}
		if carry != 0 {
			limbs = append(limbs, carry)
		}
	}
	for range zeros {
		dst = append(dst, 0)
	}
	if len(limbs) == 0 {
		return dst, nil
	}
	top := limbs[len(limbs)-1]
	for sh := (bits.Len64(top) - 1) / 8 * 8; sh >= 0; sh -= 8 {
		dst = append(dst, byte(top>>sh))
	}
	for i := len(limbs) - 2; i >= 0; i-- {
		l := limbs[i]
		dst = append(dst, byte(l>>56), byte(l>>48), byte(l>>40), byte(l>>32), byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return dst, nil
}

// base58Invalid reports the first invalid character of rest at or after i.
func base58Invalid(rest string, zeros, i int) error {
	for j := i; j < len(rest); j++ {
		if base58Digits[rest[j]] == 0xff {
			return &Base58Error{Offset: zeros + j, Char: rest[j]}
		}
	}
	return &Base58Error{Offset: zeros + i}
}

// AppendBase58 appends the base58 encoding of src to dst.
func AppendBase58(dst, src []byte) []byte {
	zeros := 0
	for zeros < len(src) && src[zeros] == 0 {
		zeros++
	}
	for range zeros {
		dst = append(dst, '1')
	}
	src = src[zeros:]
	if len(src) == 0 {
		return dst
	}
	// Big-endian bytes to little-endian limbs.
	var stack [16]uint64
	limbs := stack[:0]
	if n := (len(src) + 7) / 8; n > len(stack) {
		limbs = make([]uint64, 0, n)
	}
	for end := len(src); end > 0; end -= 8 {
		var l uint64
		for _, c := range src[max(end-8, 0):end] {
			l = l<<8 | uint64(c)
		}
		limbs = append(limbs, l)
	}
	// Digits come out least significant first, ten per division.
	var dstack [96]byte
	digits := dstack[:0]
	if n := len(src)*138/100 + 11; n > len(dstack) {
		digits = make([]byte, 0, n)
	}
	const div = 430804206899405824 // 58^10
	for len(limbs) > 0 {
		var r uint64
		for i := len(limbs) - 1; i >= 0; i-- {
			limbs[i], r = bits.Div64(r, limbs[i], div)
		}
		for len(limbs) > 0 && limbs[len(limbs)-1] == 0 {
			limbs = limbs[:len(limbs)-1]
		}
		for j := 0; j < 10; j++ {
			digits = append(digits, byte(r%58))
			r /= 58
			if len(limbs) == 0 && r == 0 {
				break
			}
		}
	}
	for i := len(digits) - 1; i >= 0; i-- {
		dst = append(dst, base58Alphabet[digits[i]])
	}
	return dst
}
