// Package job holds what every runtime of a job shares, whatever runs it:
// the job's configuration (Config: network buffers, time, checkpoints,
// restarts, the snapshot to start from), the job as an executor takes it
// (Job: a name, a job graph and its configuration), and the handle an
// executor returns (Handle). The user API (package stream) builds Jobs
// and hands them to an executor: the embedded mini-cluster, or the part
// a cluster gave the process; neither side imports the other.
package job
