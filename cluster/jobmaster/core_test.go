package jobmaster_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/internal/script"
	"github.com/runnel-io/runnel/runtime/restart"
)

// TestCoreIsDeterministic checks mechanically that the Core is a pure
// state machine: no goroutines, no clock, no I/O. Its files are named:
// the package also holds its driver.
func TestCoreIsDeterministic(t *testing.T) {
	script.CheckCoreFiles(t, []string{"action.go", "core.go", "errors.go", "state.go"},
		"errors", "fmt", "slices", "time", "github.com/runnel-io/runnel/runtime/restart")
}

func randomStrategy(rng *rand.Rand) restart.Strategy {
	switch rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return restart.Config{Type: restart.FixedDelay,
			FixedDelay: restart.FixedDelayConfig{Attempts: rng.IntN(6), Delay: time.Duration(rng.IntN(3)) * time.Second}}.New()
	case 2:
		return restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: restart.Unlimited}}.New()
	default:
		c := restart.Defaults()
		c.Type = restart.ExponentialDelay
		return c.NewWithRand(rand.New(rand.NewPCG(rng.Uint64(), 1)))
	}
}

// walk runs one random sequence of events, correct ones mostly, through
// the harness, which checks the invariants after each; it returns every
// action, formatted.
func walk(t *testing.T, seed uint64, steps int) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
	cfg := jobmaster.CoreConfig{Restart: randomStrategy(rng)}
	for i := range 1 + rng.IntN(3) {
		cfg.Vertices = append(cfg.Vertices, jobmaster.CoreVertex{Name: fmt.Sprint("v", i), Parallelism: 1 + rng.IntN(4)})
	}
	if rng.IntN(2) == 0 {
		cfg.RestoreFrom = "/sp/0"
	}
	if rng.IntN(2) == 0 {
		cfg.WorkerStartTimeout = time.Duration(1+rng.IntN(5)) * time.Second
	}
	if rng.IntN(2) == 0 {
		cfg.CancelTimeout = time.Duration(1+rng.IntN(5)) * time.Second
	}
	h := newHarness(t, cfg)
	tms := []string{"tm1", "tm2", "tm3", "tm4"}
	pick := func() string { return tms[rng.IntN(len(tms))] }
	var out []string
	now := int64(0)
	out = append(out, format(h.start(now))...)
	checkpoint := 0
	for range steps {
		if t.Failed() {
			return out
		}
		now += int64(rng.IntN(700))
		var acts []jobmaster.Action
		attempt := h.c.Attempt()
		if rng.IntN(12) == 0 {
			attempt = max(0, attempt-1) // a late report
		}
		switch r := rng.IntN(100); {
		case r < 15:
			if d, ok := h.c.NextDeadline(); ok && d > now && rng.IntN(2) == 0 {
				now = d
			}
			acts = h.tick(now)
		case r < 27:
			var slots []jobmaster.Slot
			for range 1 + rng.IntN(3) {
				tm := pick()
				slots = append(slots, jobmaster.Slot{TaskManager: tm, Address: tm + ":1"})
			}
			acts = h.offer(now, slots)
		case r < 29:
			acts = h.requestFailed(now, 1+rng.IntN(3), errors.New("not enough slots"))
		case r < 33:
			acts = h.slotsLost(now, pick(), errors.New("heartbeat timeout"))
		case r < 45:
			acts = h.registered(now, pick())
		case r < 48:
			acts = h.workerLost(now, pick(), errors.New("exit status 1"))
		case r < 62:
			acts = h.deploy(now, pick(), attempt)
		case r < 66:
			acts = h.finished(now, attempt, rng.IntN(3), rng.IntN(4))
		case r < 78:
			var err error
			if rng.IntN(3) == 0 {
				err = errors.New("boom")
				if rng.IntN(5) == 0 {
					err = jobmaster.NonRecoverable(err)
				}
			}
			acts = h.tasksEnded(now, pick(), attempt, err)
		case r < 80:
			acts = h.attemptFailed(now, errors.New("too many failed checkpoints"))
		case r < 88:
			checkpoint++
			h.complete(fmt.Sprint("/cp/", checkpoint))
		case r < 97:
			acts = h.checkpointsEnded(now)
		case r < 99:
			acts = h.cancel(now)
		default:
			acts = h.suspend(now)
		}
		out = append(out, format(acts)...)
	}
	return out
}

// TestRandomized checks the harness's invariants after every event of
// thousands of random event orders, and that some of them reach every
// end.
func TestRandomized(t *testing.T) {
	ends := map[jobmaster.JobState]int{}
	restarts := 0
	for seed := range uint64(3000) {
		out := walk(t, seed, 300)
		if t.Failed() {
			t.Fatalf("seed %d:\n%s", seed, lastLines(out, 30))
		}
		for _, line := range out {
			if len(line) > 8 && line[:7] == "Deploy " && !slices.Contains([]string{"attempt=0"}, fieldOf(line, 2)) {
				restarts++
				break
			}
		}
		for _, s := range []jobmaster.JobState{jobmaster.Finished, jobmaster.Failed, jobmaster.Canceled, jobmaster.Suspended} {
			for _, line := range out {
				if line == "" || len(line) < 6 {
					continue
				}
				if endsIn(line, s) {
					ends[s]++
				}
			}
		}
	}
	for _, s := range []jobmaster.JobState{jobmaster.Finished, jobmaster.Failed, jobmaster.Canceled, jobmaster.Suspended} {
		if ends[s] == 0 {
			t.Errorf("no random walk ended %s: the walk tests too little", s)
		}
	}
	if restarts < 100 {
		t.Errorf("only %d walks restarted the job", restarts)
	}
}

func fieldOf(line string, i int) string {
	fields := splitSpaces(line)
	if i < len(fields) {
		return fields[i]
	}
	return ""
}

func splitSpaces(s string) []string {
	var out []string
	start := -1
	for i, r := range s + " " {
		if r == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

func endsIn(line string, s jobmaster.JobState) bool {
	f := splitSpaces(line)
	return len(f) >= 4 && f[0] == "State" && f[3] == string(s)
}

func lastLines(out []string, n int) string {
	var s string
	for _, l := range out[max(0, len(out)-n):] {
		s += l + "\n"
	}
	return s
}

// TestSameEventsSameActions replays random sequences on two cores: the
// actions must be identical (no map order, no clock).
func TestSameEventsSameActions(t *testing.T) {
	for seed := range uint64(20) {
		a, b := walk(t, seed, 400), walk(t, seed, 400)
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: the same events gave different actions", seed)
		}
	}
}
