package decode

import "unsafe"

// readOnlyBytes views s as bytes without copying, for decoders that only
// read their input (base64.Encoding.Decode). The result must not be written.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
