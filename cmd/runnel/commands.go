package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/examples/jobs/exactlyonce"
	"github.com/runnel-io/runnel/examples/jobs/socketwordcount"
	"github.com/runnel-io/runnel/examples/jobs/windowcount"
	"github.com/runnel-io/runnel/examples/jobs/wordcount"
	"github.com/runnel-io/runnel/internal/version"
	"github.com/runnel-io/runnel/stream"
)

// builtin is a job that ships with the runnel binary.
type builtin struct {
	summary string
	run     jobs.RunFunc
}

var builtins = map[string]builtin{
	"wordcount":       {"count the words of a text (Flink's WordCount)", wordcount.Run},
	"socketwordcount": {"print rolling word counts of lines read from a socket", socketwordcount.Run},
	"windowcount":     {"count events per key and event-time window, with late events", windowcount.Run},
	"exactlyonce":     {"keyed running counts written exactly once, with failures injected on demand", exactlyonce.Run},
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "runnel",
		Short:         "runnel runs stateful stream and batch dataflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return jobs.UsageError{Err: err} })
	root.AddCommand(newRunCommand(), newVersionCommand(), newNexmarkCommand(), newJobManagerCommand(), newTaskManagerCommand(), newClusterCommand())
	return root
}

func newRunCommand() *cobra.Command {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	var list strings.Builder
	for _, n := range names {
		fmt.Fprintf(&list, "  %-16s %s\n", n, builtins[n].summary)
	}
	var opts struct {
		parallelism      int
		fromSavepoint    string
		allowNonRestored bool
	}
	cmd := &cobra.Command{
		Use:   "run [--parallelism N] [--fromSavepoint PATH [--allowNonRestoredState]] JOB [--] [JOB FLAGS]",
		Short: "Run a job on the embedded mini-cluster",
		Long: "Run a job that ships with runnel on the embedded mini-cluster. Everything after\n" +
			"the job's name (or after --) is passed to the job; run `runnel run JOB -help`\n" +
			"to see its flags. The options before the name configure the job's environment\n" +
			"as in Flink (what the job sets itself takes precedence).\n\nJobs:\n" + list.String(),
		Args:      usage(cobra.MinimumNArgs(1)),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			job, ok := builtins[args[0]]
			if !ok {
				return jobs.UsageError{Err: fmt.Errorf("runnel run: no job %q; the jobs are: %s", args[0], strings.Join(names, ", "))}
			}
			jobArgs := args[1:]
			if len(jobArgs) > 0 && jobArgs[0] == "--" {
				jobArgs = jobArgs[1:]
			}
			conf := map[string]string{}
			if cmd.Flags().Changed("parallelism") {
				if opts.parallelism < 1 {
					return jobs.UsageError{Err: fmt.Errorf("runnel run: --parallelism %d: must be at least 1", opts.parallelism)}
				}
				conf["parallelism.default"] = strconv.Itoa(opts.parallelism)
			}
			if opts.fromSavepoint != "" {
				conf["execution.savepoint.path"] = opts.fromSavepoint
				conf["execution.savepoint.ignore-unclaimed-state"] = strconv.FormatBool(opts.allowNonRestored)
			} else if opts.allowNonRestored {
				return jobs.UsageError{Err: errors.New("runnel run: --allowNonRestoredState needs --fromSavepoint")}
			}
			stream.SetDefaultConfiguration(conf)
			defer stream.SetDefaultConfiguration(nil)
			return job.run(cmd.Context(), jobArgs, cmd.OutOrStdout())
		},
	}
	// Flags after the job's name belong to the job.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().IntVarP(&opts.parallelism, "parallelism", "p", 0, "default parallelism of the job (parallelism.default)")
	cmd.Flags().StringVarP(&opts.fromSavepoint, "fromSavepoint", "s", "", "start from this savepoint or retained checkpoint (execution.savepoint.path)")
	cmd.Flags().BoolVarP(&opts.allowNonRestored, "allowNonRestoredState", "n", false, "skip state of operators the job no longer has")
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print runnel's version",
		Args:  usage(cobra.NoArgs),
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version.String())
		},
	}
}

// usage makes the errors of an argument check usage errors (exit code 2).
func usage(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return jobs.UsageError{Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
		}
		return nil
	}
}
