// Package clustertest starts a cluster of runnel processes on loopback
// for end-to-end tests: a JobManager, TaskManagers, the CLI, and the
// REST API to watch them. Every process it starts dies with the test
// binary (Pdeathsig) and is killed and waited for when the test ends; when
// a test fails, the logs of every process are printed. Go runs a
// component in the test's own process until the test ends.
//
// Binaries built with Build have the race detector when the test binary
// has it, and then every process halts on its first data race, which
// fails the test whichever process had it.
//
// It is for tests only, and Linux only (Pdeathsig).
package clustertest
