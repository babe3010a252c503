package resourcemanager_test

// Scripted tests: each file in testdata/ is a sequence of cases
//
//	# a comment, up to the end of the line
//	command arg key=value key="value with spaces"
//	----
//	expected output, one line per line
//	<blank line>
//
// run against one SlotManager in order. The output of an event is its own
// result, if it has one, then what Ready returned, one action per line, or
// "ok" if there was nothing. Every event goes through the harness of
// harness_test.go, which checks the SlotManager's invariants after it; a
// broken invariant fails the test whatever the expected output says. With
// -rewrite the expected outputs are replaced by what the SlotManager
// produced:
//
//	go test ./cluster/resourcemanager -run Scripts -rewrite
//
// Times are milliseconds, or Go durations (30s). Every command takes t=T,
// which sets the script's clock to T first (the clock starts at 0); tick
// also takes the time as its argument, absolute (tick 100) or relative
// (tick +50, tick +30s).
//
// Commands:
//
//	new [mode=active|standalone] [slots=N] [heartbeat=D] [idle=D]
//	    [request-timeout=D] [registration-timeout=D] [retry=D]
//	    [max-slots=N]
//	        A new SlotManager (active by default), with
//	        taskmanager.numberOfTaskSlots, heartbeat.timeout,
//	        resourcemanager.taskmanager-timeout, slot.request.timeout,
//	        resourcemanager.taskmanager-registration.timeout,
//	        resourcemanager.start-worker.retry-interval and
//	        slotmanager.number-of-slots.max.
//	register TM... [slots=N] [addr=A]
//	        RegisterTaskManager of each TM (slots defaults to the
//	        configured slots per worker, addr to TM:6122); "pending"
//	        stands for every pending worker.
//	heartbeat TM...|all       Heartbeat.
//	tick T                    Tick.
//	request JOB N             RequestSlots.
//	release JOB               ReleaseSlots.
//	started W...|pending      WorkerStarted.
//	failed W [err=E]          WorkerFailed.
//	lost TM                   TaskManagerLost.
//	state | deadline | stats  Print the SlotManager's state.

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/internal/script"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected outputs of testdata/*.txt with what the SlotManager produces")

func TestScripts(t *testing.T) {
	script.Files(t, "testdata/*.txt", *rewrite, func(t *testing.T, file string) script.Runner {
		s := &scriptState{t: t, file: file}
		return s.run
	})
}

// scriptState is the state of one file's run.
type scriptState struct {
	t    *testing.T
	file string
	h    *harness
	now  int64
}

// run runs one command and returns its output lines.
func (s *scriptState) run(line int, cmdLine string) []string {
	where := fmt.Sprintf("%s:%d", s.file, line)
	c, err := script.Parse(cmdLine)
	if err != nil {
		s.t.Fatalf("%s: %v", where, err)
	}
	cmd, pos, kv := c.Name, c.Args, c.KV
	fail := func(format string, args ...any) []string {
		s.t.Fatalf("%s: %s: %s", where, cmdLine, fmt.Sprintf(format, args...))
		return nil
	}
	if v, ok := kv["t"]; ok {
		if s.now, err = parseTime(v); err != nil {
			return fail("%v", err)
		}
		delete(kv, "t")
	}
	if cmd == "new" {
		return s.newSlotManager(where, kv, fail)
	}
	if s.h == nil {
		return fail("no SlotManager: start with new")
	}
	h := s.h
	h.name = where
	var result []string
	var acts []rm.Action
	ids := func() []rm.WorkerID {
		var out []rm.WorkerID
		for _, p := range pos {
			switch p {
			case "pending":
				out = append(out, h.m.PendingWorkers()...)
			case "all":
				for _, tm := range h.m.TaskManagers() {
					out = append(out, tm.ID)
				}
			default:
				out = append(out, rm.WorkerID(p))
			}
		}
		if len(out) == 0 && len(pos) == 0 {
			fail("%s needs an ID", cmd)
		}
		return out
	}
	switch cmd {
	case "register":
		slots := h.cfg.SlotsPerWorker
		if v, ok := kv["slots"]; ok {
			if slots, err = strconv.Atoi(v); err != nil {
				return fail("bad slots %q", v)
			}
		}
		for _, id := range ids() {
			addr, ok := kv["addr"]
			if !ok {
				addr = string(id) + ":6122"
			}
			a, err := h.register(s.now, id, addr, slots)
			if err != nil {
				result = append(result, "error: "+err.Error())
			}
			result = append(result, formatActions(a)...)
		}
	case "heartbeat":
		for _, id := range ids() {
			if err := h.heartbeat(s.now, id); err != nil {
				result = append(result, "error: "+err.Error())
			}
		}
	case "tick":
		if len(pos) != 1 {
			return fail("tick needs a time")
		}
		v, rel := strings.CutPrefix(pos[0], "+")
		n, err := parseTime(v)
		if err != nil {
			return fail("%v", err)
		}
		if rel {
			n += s.now
		}
		s.now = n
		acts = h.tick(s.now)
	case "request":
		if len(pos) != 2 {
			return fail("request needs a job and a number of slots")
		}
		n, err := strconv.Atoi(pos[1])
		if err != nil {
			return fail("bad number %q", pos[1])
		}
		acts = h.request(s.now, rm.JobID(pos[0]), n)
	case "release":
		if len(pos) != 1 {
			return fail("release needs a job")
		}
		acts = h.release(s.now, rm.JobID(pos[0]))
	case "started":
		for _, id := range ids() {
			acts = append(acts, h.started(s.now, id)...)
		}
	case "failed":
		if len(pos) != 1 {
			return fail("failed needs a worker")
		}
		err := errors.New("exit status 1")
		if e, ok := kv["err"]; ok {
			err = errors.New(e)
		}
		acts = h.failed(s.now, rm.WorkerID(pos[0]), err)
	case "lost":
		if len(pos) != 1 {
			return fail("lost needs a TaskManager")
		}
		acts = h.lost(s.now, rm.WorkerID(pos[0]))
	case "state":
		for _, tm := range h.m.TaskManagers() {
			var slots []string
			for _, j := range tm.Slots {
				slots = append(slots, orDash(string(j)))
			}
			result = append(result, fmt.Sprintf("%s at %s: [%s] heartbeat=%d", tm.ID, tm.Address, strings.Join(slots, " "), tm.LastHeartbeat))
		}
		pending := fmt.Sprint(h.m.PendingWorkers())
		result = append(result, "pending workers: "+orNone(strings.Trim(pending, "[]")))
		return result
	case "deadline":
		d, ok := h.m.NextDeadline()
		if !ok {
			return []string{"deadline: none"}
		}
		return []string{fmt.Sprintf("deadline: %d", d)}
	case "stats":
		st := h.m.Stats()
		return []string{
			fmt.Sprintf("taskmanagers=%d slots=%d free=%d pending-workers=%d pending-requests=%d pending-slots=%d",
				st.TaskManagers, st.Slots, st.FreeSlots, st.PendingWorkers, st.PendingRequests, st.PendingSlots),
			fmt.Sprintf("registrations=%d lost=%d workers requested=%d released=%d failed=%d; slots allocated=%d; requests fulfilled=%d failed=%d; ignored=%d",
				st.Registrations, st.TaskManagersLost, st.WorkersRequested, st.WorkersReleased, st.WorkersFailed,
				st.SlotsAllocated, st.RequestsFulfilled, st.RequestsFailed, st.Ignored),
		}
	default:
		return fail("unknown command %q", cmd)
	}
	result = append(result, formatActions(acts)...)
	if len(result) == 0 {
		return []string{"ok"}
	}
	return result
}

func (s *scriptState) newSlotManager(where string, kv map[string]string, fail func(string, ...any) []string) []string {
	var cfg rm.Config
	mode := rm.Active
	for k, v := range kv {
		var err error
		switch k {
		case "mode":
			switch v {
			case "active":
				mode = rm.Active
			case "standalone":
				mode = rm.Standalone
			default:
				return fail("bad mode %q", v)
			}
		case "slots":
			cfg.SlotsPerWorker, err = strconv.Atoi(v)
		case "max-slots":
			cfg.MaxSlots, err = strconv.Atoi(v)
		case "heartbeat":
			cfg.HeartbeatTimeout, err = time.ParseDuration(v)
		case "idle":
			cfg.TaskManagerTimeout, err = time.ParseDuration(v)
		case "request-timeout":
			cfg.SlotRequestTimeout, err = time.ParseDuration(v)
		case "registration-timeout":
			cfg.RegistrationTimeout, err = time.ParseDuration(v)
		case "retry":
			cfg.StartRetryInterval, err = time.ParseDuration(v)
		default:
			return fail("unknown key %q", k)
		}
		if err != nil {
			return fail("%s: %v", k, err)
		}
	}
	if _, err := rm.New(cfg, mode); err != nil {
		s.h = nil
		return []string{"error: " + err.Error()}
	}
	s.h = newHarness(s.t, where, cfg, mode)
	s.now = 0
	return []string{"ok"}
}

// parseTime reads milliseconds (1500) or a Go duration (1.5s).
func parseTime(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("bad time %q", v)
	}
	return d.Milliseconds(), nil
}

// splitFields splits a command line at spaces, keeping double-quoted
// values (key="a b") together and unquoting them.

func formatActions(acts []rm.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, formatAction(a))
	}
	return out
}

func formatAction(a rm.Action) string {
	switch a := a.(type) {
	case rm.RequestWorker:
		return fmt.Sprintf("RequestWorker %s slots=%d", a.Worker, a.Spec.Slots)
	case rm.ReleaseWorker:
		return fmt.Sprintf("ReleaseWorker %s; reason: %v", a.Worker, a.Reason)
	case rm.AllocateSlots:
		return fmt.Sprintf("AllocateSlots %s: %s", a.Job, joinSlots(a.Slots))
	case rm.JobSlotsLost:
		return fmt.Sprintf("JobSlotsLost %s on %s: %s", a.Job, a.TaskManager, joinSlots(a.Slots))
	case rm.RequestFailed:
		return fmt.Sprintf("RequestFailed %s %d slots; reason: %v", a.Job, a.Slots, a.Reason)
	case rm.Warn:
		return fmt.Sprintf("Warn: %v", a.Reason)
	}
	return fmt.Sprintf("unknown action %T", a)
}

func joinSlots(slots []rm.SlotID) string {
	var parts []string
	for _, s := range slots {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
