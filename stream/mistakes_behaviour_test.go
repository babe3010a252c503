package stream_test

import (
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

// mistakeCase builds a job with one mistake in it; Execute must report it,
// naming what wantErr lists, before any record flows.
type mistakeCase struct {
	name    string
	build   func(env *stream.Environment, src stream.DataStream[int])
	wantErr []string
}

func identity(v int) (int, error) { return v, nil }

var mistakeCases = []mistakeCase{
	{"Name on a union", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Union(src, stream.FromValues(env, 9)).Name("u").Discard()
	}, []string{"Name", "union"}},
	{"UID on a union", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Union(src, stream.FromValues(env, 9)).UID("u").Discard()
	}, []string{"UID", "union"}},
	{"SetParallelism on a union", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Union(src, stream.FromValues(env, 9)).SetParallelism(2).Discard()
	}, []string{"SetParallelism", "union"}},
	{"Name on a rebalanced stream", func(env *stream.Environment, src stream.DataStream[int]) {
		src.Rebalance().Name("r").Discard()
	}, []string{"Name", "repartitioned"}},
	{"UID on a broadcast stream", func(env *stream.Environment, src stream.DataStream[int]) {
		src.Broadcast().UID("b").Discard()
	}, []string{"UID", "repartitioned"}},
	{"SetParallelism on a keyed stream", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.KeyBy(src, func(v int) int { return v }).SetParallelism(2).Discard()
	}, []string{"SetParallelism", "repartitioned"}},
	{"duplicate UIDs", func(env *stream.Environment, src stream.DataStream[int]) {
		a := stream.Map(src, identity).Name("first").UID("same")
		stream.Map(a, identity).Name("second").UID("same").Discard()
	}, []string{`"first"`, `"second"`, `"same"`}},
	{"duplicate UIDs on a source and a sink", func(env *stream.Environment, src stream.DataStream[int]) {
		src.UID("dup").Discard().Name("sink").UID("dup")
	}, []string{`"numbers"`, `"sink"`, `"dup"`}},
	{"operator SetParallelism(0)", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src, identity).SetParallelism(0).Discard()
	}, []string{"SetParallelism(0)"}},
	{"operator SetParallelism(-1)", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src, identity).SetParallelism(-1).Discard()
	}, []string{"SetParallelism(-1)"}},
	{"environment SetParallelism(0)", func(env *stream.Environment, src stream.DataStream[int]) {
		env.SetParallelism(0)
		src.Discard()
	}, []string{"SetParallelism(0)"}},
	{"environment SetMaxParallelism(0)", func(env *stream.Environment, src stream.DataStream[int]) {
		env.SetMaxParallelism(0)
		src.Discard()
	}, []string{"SetMaxParallelism(0)"}},
	{"operator SetMaxParallelism(0)", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src, identity).SetMaxParallelism(0).Discard()
	}, []string{"SetMaxParallelism(0)"}},
	{"operator SetMaxParallelism(-3)", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src, identity).SetMaxParallelism(-3).Discard()
	}, []string{"SetMaxParallelism(-3)"}},
	{"parallelism above the maximum", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src, identity).Name("wide").SetParallelism(8).SetMaxParallelism(4).Discard()
	}, []string{`"wide"`, "parallelism 8", "max parallelism 4"}},
	{"forward to a different parallelism", func(env *stream.Environment, src stream.DataStream[int]) {
		stream.Map(src.Forward(), identity).Name("double").SetParallelism(4).Discard()
	}, []string{`"numbers"`, `"double"`, "forward"}},
}

func TestMistakesAreReportedByExecute(t *testing.T) {
	for _, c := range mistakeCases {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(2)
			var ran atomic.Bool
			src := stream.Generate(env, 10, func(i int64) (int, error) { ran.Store(true); return int(i), nil }).Name("numbers")
			c.build(env, src)
			err := executeErr(t, env)
			wantErrorContains(t, err, c.wantErr...)
			if ran.Load() {
				t.Error("the job ran although Execute reported a mistake")
			}
		})
	}
}

// Every mistake is reported, not only the first.
func TestSeveralMistakesAreReportedTogether(t *testing.T) {
	env := newEnv(2)
	src := stream.Generate(env, 10, func(i int64) (int, error) { return int(i), nil }).Name("numbers").UID("x")
	stream.Map(src, identity).Name("m").UID("x").Discard()
	stream.Map(src.Forward(), identity).Name("three").SetParallelism(3).Discard()
	wantErrorContains(t, executeErr(t, env), `"x"`, `"three"`)

	env = newEnv(2)
	stream.Union(stream.FromValues(env, 1), stream.FromValues(env, 2)).Name("u").SetParallelism(0).Discard()
	wantErrorContains(t, executeErr(t, env), "Name", "SetParallelism(0)")
}

func TestEmptyJobIsAnExecuteError(t *testing.T) {
	wantErrorContains(t, executeErr(t, newEnv(1)), "no operators")
}

// The configuration methods apply to an operator's own output, also when
// chained one after the other.
func TestConfiguringAnOperatorIsNotAMistake(t *testing.T) {
	env := newEnv(2)
	src := stream.Generate(env, 10, func(i int64) (int, error) { return int(i), nil }).Name("numbers").UID("numbers").SetParallelism(3)
	got := stream.Map(src, identity).Name("m").UID("m").SetParallelism(1).SetMaxParallelism(16).DisableChaining().Collect()
	mustExecute(t, env)
	wantSameElements(t, got.Values(), ints(10))
}
