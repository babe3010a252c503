//go:build race

package exactlyonce

// raceEnabled: the test binary has the race detector, and so do the
// binaries it builds.
const raceEnabled = true
