package operator

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func guarded(c *Context, f func()) (err error) {
	defer Guard(c, &err)
	f()
	return nil
}

func TestGuardNamesOperatorAndKeepsErrorPanics(t *testing.T) {
	c := &Context{OperatorName: "parse", Subtask: 1, Parallelism: 4}
	err := guarded(c, func() { panic(io.ErrUnexpectedEOF) })
	var oe *Error
	if !errors.As(err, &oe) || oe.Stack == nil {
		t.Fatalf("err = %#v, want an *Error with a stack", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("errors.Is(%v, io.ErrUnexpectedEOF) = false", err)
	}
	if want := `parse (2/4): panic: unexpected EOF`; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
	err = guarded(c, func() { panic("bad input") })
	if !strings.Contains(err.Error(), "panic: bad input") {
		t.Fatalf("err = %q", err)
	}
}

func TestFailKeepsTheFirstOperator(t *testing.T) {
	down := (&Context{OperatorName: "sink", Parallelism: 1}).Fail(io.EOF)
	up := (&Context{OperatorName: "map", Parallelism: 1}).Fail(down)
	if up != down || !strings.HasPrefix(up.Error(), "sink (1/1): ") {
		t.Fatalf("Fail rewrapped a downstream operator's error: %v", up)
	}
	if (&Context{}).Fail(nil) != nil {
		t.Fatal("Fail(nil) != nil")
	}
}
