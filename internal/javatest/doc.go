// Package javatest holds what the packages that run real Java servers for
// tests (zktest, hdfstest, s3test) share: the cache directory, fetching
// jars from Maven Central once, compiling a small launcher once, free
// loopback ports, and the processes that die with the test binary.
//
// Downloads and builds are kept in the cache directory ($RUNNEL_CACHE,
// else the user's cache directory's runnel/, e.g. ~/.cache/runnel),
// outside any checkout, in directories named after a hash of what they
// hold, so that a fresh clone's tests reuse them and a second run
// downloads nothing. Test binaries of several packages may install at
// once: a file lock in each directory makes them take turns.
package javatest
