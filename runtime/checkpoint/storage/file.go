package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
)

const (
	checkpointPrefix = "chk-"
	savepointPrefix  = "savepoint-"
	// tmpInfix marks a file being written: <name>.tmp-<random hex>. Such a
	// file is renamed to <name> once durable; one left behind by a crash is
	// never read.
	tmpInfix = ".tmp-"
	dirPerm  = 0o755
	filePerm = 0o666 // before the umask, as os.Create
)

// fileStorage keeps snapshots in directories of the local file system (or
// of a shared file system mounted at the same path on every machine). It
// holds no mutable state, so it is safe for concurrent use.
type fileStorage struct {
	base       localDir
	savepoints *localDir // nil if state.savepoints.dir is not set
}

func (s *fileStorage) Begin(ctx context.Context, jobID string, id int64, opts checkpoint.Options) (Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: begin %v %d of job %s: %w", opts.Kind, id, jobID, err)
	}
	if err := checkName("job ID", jobID); err != nil {
		return nil, err
	}
	if id < 0 {
		return nil, fmt.Errorf("storage: begin %v %d of job %s: negative id", opts.Kind, id, jobID)
	}
	switch opts.Kind {
	case checkpoint.KindCheckpoint:
		return s.beginCheckpoint(jobID, id)
	case checkpoint.KindSavepoint:
		return s.beginSavepoint(jobID, id, opts.TargetDir)
	}
	return nil, fmt.Errorf("storage: begin %d of job %s: unknown kind %v", id, jobID, opts.Kind)
}

func (s *fileStorage) beginCheckpoint(jobID string, id int64) (Location, error) {
	jobDir := s.base.join(jobID)
	loc := jobDir.join(checkpointDirName(id))
	if err := os.MkdirAll(jobDir.path, dirPerm); err != nil {
		return nil, fmt.Errorf("storage: begin checkpoint %d: %w", id, err)
	}
	err := os.Mkdir(loc.path, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		// An earlier attempt at this id (before a crash, or by a job
		// resumed from an older checkpoint) got this far. If it committed,
		// keep it; if not, nothing refers to its files.
		_, rerr := readMetadataFile(loc.join(MetadataFile))
		switch {
		case rerr == nil:
			return nil, fmt.Errorf("storage: begin checkpoint %d: %s is a complete checkpoint; it is never overwritten", id, loc)
		case !errors.Is(rerr, ErrIncomplete) && !errors.Is(rerr, ErrCorrupt):
			return nil, fmt.Errorf("storage: begin checkpoint %d: %w", id, rerr)
		}
		if err := removeSnapshot(loc); err != nil {
			return nil, fmt.Errorf("storage: begin checkpoint %d: clear the incomplete attempt at %s: %w", id, loc, err)
		}
		err = os.Mkdir(loc.path, dirPerm)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: begin checkpoint %d: %w", id, err)
	}
	// The new directory entries must survive a crash as well as the files
	// in them.
	if err := syncDir(jobDir.path); err != nil {
		return nil, fmt.Errorf("storage: begin checkpoint %d: %w", id, err)
	}
	if err := syncDir(s.base.path); err != nil {
		return nil, fmt.Errorf("storage: begin checkpoint %d: %w", id, err)
	}
	return &fileLocation{dir: loc, jobID: jobID, id: id, kind: checkpoint.KindCheckpoint}, nil
}

func (s *fileStorage) beginSavepoint(jobID string, id int64, target string) (Location, error) {
	var parent localDir
	switch {
	case target != "":
		d, err := parseDir(target, "savepoint target directory = "+target)
		if err != nil {
			return nil, err
		}
		parent = d
	case s.savepoints != nil:
		parent = *s.savepoints
	default:
		return nil, fmt.Errorf("storage: savepoint %d of job %s has no target directory: set %s or give the savepoint a target directory", id, jobID, config.SavepointsDir)
	}
	if err := os.MkdirAll(parent.path, dirPerm); err != nil {
		return nil, fmt.Errorf("storage: begin savepoint %d: %w", id, err)
	}
	prefix := jobID
	if r := []rune(jobID); len(r) > 6 {
		prefix = string(r[:6])
	}
	var loc localDir
	for attempt := 0; ; attempt++ {
		loc = parent.join(savepointPrefix + prefix + "-" + randomHex(6))
		err := os.Mkdir(loc.path, dirPerm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt == 9 {
			return nil, fmt.Errorf("storage: begin savepoint %d: %w", id, err)
		}
	}
	if err := syncDir(parent.path); err != nil {
		return nil, fmt.Errorf("storage: begin savepoint %d: %w", id, err)
	}
	return &fileLocation{dir: loc, jobID: jobID, id: id, kind: checkpoint.KindSavepoint}, nil
}

func (s *fileStorage) ReadMetadata(ctx context.Context, path string) (*checkpoint.Metadata, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("storage: read metadata of %s: %w", path, err)
	}
	d, err := parseDir(path, path)
	if err != nil {
		return nil, "", err
	}
	loc, file := d, d.join(MetadataFile)
	if filepath.Base(d.path) == MetadataFile {
		loc, file = localDir{path: filepath.Dir(d.path), uri: d.uri}, d
	} else if fi, err := os.Stat(d.path); err == nil && fi.Mode().IsRegular() {
		loc, file = localDir{path: filepath.Dir(d.path), uri: d.uri}, d
	}
	md, err := readMetadataFile(file)
	if err != nil {
		return nil, "", err
	}
	return md, loc.String(), nil
}

// readMetadataFile reads and decodes a _metadata file; its errors name it.
func readMetadataFile(file localDir) (*checkpoint.Metadata, error) {
	b, err := os.ReadFile(file.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &kindError{kind: ErrIncomplete, cause: err,
				msg: fmt.Sprintf("%s: %s does not exist: the snapshot was never committed, or this is not a checkpoint or savepoint", ErrIncomplete, file)}
		}
		return nil, fmt.Errorf("storage: read %s: %w", file, err)
	}
	md, derr := decodeMetadata(b)
	if derr != nil {
		return nil, derr.prefixed(file.String())
	}
	return md, nil
}

func (s *fileStorage) ReadState(ctx context.Context, location string, h checkpoint.StateHandle) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: read state %s in %s: %w", h.Path, location, err)
	}
	if h.IsZero() {
		return nil, fmt.Errorf("storage: read state in %s: empty handle", location)
	}
	d, err := parseDir(location, location)
	if err != nil {
		return nil, err
	}
	path, err := resolveHandle(d, h)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &kindError{kind: ErrCorrupt, cause: err,
				msg: fmt.Sprintf("%s: state file %s is missing", ErrCorrupt, path)}
		}
		return nil, fmt.Errorf("storage: read state: %w", err)
	}
	if int64(len(b)) != h.Size {
		return nil, &kindError{kind: ErrCorrupt,
			msg: fmt.Sprintf("%s: state file %s has %d bytes, its handle says %d", ErrCorrupt, path, len(b), h.Size)}
	}
	return b, nil
}

// resolveHandle returns the local path of a handle of a snapshot in d.
func resolveHandle(d localDir, h checkpoint.StateHandle) (string, error) {
	p := h.Path
	if strings.HasPrefix(strings.ToLower(p), "file:") || strings.Contains(p, "://") {
		hd, err := parseDir(p, "state handle "+p)
		return hd.path, err
	}
	local := filepath.FromSlash(p)
	if filepath.IsAbs(local) {
		return filepath.Clean(local), nil
	}
	if !filepath.IsLocal(local) {
		return "", &kindError{kind: ErrCorrupt,
			msg: fmt.Sprintf("%s: state handle %q leaves the snapshot directory %s", ErrCorrupt, p, d)}
	}
	return filepath.Join(d.path, local), nil
}

func (s *fileStorage) LatestCheckpoint(ctx context.Context, jobID string) (*checkpoint.Metadata, string, bool, error) {
	if err := checkName("job ID", jobID); err != nil {
		return nil, "", false, err
	}
	jobDir := s.base.join(jobID)
	entries, err := os.ReadDir(jobDir.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("storage: find the latest checkpoint of job %s: %w", jobID, err)
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := parseCheckpointDirName(e.Name()); ok && e.IsDir() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Backward(ids) {
		if err := ctx.Err(); err != nil {
			return nil, "", false, fmt.Errorf("storage: find the latest checkpoint of job %s: %w", jobID, err)
		}
		loc := jobDir.join(checkpointDirName(id))
		md, err := readMetadataFile(loc.join(MetadataFile))
		switch {
		case errors.Is(err, ErrIncomplete), errors.Is(err, ErrCorrupt):
			continue // never committed, or damaged: not a checkpoint
		case err != nil:
			return nil, "", false, fmt.Errorf("storage: find the latest checkpoint of job %s: %w", jobID, err)
		case md.JobID != jobID || md.CheckpointID != id || md.Kind != checkpoint.KindCheckpoint:
			continue // copied from elsewhere: not this job's checkpoint id
		}
		return md, loc.String(), true, nil
	}
	return nil, "", false, nil
}

func (s *fileStorage) Discard(ctx context.Context, location string) error {
	d, err := parseDir(location, location)
	if err != nil {
		return err
	}
	name := filepath.Base(d.path)
	if _, ok := parseCheckpointDirName(name); !ok && !strings.HasPrefix(name, savepointPrefix) {
		return fmt.Errorf("storage: discard %s: not a checkpoint (%s<id>) or savepoint (%s*) directory", location, checkpointPrefix, savepointPrefix)
	}
	return removeSnapshot(d)
}

// locationState is where a fileLocation is in its life.
type locationState uint8

const (
	stateOpen locationState = iota
	stateCommitted
	stateDiscarded
)

func (s locationState) String() string {
	return [...]string{"open", "committed", "discarded"}[s]
}

// fileLocation is a snapshot directory being written.
type fileLocation struct {
	dir   localDir
	jobID string
	id    int64
	kind  checkpoint.Kind

	// mu is held shared by WriteState and exclusively by Commit and
	// Discard, so that no write lands after the metadata or the removal.
	mu    sync.RWMutex
	state locationState
}

func (l *fileLocation) Path() string { return l.dir.String() }

func (l *fileLocation) WriteState(ctx context.Context, name string, data []byte) (checkpoint.StateHandle, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.state != stateOpen {
		return checkpoint.StateHandle{}, fmt.Errorf("storage: write %s: %s is %s", name, l.dir, l.state)
	}
	return stateWriter{l.dir}.WriteState(ctx, name, data)
}

func (s *fileStorage) Writer(path string) (StateWriter, error) {
	d, err := parseDir(path, "checkpoint location "+path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(d.path); err != nil {
		return nil, fmt.Errorf("storage: checkpoint location: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("storage: checkpoint location %s is not a directory", d)
	}
	return stateWriter{d}, nil
}

// stateWriter writes into a location another process began.
type stateWriter struct{ dir localDir }

func (w stateWriter) WriteState(ctx context.Context, name string, data []byte) (checkpoint.StateHandle, error) {
	if err := ctx.Err(); err != nil {
		return checkpoint.StateHandle{}, fmt.Errorf("storage: write %s in %s: %w", name, w.dir, err)
	}
	if err := checkStateName(name); err != nil {
		return checkpoint.StateHandle{}, err
	}
	if err := writeDurably(w.dir.path, name, data); err != nil {
		return checkpoint.StateHandle{}, err
	}
	return checkpoint.StateHandle{Path: name, Size: int64(len(data))}, nil
}

func checkStateName(name string) error {
	if err := checkName("state file name", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "_") || strings.Contains(name, tmpInfix) {
		return fmt.Errorf("storage: state file name %q is reserved (it begins with _ or contains %s)", name, tmpInfix)
	}
	return nil
}

func (l *fileLocation) Commit(ctx context.Context, md *checkpoint.Metadata) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: commit %s: %w", l.dir, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.state != stateOpen:
		return fmt.Errorf("storage: commit %s: it is %s", l.dir, l.state)
	case md == nil:
		return fmt.Errorf("storage: commit %s: nil metadata", l.dir)
	case md.JobID != l.jobID || md.CheckpointID != l.id || md.Kind != l.kind:
		return fmt.Errorf("storage: commit %s: the metadata is of %v %d of job %s, the location of %v %d of job %s",
			l.dir, md.Kind, md.CheckpointID, md.JobID, l.kind, l.id, l.jobID)
	}
	if err := l.checkHandles(md); err != nil {
		return err
	}
	b, err := EncodeMetadata(md)
	if err != nil {
		return err
	}
	if err := writeDurably(l.dir.path, MetadataFile, b); err != nil {
		return err
	}
	l.state = stateCommitted
	return nil
}

// checkHandles checks that every file md refers to exists with its size:
// a complete snapshot never refers to a file that is not there.
func (l *fileLocation) checkHandles(md *checkpoint.Metadata) error {
	check := func(op *checkpoint.OperatorState, subtask int, h checkpoint.StateHandle) error {
		if h.IsZero() {
			return nil
		}
		path, err := resolveHandle(l.dir, h)
		if err == nil {
			var fi fs.FileInfo
			if fi, err = os.Stat(path); err == nil && fi.Size() != h.Size {
				err = fmt.Errorf("it has %d bytes, its handle says %d", fi.Size(), h.Size)
			}
		}
		if err != nil {
			return fmt.Errorf("storage: commit %s: operator %q (%d/%d): state file %s: %w", l.dir, op.Name, subtask+1, len(op.Subtasks), h.Path, err)
		}
		return nil
	}
	for i := range md.Operators {
		op := &md.Operators[i]
		for j, st := range op.Subtasks {
			if err := check(op, j, st.Keyed); err != nil {
				return err
			}
			if err := check(op, j, st.Operator); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *fileLocation) Discard(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = stateDiscarded
	return removeSnapshot(l.dir)
}

// writeDurably writes data to dirPath/name so that after it returns nil
// the file survives a crash, and before it, the name does not exist or has
// its previous content: a temporary file is written and fsynced, then
// renamed to name, then the directory is fsynced.
func writeDurably(dirPath, name string, data []byte) error {
	final := filepath.Join(dirPath, name)
	tmp, f, err := createTemp(dirPath, name)
	if err != nil {
		return fmt.Errorf("storage: write %s: %w", final, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: write %s: %w", final, err)
	}
	if err := syncDir(dirPath); err != nil {
		return fmt.Errorf("storage: write %s: %w", final, err)
	}
	return nil
}

// createTemp creates dirPath/<name>.tmp-<random hex>.
func createTemp(dirPath, name string) (string, *os.File, error) {
	for attempt := 0; ; attempt++ {
		p := filepath.Join(dirPath, name+tmpInfix+randomHex(8))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if errors.Is(err, fs.ErrExist) && attempt < 9 {
			continue
		}
		return p, f, err
	}
}

// removeAll is os.RemoveAll; tests replace it to cut a discard short.
var removeAll = os.RemoveAll

// removeSnapshot deletes a snapshot directory: its _metadata first (and
// durably), so that a removal cut short leaves an incomplete snapshot
// rather than a complete one with files missing.
func removeSnapshot(d localDir) error {
	err := os.Remove(filepath.Join(d.path, MetadataFile))
	switch {
	case err == nil:
		if err := syncDir(d.path); err != nil {
			return fmt.Errorf("storage: discard %s: %w", d, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("storage: discard %s: %w", d, err)
	}
	if err := removeAll(d.path); err != nil {
		return fmt.Errorf("storage: discard %s: %w", d, err)
	}
	if err := syncDir(filepath.Dir(d.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: discard %s: %w", d, err)
	}
	return nil
}

// syncDir fsyncs a directory, so that the entries created, renamed or
// removed in it are durable.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) {
		// Some file systems (several FUSE and network ones) cannot fsync
		// a directory; their metadata is made durable by the server.
		err = nil
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func checkpointDirName(id int64) string {
	return checkpointPrefix + strconv.FormatInt(id, 10)
}

// parseCheckpointDirName parses chk-<id>, accepting only the form
// checkpointDirName writes.
func parseCheckpointDirName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 || checkpointDirName(id) != name {
		return 0, false
	}
	return id, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
