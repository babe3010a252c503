package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/cluster/program"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/config"
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

// builtinNames are the names of the builtin jobs, sorted: the jobs a
// JobManager of this binary runs for builtin submissions. Nexmark is not
// among them: its queries run on the embedded mini-cluster only.
func builtinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
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
	root.AddCommand(newRunCommand(), newVersionCommand(), newNexmarkCommand(), newJobManagerCommand(), newTaskManagerCommand(), newClusterCommand(),
		newListCommand(), newInfoCommand(), newCancelCommand(), newStopCommand(), newSavepointCommand(), newCheckpointCommand(),
		newSecurityCommand())
	return root
}

func newRunCommand() *cobra.Command {
	names := builtinNames()
	var list strings.Builder
	for _, n := range names {
		fmt.Fprintf(&list, "  %-16s %s\n", n, builtins[n].summary)
	}
	var opts struct {
		parallelism      int
		fromSavepoint    string
		allowNonRestored bool
		jobManager       string
		detached         bool
	}
	var f configFlags
	cmd := &cobra.Command{
		Use:   "run [--jobmanager HOST:PORT [--detached] [--config FILE] [-D key=value]...] [--parallelism N] [--fromSavepoint PATH [--allowNonRestoredState]] JOB [--] [JOB FLAGS]",
		Short: "Run a job on the embedded mini-cluster or submit it to a cluster",
		Long: "Run a job: one that ships with runnel (by name) or a compiled job program (by\n" +
			"path). Without --jobmanager it runs on the embedded mini-cluster; with it, it is\n" +
			"submitted to that JobManager's REST API (the program's binary is shipped to the\n" +
			"cluster) and runnel waits for its end, unless --detached. Everything after the\n" +
			"job (or after --) is passed to the job; run `runnel run JOB -help` to see its\n" +
			"flags. The options before the job configure its environment as in Flink (what\n" +
			"the job sets itself takes precedence). --config and -D configure how the job's\n" +
			"client reaches the REST API: security.ssl.rest.* and rest.authentication.token-file.\n\nJobs:\n" + list.String(),
		Args:      usage(cobra.MinimumNArgs(1)),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			jobArgs := args[1:]
			if len(jobArgs) > 0 && jobArgs[0] == "--" {
				jobArgs = jobArgs[1:]
			}
			conf := map[string]string{}
			if cmd.Flags().Changed("parallelism") {
				if opts.parallelism < 1 {
					return jobs.UsageError{Err: fmt.Errorf("runnel run: --parallelism %d: must be at least 1", opts.parallelism)}
				}
				conf[config.DefaultParallelism.Key()] = strconv.Itoa(opts.parallelism)
			} else if opts.jobManager != "" {
				// The job is built here, with this machine's number of
				// CPUs; its JobMaster and workers, which build it again
				// elsewhere, must use the same.
				conf[config.DefaultParallelism.Key()] = strconv.Itoa(config.DefaultParallelism.Default())
			}
			if opts.fromSavepoint != "" {
				conf[config.SavepointPath.Key()] = opts.fromSavepoint
				conf[config.SavepointIgnoreUnclaimedState.Key()] = strconv.FormatBool(opts.allowNonRestored)
			} else if opts.allowNonRestored {
				return jobs.UsageError{Err: errors.New("runnel run: --allowNonRestoredState needs --fromSavepoint")}
			}
			if opts.detached && opts.jobManager == "" {
				return jobs.UsageError{Err: errors.New("runnel run: --detached needs --jobmanager")}
			}
			sec, err := restSecurity(cmd, &f)
			if err != nil {
				return err
			}
			job, builtin := builtins[args[0]]
			if builtin && opts.jobManager == "" {
				return job.run(cmd.Context(), jobArgs, cmd.OutOrStdout(), stream.WithConfiguration(conf))
			}
			p := &program.Process{Role: program.RoleClient, Config: conf,
				JobManager: opts.jobManager, Detached: opts.detached, Builtin: builtin}
			if opts.jobManager != "" {
				// Checked here, so that a mistake is a usage error of
				// runnel run rather than of the program.
				if _, err := rest.NewClient(opts.jobManager, sec); err != nil {
					return jobs.UsageError{Err: fmt.Errorf("runnel run: %w", err)}
				}
				p.REST = &sec
			}
			return runProgram(cmd, args[0], builtin, jobArgs, p, names)
		},
	}
	// Flags after the job's name belong to the job.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().IntVarP(&opts.parallelism, "parallelism", "p", 0, "default parallelism of the job (parallelism.default)")
	cmd.Flags().StringVarP(&opts.fromSavepoint, "fromSavepoint", "s", "", "start from this savepoint or retained checkpoint (execution.savepoint.path)")
	cmd.Flags().BoolVarP(&opts.allowNonRestored, "allowNonRestoredState", "n", false, "skip state of operators the job no longer has")
	cmd.Flags().StringVarP(&opts.jobManager, "jobmanager", "m", "", "submit the job to the JobManager whose REST API is at `HOST:PORT`")
	cmd.Flags().BoolVarP(&opts.detached, "detached", "d", false, "return once the job is submitted")
	f.add(cmd)
	return cmd
}

// runProgram runs a job's program as a client of the cluster (or, for a
// compiled program without --jobmanager, on its embedded mini-cluster):
// a compiled program at path, or runnel itself for a builtin job. The
// program inherits the terminal; its exit status becomes runnel's.
func runProgram(cmd *cobra.Command, job string, builtin bool, jobArgs []string, p *program.Process, names []string) error {
	exe, argv := job, jobArgs
	if builtin {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("runnel run: %w", err)
		}
		exe, argv = self, append([]string{"run", job, "--"}, jobArgs...)
	} else {
		fi, err := os.Stat(job)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return jobs.UsageError{Err: fmt.Errorf("runnel run: %q is neither a job that ships with runnel (%s) nor an executable job program",
				job, strings.Join(names, ", "))}
		}
		if exe, err = filepath.Abs(job); err != nil {
			return fmt.Errorf("runnel run: %w", err)
		}
	}
	if p.JobManager == "" {
		p.Role = program.RoleLocal
	} else if !builtin {
		// A program that never executes a job is a mistake, as in
		// Flink: it notes each job it submits here.
		log, err := os.CreateTemp("", "runnel-submitted-")
		if err != nil {
			return fmt.Errorf("runnel run: %w", err)
		}
		log.Close()
		defer os.Remove(log.Name())
		p.SubmitLog = log.Name()
	}
	c := exec.CommandContext(cmd.Context(), exe, argv...)
	c.Env = append(os.Environ(), p.Env())
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 30 * time.Second
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if cmd.Context().Err() != nil {
			return cmd.Context().Err()
		}
		return jobs.ExitStatus(exit.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("runnel run: %s: %w", exe, err)
	}
	if p.SubmitLog != "" {
		if ids, err := os.ReadFile(p.SubmitLog); err == nil && len(ids) == 0 {
			return fmt.Errorf("runnel run: %s: the program defined no job: it ended without executing one (stream.Environment.Execute)", job)
		}
	}
	return nil
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
