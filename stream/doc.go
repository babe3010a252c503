// Package stream is runnel's DataStream API: the typed way to write a job.
//
// A job is a Go program. It makes an Environment, builds a dataflow from
// sources through transformations to sinks, and calls Execute:
//
//	env := stream.NewEnvironment()
//	lines := stream.ReadTextFile(env, "input.txt")
//	words := stream.FlatMap(lines, tokenize)
//	counts := stream.Sum(stream.KeyBy(words, wordOf), countField)
//	counts.Print()
//	err := env.Execute(ctx, "wordcount")
//
// Transformations that change the record type are free functions (Map,
// FlatMap, Process, KeyBy, Connect, CoMap, ...) because Go methods cannot have
// type parameters of their own; those that keep it are methods (Filter,
// Rebalance, Print, Name, UID, ...).
//
// # Event time, state and windows
//
// Records carry an event timestamp (milliseconds) once a WatermarkStrategy
// gave them one, at a source (FromSource) or later
// (AssignTimestampsAndWatermarks). Watermarks flow with the records; an
// operator's event time is the minimum over its inputs, idle inputs
// excluded, and never goes backwards. A bounded source ends event time with
// the watermark math.MaxInt64.
//
// Keyed functions (KeyedProcess, KeyedCoProcess, windows) keep state per
// key through typed descriptors of package state (GetValueState and the
// other getters, in KeyedOpener.Open) and register event- and
// processing-time timers per key (KeyedContext.TimerService). Non-keyed
// functions keep operator state (GetOperatorListState). Side outputs are
// typed: OutputTag.Emit in a function, SideOutput to consume them.
//
// Two keyed streams meet in ConnectKeyed and KeyedCoProcess, in an
// IntervalJoin, or, windowed, in WindowJoin (JoinApply, CoGroupApply). A
// stream of rules or configuration reaches every subtask of another stream
// through Broadcast and BroadcastProcess or KeyedBroadcastProcess, Flink's
// broadcast state pattern.
//
// Window cuts a keyed stream into windows (package stream/window has the
// assigners, triggers and evictors) that WindowReduce, WindowAggregate,
// WindowProcess and their combinations evaluate, with Flink's semantics for
// firing, allowed lateness, late data and state clean-up.
//
// # Records and functions
//
// Records are passed by value. A function must not modify a record it is
// given: when an operator feeds several others in one task, they receive the
// same value, and slices or maps inside it are shared.
//
// Errors and panics of user functions fail the job with an error naming the
// operator and the subtask (see runtime/operator.Error). Mistakes in the
// dataflow itself (a forward edge between different parallelism, a record
// type without a codec crossing tasks, a UID used twice) are reported by
// Execute before anything runs, each naming the operator.
//
// Decisions worth knowing:
//
//   - Default parallelism is the number of CPUs, as in Flink's local
//     environment; default maximum parallelism (the number of key groups) is
//     128 for parallelism up to 85.
//   - Sources built on a Go value (FromSlice, FromSeq) and the socket source
//     are non-parallel, as Flink's fromCollection and socketTextStream.
//   - Between operators of equal parallelism the default edge is FORWARD (and
//     chains), otherwise REBALANCE.
//   - In Batch runtime mode (SetRuntimeMode) the rolling aggregations of a
//     keyed stream emit one final record per key at the end of input instead
//     of one per input record, as Flink's BATCH execution mode does.
package stream
