package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultFileSplitSize is the size of the blocks a text file is split into
// for parallel reading. A line belongs to the block its first byte is in.
const DefaultFileSplitSize = 8 << 20

// FileOption configures ReadTextFile.
type FileOption func(*FileSource)

// FileSplitSize sets the size of the blocks files are split into (default
// DefaultFileSplitSize); it must be positive.
func FileSplitSize(bytes int64) FileOption {
	return func(s *FileSource) { s.splitSize = bytes }
}

// ReadTextFile emits the lines of a file, or of every file under a
// directory (recursively, in lexical order, skipping names that start with
// "." or "_", as Flink's file input does), without their line endings ("\n"
// or "\r\n"). It is bounded, parallel and replayable: files are cut into
// blocks (DefaultFileSplitSize), which the enumerator hands out one at a
// time to the subtasks that ask, so that fast subtasks read more; each
// subtask's position in its block is in every checkpoint.
//
// The files are listed once, when the job starts (not when it restores a
// checkpoint), so they must not change while the job runs.
func ReadTextFile(env *Environment, path string, opts ...FileOption) DataStream[string] {
	return FromSplitSource(env, TextFileSource(path, opts...), NoWatermarks[string](), "Text File Source ("+path+")")
}

// TextFileSource is the source of ReadTextFile, to use with FromSplitSource
// (or FromSource, which adds it the same way) and a WatermarkStrategy: each
// file block is a split with a watermark of its own.
func TextFileSource(path string, opts ...FileOption) *FileSource {
	src := &FileSource{path: path, splitSize: DefaultFileSplitSize}
	for _, o := range opts {
		o(src)
	}
	return src
}

// FileSource is the replayable split source of the lines of text files:
// see ReadTextFile. It is also a Source, whose readers each read the
// blocks whose index mod the parallelism is their subtask's, without
// checkpointing their position; FromSource adds it as a split source
// instead.
type FileSource struct {
	path      string
	splitSize int64
}

// FileSplit is a block of a text file: the lines that start in [Start,
// End). A reader resumes at the first line that starts at or after Offset:
// Start for a block it has not read yet, and after each line the offset of
// the next.
type FileSplit struct {
	Path       string
	Start, End int64
	Offset     int64
}

// Bounded implements SplitSource: a file source ends.
func (s *FileSource) Bounded() bool { return true }

func (s *FileSource) check() error {
	if s.splitSize <= 0 {
		return fmt.Errorf("stream: text file source %s: split size %d, want a positive number of bytes", s.path, s.splitSize)
	}
	return nil
}

// CreateEnumerator implements SplitSource: it lists the files and cuts
// them into blocks.
func (s *FileSource) CreateEnumerator(ctx SplitEnumeratorContext[FileSplit]) (SplitEnumerator[FileSplit], error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	all, err := listSplits(s.path, s.splitSize)
	if err != nil {
		return nil, err
	}
	return &fileEnumerator{ctx: ctx, pending: all}, nil
}

// RestoreEnumerator implements SplitSource.
func (s *FileSource) RestoreEnumerator(ctx SplitEnumeratorContext[FileSplit], unassigned []FileSplit) (SplitEnumerator[FileSplit], error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return &fileEnumerator{ctx: ctx, pending: unassigned}, nil
}

func (s *FileSource) createSubtaskEnumerator(ctx SplitEnumeratorContext[FileSplit], subtask int) (SplitEnumerator[FileSplit], error) {
	share, err := s.share(subtask, ctx.Parallelism())
	if err != nil {
		return nil, err
	}
	return &fileEnumerator{ctx: ctx, pending: share, static: true}, nil
}

// share lists the blocks whose index mod p is subtask.
func (s *FileSource) share(subtask, p int) ([]FileSplit, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	all, err := listSplits(s.path, s.splitSize)
	if err != nil {
		return nil, err
	}
	var mine []FileSplit
	for i, sp := range all {
		if i%p == subtask {
			mine = append(mine, sp)
		}
	}
	return mine, nil
}

// CreateSplitReader implements SplitSource.
func (s *FileSource) CreateSplitReader(_ context.Context, _ *RuntimeContext, sc SplitReaderContext) (SplitReader[string, FileSplit], error) {
	return &textFileReader{sc: sc}, nil
}

// CreateReader implements Source: the reader of the blocks whose index mod
// the parallelism is the subtask's.
func (s *FileSource) CreateReader(_ context.Context, rc *RuntimeContext) (SourceReader[string], error) {
	mine, err := s.share(rc.Subtask, rc.Parallelism)
	if err != nil {
		return nil, err
	}
	r := &textFileReader{}
	r.AddSplits(mine)
	r.NotifyNoMoreSplits()
	return r, nil
}

func (s *FileSource) fromSplitSource(env *Environment, strategy WatermarkStrategy[string], name string) DataStream[string] {
	return FromSplitSource(env, s, strategy, name)
}

// fileEnumerator hands out the blocks one per request, in the order of the
// files and of the blocks in each, and signals no more splits to a reader
// that asks when none is left. Scoped to one subtask (static), it gives
// the reader all of its share when it registers.
type fileEnumerator struct {
	ctx     SplitEnumeratorContext[FileSplit]
	pending []FileSplit
	static  bool
}

func (e *fileEnumerator) Start() error { return nil }

func (e *fileEnumerator) AddReader(subtask int) error {
	if !e.static {
		return nil // the reader asks for blocks when it has none
	}
	splits := e.pending
	e.pending = nil
	if err := e.ctx.AssignSplits(subtask, splits); err != nil {
		return err
	}
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *fileEnumerator) HandleSplitRequest(subtask int) error {
	if len(e.pending) == 0 {
		return e.ctx.SignalNoMoreSplits(subtask)
	}
	next := e.pending[:1]
	e.pending = e.pending[1:]
	return e.ctx.AssignSplits(subtask, next)
}

func (e *fileEnumerator) SnapshotState(int64) ([]FileSplit, error) { return e.pending, nil }

func (e *fileEnumerator) Close() error { return nil }

// listSplits returns every split of the files under path, in a fixed order.
func listSplits(path string, splitSize int64) ([]FileSplit, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stream: text file source: %w", err)
	}
	var files []string
	var sizes []int64
	if !info.IsDir() {
		files, sizes = []string{path}, []int64{info.Size()}
	} else {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != path && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files, sizes = append(files, p), append(sizes, fi.Size())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("stream: text file source: %w", err)
		}
	}
	sort.Sort(byPath{files, sizes})
	var splits []FileSplit
	for i, f := range files {
		for off := int64(0); off < sizes[i]; off += splitSize {
			splits = append(splits, FileSplit{Path: f, Start: off, End: min(off+splitSize, sizes[i]), Offset: off})
		}
	}
	return splits, nil
}

type byPath struct {
	files []string
	sizes []int64
}

func (b byPath) Len() int           { return len(b.files) }
func (b byPath) Less(i, j int) bool { return b.files[i] < b.files[j] }
func (b byPath) Swap(i, j int) {
	b.files[i], b.files[j] = b.files[j], b.files[i]
	b.sizes[i], b.sizes[j] = b.sizes[j], b.sizes[i]
}

// textFileReader reads its blocks in turn, and asks for another when it
// has none left.
type textFileReader struct {
	sc        SplitReaderContext // nil: never asks (the static share)
	queue     []FileSplit        // assigned, not yet opened
	noMore    bool
	requested bool // a request is unanswered

	cur   FileSplit            // the open block, if file is not nil
	out   ReaderOutput[string] // the open block's output
	split string               // the open block's id
	file  *os.File
	r     *bufio.Reader
	pos   int64 // offset of the next line
}

func (r *textFileReader) AddSplits(splits []FileSplit) {
	r.queue = append(r.queue, splits...)
	r.requested = false
}

func (r *textFileReader) NotifyNoMoreSplits() {
	r.noMore, r.requested = true, false
}

func (r *textFileReader) SnapshotState(int64) ([]FileSplit, error) {
	splits := make([]FileSplit, 0, len(r.queue)+1)
	if r.file != nil && r.pos < r.cur.End {
		sp := r.cur
		sp.Offset = r.pos
		splits = append(splits, sp)
	}
	return append(splits, r.queue...), nil
}

// openSplit opens the next block and positions the reader at its first
// line at or after its offset.
func (r *textFileReader) openSplit() error {
	sp := r.queue[0]
	r.queue = r.queue[1:]
	if sp.Offset < sp.Start || sp.Offset > sp.End {
		return fmt.Errorf("stream: text file source %s: offset %d outside the block [%d, %d)", sp.Path, sp.Offset, sp.Start, sp.End)
	}
	f, err := os.Open(sp.Path)
	if err != nil {
		return fmt.Errorf("stream: text file source: %w", err)
	}
	r.file, r.cur = f, sp
	r.split = fmt.Sprintf("%s@%d", sp.Path, sp.Start)
	r.pos = sp.Offset
	seek := sp.Offset
	if seek > 0 {
		seek-- // read the byte before the offset to tell whether a line starts there
	}
	if _, err := f.Seek(seek, io.SeekStart); err != nil {
		return fmt.Errorf("stream: text file source %s: %w", sp.Path, err)
	}
	if r.r == nil {
		r.r = bufio.NewReaderSize(f, 64<<10)
	} else {
		r.r.Reset(f)
	}
	if sp.Offset > 0 {
		// Skip the tail of the line that started before the offset (in
		// the previous block, or, when the reader resumes, never: then the
		// byte before the offset ends a line).
		skipped, err := r.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			r.pos += int64(len(skipped))
			skipped, err = r.r.ReadSlice('\n')
		}
		r.pos += int64(len(skipped)) - 1
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("stream: text file source %s: %w", sp.Path, err)
		}
	}
	return nil
}

func (r *textFileReader) closeFile() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	if r.out != nil {
		r.out.ReleaseSplit(r.split)
		r.out = nil
	}
	return err
}

func (r *textFileReader) PollNext(out ReaderOutput[string]) (InputStatus, error) {
	for n := 0; n < pollBatch; {
		if r.file == nil {
			if len(r.queue) == 0 {
				return r.idle()
			}
			if err := r.openSplit(); err != nil {
				return EndOfInput, err
			}
			r.out = out.Split(r.split)
		}
		if r.pos >= r.cur.End {
			if err := r.closeFile(); err != nil {
				return EndOfInput, err
			}
			continue
		}
		line, err := r.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return EndOfInput, fmt.Errorf("stream: text file source %s: %w", r.cur.Path, err)
		}
		if len(line) > 0 || err == nil {
			r.out.Collect(string(trimEOL(line)))
			n++
		}
		if err != nil { // io.EOF
			if err := r.closeFile(); err != nil {
				return EndOfInput, err
			}
		}
	}
	return MoreAvailable, nil
}

// readLine reads one line with its ending, which may be longer than the
// buffer.
func (r *textFileReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	r.pos += int64(len(line))
	return line, err
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// idle is the status of a reader without a block: it asks for one, once,
// unless there are no more.
func (r *textFileReader) idle() (InputStatus, error) {
	switch {
	case r.noMore:
		return EndOfInput, nil
	case r.requested || r.sc == nil:
		return NothingAvailable, nil
	}
	r.requested = true
	return NothingAvailable, r.sc.SendSplitRequest()
}

func (r *textFileReader) Available() <-chan struct{} {
	if r.file == nil && len(r.queue) == 0 {
		return nil // waits for blocks, whose arrival the operator signals
	}
	return always
}

func (r *textFileReader) Close() error { return r.closeFile() }
