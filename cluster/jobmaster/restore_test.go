package jobmaster_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/state/keygroup"
	"github.com/runnel-io/runnel/stream"
)

// job is source → keyed reduce (UID "sum") → discard, at parallelism 2
// and max parallelism 64.
func job(t *testing.T) *graph.JobGraph {
	t.Helper()
	env := stream.NewEnvironment().SetParallelism(2).SetMaxParallelism(64)
	src := stream.FromValues(env, int64(1), 2, 3)
	stream.KeyBy(src, func(v int64) int64 { return v }).Reduce(func(a, b int64) (int64, error) { return a + b, nil }).UID("sum").Discard()
	sg, err := env.StreamGraph()
	if err != nil {
		t.Fatal(err)
	}
	jg, err := sg.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	return jg
}

func opID(t *testing.T, jg *graph.JobGraph, kind string) string {
	for _, n := range jg.Stream.Nodes {
		if n.Kind == kind {
			return jg.OperatorIDs[n.ID]
		}
	}
	t.Fatalf("no %s node", kind)
	return ""
}

func TestRestoreRejectsStateOfOperatorsTheJobLacks(t *testing.T) {
	jg := job(t)
	md := &checkpoint.Metadata{JobID: "j", CheckpointID: 1, Kind: checkpoint.KindSavepoint, Operators: []checkpoint.OperatorState{{
		ID: "0123456789abcdef", Name: "gone", Parallelism: 1, MaxParallelism: 64,
		Subtasks: []checkpoint.SubtaskState{{Operator: checkpoint.StateHandle{Path: "x", Size: 1}}},
	}}}
	_, err := jobmaster.BuildRestore(context.Background(), nil, md, "/sp", jg, false)
	if err == nil || !strings.Contains(err.Error(), `operator "gone"`) || !strings.Contains(err.Error(), "allowNonRestoredState") ||
		strings.Contains(err.Error(), "0123456789abcdef") {
		t.Fatalf("error %v, want one naming the operator by its name, not its ID, and --allowNonRestoredState", err)
	}
	r, err := jobmaster.BuildRestore(context.Background(), nil, md, "/sp", jg, true)
	if err != nil {
		t.Fatalf("with allowNonRestored: %v", err)
	}
	if len(r.Tasks) != len(jg.Vertices) {
		t.Fatalf("restore for %d vertices, want %d", len(r.Tasks), len(jg.Vertices))
	}
}

func TestRestoreRejectsAnotherMaxParallelism(t *testing.T) {
	jg := job(t)
	md := &checkpoint.Metadata{JobID: "j", CheckpointID: 1, Kind: checkpoint.KindSavepoint, Operators: []checkpoint.OperatorState{{
		ID: opID(t, jg, "Reduce"), Name: "sum", Parallelism: 1, MaxParallelism: 128,
		Subtasks: []checkpoint.SubtaskState{{Keyed: checkpoint.StateHandle{Path: "k", Size: 1}, KeyGroups: keygroup.Range{Start: 0, End: 127}}},
	}}}
	_, err := jobmaster.BuildRestore(context.Background(), nil, md, "/sp", jg, false)
	if err == nil || !strings.Contains(err.Error(), "max parallelism 128") {
		t.Fatalf("error %v, want one about max parallelism 128", err)
	}
}

// readLog is a storage whose state files cannot be read; it records which
// were asked for.
type readLog struct {
	storage.Storage
	read []string
}

func (r *readLog) ReadState(_ context.Context, _ string, h checkpoint.StateHandle) ([]byte, error) {
	r.read = append(r.read, h.Path)
	return nil, errors.New("unreadable")
}

// TestRestoreForReadsOnlyWantedKeyedState restores a keyed operator for
// some subtasks: only the keyed files whose key groups they own are read.
func TestRestoreForReadsOnlyWantedKeyedState(t *testing.T) {
	jg := job(t)
	reduce := opID(t, jg, "Reduce")
	var vertex int
	for _, v := range jg.Vertices {
		for _, n := range v.Nodes {
			if jg.OperatorIDs[n.ID] == reduce {
				vertex = v.ID
			}
		}
	}
	md := &checkpoint.Metadata{JobID: "j", CheckpointID: 1, Kind: checkpoint.KindSavepoint, Operators: []checkpoint.OperatorState{{
		ID: reduce, Name: "sum", Parallelism: 2, MaxParallelism: 64,
		Subtasks: []checkpoint.SubtaskState{
			{Keyed: checkpoint.StateHandle{Path: "k0", Size: 1}, KeyGroups: keygroup.Range{Start: 0, End: 31}},
			{Keyed: checkpoint.StateHandle{Path: "k1", Size: 1}, KeyGroups: keygroup.Range{Start: 32, End: 63}},
		},
	}}}
	st := &readLog{}
	none := func(int, int) bool { return false }
	if _, err := jobmaster.BuildRestoreFor(context.Background(), st, md, "/sp", jg, false, none); err != nil || len(st.read) != 0 {
		t.Fatalf("for no subtask: %v, read %v", err, st.read)
	}
	second := func(v, s int) bool { return v == vertex && s == 1 }
	_, err := jobmaster.BuildRestoreFor(context.Background(), st, md, "/sp", jg, false, second)
	if err == nil || !slices.Equal(st.read, []string{"k1"}) {
		t.Fatalf("for subtask 1: %v, read %v, want k1 only", err, st.read)
	}
}
