// Package filesink writes a stream into files, exactly once: Flink's FileSink
// in row format, on stream's two-phase-commit sink framework
// (stream.SinkToTwoPhase).
//
//	sink := filesink.New[string]("/data/out",
//		filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 64 << 20}))
//	stream.SinkToTwoPhase(lines, sink, "File Sink")
//
// # Directory layout
//
// Records go into buckets, sub-directories of the sink's directory chosen
// per record by a BucketAssigner (by default one per hour of processing
// time, "2006-01-02--15"; BasePathBucketAssigner writes into the directory
// itself). In each bucket, every writer (one per subtask and attempt)
// writes part files named
//
//	<prefix>-<writerID>-<counter><suffix>
//
// where writerID is <subtask>-<8 random hex digits>, drawn anew by every
// writer, so that names never collide across subtasks, attempts or runs,
// and counter counts the writer's parts from 0 (prefix "part" and an empty
// suffix by default, see OutputFileConfig). A part goes through three
// states, of which only the last is visible to readers that skip hidden
// files:
//
//	<dir>/<bucket>/.<name>.inprogress   being written
//	<dir>/<bucket>/.<name>.pending      closed and durable, awaiting commit
//	<dir>/<bucket>/<name>               finished: committed
//
// # Lifecycle
//
//   - A writer opens a part in a bucket for its first record there, and
//     writes records into it, each as the encoder makes it (WithEncoder;
//     fmt's %v and a newline by default).
//   - A part rolls — its content is synced, it is renamed from in-progress
//     to pending, and the rename is synced — when it reaches the rolling
//     policy's size (right after the record that took it there), when it
//     has been open for the rollover interval, or when it has received no
//     record for the inactivity interval. The size is checked on every
//     record; the intervals on every record and whenever the subtask's
//     input runs dry (SinkWriter.Flush), against the task's processing-time
//     clock. And every part rolls at every checkpoint barrier.
//   - At a checkpoint barrier (PrepareCommit) the parts rolled since the
//     last barrier become the checkpoint's committables (Committable: the
//     pending and finished paths), which the framework stores in the
//     checkpoint.
//   - When the checkpoint is complete, the committer renames each pending
//     file to its finished name and syncs the bucket. This is idempotent: a
//     committable whose pending file is gone and whose finished file exists
//     was committed before (a commit repeated after a restore); one with
//     neither file is an error that names the file. Without checkpointing,
//     everything is committed at the end of input.
//
// # Guarantee
//
// The finished files hold every record of completed checkpoints exactly
// once (and, without checkpointing, every record of a job that ended
// successfully). A record is in exactly one part; a part becomes finished
// only by the commit of a committable, which exists only for a pending
// file, durable before the checkpoint that holds the committable can
// complete; and the framework commits every committable of a completed
// checkpoint, again after a restore, and no other. Records written after
// the checkpoint a job restores from are in in-progress or pending files
// that no restored committable refers to, so they never become finished;
// the restored job writes them again under new names. This assumes that the
// directory belongs to one sink of one job at a time, that nothing but the
// sink renames or removes its hidden files, and that the file system's
// rename is atomic and, after a sync of the directory, durable (true of
// local file systems; not of object stores).
//
// # Clean-up after failures
//
// A failed attempt leaves in-progress files, and pending files of
// checkpoints that did not complete (or that the job does not restore
// from). They are hidden and never committed, so they are only litter; the
// sink removes what it safely can:
//
//   - A writer's Close removes its own in-progress files and the pending
//     files it rolled but had not handed over at a checkpoint: no
//     checkpoint refers to them.
//   - When a job restores from a checkpoint, subtask s of p removes, in
//     every bucket, the in-progress and pending files (matching this sink's
//     prefix and suffix) of the writers of every earlier subtask k with
//     k mod p = s (stream.TwoPhaseCommitRecoverer). The framework makes the
//     same subtask the only committer of the restored committables of
//     those k, and calls Recover after they are committed, so what remains
//     pending of k is in no completed checkpoint. Subtasks of the current
//     run that s does not own (k < p, k ≠ s) are never touched, nor are
//     files whose writer's subtask s does not own, which another subtask
//     may be committing concurrently; s has not created its own writer yet.
//
// What the sink does not remove: finished files, ever; hidden files when a
// job starts afresh (not from a checkpoint), since they might belong to
// another run the user means to restore; files that do not match the
// current prefix and suffix (after those were changed); files a writer of
// the failed attempt that had not yet stopped (a zombie) creates after the
// clean-up (they are removed by the next restore's clean-up); and empty
// bucket directories, which another subtask may be about to write into.
//
// # Files
//
// rolling.go holds the rolling policy; bucket.go the bucket assigners and
// the part files; filesink.go the sink, its writer and committer, and the
// clean-up.
package filesink
