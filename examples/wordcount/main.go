// Command wordcount is Flink's WordCount on runnel; the job is in package
// github.com/runnel-io/runnel/examples/jobs/wordcount.
//
//	go run ./examples/wordcount --input PATH --output PATH [--parallelism N]
package main

import (
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/wordcount"
)

func main() { jobs.Main(wordcount.Run) }
