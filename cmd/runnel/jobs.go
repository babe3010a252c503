package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/examples/jobs"
)

// The commands of this file control the jobs of a cluster through the
// JobManager's REST API, in the shape of Flink's flink CLI: list, info,
// cancel, stop, savepoint and checkpoint.

// output prints a command's result: as JSON for scripts, or as text for
// people.
type output struct {
	w    io.Writer
	json bool
}

// print writes v as indented JSON, or else calls text.
func (o output) print(v any, text func(w io.Writer)) error {
	if !o.json {
		text(o.w)
		return nil
	}
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// restRun is what a command of the REST API does: args are its
// positional arguments.
type restRun func(ctx context.Context, c *rest.Client, out output, args []string) error

// restCommand completes cmd with the flags every command of the REST API
// takes, -m/--jobmanager, -o/--output, --config and -D, and with a RunE
// that checks them, then calls run with a client of the JobManager. run's
// errors are prefixed with the command ("runnel cancel: ...").
//
// The configuration (--config FILE, -D key=value) sets how the client
// reaches the REST API: security.ssl.rest.* (HTTPS, the CA to trust, the
// client certificate to present) and rest.authentication.token-file
// (the bearer token to send).
func restCommand(cmd *cobra.Command, run restRun) *cobra.Command {
	var address, format string
	var f configFlags
	cmd.Flags().StringVarP(&address, "jobmanager", "m", "localhost:8081",
		"`address` (host:port, or http:// or https:// URL) of the JobManager's REST API")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output `format`: text, or json for scripts")
	f.add(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if format != "text" && format != "json" {
			return jobs.UsageError{Err: fmt.Errorf("%s: --output %q: must be text or json", cmd.CommandPath(), format)}
		}
		c, err := restClient(cmd, &f, address)
		if err != nil {
			return err
		}
		out := output{w: cmd.OutOrStdout(), json: format == "json"}
		if err := run(cmd.Context(), c, out, args); err != nil {
			return fmt.Errorf("%s: %w", cmd.CommandPath(), err)
		}
		return nil
	}
	return cmd
}

// restSecurity reads the REST API's security settings of the
// configuration flags; mistakes are usage errors naming the key.
func restSecurity(cmd *cobra.Command, f *configFlags) (security.REST, error) {
	conf, err := f.load()
	if err != nil {
		return security.REST{}, jobs.UsageError{Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	}
	sec, err := security.RESTFrom(conf)
	if err != nil {
		return security.REST{}, jobs.UsageError{Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	}
	return sec, nil
}

// restClient is the client of the REST API at address with the security
// settings of the configuration flags.
func restClient(cmd *cobra.Command, f *configFlags, address string) (*rest.Client, error) {
	sec, err := restSecurity(cmd, f)
	if err != nil {
		return nil, err
	}
	c, err := rest.NewClient(address, sec)
	if err != nil {
		return nil, jobs.UsageError{Err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	}
	return c, nil
}

// flinkTime is how Flink's CLI prints a time.
const flinkTime = "02.01.2006 15:04:05"

func newListCommand() *cobra.Command {
	var all bool
	cmd := restCommand(&cobra.Command{
		Use:   "list [--all] [-m HOST:PORT] [-o text|json]",
		Short: "List the jobs that have not ended (with --all, the ended ones too)",
		Long: "List the jobs of the cluster that have not ended, by start time, as\n" +
			"`start time : job ID : name (state)`; with --all, the ended ones too.\n" +
			"With -o json, an array of the jobs as /jobs/overview lists them.",
		Args: usage(cobra.NoArgs),
	}, func(ctx context.Context, c *rest.Client, out output, _ []string) error {
		list, err := c.Jobs(ctx)
		if err != nil {
			return err
		}
		slices.SortFunc(list, func(a, b rest.Job) int {
			return cmp.Or(cmp.Compare(a.StartTime, b.StartTime), cmp.Compare(a.ID, b.ID))
		})
		running := []rest.Job{}
		var ended []rest.Job
		for _, j := range list {
			if rest.Terminal(j.State) {
				ended = append(ended, j)
			} else {
				running = append(running, j)
			}
		}
		shown := running
		if all {
			shown = list
		}
		if shown == nil {
			shown = []rest.Job{}
		}
		return out.print(shown, func(w io.Writer) {
			printJobs(w, "Running/Restarting Jobs", "No running jobs.", running)
			if all {
				printJobs(w, "Terminated Jobs", "No terminated jobs.", ended)
			}
		})
	})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list the ended jobs too")
	return cmd
}

// printJobs prints a group of jobs as Flink's CLI does.
func printJobs(w io.Writer, title, none string, list []rest.Job) {
	if len(list) == 0 {
		fmt.Fprintln(w, none)
		return
	}
	const width = 62
	left := (width - len(title) - 2) / 2
	fmt.Fprintf(w, "%s %s %s\n", strings.Repeat("-", left), title, strings.Repeat("-", width-len(title)-2-left))
	for _, j := range list {
		fmt.Fprintf(w, "%s : %s : %s (%s)\n", time.UnixMilli(j.StartTime).Format(flinkTime), j.ID, j.Name, j.State)
	}
	fmt.Fprintln(w, strings.Repeat("-", width))
}

// jobInfo is what runnel info -o json prints: the job's details with its
// checkpoint statistics and its failures.
type jobInfo struct {
	rest.JobDetails
	Checkpoints rest.Checkpoints   `json:"checkpoints"`
	Exceptions  rest.JobExceptions `json:"exceptions"`
}

func newInfoCommand() *cobra.Command {
	return restCommand(&cobra.Command{
		Use:   "info [-m HOST:PORT] [-o text|json] JOBID",
		Short: "Show a job: its state, times, tasks, latest checkpoint and last failure",
		Long: "Show a job: its state, times, tasks, latest checkpoint and last failure.\n" +
			"With -o json, the job's details (/jobs/JOBID) with its \"checkpoints\"\n" +
			"(/jobs/JOBID/checkpoints) and \"exceptions\" (/jobs/JOBID/exceptions).",
		Args: usage(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *rest.Client, out output, args []string) error {
		var info jobInfo
		var err error
		if info.JobDetails, err = c.Job(ctx, args[0]); err != nil {
			return err
		}
		if info.Checkpoints, err = c.Checkpoints(ctx, args[0]); err != nil {
			return err
		}
		if info.Exceptions, err = c.Exceptions(ctx, args[0]); err != nil {
			return err
		}
		return out.print(info, func(w io.Writer) { printInfo(w, info) })
	})
}

func printInfo(w io.Writer, info jobInfo) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	d := info.JobDetails
	fmt.Fprintf(tw, "Job:\t%s (%s)\n", d.Name, d.ID)
	fmt.Fprintf(tw, "State:\t%s\n", d.State)
	fmt.Fprintf(tw, "Started:\t%s\n", time.UnixMilli(d.StartTime).Format(time.DateTime))
	if rest.Terminal(d.State) && d.EndTime >= 0 {
		fmt.Fprintf(tw, "Ended:\t%s\n", time.UnixMilli(d.EndTime).Format(time.DateTime))
	}
	fmt.Fprintf(tw, "Duration:\t%s\n", duration(d.Duration))
	cp := "none"
	if l := info.Checkpoints.Latest.Completed; l != nil {
		cp = fmt.Sprintf("%d at %s", l.ID, l.ExternalPath)
	}
	fmt.Fprintf(tw, "Latest checkpoint:\t%s\n", cp)
	if l := info.Checkpoints.Latest.Savepoint; l != nil {
		fmt.Fprintf(tw, "Latest savepoint:\t%d at %s\n", l.ID, l.ExternalPath)
	}
	failure := "none"
	if ex := info.Exceptions.ExceptionHistory.Entries; len(ex) > 0 {
		failure, _, _ = strings.Cut(cmp.Or(ex[0].Stacktrace, ex[0].ExceptionName), "\n")
		failure += " (" + time.UnixMilli(ex[0].Timestamp).Format(time.DateTime) + ")"
	}
	fmt.Fprintf(tw, "Last exception:\t%s\n", failure)
	if len(d.Vertices) == 0 {
		fmt.Fprintf(tw, "Tasks:\tnone\n")
	}
	_ = tw.Flush()
	if len(d.Vertices) == 0 {
		return
	}
	fmt.Fprintln(w, "Tasks:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  PARALLELISM\tSTATUS\tNAME")
	for _, v := range d.Vertices {
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", v.Parallelism, v.Status, v.Name)
	}
	_ = tw.Flush()
}

// duration prints milliseconds to the second, or to the millisecond
// below one.
func duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return d.String()
}

func newCancelCommand() *cobra.Command {
	return restCommand(&cobra.Command{
		Use:   "cancel [-m HOST:PORT] [-o text|json] JOBID",
		Short: "Cancel a job",
		Long: "Cancel a job, without a savepoint (see runnel stop). The command returns once\n" +
			"the job is cancelling.",
		Args: usage(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *rest.Client, out output, args []string) error {
		if err := c.Cancel(ctx, args[0]); err != nil {
			return err
		}
		v := struct {
			JobID  string `json:"jobid"`
			Status string `json:"status"`
		}{args[0], rest.StateCancelling}
		return out.print(v, func(w io.Writer) { fmt.Fprintf(w, "Cancelling job %s.\n", args[0]) })
	})
}

// savepointDone is what the commands that take a savepoint print.
func savepointDone(out output, jobID, location string) error {
	v := struct {
		JobID    string `json:"jobid"`
		Location string `json:"location"`
	}{jobID, location}
	return out.print(v, func(w io.Writer) { fmt.Fprintf(w, "Savepoint completed. Path: %s\n", location) })
}

func newStopCommand() *cobra.Command {
	var dir string
	var drain bool
	cmd := restCommand(&cobra.Command{
		Use:   "stop [--savepointPath DIR] [--drain] [-m HOST:PORT] [-o text|json] JOBID",
		Short: "Stop a job with a savepoint",
		Long: "Stop a job with a savepoint into DIR (state.savepoints.dir without\n" +
			"--savepointPath) and print the savepoint's path once it is complete. With\n" +
			"--drain, the sources end their input first, so that the job flushes its\n" +
			"windows and timers.",
		Args: usage(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *rest.Client, out output, args []string) error {
		loc, err := c.StopWithSavepoint(ctx, args[0], dir, drain)
		if err != nil {
			return err
		}
		return savepointDone(out, args[0], loc)
	})
	cmd.Flags().StringVarP(&dir, "savepointPath", "p", "", "`directory` of the savepoint (default state.savepoints.dir)")
	cmd.Flags().BoolVarP(&drain, "drain", "d", false, "end the sources' input before the savepoint")
	return cmd
}

func newSavepointCommand() *cobra.Command {
	return restCommand(&cobra.Command{
		Use:   "savepoint [-m HOST:PORT] [-o text|json] JOBID [DIR]",
		Short: "Take a savepoint of a job",
		Long: "Take a savepoint of a running job into DIR (state.savepoints.dir without\n" +
			"DIR) and print its path once it is complete. The job goes on running.",
		Args: usage(cobra.RangeArgs(1, 2)),
	}, func(ctx context.Context, c *rest.Client, out output, args []string) error {
		dir := ""
		if len(args) == 2 {
			dir = args[1]
		}
		loc, err := c.TriggerSavepoint(ctx, args[0], dir, false)
		if err != nil {
			return err
		}
		return savepointDone(out, args[0], loc)
	})
}

func newCheckpointCommand() *cobra.Command {
	return restCommand(&cobra.Command{
		Use:   "checkpoint [-m HOST:PORT] [-o text|json] JOBID",
		Short: "Take a checkpoint of a job",
		Long:  "Take a checkpoint of a running job and print its ID once it is complete.",
		Args:  usage(cobra.ExactArgs(1)),
	}, func(ctx context.Context, c *rest.Client, out output, args []string) error {
		id, err := c.TriggerCheckpoint(ctx, args[0])
		if err != nil {
			return err
		}
		v := struct {
			JobID        string `json:"jobid"`
			CheckpointID int64  `json:"checkpointId"`
		}{args[0], id}
		return out.print(v, func(w io.Writer) { fmt.Fprintf(w, "Checkpoint %d for job %s completed.\n", id, args[0]) })
	})
}
