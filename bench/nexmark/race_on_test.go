//go:build race

package nexmark

// raceEnabled is true under the race detector, which makes the long
// oracle comparison too slow to run in full and adds allocations of its own.
const raceEnabled = true
