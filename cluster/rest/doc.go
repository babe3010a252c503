// Package rest is the JobManager's REST API, with Flink's paths and JSON
// shapes where Flink has them, so that Flink's tools and users' scripts
// find what they expect, and a Go client of it. openapi.yaml documents
// it; a test checks the document against the server: the same routes,
// every documented answer given, and every answer with exactly the
// properties and types its schema gives.
//
// # The cluster
//
//	GET  /overview, /config, /jobmanager/config
//	GET  /taskmanagers, /taskmanagers/{tmid}
//
// # Jobs
//
//	GET   /jobs, /jobs/overview              the jobs
//	POST  /jobs                              submit a job (202)
//	GET   /jobs/{jobid}                      its details
//	PATCH /jobs/{jobid}?mode=cancel          cancel it (202)
//	GET   /jobs/{jobid}/exceptions           its failures, newest first
//	GET   /jobs/{jobid}/checkpoints          its checkpoint statistics
//	GET   /jobs/{jobid}/execution-result     IN_PROGRESS, or COMPLETED and how it ended
//
// A submission is multipart/form-data: the part "request" holds the
// Submission as JSON, and the part "program" that follows it the job's
// binary (none for a builtin job). The binary is handed to
// JobBackend.Submit as it arrives, never held whole in memory.
//
// # Asynchronous operations
//
//	POST /jobs/{jobid}/savepoints            {"target-directory", "cancel-job"}
//	POST /jobs/{jobid}/stop                  {"targetDirectory", "drain"}
//	GET  /jobs/{jobid}/savepoints/{triggerid}
//	POST /jobs/{jobid}/checkpoints           {"checkpointType"}, optional
//	GET  /jobs/{jobid}/checkpoints/{triggerid}
//
// A POST checks that the job exists (404 if not), starts the operation and
// answers 202 {"request-id": trigger ID} at once. The status resource of
// the trigger ID answers {"status": {"id": "IN_PROGRESS"}} until the
// operation ends, then COMPLETED with {"operation": {"location"}} (or
// {"checkpointId"}) or {"operation": {"failure-cause": {"class",
// "stack-trace"}}}. The server owns the operations' goroutines: their
// context is cancelled by Server.Close, which waits for them, and a
// closed server starts none (503). The results of all operations in
// progress are kept and those of the last 1000 completed ones; the
// status of an older one, or of an unknown trigger ID, is 404.
//
// # Access
//
// Options (read from the configuration by ServerConfig) say who may do
// what. Over TLS (security.ssl.rest.enabled; Listen takes the
// configuration), with security.ssl.rest.authentication-enabled, a client
// must present a certificate chaining to security.ssl.rest.trust, checked
// in the handshake, before any request is read. With a bearer token
// (rest.authentication.token-file), every request, on every path, must
// carry Authorization: Bearer <token>, or is answered 401 with
// WWW-Authenticate: Bearer; the server keeps only the token's hash and
// compares in constant time. web.submit.enable: false refuses POST /jobs,
// web.cancel.enable: false PATCH /jobs/{jobid} (403). A savepoint or a
// stop with a savepoint may name only state.savepoints.dir or a directory
// below it, unless rest.savepoint.allow-any-directory (see
// Options.savepointDir for how paths are matched); checkpoints name none.
// GET /jobmanager/config masks the values of sensitive keys
// (config.Sensitive).
//
// # Requests
//
// A method a path does not serve is answered 405 with Allow, an unknown
// path 404, both as error JSON. A JSON body is limited to 1 MiB, the part
// "request" of a submission too, and its program to
// Options.MaxProgramSize (the BlobServer's limit): above them, 413. A job
// ID must be letters, digits, '-' and '_' (at most 64), a trigger ID 32
// hexadecimal digits, or the request is answered 400 before any handler
// sees it.
//
// # Errors
//
// Errors are answered as Flink does: a status code and {"errors": [...]}.
// A Backend's error that wraps ErrNotFound is 404, ErrBadRequest 400,
// ErrForbidden 403, ErrConflict 409; any other is 500.
//
// # The client
//
// Client calls the API: one method per resource, Submit streaming the
// program through a pipe, WaitResult polling the execution result, and
// TriggerSavepoint, StopWithSavepoint and TriggerCheckpoint each a POST
// followed by polls of the status until the operation completes. An
// answer other than 2xx is a *StatusError (its Code is 404 for an unknown
// job); an operation that failed is an *OperationError carrying the
// server's FailureCause. NewClient builds one from security.REST: HTTPS
// with its trust and client certificate, and its bearer token; a TLS
// failure is explained by the key that sets what is missing.
package rest
