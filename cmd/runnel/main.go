// Command runnel is runnel's one binary: it runs the jobs that ship with it
// on the embedded mini-cluster, and will grow the subcommands of Flink's
// `flink` and cluster entry points.
//
//	runnel run wordcount --input PATH --output PATH
//	runnel run socketwordcount --port 9999
//	runnel version
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/runnel-io/runnel/examples/jobs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	os.Exit(jobs.ExitCode(err, os.Stderr))
}
