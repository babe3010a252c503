//go:build !race

package codec

// raceEnabled is true under the race detector, which makes sync.Pool drop
// items at random, so pooled scratch memory is reallocated now and then.
const raceEnabled = false
