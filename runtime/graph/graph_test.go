package graph

import (
	"strings"
	"testing"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
)

// builder makes small stream graphs of int records.
type builder struct{ g *StreamGraph }

func newBuilder(p int) *builder {
	return &builder{g: &StreamGraph{Parallelism: p, Chaining: true}}
}

func (b *builder) node(name string, source bool, inputs ...*Node) *Node {
	n := b.g.AddNode(&Node{Kind: name, Name: name, Source: source, OutType: operator.TypeOf[int](nil)})
	for _, in := range inputs {
		b.g.Connect(in, "", n, 0, nil)
	}
	return n
}

func (b *builder) edge(src, dst *Node, k partition.Kind) {
	b.g.Connect(src, "", dst, 0, partition.Of[int](k))
}

func names(v *Vertex) string { return v.Name() }

func TestChaining(t *testing.T) {
	b := newBuilder(2)
	src := b.node("src", true)
	m1 := b.node("m1", false, src)
	m2 := b.node("m2", false, m1)
	keyed := b.node("keyed", false)
	b.edge(m2, keyed, partition.Rebalance)
	sink := b.node("sink", false, keyed)
	sink2 := b.node("sink2", false, m1) // m1 feeds two chained operators
	_ = sink2
	jg, err := b.g.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range jg.Vertices {
		got = append(got, names(v))
	}
	want := []string{"src -> m1 -> m2 -> sink2", "keyed -> sink"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Fatalf("chains %q, want %q", got, want)
	}
	if jg.VertexOf[sink.ID] != jg.Vertices[1] || len(jg.Vertices[1].In) != 1 || len(jg.Vertices[0].Out) != 1 {
		t.Fatalf("job edges wrong: %+v", jg.Vertices)
	}
}

func TestChainingControls(t *testing.T) {
	cases := []struct {
		name  string
		setup func(b *builder, m1, m2 *Node)
		want  string
	}{
		{"enabled", func(*builder, *Node, *Node) {}, "src -> m1 -> m2"},
		{"job disabled", func(b *builder, _, _ *Node) { b.g.Chaining = false }, "src | m1 | m2"},
		{"disable on m1", func(_ *builder, m1, _ *Node) { m1.Chaining = ChainNever }, "src | m1 | m2"},
		{"new chain at m2", func(_ *builder, _, m2 *Node) { m2.Chaining = ChainHead }, "src -> m1 | m2"},
		{"parallelism differs", func(_ *builder, _, m2 *Node) { m2.Parallelism = 3 }, "src -> m1 | m2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(2)
			src := b.node("src", true)
			m1 := b.node("m1", false, src)
			m2 := b.node("m2", false, m1)
			c.setup(b, m1, m2)
			jg, err := b.g.JobGraph()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range jg.Vertices {
				got = append(got, v.Name())
			}
			if strings.Join(got, " | ") != c.want {
				t.Fatalf("chains %q, want %q", strings.Join(got, " | "), c.want)
			}
		})
	}
}

func TestEveryNodeInOneVertex(t *testing.T) {
	b := newBuilder(3)
	a := b.node("a", true)
	c := b.node("c", true)
	u := b.node("union", false, a, c) // two inputs: not chainable
	m := b.node("m", false, u)
	k := b.node("k", false)
	b.edge(m, k, partition.Broadcast)
	b.node("sink", false, k)
	jg, err := b.g.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[*Node]int{}
	for _, v := range jg.Vertices {
		for _, n := range v.Nodes {
			seen[n]++
			if jg.VertexOf[n.ID] != v {
				t.Fatalf("VertexOf(%s) disagrees", n)
			}
		}
	}
	for _, n := range b.g.Nodes {
		if seen[n] != 1 {
			t.Fatalf("%s is in %d vertices", n, seen[n])
		}
	}
	for _, e := range b.g.Edges {
		src, dst := jg.VertexOf[e.Source.ID], jg.VertexOf[e.Target.ID]
		inside := src == dst
		between := false
		for _, o := range src.Out {
			if o == e {
				between = true
			}
		}
		if inside == between {
			t.Fatalf("edge %v is inside=%v between=%v", e, inside, between)
		}
	}
}

func TestForwardNeedsEqualParallelism(t *testing.T) {
	b := newBuilder(2)
	src := b.node("numbers", true)
	m := b.node("square", false)
	m.Parallelism = 3
	b.edge(src, m, partition.Forward)
	b.node("sink", false, m)
	_, err := b.g.JobGraph()
	if err == nil || !strings.Contains(err.Error(), `"numbers" (parallelism 2) to "square" (parallelism 3)`) {
		t.Fatalf("err = %v, want a forward-partitioning error naming both operators", err)
	}
}

func TestValidateNamesProblems(t *testing.T) {
	b := newBuilder(2)
	src := b.node("src", true)
	src.UID = "x"
	m := b.node("m", false, src)
	m.UID = "x"
	m.MaxParallelism = 1
	src.NonParallel = true
	err := b.g.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"src" and "m" have the same UID "x"`, `operator "m" (uid x): keygroup: parallelism 2`, `"src" (uid x) is not parallel`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestStableOperatorIDs(t *testing.T) {
	build := func(extra bool) ([]string, *StreamGraph) {
		b := newBuilder(2)
		if extra {
			b.node("other-source", true)
		}
		src := b.node("src", true)
		m := b.node("m", false, src)
		m.UID = "my-map"
		s := b.node("sink", false, m)
		_ = s
		return b.g.OperatorIDs(), b.g
	}
	a, ga := build(false)
	b, _ := build(false)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same program, different IDs: %v vs %v", a, b)
	}
	c, gc := build(true)
	idOf := func(ids []string, g *StreamGraph, name string) string {
		for _, n := range g.Nodes {
			if n.Name == name {
				return ids[n.ID]
			}
		}
		t.Fatalf("no node %s", name)
		return ""
	}
	if idOf(a, ga, "m") != idOf(c, gc, "m") {
		t.Fatal("an operator with a UID changed its ID when the topology changed")
	}
	seen := map[string]bool{}
	for _, id := range a {
		if seen[id] {
			t.Fatalf("duplicate operator ID %s in %v", id, a)
		}
		seen[id] = true
	}
}
