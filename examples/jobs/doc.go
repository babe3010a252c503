// Package jobs holds the example jobs that ship with runnel, one package
// each, so that the same job runs as its own program (go run
// ./examples/NAME) and from the runnel binary (runnel run NAME).
//
// Every job package exports
//
//	func Run(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error
//
// which parses the job's flags from args, builds the dataflow in an
// environment made with opts and executes it. Main runs such a function as a program.
package jobs
