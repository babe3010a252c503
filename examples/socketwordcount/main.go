// Command socketwordcount prints rolling word counts of lines read from a
// socket; the job is in package
// github.com/runnel-io/runnel/examples/jobs/socketwordcount.
//
//	go run ./examples/socketwordcount --host localhost --port 9999
package main

import (
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/socketwordcount"
)

func main() { jobs.Main(socketwordcount.Run) }
