// Package security reads the cluster's TLS and authentication settings
// and turns them into what the transports use: *tls.Config for servers
// and clients, the REST API's bearer token, and the certificates that
// `runnel security create-certificates` writes.
//
// Two kinds of connections are secured, as in Flink:
//
//   - internal (security.ssl.internal.*): the control-plane RPC between
//     the JobManager, JobMasters, TaskManagers and workers, the data plane
//     between workers, and BLOB downloads. TLS 1.3, mutual: both sides
//     present security.ssl.internal.cert and accept only a peer whose
//     certificate chains to security.ssl.internal.trust. Host names are
//     not checked: the internal certificates identify the cluster, not a
//     host (processes are reached at addresses that resource managers pick),
//     so the trust must be a CA dedicated to the cluster.
//   - REST (security.ssl.rest.*): HTTPS with the usual host name check,
//     optionally with client certificates (authentication-enabled), and a
//     bearer token (rest.authentication.token-file) for users behind no
//     proxy.
//
// Invariants:
//  1. A server configured by Internal refuses, during the handshake and so
//     before reading any message, a peer that presents no certificate or
//     one that does not chain to the trust (TestInternalRefusesStrangers).
//  2. Every TLS configuration this package returns has MinVersion TLS 1.3.
//  3. Key material and tokens are read from files and never formatted into
//     errors or logs: errors name the key and the file, not the content.
package security
