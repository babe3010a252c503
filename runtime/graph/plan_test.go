package graph

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/runtime/partition"
)

// planGraph is src(p) -> m -> [rebalance] keyed(p) -> sink, plus a forward
// edge from m to a second chain of parallelism p.
func planGraph(p int) *JobGraph {
	b := newBuilder(p)
	src := b.node("src", true)
	m := b.node("m", false, src)
	keyed := b.node("keyed", false)
	b.edge(m, keyed, partition.Rebalance)
	b.node("sink", false, keyed)
	jg, err := b.g.JobGraph()
	if err != nil {
		panic(err)
	}
	return jg
}

func TestPlanRoundTripsAndChecks(t *testing.T) {
	jg := planGraph(3)
	p := jg.Plan("job")
	if len(p.Vertices) != 2 || len(p.Edges) != 1 || p.Edges[0].Partitioner != "REBALANCE" || p.Edges[0].Pointwise {
		t.Fatalf("plan %+v", p)
	}
	if !p.Vertices[0].Source() || p.Vertices[1].Source() {
		t.Fatal("source flags wrong")
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Plan
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if err := q.Check(planGraph(3)); err != nil {
		t.Fatalf("the same program's graph: %v", err)
	}
	err = q.Check(planGraph(4))
	if err == nil || !strings.Contains(err.Error(), "parallelism") {
		t.Fatalf("another parallelism: %v, want an error about parallelism", err)
	}
}

func TestGateLayoutMatchesConsumers(t *testing.T) {
	jg := planGraph(3)
	keyed := jg.Vertices[1]
	for s := range keyed.Parallelism {
		layout := jg.GateLayout(keyed, s)
		if len(layout) != 3 {
			t.Fatalf("subtask %d has %d channels, want one per producer", s, len(layout))
		}
		for ch, c := range layout {
			if c.Producer != ch || !containsInt(jg.Consumers(c.Edge, c.Producer), s) {
				t.Fatalf("channel %d of subtask %d: %+v", ch, s, c)
			}
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
