package jobs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/runnel-io/runnel/stream"
)

// RunFunc is the entry point of an example job: parse args, build an
// environment with opts, execute.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error

// Main runs a job as a program: SIGINT and SIGTERM cancel it; it exits 2 on
// a usage error, 1 on any other failure.
func Main(run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(ExitCode(err, os.Stderr))
}

// ExitCode reports err on w and returns the exit code for it: 0 for none or
// a cancellation by signal, 2 for a usage error, 1 otherwise.
func ExitCode(err error, w io.Writer) int {
	var status ExitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp), errors.Is(err, context.Canceled):
		return 0
	case errors.As(err, &status):
		return int(status)
	case errors.As(err, new(UsageError)):
		fmt.Fprintln(w, err)
		return 2
	default:
		fmt.Fprintln(w, "error:", err)
		return 1
	}
}

// ExitStatus is the failure of a program that ran another program, which
// reported its own failure: ExitCode passes its status on and prints
// nothing more.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// UsageError is a mistake in a job's command line.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Parse parses args with fs, turning a parse failure into a UsageError.
// fs must use flag.ContinueOnError.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.Usage()
			return err
		}
		return UsageError{fmt.Errorf("%s: %w (see -help)", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return UsageError{fmt.Errorf("%s: unexpected arguments %q (see -help)", fs.Name(), fs.Args())}
	}
	return nil
}
