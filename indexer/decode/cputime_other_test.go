//go:build !unix

package decode_test

import "time"

// cpuTime is unknown here; the benchmark then reports no CPU-time rate.
func cpuTime() time.Duration { return 0 }
