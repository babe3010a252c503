package stream

import (
	"reflect"
	"strings"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
	"github.com/runnel-io/runnel/state/keygroup"
)

// port is one upstream operator of a stream, with the partitioning its
// records take to the next operator (nil: the default).
type port struct {
	node *graph.Node
	tag  string // side output, "" for the main output
	part partition.Partitioner
}

// DataStream is a stream of records of type T: the output of an operator,
// a union of several, or one of these with a partitioning applied.
//
// A DataStream is a small value; copies refer to the same operators.
// Methods that configure an operator (Name, UID, SetParallelism, ...) apply
// to the stream's operator and return the stream, so that they can be
// chained; on a union or a repartitioned stream they are a mistake that
// Execute reports.
type DataStream[T any] struct {
	env   *Environment
	ports []port
}

// Environment returns the stream's environment.
func (s DataStream[T]) Environment() *Environment { return s.env }

// operator returns the single operator whose output s is, or records a
// mistake.
func (s DataStream[T]) operator(method string) *graph.Node {
	if len(s.ports) == 1 && s.ports[0].part == nil && s.ports[0].tag == "" {
		return s.ports[0].node
	}
	names := make([]string, len(s.ports))
	for i, p := range s.ports {
		names[i] = p.node.String()
	}
	s.env.errorf("stream: %s applies to the output of one operator, not to a union or a repartitioned stream (of %s); call it on the operator before",
		method, strings.Join(names, ", "))
	return nil
}

// Name sets the operator's name, shown in errors, logs and plans.
func (s DataStream[T]) Name(name string) DataStream[T] {
	if n := s.operator("Name"); n != nil {
		n.Name = name
	}
	return s
}

// UID sets the operator's stable ID, by which its state is found in a
// savepoint taken by another version of the job.
func (s DataStream[T]) UID(uid string) DataStream[T] {
	if n := s.operator("UID"); n != nil {
		n.UID = uid
	}
	return s
}

// SetParallelism sets the operator's number of subtasks.
func (s DataStream[T]) SetParallelism(p int) DataStream[T] {
	if p < 1 {
		s.env.errorf("stream: SetParallelism(%d): parallelism must be at least 1", p)
		return s
	}
	if n := s.operator("SetParallelism"); n != nil {
		n.Parallelism = p
	}
	return s
}

// SetMaxParallelism sets the operator's number of key groups.
func (s DataStream[T]) SetMaxParallelism(p int) DataStream[T] {
	if p < 1 || p > keygroup.UpperBound {
		s.env.errorf("stream: SetMaxParallelism(%d): must be in [1, %d]", p, keygroup.UpperBound)
		return s
	}
	if n := s.operator("SetMaxParallelism"); n != nil {
		n.MaxParallelism = p
	}
	return s
}

// DisableChaining keeps the operator out of any chain.
func (s DataStream[T]) DisableChaining() DataStream[T] {
	if n := s.operator("DisableChaining"); n != nil {
		n.Chaining = graph.ChainNever
	}
	return s
}

// StartNewChain starts a new chain at the operator; its downstream may still
// chain to it.
func (s DataStream[T]) StartNewChain() DataStream[T] {
	if n := s.operator("StartNewChain"); n != nil {
		n.Chaining = graph.ChainHead
	}
	return s
}

// WithCodec sets the codec of the operator's output records, used where they
// cross a task boundary, instead of the default of codec.For.
func (s DataStream[T]) WithCodec(c codec.Codec[T]) DataStream[T] {
	if n := s.operator("WithCodec"); n != nil {
		n.OutType, n.CodecErr = operator.TypeOf(c), nil
	}
	return s
}

func (s DataStream[T]) partitioned(p partition.Partitioner) DataStream[T] {
	ports := make([]port, len(s.ports))
	for i, pt := range s.ports {
		ports[i] = port{node: pt.node, tag: pt.tag, part: p}
	}
	return DataStream[T]{env: s.env, ports: ports}
}

// Forward sends each subtask's records to the downstream subtask of the same
// index; the two operators must have the same parallelism.
func (s DataStream[T]) Forward() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Forward))
}

// Rebalance distributes records round-robin over all downstream subtasks.
func (s DataStream[T]) Rebalance() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Rebalance))
}

// Rescale distributes records round-robin over a subset of the downstream
// subtasks, so that each upstream subtask talks to as few as possible.
func (s DataStream[T]) Rescale() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Rescale))
}

// Shuffle sends each record to a downstream subtask chosen at random.
func (s DataStream[T]) Shuffle() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Shuffle))
}

// Broadcast sends every record to every downstream subtask.
func (s DataStream[T]) Broadcast() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Broadcast))
}

// Global sends every record to the first downstream subtask.
func (s DataStream[T]) Global() DataStream[T] {
	return s.partitioned(partition.Of[T](partition.Global))
}

// PartitionCustom routes each record to the downstream subtask fn returns
// for its key; fn gets the number of subtasks and must return a value in
// [0, n).
func PartitionCustom[T, K any](s DataStream[T], key func(T) K, fn func(key K, n int) int) DataStream[T] {
	return s.partitioned(partition.ByKeyCustom(key, fn))
}

// Union merges streams of the same type into one. Records of each input keep
// their order; records of different inputs interleave.
func Union[T any](s DataStream[T], others ...DataStream[T]) DataStream[T] {
	ports := append([]port(nil), s.ports...)
	for _, o := range others {
		if o.env != s.env {
			s.env.errorf("stream: Union of streams from different environments")
			continue
		}
		ports = append(ports, o.ports...)
	}
	return DataStream[T]{env: s.env, ports: ports}
}

// newNode adds an operator producing records of Out to the graph, fed by
// the given streams' ports (inputs[i] being logical input i).
func newNode[Out any](env *Environment, kind, name string, f operator.Factory, inputs ...[]port) *graph.Node {
	c, err := codec.For[Out]()
	n := &graph.Node{Kind: kind, Name: name, Factory: f, OutType: operator.TypeOf(c), CodecErr: err}
	env.graph.AddNode(n)
	for i, in := range inputs {
		for _, p := range in {
			env.graph.Connect(p.node, p.tag, n, i, p.part)
		}
	}
	return n
}

func streamOf[T any](env *Environment, n *graph.Node) DataStream[T] {
	return DataStream[T]{env: env, ports: []port{{node: n}}}
}

// SideOutput returns the records the operator of s emitted to the side
// output tag (with OutputTag.Emit).
func SideOutput[T, U any](s DataStream[U], tag OutputTag[T]) DataStream[T] {
	n := s.operator("SideOutput")
	if n == nil {
		return DataStream[T]{env: s.env}
	}
	if n.SideOutputs == nil {
		n.SideOutputs = map[string]*graph.SideOutput{}
	}
	if prev, ok := n.SideOutputs[tag.id]; ok && prev.Type.String() != reflect.TypeFor[T]().String() {
		s.env.errorf("stream: side output %q of %s is of type %s and %s", tag.id, n, prev.Type, reflect.TypeFor[T]())
	} else if !ok {
		c, err := codec.For[T]()
		n.SideOutputs[tag.id] = &graph.SideOutput{Type: operator.TypeOf(c), CodecErr: err}
	}
	return DataStream[T]{env: s.env, ports: []port{{node: n, tag: tag.id}}}
}
