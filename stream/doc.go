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
