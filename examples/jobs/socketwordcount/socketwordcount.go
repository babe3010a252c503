// Package socketwordcount counts the words of lines read from a socket and
// prints every updated count: the classic streaming demo.
//
//	nc -lk 9999 &   # type lines into it
//	go run ./examples/socketwordcount --port 9999
//
// The job runs until the peer closes the connection or it is interrupted.
package socketwordcount

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/wordcount"
	"github.com/runnel-io/runnel/stream"
)

// Run parses the job's flags from args and runs it; opts configure its
// environment (stream.NewEnvironment).
func Run(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error {
	fs := flag.NewFlagSet("socketwordcount", flag.ContinueOnError)
	host := fs.String("host", "localhost", "host to connect to")
	port := fs.Int("port", 0, "port to connect to (required)")
	parallelism := fs.Int("parallelism", runtime.NumCPU(), "parallelism of the counting")
	if err := jobs.Parse(fs, args); err != nil {
		return err
	}
	if *port <= 0 || *port > 65535 {
		return jobs.UsageError{Err: fmt.Errorf("socketwordcount: --port %d: want a port in [1, 65535]", *port)}
	}
	if *parallelism < 1 {
		return jobs.UsageError{Err: fmt.Errorf("socketwordcount: --parallelism %d: must be at least 1", *parallelism)}
	}
	env := stream.NewEnvironment(opts...).SetParallelism(*parallelism).SetStdout(stdout)
	lines := stream.SocketTextStream(env, *host, *port)
	words := stream.FlatMap(lines, wordcount.Tokenize).Name("Tokenizer")
	stream.Map(wordcount.Count(words), wordcount.Format).Name("Format").Print()
	return env.Execute(ctx, "Socket WordCount")
}
