package jobmaster_test

// Scripted tests of the Core: each file in testdata/ is a sequence of
// cases
//
//	# a comment, up to the end of the line
//	command arg key=value key="value with spaces"
//	----
//	expected output, one line per line
//	<blank line>
//
// run against one Core in order. The output of an event is what Ready
// returned, one action per line, or "ok" if there was nothing. Every
// event goes through the harness of harness_test.go, which checks the
// core's invariants after it; a broken invariant fails the test whatever
// the expected output says. With -rewrite the expected outputs are
// replaced by what the Core produced:
//
//	go test ./cluster/jobmaster -run Scripts -rewrite
//
// Times are milliseconds or Go durations; every command takes t=T, which
// sets the script's clock to T first (it starts at 0). tick takes the
// time as its argument, absolute (tick 100) or relative (tick +1s).
//
// Commands:
//
//	new [p=P,P...] [restart=none|fixed:N:D|exp] [restore=LOC]
//	    [worker-timeout=D] [cancel-timeout=D]
//	        A new Core of a job with a task of each parallelism P (default
//	        2), the restart strategy (none by default; fixed:N:D is
//	        fixed-delay with N attempts D apart; exp is exponential-delay
//	        from 1s, x2, up to 8s, without jitter), the snapshot the first
//	        attempt restores, and the timeouts.
//	start                     Start.
//	offer TM:N...             SlotsOffered: N slots on each TM.
//	request-failed N [err=E]  SlotRequestFailed.
//	lost TM [err=E]           SlotsLost.
//	registered TM...          WorkerStarted.
//	worker-lost TM [err=E]    WorkerLost.
//	deployed TM... [attempt=N] Deployed (of the current attempt by default).
//	finished V S [attempt=N]  TaskFinished.
//	ended TM... [err=E [nonrecoverable=true]] [attempt=N]
//	        TasksEnded, with a failure marked NonRecoverable or not.
//	attempt-failed [err=E]    AttemptFailed of the current attempt.
//	complete LOC              The world completes a checkpoint at LOC.
//	checkpoints-ended         CheckpointsEnded for the oldest EndCheckpoints.
//	cancel | suspend          Cancel, Suspend.
//	tick T                    Tick.
//	state | deadline          Print the job's state, or NextDeadline.

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/internal/script"
	"github.com/runnel-io/runnel/runtime/restart"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected outputs of testdata/*.txt with what the Core produces")

func TestScripts(t *testing.T) {
	script.Files(t, "testdata/*.txt", *rewrite, func(t *testing.T, file string) script.Runner {
		s := &scripted{t: t}
		return s.run
	})
}

type scripted struct {
	t   *testing.T
	h   *harness
	now int64
}

func parseTime(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	return d.Milliseconds(), err
}

func (s *scripted) run(line int, cmdLine string) []string {
	t := s.t
	c, err := script.Parse(cmdLine)
	if err != nil {
		t.Fatalf("line %d: %v", line, err)
	}
	if v, ok := c.KV["t"]; ok {
		if s.now, err = parseTime(v); err != nil {
			t.Fatalf("line %d: t=%s: %v", line, v, err)
		}
	}
	errOf := func(def string) error {
		if e, ok := c.KV["err"]; ok {
			return errors.New(e)
		}
		return errors.New(def)
	}
	attempt := func() int {
		if v, ok := c.KV["attempt"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("line %d: attempt=%s", line, v)
			}
			return n
		}
		return s.h.c.Attempt()
	}
	atoi := func(v string) int {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("line %d: %q is not a number", line, v)
		}
		return n
	}
	if c.Name != "new" && s.h == nil {
		t.Fatalf("line %d: the first command must be new", line)
	}
	var acts []jobmaster.Action
	switch c.Name {
	case "new":
		cfg := jobmaster.CoreConfig{RestoreFrom: c.KV["restore"]}
		ps := "2"
		if v, ok := c.KV["p"]; ok {
			ps = v
		}
		for i, p := range strings.Split(ps, ",") {
			cfg.Vertices = append(cfg.Vertices, jobmaster.CoreVertex{Name: fmt.Sprintf("task%d", i), Parallelism: atoi(p)})
		}
		cfg.Restart = parseRestart(t, line, c.KV["restart"])
		for key, dst := range map[string]*time.Duration{"worker-timeout": &cfg.WorkerStartTimeout, "cancel-timeout": &cfg.CancelTimeout} {
			if v, ok := c.KV[key]; ok {
				ms, err := parseTime(v)
				if err != nil {
					t.Fatalf("line %d: %s=%s: %v", line, key, v, err)
				}
				*dst = time.Duration(ms) * time.Millisecond
			}
		}
		s.h = newHarness(t, cfg)
		return []string{"ok"}
	case "start":
		acts = s.h.start(s.now)
	case "offer":
		var slots []jobmaster.Slot
		for _, a := range c.Args {
			tm, n, _ := strings.Cut(a, ":")
			for range atoi(n) {
				slots = append(slots, jobmaster.Slot{TaskManager: tm, Address: tm + ":6122"})
			}
		}
		acts = s.h.offer(s.now, slots)
	case "request-failed":
		acts = s.h.requestFailed(s.now, atoi(c.Args[0]), errOf("not enough slots"))
	case "lost":
		acts = s.h.slotsLost(s.now, c.Args[0], errOf("heartbeat timeout"))
	case "registered":
		for _, tm := range c.Args {
			acts = append(acts, s.h.registered(s.now, tm)...)
		}
	case "worker-lost":
		acts = s.h.workerLost(s.now, c.Args[0], errOf("exit status 1"))
	case "deployed":
		n := attempt()
		for _, tm := range c.Args {
			acts = append(acts, s.h.deploy(s.now, tm, n)...)
		}
	case "finished":
		acts = s.h.finished(s.now, attempt(), atoi(c.Args[0]), atoi(c.Args[1]))
	case "ended":
		n := attempt()
		var err error
		if _, ok := c.KV["err"]; ok {
			err = errOf("")
			if c.KV["nonrecoverable"] == "true" {
				err = jobmaster.NonRecoverable(err)
			}
		}
		for _, tm := range c.Args {
			acts = append(acts, s.h.tasksEnded(s.now, tm, n, err)...)
		}
	case "attempt-failed":
		acts = s.h.attemptFailed(s.now, errOf("too many failed checkpoints"))
	case "complete":
		if !s.h.complete(c.Args[0]) {
			return []string{"no checkpoints run"}
		}
		return []string{"ok"}
	case "checkpoints-ended":
		acts = s.h.checkpointsEnded(s.now)
	case "cancel":
		acts = s.h.cancel(s.now)
	case "suspend":
		acts = s.h.suspend(s.now)
	case "tick":
		v := c.Args[0]
		rel := strings.HasPrefix(v, "+")
		ms, err := parseTime(strings.TrimPrefix(v, "+"))
		if err != nil {
			t.Fatalf("line %d: tick %s: %v", line, v, err)
		}
		if rel {
			ms += s.now
		}
		s.now = ms
		acts = s.h.tick(s.now)
	case "state":
		return s.state()
	case "deadline":
		if d, ok := s.h.c.NextDeadline(); ok {
			return []string{fmt.Sprintf("deadline %d", d)}
		}
		return []string{"no deadline"}
	default:
		t.Fatalf("line %d: unknown command %q", line, c.Name)
	}
	if len(acts) == 0 {
		return []string{"ok"}
	}
	return format(acts)
}

func (s *scripted) state() []string {
	c := s.h.c
	out := []string{fmt.Sprintf("%s attempt=%d ignored=%d", c.State(), c.Attempt(), c.Ignored())}
	for v, row := range c.Executions() {
		parts := make([]string, len(row))
		for i, e := range row {
			parts[i] = string(e)
		}
		out = append(out, fmt.Sprintf("task%d: %s", v, strings.Join(parts, " ")))
	}
	if err := c.Cause(); err != nil {
		out = append(out, "cause: "+err.Error())
	}
	return out
}

func parseRestart(t *testing.T, line int, v string) restart.Strategy {
	switch {
	case v == "" || v == "none":
		return nil
	case v == "exp":
		c := restart.Defaults()
		c.Type = restart.ExponentialDelay
		c.ExponentialDelay.InitialBackoff = time.Second
		c.ExponentialDelay.BackoffMultiplier = 2
		c.ExponentialDelay.MaxBackoff = 8 * time.Second
		c.ExponentialDelay.JitterFactor = 0
		return c.New()
	case strings.HasPrefix(v, "fixed:"):
		parts := strings.Split(v, ":")
		n, err := strconv.Atoi(parts[1])
		if err != nil || len(parts) != 3 {
			t.Fatalf("line %d: restart=%s", line, v)
		}
		d, err := time.ParseDuration(parts[2])
		if err != nil {
			t.Fatalf("line %d: restart=%s", line, v)
		}
		return restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: n, Delay: d}}.New()
	}
	t.Fatalf("line %d: restart=%s", line, v)
	return nil
}
