package filesink

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/runnel-io/runnel/stream"
)

// Sink writes records as rows into part files under a directory, exactly
// once: a stream.TwoPhaseCommitSink[T, Committable] for
// stream.SinkToTwoPhase. See the package documentation for the files it
// writes. A Sink holds only its configuration: the subtasks of a job share
// it.
type Sink[T any] struct {
	dir      string
	encode   func(dst []byte, v T) []byte
	assigner BucketAssigner[T]
	policy   RollingPolicy
	files    OutputFileConfig
	err      error // of the configuration, reported when the job runs
}

// Committable is a part file awaiting its commit: paths relative to the
// sink's directory, slash-separated.
type Committable struct {
	// Bucket is the part file's bucket ("" for the directory itself).
	Bucket string
	// Pending is the closed, durable part file, hidden, as the writer left
	// it: <bucket>/.<prefix>-<writerID>-<counter><suffix>.pending.
	Pending string
	// Final is the name it is committed to:
	// <bucket>/<prefix>-<writerID>-<counter><suffix>.
	Final string
}

// OutputFileConfig sets the names of part files:
// <Prefix>-<writerID>-<counter><Suffix>. Neither may contain a path
// separator.
type OutputFileConfig struct {
	// Prefix defaults to "part".
	Prefix string
	// Suffix (an extension such as ".csv") defaults to none.
	Suffix string
}

// Option configures a Sink.
type Option[T any] func(*Sink[T])

// WithEncoder sets how a record becomes bytes in a part file: encode
// appends the encoding of v to dst and returns the extended slice. The
// default writes fmt's %v and a newline. It is called from the subtasks'
// goroutines, concurrently when the sink runs in parallel.
func WithEncoder[T any](encode func(dst []byte, v T) []byte) Option[T] {
	return func(s *Sink[T]) { s.encode = encode }
}

// WithBucketAssigner sets how records are put into buckets (the default is
// a DateTimeBucketAssigner with its defaults: one bucket per hour of
// processing time, local time).
func WithBucketAssigner[T any](a BucketAssigner[T]) Option[T] {
	return func(s *Sink[T]) { s.assigner = a }
}

// WithRollingPolicy sets when part files roll (see RollingPolicy for the
// defaults).
func WithRollingPolicy[T any](p RollingPolicy) Option[T] {
	return func(s *Sink[T]) { s.policy = p }
}

// WithOutputFileConfig sets the prefix and suffix of part file names.
func WithOutputFileConfig[T any](c OutputFileConfig) Option[T] {
	return func(s *Sink[T]) { s.files = c }
}

// New returns a file sink that writes under dir, which it creates if need
// be. A mistake in the options is reported when the job starts, by the
// sink's CreateWriter and CreateCommitter.
func New[T any](dir string, opts ...Option[T]) *Sink[T] {
	s := &Sink[T]{
		dir:      dir,
		encode:   func(dst []byte, v T) []byte { return fmt.Appendf(dst, "%v\n", v) },
		assigner: DateTimeBucketAssigner[T]{},
	}
	for _, o := range opts {
		o(s)
	}
	s.policy = s.policy.withDefaults()
	if s.files.Prefix == "" {
		s.files.Prefix = "part"
	}
	s.err = s.validate()
	return s
}

func (s *Sink[T]) validate() error {
	var err error
	switch {
	case s.dir == "":
		return errors.New("filesink: no directory")
	case s.encode == nil:
		err = errors.New("nil encoder")
	case s.assigner == nil:
		err = errors.New("nil bucket assigner")
	case strings.ContainsAny(s.files.Prefix+s.files.Suffix, `/\`):
		err = fmt.Errorf("output file prefix %q or suffix %q holds a path separator", s.files.Prefix, s.files.Suffix)
	case strings.HasPrefix(s.files.Prefix, "."):
		err = fmt.Errorf("output file prefix %q starts with a dot: finished files would be hidden", s.files.Prefix)
	default:
		err = s.policy.validate()
	}
	if err != nil {
		return fmt.Errorf("filesink: %s: %w", s.dir, err)
	}
	return nil
}

// CreateWriter implements stream.TwoPhaseCommitSink. The writer's ID is
// the subtask's index and 8 random hex digits, so that no two writers,
// in this or any attempt or run, name a file alike.
func (s *Sink[T]) CreateWriter(_ context.Context, rc *stream.RuntimeContext) (stream.PrecommittingWriter[T, Committable], error) {
	if s.err != nil {
		return nil, s.err
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("filesink: %s: writer ID: %w", s.dir, err)
	}
	if err := mkdirAll(s.dir); err != nil {
		return nil, fmt.Errorf("filesink: creating %s: %w", s.dir, err)
	}
	return &writer[T]{
		s:         s,
		rc:        rc,
		id:        fmt.Sprintf("%d-%08x", rc.Subtask, binary.BigEndian.Uint32(r[:])),
		parts:     make(map[string]*part),
		dirs:      make(map[string]bool),
		nextCheck: math.MaxInt64,
	}, nil
}

// CreateCommitter implements stream.TwoPhaseCommitSink.
func (s *Sink[T]) CreateCommitter(context.Context, *stream.RuntimeContext) (stream.Committer[Committable], error) {
	if s.err != nil {
		return nil, s.err
	}
	return committer{dir: s.dir}, nil
}

// Recover implements stream.TwoPhaseCommitRecoverer: it removes the
// in-progress and pending files of the writers of the earlier subtasks the
// subtask owns (see the package documentation).
func (s *Sink[T]) Recover(ctx context.Context, rc *stream.RuntimeContext, owns func(subtask int) bool) error {
	if s.err != nil {
		return s.err
	}
	removed := 0
	err := filepath.WalkDir(s.dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the directory is new, or a bucket was removed
			}
			return err
		}
		if d.IsDir() {
			return ctx.Err()
		}
		k, ok := s.files.parseHidden(d.Name())
		if !ok || !d.Type().IsRegular() || !owns(k) {
			return nil
		}
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("filesink: cleaning up %s: %w", s.dir, err)
	}
	if removed > 0 && rc.Logger != nil {
		rc.Logger.Info("filesink: removed the uncommitted files of earlier attempts", "dir", s.dir, "files", removed)
	}
	return nil
}

// parseHidden parses the name of an in-progress or pending file,
// .<prefix>-<subtask>-<8 hex digits>-<counter><suffix>.{inprogress,pending},
// and returns the subtask of the writer that wrote it.
func (c OutputFileConfig) parseHidden(name string) (subtask int, ok bool) {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return 0, false
	}
	if r, ok := strings.CutSuffix(rest, inProgressExt); ok {
		rest = r
	} else if r, ok := strings.CutSuffix(rest, pendingExt); ok {
		rest = r
	} else {
		return 0, false
	}
	if rest, ok = strings.CutPrefix(rest, c.Prefix+"-"); !ok {
		return 0, false
	}
	if rest, ok = strings.CutSuffix(rest, c.Suffix); !ok {
		return 0, false
	}
	fields := strings.Split(rest, "-")
	if len(fields) != 3 || !isDecimal(fields[0]) || !isDecimal(fields[2]) || len(fields[1]) != 8 || strings.Trim(fields[1], "0123456789abcdef") != "" {
		return 0, false
	}
	k, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, false
	}
	return k, true
}

// isDecimal reports whether s is a decimal number as the writer writes one.
func isDecimal(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// writer is the PrecommittingWriter of one subtask.
type writer[T any] struct {
	s  *Sink[T]
	rc *stream.RuntimeContext
	id string // <subtask>-<8 hex digits>

	counter int64            // of the next part
	parts   map[string]*part // the open part of each bucket that has one
	dirs    map[string]bool  // bucket directories known to exist
	// ready holds the parts rolled since the last PrepareCommit.
	ready []Committable
	// nextCheck is a processing time no later than the earliest at which
	// an open part rolls on time; MaxInt64 when none is open.
	nextCheck int64
	buf       []byte
}

// Write implements stream.SinkWriter.
func (w *writer[T]) Write(v T, ts int64) error {
	now := w.rc.ProcessingTime()
	if err := w.rollDue(now); err != nil {
		return err
	}
	bucket := w.s.assigner.BucketID(v, BucketContext{ProcessingTime: now, Timestamp: ts})
	p := w.parts[bucket]
	if p == nil {
		var err error
		if p, err = w.open(bucket, now); err != nil {
			return err
		}
	}
	w.buf = w.s.encode(w.buf[:0], v)
	if err := p.write(w.buf, now); err != nil {
		return err
	}
	if p.size >= w.s.policy.PartSize {
		return w.roll(p)
	}
	return nil
}

// open starts a new part in bucket.
func (w *writer[T]) open(bucket string, now int64) (*part, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, fmt.Errorf("filesink: %s: %w", w.s.dir, err)
	}
	dir := filepath.Join(w.s.dir, filepath.FromSlash(bucket))
	if !w.dirs[bucket] {
		if err := mkdirAll(dir); err != nil {
			return nil, fmt.Errorf("filesink: creating bucket %s: %w", dir, err)
		}
		w.dirs[bucket] = true
	}
	name := w.s.files.Prefix + "-" + w.id + "-" + strconv.FormatInt(w.counter, 10) + w.s.files.Suffix
	p, err := openPart(bucket, dir, name, now)
	if err != nil {
		return nil, err
	}
	w.counter++
	w.parts[bucket] = p
	w.nextCheck = min(w.nextCheck, w.s.policy.firstDue(now))
	return p, nil
}

// roll closes p into a pending file, ready for the next PrepareCommit.
func (w *writer[T]) roll(p *part) error {
	delete(w.parts, p.bucket)
	if err := p.close(); err != nil {
		return err
	}
	w.ready = append(w.ready, p.committable())
	return nil
}

// rollDue rolls the parts that are due by the rolling policy's intervals
// at processing time now.
func (w *writer[T]) rollDue(now int64) error {
	if now < w.nextCheck {
		return nil
	}
	w.nextCheck = math.MaxInt64
	for _, b := range w.buckets() {
		p := w.parts[b]
		due := w.s.policy.dueAt(p.opened, p.lastWrite)
		if now < due {
			w.nextCheck = min(w.nextCheck, due)
			continue
		}
		if err := w.roll(p); err != nil {
			return err
		}
	}
	return nil
}

// buckets returns the buckets with an open part, sorted, so that parts
// roll in an order that does not depend on map iteration.
func (w *writer[T]) buckets() []string {
	bs := make([]string, 0, len(w.parts))
	for b := range w.parts {
		bs = append(bs, b)
	}
	slices.Sort(bs)
	return bs
}

// Flush implements stream.SinkWriter: when the input runs dry, the parts
// that are due by the rolling policy roll.
func (w *writer[T]) Flush(endOfInput bool) error {
	if endOfInput {
		return nil // the last PrepareCommit rolls what is open
	}
	return w.rollDue(w.rc.ProcessingTime())
}

// PrepareCommit implements stream.PrecommittingWriter: every open part
// rolls, and the committables are the parts rolled since the last call.
func (w *writer[T]) PrepareCommit() ([]Committable, error) {
	for _, b := range w.buckets() {
		if err := w.roll(w.parts[b]); err != nil {
			return nil, err
		}
	}
	w.nextCheck = math.MaxInt64
	cs := w.ready
	w.ready = nil
	return cs, nil
}

// Close implements stream.SinkWriter. It removes what belongs to no
// committable: the open parts' in-progress files and the pending files not
// handed to PrepareCommit's caller, left after a failure.
func (w *writer[T]) Close() error {
	var errs []error
	for _, b := range w.buckets() {
		errs = append(errs, w.parts[b].discard())
		delete(w.parts, b)
	}
	for _, c := range w.ready {
		file := filepath.Join(w.s.dir, filepath.FromSlash(c.Pending))
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("filesink: removing %s: %w", file, err))
		}
	}
	w.ready = nil
	return errors.Join(errs...)
}

// committer commits part files by renaming them.
type committer struct{ dir string }

// Commit implements stream.Committer: each pending file is renamed to its
// finished name, and the renames are made durable. A committable whose
// pending file is gone but whose finished file exists was committed
// before; one with neither is an error. Renames do not block, so Commit
// does not heed ctx: a commit that a notification started while the subtask
// is being cancelled completes rather than failing with an error of its own.
func (c committer) Commit(_ context.Context, cs []Committable) error {
	var dirs []string
	for _, cm := range cs {
		if err := errors.Join(checkBucket(cm.Bucket), checkBucket(cm.Pending), checkBucket(cm.Final)); err != nil {
			return fmt.Errorf("filesink: committing %q (to %q, bucket %q) in %s: %w", cm.Pending, cm.Final, cm.Bucket, c.dir, err)
		}
		pending := filepath.Join(c.dir, filepath.FromSlash(cm.Pending))
		final := filepath.Join(c.dir, filepath.FromSlash(cm.Final))
		err := os.Rename(pending, final)
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Lstat(final); serr != nil {
				if errors.Is(serr, fs.ErrNotExist) {
					return fmt.Errorf("filesink: committing %s: neither it nor the finished file %s exists: %w", pending, final, err)
				}
				return fmt.Errorf("filesink: committing %s: %w", pending, serr)
			}
			err = nil // committed before
		}
		if err != nil {
			return fmt.Errorf("filesink: committing %s: %w", pending, err)
		}
		if d := filepath.Dir(final); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("filesink: committing in %s: %w", d, err)
		}
	}
	return nil
}

// Close implements stream.Committer.
func (committer) Close() error { return nil }

var (
	_ stream.TwoPhaseCommitSink[int, Committable] = (*Sink[int])(nil)
	_ stream.TwoPhaseCommitRecoverer              = (*Sink[int])(nil)
)
