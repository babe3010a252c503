// Package zktest runs real ZooKeeper servers for tests: Apache
// ZooKeeper's jars from Maven Central, run with the installed Java, one
// server or an ensemble of three on free loopback ports.
//
// The jars are fetched once, with Maven, into the cache directory
// ($RUNNEL_CACHE, else the user's cache directory's runnel/, e.g.
// ~/.cache/runnel), outside any checkout, so that a fresh clone's tests
// reuse them and a second run downloads nothing. Test binaries of several
// packages may fetch at once: a file lock makes them take turns.
//
// A package starts its ensemble once, in TestMain, and its tests share it
// (each under a ZooKeeper path of its own). Servers are killed with the
// test binary (Pdeathsig), and Close removes their data.
package zktest
