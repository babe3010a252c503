// Command runnel is runnel's one binary: it runs the jobs that ship with it
// on the embedded mini-cluster, and the processes of a cluster.
//
//	runnel run [--parallelism N] [--fromSavepoint PATH] wordcount --input PATH --output PATH
//	runnel run --jobmanager HOST:PORT [--detached] [--parallelism N] [--config FILE] [-D key=value]... JOB|PROGRAM [-- ARGS]
//	runnel list|info|cancel|stop|savepoint|checkpoint [--jobmanager HOST:PORT] [--output json] [--config FILE] [-D key=value]... ...
//	runnel nexmark run --query q5 --events 10000000
//	runnel jobmanager [--config FILE] [-D key=value]...
//	runnel taskmanager [--config FILE] [-D key=value]...
//	runnel cluster start|stop
//	runnel security create-certificates --dir DIR --hosts HOST[,HOST...]
//	runnel version
//
// The REST commands and runnel run --jobmanager reach the REST API as
// their configuration says: over HTTPS with security.ssl.rest.enabled (or
// an https:// address), trusting security.ssl.rest.trust, presenting
// security.ssl.rest.cert and security.ssl.rest.key, and sending the token
// of rest.authentication.token-file.
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
