// Command runnel is runnel's one binary: it runs the jobs that ship with it
// on the embedded mini-cluster, and the processes of a cluster.
//
//	runnel run [--parallelism N] [--fromSavepoint PATH] wordcount --input PATH --output PATH
//	runnel run --jobmanager HOST:PORT [--detached] [--parallelism N] JOB|PROGRAM [-- ARGS]
//	runnel list|info|cancel|stop|savepoint|checkpoint [--jobmanager HOST:PORT] [--output json] ...
//	runnel nexmark run --query q5 --events 10000000
//	runnel jobmanager [--config FILE] [-D key=value]...
//	runnel taskmanager [--config FILE] [-D key=value]...
//	runnel cluster start|stop
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
