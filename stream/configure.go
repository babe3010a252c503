package stream

import (
	"errors"
	"strings"
	"time"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/restart"
)

// Configure applies configuration by Flink's key names, as docs/config.md
// lists them. It takes exactly a job's own keys: the options that package
// config declares PerJob — the default and maximum parallelism,
// checkpoints, savepoints — and the restart-strategy.* keys (see
// restart.Parse); config.IsJobKey tells them. A key of the cluster's
// processes, such as rest.port, is an error saying that it is a cluster
// key (config.ErrClusterKey), and any other key is unknown
// (config.ErrUnknownKey). Values, trimmed of surrounding space, are read
// with their options' types and checked by their validators: durations
// in Flink's syntax ("10 s", "500ms", "1 min"; a plain number is
// milliseconds). Every mistake is an error of package config naming its
// key, all of them joined; nothing is applied then.
func (e *Environment) Configure(conf map[string]string) error {
	trimmed := make(map[string]string, len(conf))
	for k, v := range conf {
		trimmed[k] = strings.TrimSpace(v)
	}
	c := config.FromMap(trimmed)
	if err := c.ValidateJob(); err != nil {
		return err
	}
	next := *e
	var errs []error
	applyOption(c, config.DefaultParallelism, &errs, func(n int) { next.graph.Parallelism = n })
	applyOption(c, config.MaxParallelism, &errs, func(n int) { next.graph.MaxParallelism = n })
	applyOption(c, config.BufferTimeout, &errs, func(d time.Duration) { next.conf.BufferTimeout = &d })
	cp := &next.checkpoints
	applyOption(c, config.CheckpointingInterval, &errs, func(d time.Duration) { cp.Interval = d })
	applyOption(c, config.CheckpointingTimeout, &errs, func(d time.Duration) { cp.Timeout = d })
	applyOption(c, config.CheckpointingMinPause, &errs, func(d time.Duration) { cp.MinPause = d })
	applyOption(c, config.MaxConcurrentCheckpoints, &errs, func(n int) { cp.MaxConcurrent = n })
	applyOption(c, config.TolerableFailedCheckpoints, &errs, func(n int) { cp.TolerableFailures = n })
	applyOption(c, config.NumRetainedCheckpoints, &errs, func(n int) { cp.NumRetained = n })
	applyOption(c, config.CheckpointsDir, &errs, func(dir string) { cp.Dir = dir })
	applyOption(c, config.SavepointsDir, &errs, func(dir string) { cp.SavepointDir = dir })
	applyOption(c, config.SavepointPath, &errs, func(path string) { next.restorePath = path })
	applyOption(c, config.SavepointIgnoreUnclaimedState, &errs, func(b bool) { next.allowNonRestored = b })
	if keys := c.Under(config.RestartStrategy); len(keys) > 0 {
		rc, err := restart.Parse(keys)
		if err != nil {
			errs = append(errs, err)
		} else {
			next.restart = &rc
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*e = next
	return nil
}

// applyOption reads o from c and, if c sets it, hands its value to apply; an
// error, which names the key, is added to errs instead.
func applyOption[T any](c *config.Configuration, o *config.Option[T], errs *[]error, apply func(T)) {
	v, ok, err := config.Lookup(c, o)
	switch {
	case err != nil:
		*errs = append(*errs, err)
	case ok:
		apply(v)
	}
}
