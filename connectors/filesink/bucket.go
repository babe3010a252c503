package filesink

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"
)

// BucketContext is what a BucketAssigner may base a record's bucket on.
type BucketContext struct {
	// ProcessingTime is the subtask's processing time when the record is
	// written, in milliseconds since the Unix epoch.
	ProcessingTime int64
	// Timestamp is the record's event timestamp, or math.MinInt64 if it
	// has none.
	Timestamp int64
}

// BucketAssigner chooses the bucket (the sub-directory of the sink's
// directory) of each record: Flink's BucketAssigner. A bucket ID is a
// slash-separated path relative to the directory, "" for the directory
// itself; it must be local (filepath.IsLocal: no "..", not absolute). It
// is called from the subtasks' goroutines, concurrently when the sink runs
// in parallel, and must not keep v.
type BucketAssigner[T any] interface {
	BucketID(v T, ctx BucketContext) string
}

// BucketAssignerFunc adapts a function to BucketAssigner.
type BucketAssignerFunc[T any] func(v T, ctx BucketContext) string

// BucketID implements BucketAssigner.
func (f BucketAssignerFunc[T]) BucketID(v T, ctx BucketContext) string { return f(v, ctx) }

// DefaultDateTimeLayout is the default Layout of DateTimeBucketAssigner:
// one bucket per hour.
const DefaultDateTimeLayout = "2006-01-02--15"

// DateTimeBucketAssigner puts records into buckets by the processing time
// at which they are written, formatted with Layout (time.Format; default
// DefaultDateTimeLayout, one bucket per hour) in Location (default
// time.Local). It is the default assigner, as in Flink. A Layout with
// slashes makes nested buckets ("2006/01/02").
type DateTimeBucketAssigner[T any] struct {
	Layout   string
	Location *time.Location
}

// BucketID implements BucketAssigner.
func (a DateTimeBucketAssigner[T]) BucketID(_ T, ctx BucketContext) string {
	layout, loc := a.Layout, a.Location
	if layout == "" {
		layout = DefaultDateTimeLayout
	}
	if loc == nil {
		loc = time.Local
	}
	return time.UnixMilli(ctx.ProcessingTime).In(loc).Format(layout)
}

// BasePathBucketAssigner puts every record directly into the sink's
// directory.
type BasePathBucketAssigner[T any] struct{}

// BucketID implements BucketAssigner.
func (BasePathBucketAssigner[T]) BucketID(T, BucketContext) string { return "" }

// checkBucket reports a bucket ID that is not a local path.
func checkBucket(id string) error {
	if id == "" {
		return nil
	}
	if !filepath.IsLocal(filepath.FromSlash(id)) || path.Clean(id) != id {
		return fmt.Errorf("bucket ID %q is not a clean path inside the directory", id)
	}
	return nil
}

// part is a writer's in-progress part file in one bucket.
type part struct {
	bucket string // the bucket ID
	dir    string // the bucket's directory
	name   string // the finished file's name: <prefix>-<writerID>-<counter><suffix>
	f      *os.File
	w      *bufio.Writer
	size   int64
	// opened and lastWrite are processing times in milliseconds.
	opened, lastWrite int64
}

// File names of a part called name in its three states.
func inProgressName(name string) string { return "." + name + inProgressExt }
func pendingName(name string) string    { return "." + name + pendingExt }

const (
	inProgressExt = ".inprogress"
	pendingExt    = ".pending"
)

// committable returns the committable of p once rolled: paths relative to
// the sink's directory, slash-separated.
func (p *part) committable() Committable {
	return Committable{
		Bucket:  p.bucket,
		Pending: path.Join(p.bucket, pendingName(p.name)),
		Final:   path.Join(p.bucket, p.name),
	}
}

// openPart creates the in-progress file of a new part.
func openPart(bucket, dir, name string, now int64) (*part, error) {
	file := filepath.Join(dir, inProgressName(name))
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("filesink: creating %s: %w", file, err)
	}
	return &part{bucket: bucket, dir: dir, name: name, f: f, w: bufio.NewWriterSize(f, 32<<10), opened: now, lastWrite: now}, nil
}

// write appends b to the part.
func (p *part) write(b []byte, now int64) error {
	n, err := p.w.Write(b)
	p.size += int64(n)
	p.lastWrite = now
	if err != nil {
		return fmt.Errorf("filesink: writing %s: %w", filepath.Join(p.dir, inProgressName(p.name)), err)
	}
	return nil
}

// close ends the part: its content is made durable, the in-progress file is
// renamed to the pending one and the rename is made durable. The file is
// closed whatever happens.
func (p *part) close() error {
	inProgress := filepath.Join(p.dir, inProgressName(p.name))
	err := p.w.Flush()
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("filesink: closing %s: %w", inProgress, err)
	}
	pending := filepath.Join(p.dir, pendingName(p.name))
	if err := os.Rename(inProgress, pending); err != nil {
		return fmt.Errorf("filesink: closing %s: %w", inProgress, err)
	}
	if err := syncDir(p.dir); err != nil {
		return fmt.Errorf("filesink: closing %s: %w", pending, err)
	}
	return nil
}

// discard closes the part's file without keeping what it holds and removes
// it.
func (p *part) discard() error {
	inProgress := filepath.Join(p.dir, inProgressName(p.name))
	p.f.Close() // its content is dropped; an error changes nothing
	if err := os.Remove(inProgress); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("filesink: removing %s: %w", inProgress, err)
	}
	return nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll creates directory dir and its missing parents, making each
// creation durable (the parent's directory entry is synced).
func mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) { // another subtask made it
			return nil
		}
		return err
	}
	return syncDir(parent)
}
