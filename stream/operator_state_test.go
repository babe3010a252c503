package stream

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/runnel-io/runnel/state"
)

// bufferLast keeps the records of its subtask in operator list state and
// emits the list's length and contents at the end.
type bufferLast struct {
	buf state.ListState[int64]
	rc  *RuntimeContext
}

func (b *bufferLast) Open(_ context.Context, rc *RuntimeContext) (err error) {
	b.rc = rc
	b.buf, err = GetOperatorListState(rc, state.List[int64]("buffer"))
	return err
}

func (b *bufferLast) ProcessElement(_ *Context, v int64, _ Collector[string]) error {
	return b.buf.Add(v)
}

func (b *bufferLast) Finish(out Collector[string]) error {
	vals, err := b.buf.Get()
	if err != nil {
		return err
	}
	union, err := GetUnionListState(b.rc, state.List[int64]("union"))
	if err != nil {
		return err
	}
	if err := union.Update(vals); err != nil {
		return err
	}
	out.Collect(fmt.Sprintf("%d:%v", b.rc.Subtask, vals))
	return nil
}

func TestOperatorListState(t *testing.T) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(2)
	src := Generate(env, 6, func(i int64) (int64, error) { return i, nil })
	got := ProcessEach(src, func() ProcessFunction[int64, string] { return &bufferLast{} }).Collect()
	if err := env.Execute(context.Background(), "operator state"); err != nil {
		t.Fatal(err)
	}
	vals := got.Values()
	slices.Sort(vals)
	if fmt.Sprint(vals) != "[0:[0 2 4] 1:[1 3 5]]" {
		t.Fatalf("got %v", vals)
	}
}
