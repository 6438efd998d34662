// Package backoff computes retry delays: exponential, capped, with jitter so
// that many clients retrying after one failure do not retry in step.
package backoff
