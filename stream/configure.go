package stream

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/state/keygroup"
)

// defaultConfiguration is applied by NewEnvironment: what the command
// line that started the program asked for (runnel run --fromSavepoint,
// --parallelism, ...).
var defaultConfiguration struct {
	sync.Mutex
	conf map[string]string
}

// SetDefaultConfiguration sets configuration, by Flink's keys (see
// Configure), that every environment created afterwards starts with, as
// Flink's CLI hands its options to the program it runs. What the program
// sets itself takes precedence.
func SetDefaultConfiguration(conf map[string]string) {
	defaultConfiguration.Lock()
	defaultConfiguration.conf = maps.Clone(conf)
	defaultConfiguration.Unlock()
}

// applyDefaultConfiguration configures a new environment with the
// configuration of the process's role in a cluster, if any, and then the
// default configuration; mistakes are reported by Execute.
func (e *Environment) applyDefaultConfiguration() {
	conf := map[string]string{}
	if p, err := processRole(); err == nil && p != nil {
		// What `runnel run --jobmanager` and the cluster asked for; a
		// malformed environment variable is reported by Execute.
		maps.Copy(conf, p.Config)
	}
	defaultConfiguration.Lock()
	maps.Copy(conf, defaultConfiguration.conf)
	defaultConfiguration.Unlock()
	if len(conf) == 0 {
		return
	}
	if err := e.Configure(conf); err != nil {
		e.errs = append(e.errs, err)
	}
}

// Configure applies configuration by Flink's key names: the job's
// defaults, checkpoints, savepoints and restart strategy. Durations use
// Flink's syntax ("10 s", "500ms", "1 min"; a plain number is
// milliseconds). Every unknown key and malformed value is an error naming
// the key; nothing is applied then. The keys:
//
//	parallelism.default, pipeline.max-parallelism, execution.buffer-timeout,
//	execution.checkpointing.interval, execution.checkpointing.timeout,
//	execution.checkpointing.min-pause,
//	execution.checkpointing.max-concurrent-checkpoints,
//	execution.checkpointing.tolerable-failed-checkpoints,
//	state.checkpoints.num-retained, state.checkpoints.dir, state.savepoints.dir,
//	execution.savepoint.path, execution.savepoint.ignore-unclaimed-state,
//	restart-strategy.type and restart-strategy.* (see restart.Parse).
func (e *Environment) Configure(conf map[string]string) error {
	next := *e
	var errs []error
	restartKeys := map[string]string{}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.TrimSpace(conf[k])
		var err error
		switch k {
		case "parallelism.default":
			err = positive(v, func(n int) { next.graph.Parallelism = n })
		case "pipeline.max-parallelism":
			err = positive(v, func(n int) { next.graph.MaxParallelism = n })
			if err == nil && next.graph.MaxParallelism > keygroup.UpperBound {
				err = fmt.Errorf("must be at most %d", keygroup.UpperBound)
			}
		case checkpoint.KeyInterval:
			err = duration(v, &next.checkpoints.Interval)
		case checkpoint.KeyTimeout:
			err = duration(v, &next.checkpoints.Timeout)
		case checkpoint.KeyMinPause:
			err = duration(v, &next.checkpoints.MinPause)
		case checkpoint.KeyMaxConcurrent:
			err = positive(v, func(n int) { next.checkpoints.MaxConcurrent = n })
		case checkpoint.KeyTolerableFailures:
			err = integer(v, &next.checkpoints.TolerableFailures)
		case checkpoint.KeyNumRetained:
			err = positive(v, func(n int) { next.checkpoints.NumRetained = n })
		case "state.checkpoints.dir":
			next.checkpoints.Dir = v
		case "state.savepoints.dir":
			next.checkpoints.SavepointDir = v
		case "execution.savepoint.path":
			next.restorePath = v
		case "execution.savepoint.ignore-unclaimed-state":
			next.allowNonRestored, err = strconv.ParseBool(v)
		case config.BufferTimeout.Key():
			err = bufferTimeout(v, &next.mini.BufferTimeout)
		default:
			if strings.HasPrefix(k, "restart-strategy") {
				restartKeys[k] = v
				continue
			}
			err = errors.New("unknown key")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("stream: configuration %s: %q: %w", k, conf[k], err))
		}
	}
	if len(restartKeys) > 0 {
		rc, err := restart.Parse(restartKeys)
		if err != nil {
			errs = append(errs, fmt.Errorf("stream: configuration: %w", err))
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

func duration(v string, dst *time.Duration) error {
	d, err := restart.ParseDuration(v)
	if err == nil && d < 0 {
		err = errors.New("must not be negative")
	}
	if err != nil {
		return err
	}
	*dst = d
	return nil
}

// bufferTimeout reads v by the declaration of execution.buffer-timeout.
func bufferTimeout(v string, dst **time.Duration) error {
	d, err := config.BufferTimeout.Parse(v)
	if err != nil {
		return err
	}
	*dst = &d
	return nil
}

func integer(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err == nil && n < 0 {
		err = errors.New("must not be negative")
	}
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func positive(v string, set func(int)) error {
	n, err := strconv.Atoi(v)
	if err == nil && n < 1 {
		err = errors.New("must be at least 1")
	}
	if err != nil {
		return err
	}
	set(n)
	return nil
}
