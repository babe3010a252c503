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
type FileOption func(*textFileSource)

// FileSplitSize sets the size of the blocks files are split into (default
// DefaultFileSplitSize); it must be positive.
func FileSplitSize(bytes int64) FileOption {
	return func(s *textFileSource) { s.splitSize = bytes }
}

// ReadTextFile emits the lines of a file, or of every file under a
// directory (recursively, in lexical order, skipping names that start with
// "." or "_", as Flink's file input does), without their line endings ("\n"
// or "\r\n"). It is bounded and parallel: files are cut into blocks
// (DefaultFileSplitSize), and subtask s of p reads the blocks whose index mod
// p is s.
//
// The files are listed when each subtask opens, so they must not change
// while the job runs.
func ReadTextFile(env *Environment, path string, opts ...FileOption) DataStream[string] {
	return FromSource(env, TextFileSource(path, opts...), NoWatermarks[string](), "Text File Source ("+path+")")
}

// TextFileSource is the source of ReadTextFile, to use with FromSource and
// a WatermarkStrategy: each file block is a split with a watermark of its
// own.
func TextFileSource(path string, opts ...FileOption) Source[string] {
	src := textFileSource{path: path, splitSize: DefaultFileSplitSize}
	for _, o := range opts {
		o(&src)
	}
	return src
}

type textFileSource struct {
	path      string
	splitSize int64
}

func (s textFileSource) Bounded() bool { return true }

type fileSplit struct {
	path       string
	start, end int64
}

// listSplits returns every split of the files under path, in a fixed order.
func listSplits(path string, splitSize int64) ([]fileSplit, error) {
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
	var splits []fileSplit
	for i, f := range files {
		for off := int64(0); off < sizes[i]; off += splitSize {
			splits = append(splits, fileSplit{path: f, start: off, end: min(off+splitSize, sizes[i])})
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

func (s textFileSource) CreateReader(_ context.Context, rc *RuntimeContext) (SourceReader[string], error) {
	if s.splitSize <= 0 {
		return nil, fmt.Errorf("stream: text file source %s: split size %d, want a positive number of bytes", s.path, s.splitSize)
	}
	all, err := listSplits(s.path, s.splitSize)
	if err != nil {
		return nil, err
	}
	var mine []fileSplit
	for i, sp := range all {
		if i%rc.Parallelism == rc.Subtask {
			mine = append(mine, sp)
		}
	}
	return &textFileReader{splits: mine}, nil
}

type textFileReader struct {
	splits []fileSplit
	out    ReaderOutput[string] // the current split's output
	split  string               // the current split's id
	file   *os.File
	r      *bufio.Reader
	pos    int64 // offset of the next line
	end    int64 // lines starting before end are ours
	path   string
}

// openSplit opens the next split and positions the reader at its first line.
func (r *textFileReader) openSplit() error {
	sp := r.splits[0]
	r.splits = r.splits[1:]
	f, err := os.Open(sp.path)
	if err != nil {
		return fmt.Errorf("stream: text file source: %w", err)
	}
	r.file, r.path, r.end = f, sp.path, sp.end
	r.split = fmt.Sprintf("%s@%d", sp.path, sp.start)
	r.pos = sp.start
	seek := sp.start
	if sp.start > 0 {
		seek-- // read the byte before the split to tell whether a line starts at start
	}
	if _, err := f.Seek(seek, io.SeekStart); err != nil {
		return fmt.Errorf("stream: text file source %s: %w", sp.path, err)
	}
	if r.r == nil {
		r.r = bufio.NewReaderSize(f, 64<<10)
	} else {
		r.r.Reset(f)
	}
	if sp.start > 0 {
		// Skip the tail of the line that started in the previous split.
		skipped, err := r.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			r.pos += int64(len(skipped))
			skipped, err = r.r.ReadSlice('\n')
		}
		r.pos += int64(len(skipped)) - 1
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("stream: text file source %s: %w", sp.path, err)
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
			if len(r.splits) == 0 {
				return EndOfInput, nil
			}
			if err := r.openSplit(); err != nil {
				return EndOfInput, err
			}
			r.out = out.Split(r.split)
		}
		if r.pos >= r.end {
			if err := r.closeFile(); err != nil {
				return EndOfInput, err
			}
			continue
		}
		line, err := r.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return EndOfInput, fmt.Errorf("stream: text file source %s: %w", r.path, err)
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

func (r *textFileReader) Available() <-chan struct{} { return always }

func (r *textFileReader) Close() error { return r.closeFile() }
