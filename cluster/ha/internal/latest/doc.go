// Package latest is a channel of latest-value semantics, the delivery of
// ha.Services.WatchLeader: a slow reader sees the newest value, never a
// backlog.
//
// # Invariants
//
//  1. A value sent replaces a value not yet received; a receiver gets the
//     last value sent before it receives (TestLatestKeepsTheNewest).
//  2. Send never blocks for long: at most the time of a receive that
//     races with it.
package latest
