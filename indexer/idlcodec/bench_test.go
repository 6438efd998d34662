package idlcodec_test

import (
	"testing"

	"github.com/upgrade-manager/upgrade-manager/indexer/idlcodec"
)

// BenchmarkBase58Decode decodes an event-sized instruction (200 bytes).
func BenchmarkBase58Decode(b *testing.B) {
	src := make([]byte, 200)
	for i := range src {
		src[i] = byte(i*37 + 11)
	}
	s := string(idlcodec.AppendBase58(nil, src))
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := idlcodec.AppendBase58Decode(buf[:0], s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBase58Encode encodes a pubkey.
func BenchmarkBase58Encode(b *testing.B) {
	var k [32]byte
	for i := range k {
		k[i] = byte(i*37 + 11)
	}
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = idlcodec.AppendBase58(buf[:0], k[:])
	}
}
