// Package storage keeps checkpoints and savepoints: Flink's
// CheckpointStorage behind the [Storage] interface, with a file system
// implementation (file:// URIs and plain paths) now and room for s3:// and
// hdfs:// later.
//
// The job master begins a snapshot ([Storage.Begin]), tasks write their
// state files into its [Location] concurrently ([Location.WriteState]), and
// once every subtask has acknowledged, the job master commits the
// snapshot's metadata ([Location.Commit]). A restore reads the metadata
// back ([Storage.ReadMetadata], or [Storage.LatestCheckpoint] after the
// whole process crashed) and then the state files it names
// ([Storage.ReadState]).
//
// # Layout
//
//	<state.checkpoints.dir>/<jobID>/chk-<id>/_metadata
//	<state.checkpoints.dir>/<jobID>/chk-<id>/<state files>
//	<state.checkpoints.dir>/<jobID>/shared/      reserved: incremental checkpoints
//	<state.checkpoints.dir>/<jobID>/taskowned/   reserved: incremental checkpoints
//	<target dir>/savepoint-<jobID[:6]>-<12 hex>/_metadata and state files
//
// Handles in the metadata are relative to the snapshot's directory, so a
// savepoint (or a checkpoint) can be moved or copied as a directory and
// still be restored. The format of _metadata is documented in metadata.go
// and in docs/checkpoints.md.
//
// # Invariants
//
//  1. A snapshot is complete exactly when its _metadata exists and decodes.
//     Commit writes _metadata last, after checking that every file it
//     names exists with its size, and each of those was made durable by
//     WriteState. A directory with state files and no _metadata is never
//     restored from (TestUncommittedCheckpointIsNeverUsed).
//  2. Every file appears whole or not at all: it is written to
//     <name>.tmp-<random>, fsynced, renamed and its directory fsynced. A
//     temporary file left by a crash is never read
//     (TestLeftoverTempFilesAreIgnored).
//  3. Damage is detected, never restored from: a _metadata that is cut
//     short or has any bit flipped fails ReadMetadata with ErrIncomplete or
//     ErrCorrupt and is skipped by LatestCheckpoint
//     (TestDamagedMetadataIsNeverUsed); decoding never panics and never
//     allocates more than a small multiple of its input
//     (FuzzDecodeMetadata).
//  4. A complete checkpoint is never overwritten: Begin of an id whose
//     directory holds a valid _metadata fails; a directory left by an
//     attempt that never committed is emptied first
//     (TestBeginNeverOverwritesACompleteCheckpoint,
//     TestBeginClearsAnIncompleteAttempt).
//  5. Discard deletes _metadata (durably) before anything else, so a
//     discard cut short leaves an incomplete snapshot, never a complete one
//     with files missing (TestDiscardCutShortLeavesAnIncompleteSnapshot,
//     TestDiscardRemovesEverything).
//  6. No write lands in a location after its Commit or Discard: WriteState
//     holds the location's lock shared, Commit and Discard exclusively
//     (TestLocationLifecycle, TestConcurrentWriteState under -race).
//  7. A savepoint is self-contained: moved elsewhere, it reads back the
//     same (TestSavepointCanBeMoved).
//
// Retention is not this package's: the checkpoint coordinator discards
// checkpoints beyond state.checkpoints.num-retained; savepoints are the
// user's and never discarded by the runtime.
package storage
