// Package rpc is the control plane between the cluster's roles (the
// Dispatcher, the ResourceManager, JobMasters and TaskManagers): typed
// request/response calls over HTTP with JSON bodies, from the standard
// library, and a heartbeat monitor.
//
// A call is POST /rpc/v<version>/<method> with the request as its body and
// the response (200) or an Error (any other status) as the answer. The
// version is the wire version of the messages: a server answers calls of
// another version with 400 and an error naming both, so that mismatched
// binaries fail loudly instead of misreading each other. Messages are
// plain structs; new optional fields may be added within a version
// (unknown fields are ignored), anything else needs a new version.
//
// With security.ssl.internal.enabled, every server of the control plane
// listens over mutual TLS 1.3 and every client calls over it (https), with
// the certificates of security.ssl.internal.*: each process builds its
// Server and Client TLS configurations from security.Internal, read from
// its configuration (JobManager, TaskManager) or from its parent's
// environment (security.EnvInternal: JobMasters and workers).
//
// Why not gRPC: the control plane carries few, small messages (heartbeats
// every heartbeat.interval, deployments, checkpoint acknowledgements), so
// the cost of an HTTP round trip does not matter, while plain HTTP and JSON
// need no code generation, share their server stack with the REST API and
// the BlobServer, and can be inspected with curl. Records never travel
// here: they take the data plane (runtime/network/tcp).
//
// Invariants:
//  1. A body larger than MaxBody is refused before it is decoded, and a
//     malformed one is an error, never a panic (FuzzDecode).
//  2. A call returns within its context's deadline whatever the peer does
//     (TestCallHonoursTheDeadline).
//  3. The monitor reports a peer lost once, when no heartbeat came for the
//     timeout, and not again until it is seen anew (TestMonitor).
//  4. With TLS (Server.Listen with security.Internal.Server), a caller
//     without a certificate that chains to the trust, with one of another
//     CA, or in plain HTTP is refused during the TLS handshake: no request
//     is read and no handler runs, and the server goes on serving the
//     cluster's callers (TestTLSRefusesCallersWithoutCertificate,
//     FuzzRPCTLSHandshake). A Client with security.Internal.Client calls
//     no server of another CA (TestTLSClientRefusesForeignServer).
//  5. Fencing: a call carries the fencing token of its context
//     (WithFencingToken, the leader session it is made under) in
//     FencingHeader; a method registered with HandleFenced runs only for
//     the token its receiver expects, and refuses every other, and every
//     call while it knows no leader, with CodeFenced (TestFencing).
package rpc
