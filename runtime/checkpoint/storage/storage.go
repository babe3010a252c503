package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
)

// MetadataFile is the name of the file whose presence makes a checkpoint or
// savepoint complete.
const MetadataFile = "_metadata"

var (
	// ErrIncomplete means that a checkpoint or savepoint has no complete
	// _metadata: it was never committed (or is not a snapshot at all), or
	// its _metadata ends early.
	ErrIncomplete = errors.New("storage: incomplete snapshot")
	// ErrCorrupt means that a snapshot's bytes are not what was written:
	// a _metadata whose checksum or structure is wrong, or a state file
	// that is missing or has the wrong size.
	ErrCorrupt = errors.New("storage: corrupt snapshot")
	// ErrVersion means that a _metadata file has a format version this
	// build cannot read (it was written by a newer runnel).
	ErrVersion = errors.New("storage: unsupported metadata version")
	// ErrUnsupported means that a URI's scheme has no storage yet.
	ErrUnsupported = errors.New("storage: unsupported scheme")
)

// Storage is where a job's checkpoints and savepoints are written: Flink's
// CheckpointStorage.
//
// A Storage is safe for concurrent use: the job master begins, commits and
// discards checkpoints while tasks write their state from many goroutines.
// It holds no open files between calls and needs no closing.
//
// Locations are strings in the form their directory was given in: a
// file:// URI if state.checkpoints.dir (or the savepoint's directory, or
// the path passed to ReadMetadata) was one, an absolute path otherwise.
// Every method accepts both forms.
//
// Errors name the path they concern. Reading a snapshot that is not
// complete fails with an error wrapping ErrIncomplete, ErrCorrupt or
// ErrVersion; a scheme that has no storage yet with ErrUnsupported.
type Storage interface {
	// Begin creates the location of checkpoint or savepoint id of a job.
	// For KindCheckpoint it is <base>/<jobID>/chk-<id>/; a directory left
	// there by an attempt that never committed is emptied first, and a
	// completed checkpoint of the same id is an error, never overwritten.
	// For KindSavepoint it is a new directory
	// <dir>/savepoint-<first 6 characters of jobID>-<12 random hex digits>/
	// where dir is opts.TargetDir, or the storage's savepoint directory if
	// that is empty (an error if both are).
	Begin(ctx context.Context, jobID string, id int64, opts checkpoint.Options) (Location, error)

	// ReadMetadata reads the metadata of a completed checkpoint or
	// savepoint. path is its directory or its _metadata file, with or
	// without the file:// scheme; the second result is its directory, to
	// pass to ReadState. A missing, truncated, corrupt or unknown-version
	// _metadata is an error wrapping ErrIncomplete, ErrCorrupt or
	// ErrVersion that names the path. The returned metadata is the
	// caller's.
	ReadMetadata(ctx context.Context, path string) (*checkpoint.Metadata, string, error)

	// ReadState reads a state file named by a handle of metadata read from
	// location. A relative handle is resolved against location and must
	// stay inside it; an absolute path or file:// URI is read as is. A
	// missing file, or one whose size is not the handle's, is an error
	// wrapping ErrCorrupt. The returned slice is the caller's.
	ReadState(ctx context.Context, location string, h checkpoint.StateHandle) ([]byte, error)

	// LatestCheckpoint finds the completed checkpoint with the highest id
	// under <base>/<jobID>/, to resume a job after the whole process
	// crashed. It skips chk- directories without a valid _metadata (never
	// committed, truncated or corrupt, or naming another job or id); it
	// fails on any other error (a _metadata of a newer format version, an
	// I/O error), because resuming from an older checkpoint than the
	// newest complete one would repeat output that a two-phase-commit
	// sink already committed. ok is false if there is no complete
	// checkpoint.
	LatestCheckpoint(ctx context.Context, jobID string) (md *checkpoint.Metadata, location string, ok bool, err error)

	// Discard deletes a checkpoint or savepoint location with all its
	// files. It deletes _metadata first, so that a discard cut short by a
	// crash leaves an incomplete snapshot, never a complete one with
	// missing files. To protect other data, location must be a chk-<id>
	// or savepoint-* directory. Discarding a location that does not exist
	// is not an error. Discard is clean-up, often after ctx's job was
	// cancelled: ctx bounds how long it may wait for a remote store, and
	// the file storage, which does not wait, ignores it.
	Discard(ctx context.Context, location string) error

	// Writer returns a writer of state files into the location at path,
	// which another process began (Begin) and will commit: the tasks of a
	// job that runs in several processes write their state where the job
	// master began the checkpoint. path is a Location's Path. The
	// location must exist; whether it is still open is the job master's
	// to know: a file written after Commit or Discard is never read.
	Writer(path string) (StateWriter, error)
}

// StateWriter writes the state files of one location, as
// Location.WriteState does. It is safe for concurrent use.
type StateWriter interface {
	WriteState(ctx context.Context, name string, data []byte) (checkpoint.StateHandle, error)
}

// Location is one checkpoint or savepoint being written.
//
// WriteState may be called concurrently, from many goroutines, with
// distinct names; Commit and Discard wait for the WriteState calls in
// progress, and after either of them WriteState fails. A Location is used
// for one attempt: after Commit or Discard it only accepts Discard.
type Location interface {
	// Path is the location's directory, in the form ReadMetadata,
	// ReadState and Storage.Discard accept.
	Path() string

	// WriteState writes one state file durably (to a temporary name, then
	// fsync, rename and fsync of the directory) and returns its handle,
	// relative to the location. name must be a simple file name such as
	// "op-<id>-<subtask>-keyed": not empty, ".", "..", nor containing a
	// path separator, and neither beginning with "_" nor containing
	// ".tmp-" (reserved for the storage's own files and temporary files).
	// Writing a name twice replaces the file.
	// data is not retained.
	WriteState(ctx context.Context, name string, data []byte) (checkpoint.StateHandle, error)

	// Commit writes _metadata atomically and durably (temporary name,
	// fsync, rename, fsync of the directory). Once it returns nil the
	// snapshot is complete; until then it is not, whatever else is on
	// disk. md must be this location's job, id and kind, and every
	// relative handle in it must name a file written here with its size.
	Commit(ctx context.Context, md *checkpoint.Metadata) error

	// Discard removes the location and everything in it (an aborted
	// checkpoint, or a completed one that is no longer retained). It may
	// be called more than once, and, like Storage.Discard, it does not
	// give up because ctx is done.
	Discard(ctx context.Context) error
}

// Open returns the storage for the base directory uri
// (state.checkpoints.dir): "file:///abs/dir" or a plain absolute or
// relative path is a directory of the local file system (or a mounted
// shared one); a relative path is made absolute now. Other schemes
// ("s3://", "hdfs://") are not supported yet. savepointDir
// (state.savepoints.dir) is the default target of savepoints; it may be
// empty, and then every savepoint needs a target directory.
//
// Open creates no directory: the storage creates what it needs when a
// checkpoint begins.
func Open(uri string, savepointDir string) (Storage, error) {
	if strings.TrimSpace(uri) == "" {
		return nil, fmt.Errorf("storage: %s is not set: checkpoints need a directory (a path or file:// URI)", config.CheckpointsDir)
	}
	base, err := parseDir(uri, config.CheckpointsDir.Key()+" = "+uri)
	if err != nil {
		return nil, err
	}
	s := &fileStorage{base: base}
	if savepointDir != "" {
		sp, err := parseDir(savepointDir, config.SavepointsDir.Key()+" = "+savepointDir)
		if err != nil {
			return nil, err
		}
		s.savepoints = &sp
	}
	return s, nil
}

// localDir is a directory of the local file system and the form it is shown in.
type localDir struct {
	path string // absolute, cleaned, in the OS's form
	uri  bool   // shown as a file:// URI
}

func (d localDir) String() string {
	if d.uri {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(d.path)}).String()
	}
	return d.path
}

// join returns the directory elem below d, shown in d's form.
func (d localDir) join(elem ...string) localDir {
	return localDir{path: filepath.Join(append([]string{d.path}, elem...)...), uri: d.uri}
}

// parseDir parses a path or URI; source says where it came from, for
// errors ("state.checkpoints.dir = s3://x").
func parseDir(s, source string) (localDir, error) {
	if strings.HasPrefix(strings.ToLower(s), "file:") {
		u, err := url.Parse(s)
		if err != nil {
			return localDir{}, fmt.Errorf("storage: %s is not a valid URI: %w", source, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return localDir{}, fmt.Errorf("storage: %s: a file:// URI cannot name host %q (mount the shared file system and use its local path)", source, u.Host)
		}
		if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
			return localDir{}, fmt.Errorf("storage: %s: a file:// URI needs an absolute path (file:///dir)", source)
		}
		return localDir{path: filepath.Clean(filepath.FromSlash(u.Path)), uri: true}, nil
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok {
		return localDir{}, &kindError{kind: ErrUnsupported,
			msg: fmt.Sprintf("storage: scheme %q is not supported yet (%s)", scheme, source)}
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return localDir{}, fmt.Errorf("storage: %s: %w", source, err)
	}
	return localDir{path: abs}, nil
}

// kindError is an error with its own message that wraps a sentinel error
// and, if there is one, its cause.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string { return e.msg }

func (e *kindError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// checkName checks a job ID or a state file name: it becomes a directory
// or file name, so it must be one.
func checkName(what, name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("storage: %s %q is not a file name", what, name)
	case strings.ContainsAny(name, `/\`+"\x00"):
		return fmt.Errorf("storage: %s %q contains a path separator or NUL", what, name)
	}
	return nil
}
