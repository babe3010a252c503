// Command exactlyonce is the test program of runnel's exactly-once
// guarantee; the job is in package
// github.com/runnel-io/runnel/examples/jobs/exactlyonce.
//
//	go run ./examples/exactlyonce --events N --keys K --output DIR
//		[--parallelism P] [--checkpoint-interval D] [--checkpoint-dir DIR]
//		[--restart-attempts N] [--fail-every M] [--rate R]
//		[--from-savepoint PATH]
package main

import (
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/exactlyonce"
)

func main() { jobs.Main(exactlyonce.Run) }
