package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/bench/nexmark"
	"github.com/runnel-io/runnel/examples/jobs"
)

func newNexmarkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nexmark",
		Short: "Run the Nexmark benchmark queries",
	}
	cmd.AddCommand(newNexmarkRunCommand(), newNexmarkGenerateCommand(), newNexmarkReportCommand())
	return cmd
}

func newNexmarkRunCommand() *cobra.Command {
	var o nexmark.RunOptions
	cmd := &cobra.Command{
		Use:   "run --query qN|all (--events N | --input PATH) [flags]",
		Short: "Run a Nexmark query and print its speed as one JSON line",
		Long: "Run a Nexmark query on the embedded mini-cluster over generated events (or a\n" +
			"file of them) and print one JSON line with its speed; --query all runs every\n" +
			"query in turn and prints a table. With --checkpoint-interval the job\n" +
			"checkpoints, and the line also has \"checkpoints\" (how many completed) and\n" +
			"\"checkpoint_seconds\" (how long the last one took).",
		Args: usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return jobs.UsageError{Err: err}
			}
			results, err := nexmark.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if o.Query == "all" {
				return nexmark.PrintTable(cmd.OutOrStdout(), results)
			}
			line, err := json.Marshal(results[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(line))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Query, "query", "", "query to run: q0 ... q22, or all")
	f.Int64Var(&o.Events, "events", 0, "number of events to generate")
	f.IntVar(&o.Parallelism, "parallelism", 0, "parallelism of the job (default: the number of CPUs)")
	f.DurationVar(&o.CheckpointInterval, "checkpoint-interval", 0, "checkpoint at this interval, at least 10ms (default: no checkpoints)")
	f.StringVar(&o.CheckpointDir, "checkpoint-dir", "", "write the checkpoints to this directory (default: a temporary one, removed after the run)")
	f.Float64Var(&o.Rate, "rate", 0, "pace the source to this many events per second (default: unlimited)")
	f.Float64Var(&o.EventRate, "event-rate", 0, "event-time rate of the generated stream (default: the suite's 10,000,000/s)")
	f.StringVar(&o.Input, "input", "", "read events from this file of JSON lines instead of generating them")
	f.StringVar(&o.Output, "output", "", "write the results to this file as JSON lines")
	f.StringVar(&o.JobManager, "jobmanager", "", "run on the cluster of this JobManager (not available yet)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile to this file")
	f.StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile to this file")
	return cmd
}

func newNexmarkGenerateCommand() *cobra.Command {
	var events int64
	var output string
	var eventRate float64
	cmd := &cobra.Command{
		Use:   "generate --events N --output PATH",
		Short: "Write Nexmark events as JSON lines",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if events <= 0 {
				return jobs.UsageError{Err: fmt.Errorf("runnel nexmark generate: --events %d: want a positive number", events)}
			}
			if output == "" {
				return jobs.UsageError{Err: fmt.Errorf("runnel nexmark generate: --output is required")}
			}
			f, err := os.Create(output)
			if err != nil {
				return err
			}
			if err := nexmark.Generate(f, events, eventRate); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().Int64Var(&events, "events", 0, "number of events")
	cmd.Flags().StringVar(&output, "output", "", "file to write")
	cmd.Flags().Float64Var(&eventRate, "event-rate", 0, "event-time rate (default: the suite's 10,000,000/s)")
	return cmd
}

func newNexmarkReportCommand() *cobra.Command {
	var events int64
	var page string
	cmd := &cobra.Command{
		Use:   "report --events N --page PATH",
		Short: "Run every query at parallelism 1 and 2 and rewrite the results table of a page",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if events <= 0 {
				return jobs.UsageError{Err: fmt.Errorf("runnel nexmark report: --events %d: want a positive number", events)}
			}
			return nexmark.Report(cmd.Context(), page, events)
		},
	}
	cmd.Flags().Int64Var(&events, "events", 10_000_000, "events per query run")
	cmd.Flags().StringVar(&page, "page", "bench/nexmark/README.md", "the results page to rewrite")
	return cmd
}
