// Package wordcount is Flink's WordCount on runnel: it reads text, splits it
// into lower-case words and counts each word.
//
//	go run ./examples/wordcount --input PATH --output PATH [--parallelism N]
//
// --input is a file or a directory (every file under it is read); without it
// the job counts a built-in text. --output is the file the final count of
// every word is written to, one line "word count" each, in no particular
// order; without it the counts are printed. The job runs in BATCH mode, so
// each word is written once, with its final count.
//
// A word is a maximal run of the characters a-z, 0-9 and _ in the
// lower-cased text: the text is split on Java's \W+, as Flink's example
// does.
package wordcount

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/stream"
)

// WordCount is a word and how often it was seen.
type WordCount struct {
	Word  string
	Count int
}

// Options configure the job.
type Options struct {
	Input       string // file or directory; empty: the built-in text
	Output      string // file; empty: print
	Parallelism int
}

// Run parses the job's flags from args and runs it; opts configure its
// environment (stream.NewEnvironment).
func Run(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error {
	fs := flag.NewFlagSet("wordcount", flag.ContinueOnError)
	var o Options
	fs.StringVar(&o.Input, "input", "", "text file or directory to read (default: a built-in text)")
	fs.StringVar(&o.Output, "output", "", "file to write the counts to (default: print them)")
	fs.IntVar(&o.Parallelism, "parallelism", runtime.NumCPU(), "parallelism of the job")
	if err := jobs.Parse(fs, args); err != nil {
		return err
	}
	if o.Parallelism < 1 {
		return jobs.UsageError{Err: fmt.Errorf("wordcount: --parallelism %d: must be at least 1", o.Parallelism)}
	}
	env := stream.NewEnvironment(opts...).SetStdout(stdout)
	Build(env, o)
	return env.Execute(ctx, "WordCount")
}

// Build adds the WordCount dataflow to env.
func Build(env *stream.Environment, o Options) {
	env.SetParallelism(o.Parallelism).SetRuntimeMode(stream.Batch)
	var text stream.DataStream[string]
	if o.Input == "" {
		text = stream.FromSlice(env, strings.Split(builtinText, "\n"))
	} else {
		text = stream.ReadTextFile(env, o.Input)
	}
	words := stream.FlatMap(text, Tokenize).Name("Tokenizer")
	lines := stream.Map(Count(words), Format).Name("Format")
	if o.Output == "" {
		lines.Print()
		return
	}
	lines.WriteAsText(o.Output, stream.Overwrite).SetParallelism(1)
}

// Count keys words by word and sums their counts.
func Count(words stream.DataStream[WordCount]) stream.DataStream[WordCount] {
	byWord := stream.KeyBy(words, func(w WordCount) string { return w.Word })
	return stream.Sum(byWord, func(w *WordCount) *int { return &w.Count }).Name("Counter")
}

// Format writes a count as the line "word count".
func Format(w WordCount) (string, error) {
	return w.Word + " " + strconv.Itoa(w.Count), nil
}

// Tokenize emits (word, 1) for every word of line.
func Tokenize(line string, out stream.Collector[WordCount]) error {
	line = strings.ToLower(line)
	start := -1
	for i := 0; i < len(line); i++ {
		if isWordByte(line[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out.Collect(WordCount{Word: line[start:i], Count: 1})
			start = -1
		}
	}
	if start >= 0 {
		out.Collect(WordCount{Word: line[start:], Count: 1})
	}
	return nil
}

// isWordByte reports whether b is in [a-z0-9_]. Bytes of multi-byte UTF-8
// characters are not: like Java's \W, only ASCII word characters count.
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}
