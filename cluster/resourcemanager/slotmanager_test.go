package resourcemanager_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/internal/script"
)

func TestConfigDefaultsAndValidate(t *testing.T) {
	var cfg rm.Config
	cfg.EnsureDefaults()
	want := rm.Config{
		SlotsPerWorker:      1,
		HeartbeatTimeout:    50 * time.Second,
		TaskManagerTimeout:  30 * time.Second,
		SlotRequestTimeout:  5 * time.Minute,
		RegistrationTimeout: 5 * time.Minute,
		StartRetryInterval:  3 * time.Second,
	}
	if cfg != want {
		t.Fatalf("EnsureDefaults: got %+v, want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	// Validate names the key of every field; the scripts (config.txt)
	// show the messages.
	for _, tc := range []struct {
		edit func(*rm.Config)
		key  string
	}{
		{func(c *rm.Config) { c.SlotsPerWorker = 0 }, rm.KeySlotsPerWorker},
		{func(c *rm.Config) { c.HeartbeatTimeout = 0 }, rm.KeyHeartbeatTimeout},
		{func(c *rm.Config) { c.TaskManagerTimeout = -1 }, rm.KeyTaskManagerTimeout},
		{func(c *rm.Config) { c.SlotRequestTimeout = time.Microsecond }, rm.KeySlotRequestTimeout},
		{func(c *rm.Config) { c.RegistrationTimeout = 0 }, rm.KeyRegistrationTimeout},
		{func(c *rm.Config) { c.StartRetryInterval = 0 }, rm.KeyStartRetryInterval},
		{func(c *rm.Config) { c.MaxSlots = -1 }, rm.KeyMaxSlots},
		{func(c *rm.Config) { c.SlotsPerWorker, c.MaxSlots = 4, 3 }, rm.KeyMaxSlots},
	} {
		c := want
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "resourcemanager: "+tc.key+" ") {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c, err, tc.key)
		}
	}
	if _, err := rm.New(rm.Config{}, rm.Mode(0)); err == nil {
		t.Error("New accepted Mode(0)")
	}
}

// TestRegistrationErrors checks the errors a TaskManager gets, by
// sentinel.
func TestRegistrationErrors(t *testing.T) {
	m, err := rm.New(rm.Config{}, rm.Active)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterTaskManager(0, "tm", "a:1", 1); !errors.Is(err, rm.ErrUnknownWorker) {
		t.Errorf("unrequested worker: %v, want ErrUnknownWorker", err)
	}
	if err := m.RegisterTaskManager(0, "", "a:1", 1); !errors.Is(err, rm.ErrInvalidRegistration) {
		t.Errorf("no ID: %v, want ErrInvalidRegistration", err)
	}
	if err := m.Heartbeat(0, "tm"); !errors.Is(err, rm.ErrUnknownTaskManager) {
		t.Errorf("heartbeat: %v, want ErrUnknownTaskManager", err)
	}
	if a := m.Ready(); len(a) != 0 {
		t.Errorf("rejected events produced actions: %v", a)
	}
	if st := m.Stats(); st.Ignored != 3 {
		t.Errorf("Ignored = %d, want 3", st.Ignored)
	}
}

// TestRandomized drives SlotManagers with seeded random event sequences,
// correct and incorrect, and lets the harness check every invariant after
// every event.
func TestRandomized(t *testing.T) {
	sequences := 1000
	if testing.Short() {
		sequences = 100
	}
	seen := map[string]int{}
	for seed := range uint64(sequences) {
		runRandom(t, seed, 300, seen)
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
	}
	// The generator must reach every outcome, or the invariants were
	// checked on too little.
	for _, what := range []string{
		"registered", "registration declined", "heartbeat unknown",
		"RequestWorker", "AllocateSlots", "AllocateSlots overtaking",
		"ReleaseWorker idle", "ReleaseWorker registration-timeout", "ReleaseWorker heartbeat-timeout", "ReleaseWorker lost",
		"JobSlotsLost heartbeat-timeout", "JobSlotsLost lost", "JobSlotsLost reregistered", "JobSlotsLost worker-failed",
		"RequestFailed request-timeout", "RequestFailed invalid-request",
		"Warn worker-failed", "Warn not-enough-slots",
	} {
		if seen[what] == 0 {
			t.Errorf("no sequence produced %q", what)
		}
	}
	t.Logf("outcomes: %v", seen)
}

func runRandom(t *testing.T, seed uint64, steps int, seen map[string]int) {
	rng := rand.New(rand.NewPCG(seed, 0x5107))
	mode := rm.Active
	if rng.IntN(3) == 0 {
		mode = rm.Standalone
	}
	cfg := rm.Config{
		SlotsPerWorker:      1 + rng.IntN(4),
		HeartbeatTimeout:    time.Duration(50+rng.IntN(200)) * time.Millisecond,
		TaskManagerTimeout:  time.Duration(20+rng.IntN(200)) * time.Millisecond,
		SlotRequestTimeout:  time.Duration(50+rng.IntN(500)) * time.Millisecond,
		RegistrationTimeout: time.Duration(30+rng.IntN(200)) * time.Millisecond,
		StartRetryInterval:  time.Duration(1+rng.IntN(50)) * time.Millisecond,
	}
	if rng.IntN(4) == 0 {
		cfg.MaxSlots = cfg.SlotsPerWorker * (1 + rng.IntN(5))
	}
	h := newHarness(t, fmt.Sprintf("seed %d (%v, %+v)", seed, mode, cfg), cfg, mode)
	if h == nil {
		return
	}
	h.seen = seen
	now := int64(1_000_000)
	jobs := []rm.JobID{"j1", "j2", "j3", "j4"}
	standaloneIDs := []rm.WorkerID{"tm-a", "tm-b", "tm-c", "tm-d", "tm-e"}
	// pickTM prefers a registered TaskManager, sometimes takes any
	// name.
	pickTM := func() rm.WorkerID {
		tms := h.m.TaskManagers()
		if len(tms) > 0 && rng.IntN(8) > 0 {
			return tms[rng.IntN(len(tms))].ID
		}
		if mode == rm.Standalone {
			return standaloneIDs[rng.IntN(len(standaloneIDs))]
		}
		return rm.WorkerID(fmt.Sprintf("worker-%d", rng.IntN(20)))
	}
	pickWorker := func() rm.WorkerID {
		if p := h.m.PendingWorkers(); len(p) > 0 && rng.IntN(6) > 0 {
			return p[rng.IntN(len(p))]
		}
		return pickTM()
	}
	for range steps {
		if t.Failed() {
			return
		}
		now += int64(rng.IntN(20))
		switch r := rng.IntN(100); {
		case r < 30:
			if d, ok := h.m.NextDeadline(); ok && d > now && rng.IntN(2) == 0 {
				if rng.IntN(4) == 0 {
					now = d - 1 // just before: nothing may happen
				} else {
					now = d
				}
			}
			h.tick(now)
		case r < 45:
			for _, tm := range h.m.TaskManagers() {
				if rng.IntN(5) > 0 {
					h.heartbeat(now, tm.ID)
				}
			}
			if rng.IntN(10) == 0 {
				h.heartbeat(now, pickTM())
			}
		case r < 60:
			id := pickWorker()
			if mode == rm.Standalone && rng.IntN(3) > 0 {
				id = standaloneIDs[rng.IntN(len(standaloneIDs))]
			}
			slots := h.cfg.SlotsPerWorker
			if mode == rm.Standalone {
				slots = 1 + rng.IntN(4)
			}
			if rng.IntN(30) == 0 {
				slots = 0
			}
			h.register(now, id, string(id)+":6122", slots)
		case r < 72:
			n := 1 + rng.IntN(7)
			if rng.IntN(30) == 0 {
				n = 0
			}
			h.request(now, jobs[rng.IntN(len(jobs))], n)
		case r < 80:
			h.release(now, jobs[rng.IntN(len(jobs))])
		case r < 88:
			h.started(now, pickWorker())
		case r < 94:
			h.failed(now, pickWorker(), errors.New("exit status 1"))
		default:
			h.lost(now, pickTM())
		}
	}
}

// TestCoreIsDeterministic checks mechanically that the SlotManager is a
// pure state machine: no goroutines, no clock, no I/O, nothing beyond
// the standard library's pure packages (driver.go declares the driver
// interface, hence context).
func TestCoreIsDeterministic(t *testing.T) {
	script.CheckCore(t, "context", "errors", "fmt", "slices", "time")
}

// TestSameEventsSameActions replays one random sequence on two
// SlotManagers: the actions must be identical (no map order, no clock).
func TestSameEventsSameActions(t *testing.T) {
	run := func() []string {
		var out []string
		h := newHarness(t, "replay", rm.Config{SlotsPerWorker: 2}, rm.Active)
		rng := rand.New(rand.NewPCG(7, 7))
		now := int64(0)
		for range 500 {
			now += int64(rng.IntN(5000))
			var acts []rm.Action
			switch rng.IntN(5) {
			case 0:
				acts = h.tick(now)
			case 1:
				acts = h.request(now, rm.JobID(fmt.Sprint("j", rng.IntN(3))), 1+rng.IntN(5))
			case 2:
				acts = h.release(now, rm.JobID(fmt.Sprint("j", rng.IntN(3))))
			case 3:
				if p := h.m.PendingWorkers(); len(p) > 0 {
					acts, _ = h.register(now, p[rng.IntN(len(p))], "x:1", 2)
				}
			case 4:
				for _, tm := range h.m.TaskManagers() {
					h.heartbeat(now, tm.ID)
				}
			}
			out = append(out, formatActions(acts)...)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Fatal("the same events gave different actions")
	}
	if len(a) < 50 {
		t.Fatalf("only %d actions: the replay tests too little", len(a))
	}
}
