// Package taskmanager is a TaskManager: it registers its slots with the
// JobManager's ResourceManager and keeps the registration alive with
// heartbeats. When the JobManager stops answering for heartbeat.timeout
// (or no longer knows it), the TaskManager registers again, so that a
// restarted JobManager, or one that timed the TaskManager out, gets it
// back.
//
// Invariants:
//  1. A TaskManager is registered with at most one JobManager at a time
//     and re-registers after it lost the JobManager
//     (TestTaskManagerReregisters).
//  2. Run stops every goroutine it started before it returns.
package taskmanager
