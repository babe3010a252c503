// Package operator is the contract between the typed user API and the
// type-erased runtime.
//
// The user API (package stream) knows every record type; the graph, the
// scheduler and the tasks do not. They meet here:
//
//   - An operator receives records through an Output[In] (its input) and
//     emits them into an Output[Out] (the next operator of its chain, a
//     RecordWriter, or a fan-out of several). These calls are typed and
//     direct: chained operators cost one interface call per record and no
//     serialization.
//   - A Factory builds one subtask's instance of an operator, given its
//     output as an `any` holding an Output[Out]. It returns the operator's
//     inputs, each an `any` holding an Output[In]. The task asserts these
//     types once, when it builds the chain, never per record.
//   - A Type carries what the runtime needs to do with a record type it cannot
//     name: build a RecordWriter and a RecordReader with the type's codec, or
//     a fan-out of outputs.
//   - A Partitioner builds the Selector that routes each record of an edge to
//     a consumer subtask.
//
// Lifecycle of an operator instance, driven by the task (package
// runtime/task):
//
//  1. Open, tail of the chain first, so that an operator that emits while
//     opening finds its downstream open.
//  2. Records through its inputs, from the task's goroutine only.
//  3. Finish, once all inputs have ended (bounded input), head of the chain
//     first: an operator may emit its last records here and its downstream is
//     still open to take them. Finish is not called when the task fails or is
//     cancelled.
//  4. Close, always, exactly once, also after a failure: release resources.
//
// Errors a user function returns or panics it raises become an *Error naming
// the operator and the subtask; Guard does that for panics.
package operator
