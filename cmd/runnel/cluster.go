package main

import (
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/cluster/jobmanager"
	"github.com/runnel-io/runnel/cluster/taskmanager"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/runtime/clock"
)

// configFlags are the flags every cluster process takes: a YAML file and
// -Dkey=value overrides.
type configFlags struct {
	path      string
	overrides []string
}

func (f *configFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.path, "config", "", "YAML configuration `file` (Flink's key names)")
	cmd.Flags().StringArrayVarP(&f.overrides, "dynamic", "D", nil, "configuration override `key=value` (repeatable)")
}

// load reads and validates the configuration; mistakes are usage errors
// (exit code 2) naming the key.
func (f *configFlags) load() (*config.Configuration, error) {
	c, err := config.Load(f.path, f.overrides)
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		return nil, jobs.UsageError{Err: err}
	}
	return c, nil
}

func newJobManagerCommand() *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "jobmanager [--config FILE] [-D key=value]...",
		Short: "Run a JobManager: ResourceManager, REST API (rest.port) and BlobServer",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := f.load()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			jm, err := jobmanager.New(conf, jobmanager.Options{Logger: log, Builtins: builtinNames()})
			if err != nil {
				return jobs.UsageError{Err: err} // a setting, named in err
			}
			return jm.Run(cmd.Context())
		},
	}
	f.add(cmd)
	return cmd
}

func newTaskManagerCommand() *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "taskmanager [--config FILE] [-D key=value]...",
		Short: "Run a TaskManager that offers taskmanager.numberOfTaskSlots slots to the JobManager",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := f.load()
			if err != nil {
				return err
			}
			cfg, err := taskmanager.ConfigFrom(conf)
			if err != nil {
				return jobs.UsageError{Err: err}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			haSvc, err := ha.New(conf, log)
			if err != nil {
				return jobs.UsageError{Err: err}
			}
			defer haSvc.Close()
			if kind, _ := config.Get(conf, config.HighAvailabilityType); !strings.EqualFold(kind, "NONE") {
				// The leader is found through ZooKeeper, not at
				// jobmanager.rpc.address.
				cfg.JobManager, cfg.Leaders = "", taskmanager.LeadersOf(haSvc)
			}
			tm, err := taskmanager.New(cfg, clock.System{}, log)
			if err != nil {
				return jobs.UsageError{Err: err}
			}
			return tm.Run(cmd.Context())
		},
	}
	f.add(cmd)
	return cmd
}
