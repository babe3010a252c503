package checkpoint_test

// Scripted tests: each file in testdata/ is a sequence of cases
//
//	# a comment, up to the end of the line
//	command arg key=value key="value with spaces"
//	----
//	expected output, one line per line
//	<blank line>
//
// run against one coordinator in order. The output of an event is what
// Ready returned, one action per line (after the command's own result, if
// it has one), or "ok" if there was nothing. Every event also goes through
// the harness of coordinator_test.go, which checks the coordinator's
// invariants after it; a broken invariant fails the test whatever the
// expected output says. With -rewrite the expected outputs are replaced by
// what the coordinator produced:
//
//	go test ./runtime/checkpoint -run Scripts -rewrite
//
// Times are milliseconds. Every command takes t=T, which sets the script's
// clock to T first (the clock starts at 0); tick also takes the time as
// its argument, absolute (tick 100) or relative (tick +50). Tasks are
// written vertex.subtask (1.0).
//
// Commands:
//
//	new [interval=D] [timeout=D] [min-pause=D] [max-concurrent=N]
//	    [tolerable=N] [retained=N] [chains=src/map,sink]
//	    [parallelism=1,2] [coordinators=src]
//	        A new coordinator (Durations in Go syntax). chains lists the
//	        operators of each vertex, vertices separated by "/"; vertex 0
//	        holds the sources. The default job is chains=src/sink
//	        parallelism=1,2 coordinators=src: tasks 0.0, 1.0 and 1.1.
//	tick T                    Tick.
//	ack ID WHO... [ops=a,b]   Acknowledge checkpoint ID: WHO is a task
//	                          (acknowledging the state "ID/op/subtask" of
//	                          each operator of its chain, or of ops), an
//	                          operator's coordinator (state "ID/op"), or
//	                          "all": every task and coordinator not yet
//	                          acknowledged by the script.
//	decline ID TASK [reason=R]
//	fail ID [reason=R]        Fail: the driver could not carry it out.
//	written ID [loc=L] [err=E]
//	                          MetadataWritten; the location defaults to
//	                          /cp/ID, /sp/ID for savepoints.
//	checkpoint                TriggerCheckpoint; prints "checkpoint ID" or
//	                          the error.
//	savepoint [terminate] [drain] [dir=D]
//	                          TriggerSavepoint; prints "savepoint ID" or
//	                          the error.
//	finish TASK...|all        TaskFinished.
//	restart [reason=R]        Restart.
//	stop                      Stop.
//	restore ID checkpoint|savepoint [loc=L]
//	                          RestoreFrom with metadata of that ID.
//	latest | retained | pending | deadline | stats
//	                          Print the query's answer.

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/script"
	"github.com/runnel-io/runnel/runtime/checkpoint"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected outputs of testdata/*.txt with what the coordinator produces")

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
	sent map[int64]map[string]bool // what "ack ID all" no longer sends
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
		if s.now, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fail("bad time %q", v)
		}
		delete(kv, "t")
	}
	if cmd == "new" {
		return s.newCoordinator(where, kv, fail)
	}
	if s.h == nil {
		return fail("no coordinator: start with new")
	}
	s.h.name = where
	h := s.h
	var result []string
	var acts []checkpoint.Action
	switch cmd {
	case "tick":
		if len(pos) != 1 {
			return fail("tick needs a time")
		}
		v, rel := strings.CutPrefix(pos[0], "+")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fail("bad time %q", pos[0])
		}
		if rel {
			n += s.now
		}
		s.now = n
		acts = h.tick(s.now)
	case "ack":
		if len(pos) < 2 {
			return fail("ack needs an ID and who acknowledges")
		}
		id := s.id(pos[0], fail)
		var ops []string
		if v, ok := kv["ops"]; ok {
			ops = strings.Split(v, ",")
		}
		who := pos[1:]
		if slices.Equal(who, []string{"all"}) {
			who = nil
			for _, task := range h.job.Tasks {
				who = append(who, fmt.Sprintf("%d.%d", task.Vertex, task.Subtask))
			}
			who = append(who, h.spec.coords...)
			who = slices.DeleteFunc(who, func(w string) bool { return s.sent[id][w] })
		}
		for _, w := range who {
			if s.sent[id] == nil {
				s.sent[id] = map[string]bool{}
			}
			s.sent[id][w] = true
			if task, err := parseTask(w); err == nil {
				acts = append(acts, h.ack(s.now, id, task, ops)...)
			} else {
				acts = append(acts, h.ackCoord(s.now, id, w)...)
			}
		}
	case "decline":
		if len(pos) != 2 {
			return fail("decline needs an ID and a task")
		}
		var reason error
		if r, ok := kv["reason"]; ok {
			reason = errors.New(r)
		}
		acts = h.decline(s.now, s.id(pos[0], fail), s.task(pos[1], fail), reason)
	case "fail":
		if len(pos) != 1 {
			return fail("fail needs an ID")
		}
		var reason error
		if r, ok := kv["reason"]; ok {
			reason = errors.New(r)
		}
		acts = h.fail(s.now, s.id(pos[0], fail), reason)
	case "written":
		if len(pos) != 1 {
			return fail("written needs an ID")
		}
		id := s.id(pos[0], fail)
		loc, ok := kv["loc"]
		if !ok {
			loc = fmt.Sprintf("/cp/%d", id)
			if st := h.ids[id]; st != nil && st.opts.Kind == checkpoint.KindSavepoint {
				loc = fmt.Sprintf("/sp/%d", id)
			}
		}
		var werr error
		if e, ok := kv["err"]; ok {
			werr = errors.New(e)
		}
		acts = h.written(s.now, id, loc, werr)
	case "checkpoint":
		id, a, err := h.manual(s.now)
		result, acts = triggerResult("checkpoint", id, err), a
	case "savepoint":
		opts := checkpoint.Options{Kind: checkpoint.KindSavepoint, TargetDir: kv["dir"]}
		opts.Terminate = slices.Contains(pos, "terminate")
		opts.Drain = slices.Contains(pos, "drain")
		id, a, err := h.savepoint(s.now, opts)
		result, acts = triggerResult("savepoint", id, err), a
	case "finish":
		tasks := pos
		if slices.Equal(pos, []string{"all"}) {
			tasks = nil
			for _, task := range h.job.Tasks {
				tasks = append(tasks, fmt.Sprintf("%d.%d", task.Vertex, task.Subtask))
			}
		}
		for _, w := range tasks {
			acts = append(acts, h.finish(s.now, s.task(w, fail))...)
		}
	case "restart":
		var reason error
		if r, ok := kv["reason"]; ok {
			reason = errors.New(r)
		}
		acts = h.restart(s.now, reason)
	case "stop":
		acts = h.stop(s.now)
	case "restore":
		if len(pos) != 2 {
			return fail("restore needs an ID and a kind")
		}
		md := &checkpoint.Metadata{JobID: "old", CheckpointID: s.id(pos[0], fail)}
		switch pos[1] {
		case "checkpoint":
			md.Kind = checkpoint.KindCheckpoint
		case "savepoint":
			md.Kind = checkpoint.KindSavepoint
		default:
			return fail("bad kind %q", pos[1])
		}
		loc, ok := kv["loc"]
		if !ok {
			loc = fmt.Sprintf("/restored/%d", md.CheckpointID)
		}
		acts = h.restore(md, loc)
	case "latest":
		md, loc, ok := h.c.Latest()
		if !ok {
			return []string{"latest: none"}
		}
		return []string{fmt.Sprintf("latest: %v %d at %s", md.Kind, md.CheckpointID, loc)}
	case "retained":
		var ids []string
		for _, cp := range h.c.Retained() {
			ids = append(ids, fmt.Sprintf("%d at %s", cp.ID, cp.Location))
		}
		return []string{"retained: " + orNone(strings.Join(ids, ", "))}
	case "pending":
		return []string{"pending: " + orNone(strings.Trim(fmt.Sprint(h.c.Pending()), "[]"))}
	case "deadline":
		d, ok := h.c.NextDeadline()
		if !ok {
			return []string{"deadline: none"}
		}
		return []string{fmt.Sprintf("deadline: %d", d)}
	case "stats":
		st := h.c.Stats()
		return []string{fmt.Sprintf("triggered=%d completed=%d failed=%d in-progress=%d consecutive-failures=%d ignored=%d",
			st.Triggered, st.Completed, st.Failed, st.InProgress, st.ConsecutiveFailures, st.Ignored),
			fmt.Sprintf("last completed=%d at %q after %v; restored=%d from %q",
				st.LastCompletedID, st.LastCompletedLocation, st.LastCompletedDuration, st.RestoredID, st.RestoredLocation)}
	default:
		return fail("unknown command %q", cmd)
	}
	for _, a := range acts {
		result = append(result, formatAction(a))
	}
	if len(result) == 0 {
		return []string{"ok"}
	}
	return result
}

func (s *scriptState) newCoordinator(where string, kv map[string]string, fail func(string, ...any) []string) []string {
	cfg := checkpoint.Config{}
	spec := defaultSpec()
	for k, v := range kv {
		var err error
		switch k {
		case "interval":
			cfg.Interval, err = time.ParseDuration(v)
		case "timeout":
			cfg.Timeout, err = time.ParseDuration(v)
		case "min-pause":
			cfg.MinPause, err = time.ParseDuration(v)
		case "max-concurrent":
			cfg.MaxConcurrent, err = strconv.Atoi(v)
		case "tolerable":
			cfg.TolerableFailures, err = strconv.Atoi(v)
		case "retained":
			cfg.NumRetained, err = strconv.Atoi(v)
		case "chains":
			spec.chains = nil
			for _, ops := range strings.Split(v, "/") {
				spec.chains = append(spec.chains, strings.Split(ops, ","))
			}
		case "parallelism":
			spec.par = nil
			for _, p := range strings.Split(v, ",") {
				n, perr := strconv.Atoi(p)
				err = errors.Join(err, perr)
				spec.par = append(spec.par, n)
			}
		case "coordinators":
			spec.coords = nil
			if v != "" {
				spec.coords = strings.Split(v, ",")
			}
		default:
			return fail("unknown key %q", k)
		}
		if err != nil {
			return fail("%s: %v", k, err)
		}
	}
	if len(spec.par) != len(spec.chains) {
		return fail("%d chains but %d parallelisms", len(spec.chains), len(spec.par))
	}
	if _, err := checkpoint.New(cfg, spec.job(), s.now); err != nil {
		s.h = nil
		return []string{"error: " + err.Error()}
	}
	s.h = newHarness(s.t, where, cfg, spec, s.now)
	s.sent = map[int64]map[string]bool{}
	return []string{"ok"}
}

func (s *scriptState) id(v string, fail func(string, ...any) []string) int64 {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		fail("bad ID %q", v)
	}
	return id
}

func (s *scriptState) task(v string, fail func(string, ...any) []string) checkpoint.TaskID {
	task, err := parseTask(v)
	if err != nil {
		fail("%v", err)
	}
	return task
}

func parseTask(v string) (checkpoint.TaskID, error) {
	vs, ss, ok := strings.Cut(v, ".")
	vertex, err1 := strconv.Atoi(vs)
	subtask, err2 := strconv.Atoi(ss)
	if !ok || err1 != nil || err2 != nil {
		return checkpoint.TaskID{}, fmt.Errorf("bad task %q, want vertex.subtask", v)
	}
	return checkpoint.TaskID{Vertex: vertex, Subtask: subtask}, nil
}

// splitFields splits a command line at spaces, keeping double-quoted
// values (key="a b") together and unquoting them.

func triggerResult(kind string, id int64, err error) []string {
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	return []string{fmt.Sprintf("%s %d", kind, id)}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func formatAction(a checkpoint.Action) string {
	switch a := a.(type) {
	case checkpoint.Trigger:
		return fmt.Sprintf("Trigger %d %v ts=%d%s", a.ID, a.Options.Kind, a.Timestamp, flags(a.Options))
	case checkpoint.WriteMetadata:
		md := a.Metadata
		var ops []string
		for _, op := range md.Operators {
			var parts []string
			for _, st := range op.Subtasks {
				parts = append(parts, orDash(st.Operator.Path))
			}
			if op.Coordinator != nil {
				parts = append(parts, "coord="+string(op.Coordinator))
			}
			ops = append(ops, op.ID+"["+strings.Join(parts, " ")+"]")
		}
		return fmt.Sprintf("WriteMetadata %d %v ts=%d%s: %s", md.CheckpointID, md.Kind, md.Timestamp, flags(a.Options), strings.Join(ops, " "))
	case checkpoint.Complete:
		return fmt.Sprintf("Complete %d %v%s at %s", a.ID, a.Options.Kind, flags(a.Options), a.Location)
	case checkpoint.Abort:
		return fmt.Sprintf("Abort %d %v%s; reason: %v", a.ID, a.Options.Kind, flags(a.Options), a.Reason)
	case checkpoint.Discard:
		return fmt.Sprintf("Discard %d at %s", a.ID, a.Location)
	case checkpoint.FailJob:
		return fmt.Sprintf("FailJob; reason: %v", a.Reason)
	}
	return fmt.Sprintf("unknown action %T", a)
}

func flags(o checkpoint.Options) string {
	var b strings.Builder
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Final, "final"}, {o.Terminate, "terminate"}, {o.Drain, "drain"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if o.TargetDir != "" {
		b.WriteString(" dir=" + o.TargetDir)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
