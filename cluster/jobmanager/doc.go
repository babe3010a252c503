// Package jobmanager is the JobManager process's core: the RPC endpoint
// TaskManagers register and heartbeat with, the ResourceManager (package
// resourcemanager, with its driver), the REST API (package rest) and the
// BlobServer (package blob), started and stopped together.
//
// Invariants:
//  1. Run stops every server and the resource manager's driver (and with
//     it every TaskManager process the process driver started) before it
//     returns (TestJobManagerLifecycle).
//  2. A TaskManager that misses heartbeats for heartbeat.timeout is
//     removed (resourcemanager's invariants); one that registers again is
//     listed again.
package jobmanager
