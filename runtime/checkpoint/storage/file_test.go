package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/state/keygroup"
)

const testJob = "4f1c2a9e77d04b5e"

func openStorage(t *testing.T) (Storage, string) {
	t.Helper()
	base := t.TempDir()
	s, err := Open(base, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, base
}

// stateOf is the content written for a handle of sampleMetadata: as many
// bytes as the handle's size says.
func stateOf(h checkpoint.StateHandle) []byte {
	return bytes.Repeat([]byte(h.Path[:1]), int(h.Size))
}

// handles lists the non-zero handles of md.
func handles(md *checkpoint.Metadata) []checkpoint.StateHandle {
	var hs []checkpoint.StateHandle
	for _, op := range md.Operators {
		for _, st := range op.Subtasks {
			for _, h := range []checkpoint.StateHandle{st.Keyed, st.Operator} {
				if !h.IsZero() {
					hs = append(hs, h)
				}
			}
		}
	}
	return hs
}

// writeState writes every state file of md into loc, as the tasks would.
func writeState(t *testing.T, loc Location, md *checkpoint.Metadata) {
	t.Helper()
	for _, h := range handles(md) {
		got, err := loc.WriteState(context.Background(), h.Path, stateOf(h))
		if err != nil {
			t.Fatal(err)
		}
		if got != h {
			t.Fatalf("WriteState returned %+v, want %+v", got, h)
		}
	}
}

// complete takes snapshot id of kind to the end and returns its metadata
// and location.
func complete(t *testing.T, s Storage, id int64, opts checkpoint.Options) (*checkpoint.Metadata, Location) {
	t.Helper()
	ctx := context.Background()
	loc, err := s.Begin(ctx, testJob, id, opts)
	if err != nil {
		t.Fatal(err)
	}
	md := sampleMetadata(testJob, id, opts.Kind)
	writeState(t, loc, md)
	if err := loc.Commit(ctx, md); err != nil {
		t.Fatal(err)
	}
	return md, loc
}

var chk = checkpoint.Options{Kind: checkpoint.KindCheckpoint}

// checkRestores reads md back from path as a restore would: the metadata,
// then every state file.
func checkRestores(t *testing.T, s Storage, path string, md *checkpoint.Metadata) {
	t.Helper()
	ctx := context.Background()
	got, loc, err := s.ReadMetadata(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, md) {
		t.Fatalf("ReadMetadata(%s) = %+v, want %+v", path, got, md)
	}
	for _, h := range handles(md) {
		b, err := s.ReadState(ctx, loc, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, stateOf(h)) {
			t.Fatalf("ReadState(%s, %s) = %q", loc, h.Path, b)
		}
	}
}

func latest(t *testing.T, s Storage) (int64, string) {
	t.Helper()
	md, loc, ok, err := s.LatestCheckpoint(context.Background(), testJob)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return 0, ""
	}
	return md.CheckpointID, loc
}

func TestOpen(t *testing.T) {
	abs := t.TempDir()
	for _, tc := range []struct {
		uri, savepoints string
		err             string // "" for none
		unsupported     bool
	}{
		{uri: abs},
		{uri: "file://" + abs},
		{uri: "file:" + abs},
		{uri: "file://localhost" + abs},
		{uri: "relative/dir"},
		{uri: "", err: "storage: state.checkpoints.dir is not set"},
		{uri: "s3://bucket/checkpoints", unsupported: true,
			err: `storage: scheme "s3" is not supported yet (state.checkpoints.dir = s3://bucket/checkpoints)`},
		{uri: "hdfs://namenode:8020/flink", unsupported: true,
			err: `storage: scheme "hdfs" is not supported yet (state.checkpoints.dir = hdfs://namenode:8020/flink)`},
		{uri: abs, savepoints: "s3://bucket/savepoints", unsupported: true,
			err: `storage: scheme "s3" is not supported yet (state.savepoints.dir = s3://bucket/savepoints)`},
		{uri: "file://namenode/dir", err: `cannot name host "namenode"`},
		{uri: "file:relative", err: "needs an absolute path"},
	} {
		_, err := Open(tc.uri, tc.savepoints)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Open(%q, %q): %v", tc.uri, tc.savepoints, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Open(%q, %q) = %v, want an error containing %q", tc.uri, tc.savepoints, err, tc.err)
		case tc.unsupported && !errors.Is(err, ErrUnsupported):
			t.Errorf("Open(%q, %q) = %v, want ErrUnsupported", tc.uri, tc.savepoints, err)
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, form := range []string{"path", "uri"} {
		t.Run(form, func(t *testing.T) {
			base := t.TempDir()
			uri := base
			if form == "uri" {
				uri = "file://" + base
			}
			s, err := Open(uri, "")
			if err != nil {
				t.Fatal(err)
			}
			md, loc := complete(t, s, 1, chk)

			dir := filepath.Join(base, testJob, "chk-1")
			if want := uri + "/" + testJob + "/chk-1"; loc.Path() != want {
				t.Fatalf("Path() = %q, want %q", loc.Path(), want)
			}
			for _, name := range []string{"_metadata", "op-ffee-2-keyed", "op-0a1b-0-operator"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Fatalf("layout: %v", err)
				}
			}
			// The directory or its _metadata, with or without the scheme.
			for _, p := range []string{loc.Path(), loc.Path() + "/_metadata", dir, "file://" + dir + "/_metadata"} {
				checkRestores(t, s, p, md)
			}
			got, where, ok, err := s.LatestCheckpoint(context.Background(), testJob)
			if err != nil || !ok || where != loc.Path() || !reflect.DeepEqual(got, md) {
				t.Fatalf("LatestCheckpoint = %+v, %q, %v, %v", got, where, ok, err)
			}
		})
	}
}

func TestLatestCheckpoint(t *testing.T) {
	s, base := openStorage(t)
	if id, _ := latest(t, s); id != 0 {
		t.Fatalf("latest of an unknown job: %d", id)
	}
	for _, id := range []int64{1, 2, 9, 10} {
		complete(t, s, id, chk)
	}
	// Neighbours that are not checkpoints of this job.
	jobDir := filepath.Join(base, testJob)
	for _, d := range []string{"chk-011", "chk-x", "chk--1", "shared", "taskowned", "chk-12/sub"} {
		if err := os.MkdirAll(filepath.Join(jobDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// chk-11 holds a copy of checkpoint 10's metadata: not checkpoint 11.
	copyFile(t, filepath.Join(jobDir, "chk-10", MetadataFile), filepath.Join(jobDir, "chk-11", MetadataFile))
	// A file named like a checkpoint directory.
	if err := os.WriteFile(filepath.Join(jobDir, "chk-99"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, loc := latest(t, s); id != 10 || loc != filepath.Join(jobDir, "chk-10") {
		t.Fatalf("latest = %d at %s, want 10", id, loc)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A checkpoint whose state files were written but which was never
// committed (the process died before the metadata) is never used.
func TestUncommittedCheckpointIsNeverUsed(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	complete(t, s, 1, chk)
	complete(t, s, 2, chk)
	loc, err := s.Begin(ctx, testJob, 3, chk)
	if err != nil {
		t.Fatal(err)
	}
	writeState(t, loc, sampleMetadata(testJob, 3, chk.Kind))

	if id, _ := latest(t, s); id != 2 {
		t.Fatalf("latest = %d, want 2", id)
	}
	_, _, err = s.ReadMetadata(ctx, loc.Path())
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), loc.Path()) {
		t.Fatalf("ReadMetadata of an uncommitted checkpoint: %v", err)
	}
}

// A _metadata cut short or with a bit flipped (a damaged disk, or a copy
// cut short) fails to read, names the file, and is skipped.
func TestDamagedMetadataIsNeverUsed(t *testing.T) {
	s, base := openStorage(t)
	ctx := context.Background()
	complete(t, s, 1, chk)
	_, loc := complete(t, s, 2, chk)
	file := filepath.Join(base, testJob, "chk-2", MetadataFile)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, b []byte) {
		t.Helper()
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.ReadMetadata(ctx, loc.Path())
		if !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: ReadMetadata: %v, want ErrIncomplete or ErrCorrupt", what, err)
		}
		if !strings.Contains(err.Error(), file) {
			t.Fatalf("%s: error %q does not name %s", what, err, file)
		}
		if id, _ := latest(t, s); id != 1 {
			t.Fatalf("%s: latest = %d, want 1", what, id)
		}
	}
	for n := range len(good) {
		check(fmt.Sprintf("truncated to %d bytes", n), good[:n])
	}
	for i := range len(good) * 8 {
		b := append([]byte(nil), good...)
		b[i/8] ^= 1 << (i % 8)
		check(fmt.Sprintf("bit %d flipped", i), b)
	}
}

// Temporary files left by a crash during a write are never read, whatever
// they hold.
func TestLeftoverTempFilesAreIgnored(t *testing.T) {
	s, base := openStorage(t)
	ctx := context.Background()
	md1, _ := complete(t, s, 1, chk)
	complete(t, s, 2, chk)
	// Checkpoint 3 crashed while its metadata was being written: even a
	// temporary file that holds the whole metadata does not make it
	// complete, since the rename never happened.
	loc3, err := s.Begin(ctx, testJob, 3, chk)
	if err != nil {
		t.Fatal(err)
	}
	md3 := sampleMetadata(testJob, 3, chk.Kind)
	writeState(t, loc3, md3)
	whole, err := EncodeMetadata(md3)
	if err != nil {
		t.Fatal(err)
	}
	dir3 := filepath.Join(base, testJob, "chk-3")
	for name, b := range map[string][]byte{
		MetadataFile + tmpInfix + "0123abcd": whole,
		MetadataFile + tmpInfix + "ffff0000": whole[:10],
		"op-ffee-0-keyed" + tmpInfix + "77":  []byte("half"),
	} {
		if err := os.WriteFile(filepath.Join(dir3, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.ReadMetadata(ctx, loc3.Path()); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("ReadMetadata with only temporary files: %v", err)
	}
	if id, _ := latest(t, s); id != 2 {
		t.Fatalf("latest = %d, want 2", id)
	}
	// A temporary state file left beside a committed checkpoint changes
	// nothing.
	if err := os.WriteFile(filepath.Join(base, testJob, "chk-1", "op-ffee-0-keyed"+tmpInfix+"1"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkRestores(t, s, filepath.Join(base, testJob, "chk-1"), md1)
	// The attempt can still be finished: writes and the commit go past
	// the leftovers.
	writeState(t, loc3, md3)
	if err := loc3.Commit(ctx, md3); err != nil {
		t.Fatal(err)
	}
	checkRestores(t, s, loc3.Path(), md3)
}

func TestBeginNeverOverwritesACompleteCheckpoint(t *testing.T) {
	s, _ := openStorage(t)
	md, loc := complete(t, s, 5, chk)
	if _, err := s.Begin(context.Background(), testJob, 5, chk); err == nil || !strings.Contains(err.Error(), "complete checkpoint") {
		t.Fatalf("Begin of a complete checkpoint's id: %v", err)
	}
	checkRestores(t, s, loc.Path(), md)
}

func TestBeginClearsAnIncompleteAttempt(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	first, err := s.Begin(ctx, testJob, 4, chk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.WriteState(ctx, "op-old-0-keyed", []byte("stale")); err != nil {
		t.Fatal(err)
	}
	// The process dies; the job resumes from checkpoint 3 and takes 4 again.
	md, loc := complete(t, s, 4, chk)
	entries, err := os.ReadDir(loc.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "op-old-0-keyed" {
			t.Fatal("the earlier attempt's file survived")
		}
	}
	checkRestores(t, s, loc.Path(), md)
}

func TestDiscardRemovesEverything(t *testing.T) {
	s, base := openStorage(t)
	ctx := context.Background()
	complete(t, s, 1, chk)
	_, loc2 := complete(t, s, 2, chk)
	_, loc3 := complete(t, s, 3, chk)

	if err := s.Discard(ctx, loc3.Path()); err != nil {
		t.Fatal(err)
	}
	if err := loc2.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{loc2.Path(), loc3.Path()} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s after Discard: %v", p, err)
		}
	}
	if id, _ := latest(t, s); id != 1 {
		t.Fatalf("latest = %d, want 1", id)
	}
	// Again, and an aborted attempt that wrote nothing.
	if err := s.Discard(ctx, loc3.Path()); err != nil {
		t.Fatal(err)
	}
	if err := loc2.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	loc4, err := s.Begin(ctx, testJob, 4, chk)
	if err != nil {
		t.Fatal(err)
	}
	if err := loc4.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loc4.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("aborted checkpoint after Discard: %v", err)
	}
	// Only snapshot directories are discarded.
	for _, p := range []string{base, filepath.Join(base, testJob), "/"} {
		if err := s.Discard(ctx, p); err == nil {
			t.Fatalf("Discard(%s) succeeded", p)
		}
	}
	if _, err := os.Stat(filepath.Join(base, testJob, "chk-1", MetadataFile)); err != nil {
		t.Fatal(err)
	}
}

// A discard that dies after removing _metadata leaves state files behind,
// and no checkpoint.
func TestDiscardCutShortLeavesAnIncompleteSnapshot(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	complete(t, s, 1, chk)
	_, loc := complete(t, s, 2, chk)
	removeAll = func(string) error { return errors.New("the process died") }
	defer func() { removeAll = os.RemoveAll }()
	if err := s.Discard(ctx, loc.Path()); err == nil {
		t.Fatal("Discard succeeded")
	}
	if _, err := os.Stat(filepath.Join(loc.Path(), "op-ffee-0-keyed")); err != nil {
		t.Fatalf("the state files should still be there: %v", err)
	}
	if _, _, err := s.ReadMetadata(ctx, loc.Path()); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("ReadMetadata: %v", err)
	}
	if id, _ := latest(t, s); id != 1 {
		t.Fatalf("latest = %d, want 1", id)
	}
	removeAll = os.RemoveAll
	if err := s.Discard(ctx, loc.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loc.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after a second Discard: %v", err)
	}
}

func TestLocationLifecycle(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	loc, err := s.Begin(ctx, testJob, 1, chk)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "a/b", `a\b`, "../x", "_metadata", "_x", "x.tmp-1", "a\x00b"} {
		if _, err := loc.WriteState(ctx, name, nil); err == nil {
			t.Errorf("WriteState(%q) succeeded", name)
		}
	}
	md := sampleMetadata(testJob, 1, chk.Kind)
	// Commit checks the metadata against the location and the files.
	if err := loc.Commit(ctx, md); err == nil || !strings.Contains(err.Error(), "op-0a1b-0-operator") {
		t.Fatalf("Commit before the state was written: %v", err)
	}
	writeState(t, loc, md)
	for name, bad := range map[string]*checkpoint.Metadata{
		"other id":   sampleMetadata(testJob, 2, chk.Kind),
		"other job":  sampleMetadata("otherjob", 1, chk.Kind),
		"other kind": sampleMetadata(testJob, 1, checkpoint.KindSavepoint),
		"nil":        nil,
	} {
		if err := loc.Commit(ctx, bad); err == nil {
			t.Errorf("Commit of %s succeeded", name)
		}
	}
	wrongSize := sampleMetadata(testJob, 1, chk.Kind)
	wrongSize.Operators[1].Subtasks[0].Keyed.Size++
	if err := loc.Commit(ctx, wrongSize); err == nil || !strings.Contains(err.Error(), "its handle says") {
		t.Fatalf("Commit with a wrong size: %v", err)
	}
	if _, _, err := s.ReadMetadata(ctx, loc.Path()); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("failed commits left metadata: %v", err)
	}
	if err := loc.Commit(ctx, md); err != nil {
		t.Fatal(err)
	}
	if _, err := loc.WriteState(ctx, "late", []byte("x")); err == nil {
		t.Fatal("WriteState after Commit succeeded")
	}
	if err := loc.Commit(ctx, md); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if err := loc.Discard(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := loc.WriteState(ctx, "late", []byte("x")); err == nil {
		t.Fatal("WriteState after Discard succeeded")
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Begin(canceled, testJob, 2, chk); !errors.Is(err, context.Canceled) {
		t.Fatalf("Begin with a cancelled context: %v", err)
	}
	for _, job := range []string{"", "..", "a/b"} {
		if _, err := s.Begin(ctx, job, 2, chk); err == nil {
			t.Errorf("Begin for job %q succeeded", job)
		}
	}
	if _, err := s.Begin(ctx, testJob, -1, chk); err == nil {
		t.Error("Begin of a negative id succeeded")
	}
	if _, err := s.Begin(ctx, testJob, 2, checkpoint.Options{}); err == nil {
		t.Error("Begin without a kind succeeded")
	}
}

func TestReadStateChecksTheFile(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	_, loc := complete(t, s, 1, chk)
	h := checkpoint.StateHandle{Path: "op-ffee-0-keyed", Size: 7}
	for _, tc := range []struct {
		h    checkpoint.StateHandle
		kind error
	}{
		{checkpoint.StateHandle{Path: "../chk-1/op-ffee-0-keyed", Size: 7}, ErrCorrupt}, // leaves the directory
		{checkpoint.StateHandle{Path: h.Path, Size: 8}, ErrCorrupt},                     // wrong size
		{checkpoint.StateHandle{Path: "op-none", Size: 1}, fs.ErrNotExist},              // missing
		{checkpoint.StateHandle{Path: "s3://b/k", Size: 1}, ErrUnsupported},
	} {
		if _, err := s.ReadState(ctx, loc.Path(), tc.h); !errors.Is(err, tc.kind) {
			t.Errorf("ReadState(%+v) = %v, want %v", tc.h, err, tc.kind)
		}
	}
	if _, err := s.ReadState(ctx, loc.Path(), checkpoint.StateHandle{}); err == nil {
		t.Error("ReadState of a zero handle succeeded")
	}
	// Absolute paths and file:// URIs are read as they are.
	abs := filepath.Join(loc.Path(), h.Path)
	for _, p := range []string{abs, "file://" + abs} {
		if b, err := s.ReadState(ctx, t.TempDir(), checkpoint.StateHandle{Path: p, Size: 7}); err != nil || len(b) != 7 {
			t.Errorf("ReadState(%s) = %q, %v", p, b, err)
		}
	}
}

// A _metadata written by a newer build is intact, just unreadable here:
// LatestCheckpoint stops rather than resume from an older checkpoint.
func TestNewerMetadataVersionIsAnError(t *testing.T) {
	s, base := openStorage(t)
	complete(t, s, 1, chk)
	_, loc := complete(t, s, 2, chk)
	file := filepath.Join(base, testJob, "chk-2", MetadataFile)
	if err := os.WriteFile(file, frame(t, 2, "00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReadMetadata(context.Background(), loc.Path()); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), file) {
		t.Fatalf("ReadMetadata: %v", err)
	}
	if _, _, _, err := s.LatestCheckpoint(context.Background(), testJob); !errors.Is(err, ErrVersion) {
		t.Fatalf("LatestCheckpoint: %v", err)
	}
}

func TestConcurrentWriteState(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	loc, err := s.Begin(ctx, testJob, 1, chk)
	if err != nil {
		t.Fatal(err)
	}
	const subtasks, perSubtask = 32, 4
	md := &checkpoint.Metadata{JobID: testJob, CheckpointID: 1, Kind: checkpoint.KindCheckpoint}
	op := checkpoint.OperatorState{ID: "op", Parallelism: subtasks, MaxParallelism: 128,
		Subtasks: make([]checkpoint.SubtaskState, subtasks)}
	var wg sync.WaitGroup
	errs := make(chan error, subtasks*perSubtask)
	for i := range subtasks {
		for j := range perSubtask {
			wg.Go(func() {
				name := fmt.Sprintf("op-op-%d-%d", i, j)
				h, err := loc.WriteState(ctx, name, []byte(strings.Repeat(name, 100)))
				if err != nil {
					errs <- err
					return
				}
				if j == 0 {
					op.Subtasks[i].Keyed = h // distinct elements: no race
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	md.Operators = []checkpoint.OperatorState{op}
	if err := loc.Commit(ctx, md); err != nil {
		t.Fatal(err)
	}
	got, where, err := s.ReadMetadata(ctx, loc.Path())
	if err != nil || !reflect.DeepEqual(got, md) {
		t.Fatalf("ReadMetadata = %+v, %v", got, err)
	}
	for i := range subtasks {
		wg.Go(func() {
			name := fmt.Sprintf("op-op-%d-0", i)
			b, err := s.ReadState(ctx, where, got.Operators[0].Subtasks[i].Keyed)
			if err != nil || string(b) != strings.Repeat(name, 100) {
				t.Errorf("ReadState(%s) = %d bytes, %v", name, len(b), err)
			}
		})
	}
	wg.Wait()
}

// Concurrent writes race with Commit and Discard: each write either lands
// before the metadata (or the removal) or fails.
func TestWriteStateRacesCommit(t *testing.T) {
	s, _ := openStorage(t)
	ctx := context.Background()
	for id := int64(1); id <= 20; id++ {
		loc, err := s.Begin(ctx, testJob, id, chk)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() { _, _ = loc.WriteState(ctx, fmt.Sprintf("w-%d", i), []byte("x")) })
		}
		wg.Go(func() {
			if id%2 == 0 {
				_ = loc.Discard(ctx)
			} else if err := loc.Commit(ctx, &checkpoint.Metadata{JobID: testJob, CheckpointID: id, Kind: checkpoint.KindCheckpoint}); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if id%2 == 0 {
			if _, err := os.Stat(loc.Path()); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a write landed after Discard: %v", err)
			}
		}
	}
}

func TestSavepointCanBeMoved(t *testing.T) {
	base, spDir := t.TempDir(), t.TempDir()
	s, err := Open(base, "file://"+spDir)
	if err != nil {
		t.Fatal(err)
	}
	md, loc := complete(t, s, 7, checkpoint.Options{Kind: checkpoint.KindSavepoint})
	name := filepath.Base(loc.Path())
	if !regexp.MustCompile(`^savepoint-4f1c2a-[0-9a-f]{12}$`).MatchString(name) {
		t.Fatalf("savepoint directory %q", name)
	}
	if want := "file://" + filepath.Join(spDir, name); loc.Path() != want {
		t.Fatalf("Path() = %q, want %q", loc.Path(), want)
	}
	// Savepoints are not checkpoints: they are not resumed from.
	if id, _ := latest(t, s); id != 0 {
		t.Fatalf("latest = %d", id)
	}

	moved := filepath.Join(t.TempDir(), "kept", "before-upgrade")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(spDir, name), moved); err != nil {
		t.Fatal(err)
	}
	checkRestores(t, s, moved, md)
	checkRestores(t, s, "file://"+moved+"/_metadata", md)
	// A Storage opened elsewhere reads it too: a savepoint needs nothing
	// but its directory.
	other, err := Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	checkRestores(t, other, moved, md)
}

func TestSavepointTargetDir(t *testing.T) {
	s, _ := openStorage(t) // no state.savepoints.dir
	ctx := context.Background()
	sp := checkpoint.Options{Kind: checkpoint.KindSavepoint}
	if _, err := s.Begin(ctx, testJob, 1, sp); err == nil || !strings.Contains(err.Error(), "state.savepoints.dir") {
		t.Fatalf("savepoint without a directory: %v", err)
	}
	target := filepath.Join(t.TempDir(), "new", "dir")
	sp.TargetDir = target
	md, loc := complete(t, s, 1, sp)
	if filepath.Dir(loc.Path()) != target {
		t.Fatalf("savepoint at %s, want in %s", loc.Path(), target)
	}
	checkRestores(t, s, loc.Path(), md)
	// Two savepoints of the same id do not collide.
	_, loc2 := complete(t, s, 1, sp)
	if loc2.Path() == loc.Path() {
		t.Fatal("two savepoints share a directory")
	}
	if err := s.Discard(ctx, loc.Path()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loc.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("savepoint after Discard: %v", err)
	}
	sp.TargetDir = "s3://bucket/sp"
	if _, err := s.Begin(ctx, testJob, 2, sp); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("savepoint to s3: %v", err)
	}
}

func TestWriterWritesIntoAnotherProcesssLocation(t *testing.T) {
	ctx := context.Background()
	st, err := Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	loc, err := st.Begin(ctx, "job", 1, checkpoint.Options{Kind: checkpoint.KindCheckpoint})
	if err != nil {
		t.Fatal(err)
	}
	w, err := st.Writer(loc.Path())
	if err != nil {
		t.Fatal(err)
	}
	h, err := w.WriteState(ctx, "op-1-0-keyed", []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteState(ctx, "_metadata", nil); err == nil {
		t.Error("a writer wrote the reserved name _metadata")
	}
	md := &checkpoint.Metadata{JobID: "job", CheckpointID: 1, Kind: checkpoint.KindCheckpoint,
		Operators: []checkpoint.OperatorState{{ID: "op", Parallelism: 1, MaxParallelism: 128,
			Subtasks: []checkpoint.SubtaskState{{Keyed: h, KeyGroups: keygroup.Range{Start: 0, End: 127}}}}}}
	if err := loc.Commit(ctx, md); err != nil {
		t.Fatal(err)
	}
	_, dir, err := st.ReadMetadata(ctx, loc.Path())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := st.ReadState(ctx, dir, h); err != nil || string(b) != "state" {
		t.Errorf("ReadState = %q, %v", b, err)
	}
	if _, err := st.Writer(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a writer opened a location that does not exist")
	}
}
