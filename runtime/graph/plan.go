package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Plan is the job graph as the cluster sees it: its topology without its
// code. A client builds it from the job graph and submits it with the
// job's binary; the JobManager schedules it; a worker, which rebuilds the
// whole job graph by running the job's program, checks that it built the
// same graph (Check) before it runs any subtask. A Plan encodes to JSON.
type Plan struct {
	Name     string       `json:"name"`
	Vertices []PlanVertex `json:"vertices"`
	// Edges connect vertices, in the order of their target's inputs.
	Edges []PlanEdge `json:"edges"`
	// Fingerprint is a hash of everything else: two plans are the same
	// graph if and only if their fingerprints are equal.
	Fingerprint string `json:"fingerprint"`
}

// PlanVertex is one task of the plan: a chain of operators.
type PlanVertex struct {
	ID             int            `json:"id"`
	Name           string         `json:"name"`
	Parallelism    int            `json:"parallelism"`
	MaxParallelism int            `json:"maxParallelism"`
	Operators      []PlanOperator `json:"operators"`
}

// Source reports whether the vertex's chain starts with a source.
func (v *PlanVertex) Source() bool { return len(v.Operators) > 0 && v.Operators[0].Source }

// PlanOperator is one operator of a chain.
type PlanOperator struct {
	Node        int    `json:"node"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Source      bool   `json:"source,omitempty"`
	Bounded     bool   `json:"bounded,omitempty"`
	Coordinator bool   `json:"coordinator,omitempty"`
}

// PlanEdge is an edge between two vertices.
type PlanEdge struct {
	Source     int    `json:"source"` // vertex IDs
	Target     int    `json:"target"`
	SourceNode int    `json:"sourceNode"` // node IDs
	TargetNode int    `json:"targetNode"`
	Input      int    `json:"input"`
	Tag        string `json:"tag,omitempty"`
	// Partitioner is the kind of partitioning ("FORWARD", "HASH", ...);
	// Pointwise edges connect producer i to consumer i only.
	Partitioner string `json:"partitioner"`
	Pointwise   bool   `json:"pointwise,omitempty"`
}

// Plan returns the plan of jg, named name.
func (jg *JobGraph) Plan(name string) *Plan {
	p := &Plan{Name: name}
	for _, v := range jg.Vertices {
		pv := PlanVertex{ID: v.ID, Name: v.Name(), Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism}
		for _, n := range v.Nodes {
			pv.Operators = append(pv.Operators, PlanOperator{
				Node: n.ID, ID: jg.OperatorIDs[n.ID], Name: n.Name, Kind: n.Kind,
				Source: n.Source, Bounded: n.Bounded, Coordinator: n.Coordinator != nil,
			})
		}
		p.Vertices = append(p.Vertices, pv)
	}
	for _, v := range jg.Vertices {
		for _, e := range v.In {
			p.Edges = append(p.Edges, PlanEdge{
				Source: jg.VertexOf[e.Source.ID].ID, Target: v.ID,
				SourceNode: e.Source.ID, TargetNode: e.Target.ID, Input: e.Input, Tag: e.Tag,
				Partitioner: e.Partitioner.Kind().String(), Pointwise: e.Partitioner.Pointwise(),
			})
		}
	}
	p.Fingerprint = p.fingerprint()
	return p
}

func (p *Plan) fingerprint() string {
	q := *p
	q.Fingerprint = ""
	b, err := json.Marshal(&q)
	if err != nil {
		panic(fmt.Sprintf("graph: encoding a plan: %v", err)) // plain data: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Check reports whether jg is the graph of the plan: a worker that rebuilt
// a different graph (another version of the program, different arguments)
// must not run the plan's subtasks. The error says what differs.
func (p *Plan) Check(jg *JobGraph) error {
	q := jg.Plan(p.Name)
	if q.Fingerprint == p.Fingerprint {
		return nil
	}
	if len(q.Vertices) != len(p.Vertices) || len(q.Edges) != len(p.Edges) {
		return fmt.Errorf("graph: the program built %d tasks and %d edges, the plan has %d and %d",
			len(q.Vertices), len(q.Edges), len(p.Vertices), len(p.Edges))
	}
	for i := range p.Vertices {
		a, b := p.Vertices[i], q.Vertices[i]
		if a.Name != b.Name || a.Parallelism != b.Parallelism || a.MaxParallelism != b.MaxParallelism || len(a.Operators) != len(b.Operators) {
			return fmt.Errorf("graph: task %d is %q (parallelism %d/%d) in the plan and %q (parallelism %d/%d) in the program",
				i, a.Name, a.Parallelism, a.MaxParallelism, b.Name, b.Parallelism, b.MaxParallelism)
		}
		for j := range a.Operators {
			if a.Operators[j] != b.Operators[j] {
				return fmt.Errorf("graph: operator %q of task %d differs between the plan and the program (IDs %s and %s)",
					a.Operators[j].Name, i, a.Operators[j].ID, b.Operators[j].ID)
			}
		}
	}
	return fmt.Errorf("graph: the program's edges differ from the plan's (fingerprints %s and %s)", q.Fingerprint, p.Fingerprint)
}

// ChannelSource is where one input channel of a subtask's gate comes from:
// an edge and the producer subtask on it.
type ChannelSource struct {
	Edge     *Edge
	Producer int
}

// GateLayout returns the channels of the input gate of subtask s of v, in
// gate order: edge by edge (v.In order), producer by producer; a pointwise
// edge contributes the one channel from producer s. Every runtime lays out
// gates this way, so that producers and consumers agree on channel
// numbers.
func (jg *JobGraph) GateLayout(v *Vertex, s int) []ChannelSource {
	var chs []ChannelSource
	for _, e := range v.In {
		if e.Partitioner.Pointwise() {
			chs = append(chs, ChannelSource{e, s})
			continue
		}
		for p := range jg.VertexOf[e.Source.ID].Parallelism {
			chs = append(chs, ChannelSource{e, p})
		}
	}
	return chs
}

// Consumers returns the consumer subtasks that producer subtask s reaches
// over edge e, in the order of the writer's channels.
func (jg *JobGraph) Consumers(e *Edge, s int) []int {
	if e.Partitioner.Pointwise() {
		return []int{s}
	}
	n := jg.VertexOf[e.Target.ID].Parallelism
	cs := make([]int, n)
	for i := range cs {
		cs[i] = i
	}
	return cs
}
