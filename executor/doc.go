// Package executor decides where the jobs of a program run: on the
// embedded mini-cluster, or in the part a cluster gave the process. The
// runnel binary and a cluster's TaskManagers start a job's program with
// the environment variable program.EnvVar describing that part (a
// client that submits, the job's JobMaster, a worker running some of its
// subtasks, or a local run configured by the command line); a program
// started any other way runs its jobs on the mini-cluster.
//
// The process's part is read once, when FromProcess is first called, and
// never changes; package stream's NewEnvironment asks for it, so that a
// job's program needs no code of its own to run on a cluster.
package executor
