package jobmaster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/runtime/checkpoint"
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
	if err == nil || !strings.Contains(err.Error(), "0123456789abcdef") || !strings.Contains(err.Error(), "allowNonRestoredState") {
		t.Fatalf("error %v, want one naming the operator and --allowNonRestoredState", err)
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
