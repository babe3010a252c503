package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
	"github.com/runnel-io/runnel/state/keygroup"
)

// Chaining says how a node may join chains.
type Chaining int

const (
	// ChainAlways: chain with upstream and downstream where possible.
	ChainAlways Chaining = iota
	// ChainHead: start a new chain at this node (it may still chain with its
	// downstream).
	ChainHead
	// ChainNever: chain with neither side.
	ChainNever
)

// Node is one operator of the stream graph.
type Node struct {
	ID   int    // index in StreamGraph.Nodes, in creation order
	Kind string // what the operator does: "Source", "Map", "Sink", ...
	Name string
	// UID, if set by the user, fixes the operator's ID across versions of
	// the job.
	UID string
	// Parallelism and MaxParallelism; 0 means the job's default.
	Parallelism    int
	MaxParallelism int
	Chaining       Chaining
	// Factory builds the operator's subtask instances.
	Factory operator.Factory
	// Source is true for nodes whose Factory builds SourceOperators.
	Source bool
	// Bounded is true for a source that ends.
	Bounded bool
	// Coordinator, if set, creates the operator's coordinator (a source's
	// split enumerator), which runs once per job beside the subtasks.
	Coordinator operator.CoordinatorFactory
	// OutType is the type of the node's output records.
	OutType operator.Type
	// CodecErr, if set, says why OutType has no codec. That is an error only
	// if the node's records cross a task boundary.
	CodecErr error
	// SideOutputs are the node's side outputs that have consumers, by tag.
	SideOutputs map[string]*SideOutput
	// NonParallel marks an operator that can only run as one subtask (a
	// socket source, a source over a slice).
	NonParallel bool

	Inputs  []*Edge
	Outputs []*Edge
}

// SideOutput is the type of one side output of a node.
type SideOutput struct {
	Type     operator.Type
	CodecErr error
}

// Edge connects the output of Source to logical input Input of Target.
type Edge struct {
	Source, Target *Node
	Input          int
	// Tag selects a side output of Source; "" is its main output.
	Tag string
	// Partitioner routes the edge's records. Nil means Flink's default,
	// resolved by JobGraph: FORWARD between operators of equal parallelism,
	// REBALANCE otherwise.
	Partitioner partition.Partitioner
}

// Type is the type of the records on the edge.
func (e *Edge) Type() operator.Type {
	if e.Tag == "" {
		return e.Source.OutType
	}
	return e.Source.SideOutputs[e.Tag].Type
}

func (e *Edge) codecErr() error {
	if e.Tag == "" {
		return e.Source.CodecErr
	}
	return e.Source.SideOutputs[e.Tag].CodecErr
}

func (e *Edge) String() string {
	kind := "DEFAULT"
	if e.Partitioner != nil {
		kind = e.Partitioner.Kind().String()
	}
	return fmt.Sprintf("%s -[%s]-> %s", e.Source, kind, e.Target)
}

// String names the operator in messages: its name, quoted, and its UID if
// it has one, as in `"count" (uid count)`. Never its ID: a hash that no
// user wrote.
func (n *Node) String() string {
	if n.UID == "" {
		return fmt.Sprintf("%q", n.Name)
	}
	return fmt.Sprintf("%q (uid %s)", n.Name, n.UID)
}

// StreamGraph is the user's dataflow, operator by operator.
type StreamGraph struct {
	Nodes []*Node
	Edges []*Edge
	// Parallelism and MaxParallelism are the job's defaults.
	Parallelism    int
	MaxParallelism int
	// Chaining enables operator chaining for the job.
	Chaining bool
}

// AddNode adds n and gives it its ID.
func (g *StreamGraph) AddNode(n *Node) *Node {
	n.ID = len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	return n
}

// Connect adds an edge from the output tag of src ("" for the main output)
// to input input of dst.
func (g *StreamGraph) Connect(src *Node, tag string, dst *Node, input int, p partition.Partitioner) *Edge {
	e := &Edge{Source: src, Tag: tag, Target: dst, Input: input, Partitioner: p}
	src.Outputs = append(src.Outputs, e)
	dst.Inputs = append(dst.Inputs, e)
	g.Edges = append(g.Edges, e)
	return e
}

// ParallelismOf returns n's effective parallelism.
func (g *StreamGraph) ParallelismOf(n *Node) int {
	if n.Parallelism > 0 {
		return n.Parallelism
	}
	return g.Parallelism
}

// MaxParallelismOf returns n's effective maximum parallelism (its number of
// key groups).
func (g *StreamGraph) MaxParallelismOf(n *Node) int {
	if n.MaxParallelism > 0 {
		return n.MaxParallelism
	}
	if g.MaxParallelism > 0 {
		return g.MaxParallelism
	}
	return keygroup.DefaultFor(g.ParallelismOf(n))
}

// Validate checks the graph and returns every problem found, each naming
// the operators involved.
func (g *StreamGraph) Validate() error {
	var errs []error
	if len(g.Nodes) == 0 {
		return errors.New("graph: the job has no operators")
	}
	if g.Parallelism < 1 {
		errs = append(errs, fmt.Errorf("graph: job parallelism %d, want at least 1", g.Parallelism))
	}
	uids := map[string]*Node{}
	hasSink := false
	for _, n := range g.Nodes {
		p, maxP := g.ParallelismOf(n), g.MaxParallelismOf(n)
		if err := keygroup.Validate(maxP, p); err != nil {
			errs = append(errs, fmt.Errorf("graph: operator %s: %w", n, err))
		}
		if n.UID != "" {
			if other, dup := uids[n.UID]; dup {
				errs = append(errs, fmt.Errorf("graph: operators %q and %q have the same UID %q", other.Name, n.Name, n.UID))
			}
			uids[n.UID] = n
		}
		if n.NonParallel && p != 1 {
			errs = append(errs, fmt.Errorf("graph: operator %s is not parallel; its parallelism must be 1, not %d", n, p))
		}
		if !n.Source && len(n.Inputs) == 0 {
			errs = append(errs, fmt.Errorf("graph: operator %s has no input", n))
		}
		if len(n.Outputs) == 0 {
			hasSink = true
		}
		for _, e := range n.Inputs {
			if e.Partitioner == nil {
				continue // resolved by JobGraph
			}
			if e.Partitioner.Kind() == partition.Forward && g.ParallelismOf(e.Source) != p {
				errs = append(errs, fmt.Errorf("graph: forward edge from %s (parallelism %d) to %s (parallelism %d): forward partitioning needs equal parallelism; use Rebalance or Rescale",
					e.Source, g.ParallelismOf(e.Source), n, p))
			}
		}
	}
	if !hasSink {
		errs = append(errs, errors.New("graph: the job has no sink"))
	}
	return errors.Join(errs...)
}

// OperatorID returns the stable ID of every node, indexed by Node.ID: a hash
// of the UID where one is set, else of the node's kind, its position among
// the outputs of its inputs and its inputs' IDs.
func (g *StreamGraph) OperatorIDs() []string {
	ids := make([]string, len(g.Nodes))
	for _, n := range g.Nodes { // creation order is topological
		h := sha256.New()
		if n.UID != "" {
			fmt.Fprintf(h, "uid\x00%s", n.UID)
		} else {
			fmt.Fprintf(h, "node\x00%s\x00%d", n.Kind, len(n.Inputs))
			if len(n.Inputs) == 0 {
				// Sources: their order among the job's sources.
				k := 0
				for _, m := range g.Nodes[:n.ID] {
					if len(m.Inputs) == 0 {
						k++
					}
				}
				fmt.Fprintf(h, "\x00source%d", k)
			}
			for _, e := range n.Inputs {
				fmt.Fprintf(h, "\x00%s:%d:%d:%s", ids[e.Source.ID], e.Input, slices.Index(e.Source.Outputs, e), e.Tag)
			}
		}
		ids[n.ID] = hex.EncodeToString(h.Sum(nil)[:16])
	}
	return ids
}

// Vertex is one task of the job graph: a chain of nodes.
type Vertex struct {
	ID    int
	Nodes []*Node // head first, topologically ordered
	// In are the edges from other vertices into the head, Out the edges from
	// any node of the chain to other vertices.
	In, Out        []*Edge
	Parallelism    int
	MaxParallelism int
}

// Name is the chain's name, as Flink shows it: "A -> B -> C".
func (v *Vertex) Name() string {
	names := make([]string, len(v.Nodes))
	for i, n := range v.Nodes {
		names[i] = n.Name
	}
	return strings.Join(names, " -> ")
}

// Head is the chain's first node.
func (v *Vertex) Head() *Node { return v.Nodes[0] }

// Contains reports whether n is in the chain.
func (v *Vertex) Contains(n *Node) bool { return slices.Contains(v.Nodes, n) }

// JobGraph is the stream graph with chains fused into vertices, in
// topological order.
type JobGraph struct {
	Stream      *StreamGraph
	Vertices    []*Vertex
	OperatorIDs []string
	// VertexOf maps a Node.ID to its vertex.
	VertexOf []*Vertex
}

// Chainable reports whether e is fused into its source's chain.
func (g *StreamGraph) Chainable(e *Edge) bool {
	return g.Chaining &&
		len(e.Target.Inputs) == 1 &&
		e.Partitioner.Kind() == partition.Forward &&
		e.Source.Chaining != ChainNever &&
		e.Target.Chaining == ChainAlways &&
		g.ParallelismOf(e.Source) == g.ParallelismOf(e.Target)
}

// ResolvePartitioners gives every edge without a partitioner Flink's
// default: FORWARD between equal parallelism, REBALANCE otherwise.
func (g *StreamGraph) ResolvePartitioners() {
	for _, e := range g.Edges {
		if e.Partitioner != nil {
			continue
		}
		kind := partition.Rebalance
		if g.ParallelismOf(e.Source) == g.ParallelismOf(e.Target) {
			kind = partition.Forward
		}
		e.Partitioner = e.Type().Partitioner(kind)
	}
}

// JobGraph resolves default partitioners, validates the stream graph and
// fuses it into chains.
func (g *StreamGraph) JobGraph() (*JobGraph, error) {
	g.ResolvePartitioners()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	jg := &JobGraph{Stream: g, OperatorIDs: g.OperatorIDs(), VertexOf: make([]*Vertex, len(g.Nodes))}
	// Creation order is topological: an operator is created after its inputs.
	for _, n := range g.Nodes {
		if len(n.Inputs) == 1 && g.Chainable(n.Inputs[0]) {
			v := jg.VertexOf[n.Inputs[0].Source.ID]
			v.Nodes = append(v.Nodes, n)
			jg.VertexOf[n.ID] = v
			continue
		}
		v := &Vertex{ID: len(jg.Vertices), Nodes: []*Node{n}, Parallelism: g.ParallelismOf(n), MaxParallelism: g.MaxParallelismOf(n)}
		jg.Vertices = append(jg.Vertices, v)
		jg.VertexOf[n.ID] = v
	}
	var errs []error
	for _, e := range g.Edges {
		src, dst := jg.VertexOf[e.Source.ID], jg.VertexOf[e.Target.ID]
		if src == dst {
			continue
		}
		if err := e.codecErr(); err != nil {
			errs = append(errs, fmt.Errorf("graph: the records of %s (%s) go to %s in another task and need a codec: %w; set one with WithCodec",
				e.Source, e.Type(), e.Target, err))
		}
		src.Out = append(src.Out, e)
		dst.In = append(dst.In, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return jg, nil
}
