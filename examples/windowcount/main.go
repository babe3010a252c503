// Command windowcount counts events per key and event-time window; the job
// is in package github.com/runnel-io/runnel/examples/jobs/windowcount.
//
//	go run ./examples/windowcount --input PATH --output PATH [--late-output PATH]
//		--window tumbling|sliding|session --size D [--slide D] [--gap D]
//		--out-of-orderness D [--allowed-lateness D] [--parallelism N]
package main

import (
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/windowcount"
)

func main() { jobs.Main(windowcount.Run) }
