package program

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/runnel-io/runnel/cluster/security"
)

// EnvVar is the environment variable that gives a job's program its role
// in a cluster: a Process as JSON. Without it the program runs its job on
// the embedded mini-cluster.
const EnvVar = "RUNNEL_PROCESS"

// Role is what a process of a job's program does.
type Role string

const (
	// RoleClient submits the job to a JobManager's REST API and, unless
	// Detached, waits for its end: what `runnel run --jobmanager` starts.
	RoleClient Role = "client"
	// RoleJobMaster runs the job's JobMaster: started by the Dispatcher.
	RoleJobMaster Role = "jobmaster"
	// RoleWorker runs the job's subtasks placed on one TaskManager:
	// started by the TaskManager.
	RoleWorker Role = "worker"
	// RoleLocal runs the job on the embedded mini-cluster, configured with
	// Config: what `runnel run PROGRAM` without --jobmanager starts.
	RoleLocal Role = "local"
)

// Process is a process's role and what it needs to play it.
type Process struct {
	Role Role `json:"role"`
	// Config is the configuration, by Flink's keys, that the program's
	// environments start with (what the command line asked for, and the
	// cluster's checkpoint and restart settings).
	Config map[string]string `json:"config,omitempty"`

	// Client: the REST address (host:port) of the JobManager, whether to
	// return once the job is submitted, and whether the program is the
	// runnel binary (a job that ships with it).
	JobManager string `json:"jobManager,omitempty"`
	Detached   bool   `json:"detached,omitempty"`
	Builtin    bool   `json:"builtin,omitempty"`
	// Client: how to reach the REST API (HTTPS, the CA to trust, the
	// client certificate, the bearer token's file), as the command line
	// was configured; nil is plain HTTP. It holds file paths only: the
	// token itself never travels in the environment.
	REST *security.REST `json:"rest,omitempty"`

	// Client: a file the process appends the ID of each job it submits
	// to, one a line, so that whoever started it knows whether the
	// program defined a job at all.
	SubmitLog string `json:"submitLog,omitempty"`

	// JobMaster and worker: the job, the host to advertise, and the host
	// to listen on (Host if empty). The Dispatcher sets them for a
	// JobMaster (jobmanager.rpc.address, jobmanager.bind-host), the
	// TaskManager for a worker (its own address and taskmanager.bind-host),
	// so that a process listens where its host's configuration says.
	JobID    string `json:"jobId,omitempty"`
	Host     string `json:"host,omitempty"`
	BindHost string `json:"bindHost,omitempty"`
	// HeartbeatInterval and HeartbeatTimeout (heartbeat.interval and
	// heartbeat.timeout): a worker whose JobMaster does not answer for
	// the timeout ends.
	HeartbeatInterval time.Duration `json:"heartbeatInterval,omitempty"`
	HeartbeatTimeout  time.Duration `json:"heartbeatTimeout,omitempty"`

	// JobMaster: the Dispatcher's RPC address, and how to start the
	// job's workers (rpc.StartWorker).
	Dispatcher  string   `json:"dispatcher,omitempty"`
	Program     string   `json:"program,omitempty"` // BlobServer key; "" when Builtin
	BlobAddress string   `json:"blobAddress,omitempty"`
	Args        []string `json:"args,omitempty"`
	WorkingDir  string   `json:"workingDir,omitempty"`
	Fingerprint string   `json:"fingerprint,omitempty"`

	// Worker: its TaskManager and its JobMaster's RPC address.
	TaskManager string `json:"taskManager,omitempty"`
	JobMaster   string `json:"jobMaster,omitempty"`
}

// listenHost is the host the process's servers listen on.
func (p *Process) listenHost() string {
	if p.BindHost != "" {
		return p.BindHost
	}
	return p.Host
}

// Env is the environment entry (NAME=value) that gives a process p's role.
func (p *Process) Env() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("program: encoding a process: %v", err)) // plain data
	}
	return EnvVar + "=" + string(b)
}

// noteSubmitted appends the ID of a submitted job to SubmitLog, if set.
func (p *Process) noteSubmitted(id string) error {
	if p.SubmitLog == "" {
		return nil
	}
	f, err := os.OpenFile(p.SubmitLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = fmt.Fprintln(f, id)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("program: note job %s in %s: %w", id, p.SubmitLog, err)
	}
	return nil
}

// FromEnv reads the process's role from EnvVar; nil if it is not set.
func FromEnv() (*Process, error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok || v == "" {
		return nil, nil
	}
	p := &Process{}
	if err := json.Unmarshal([]byte(v), p); err != nil {
		return nil, fmt.Errorf("program: %s: %w", EnvVar, err)
	}
	switch p.Role {
	case RoleClient:
		if p.JobManager == "" {
			return nil, fmt.Errorf("program: %s: a client needs the JobManager's REST address", EnvVar)
		}
	case RoleJobMaster:
		if p.JobID == "" || p.Dispatcher == "" {
			return nil, fmt.Errorf("program: %s: a JobMaster needs its job ID and the Dispatcher's address", EnvVar)
		}
	case RoleWorker:
		if p.JobID == "" || p.JobMaster == "" || p.TaskManager == "" {
			return nil, fmt.Errorf("program: %s: a worker needs its job ID, JobMaster and TaskManager", EnvVar)
		}
	case RoleLocal:
	default:
		return nil, fmt.Errorf("program: %s: unknown role %q", EnvVar, p.Role)
	}
	if p.HeartbeatInterval <= 0 {
		p.HeartbeatInterval = 10 * time.Second
	}
	if p.HeartbeatTimeout <= p.HeartbeatInterval {
		p.HeartbeatTimeout = 5 * p.HeartbeatInterval
	}
	return p, nil
}

// internalTLS reads the internal TLS settings that the process's parent
// (the Dispatcher for a JobMaster, a TaskManager for a worker) handed it
// in security.EnvInternal, and returns the TLS configurations of its
// servers and clients: nil if disabled.
func internalTLS() (server, client *tls.Config, err error) {
	in, err := security.InternalFromEnv()
	if err != nil {
		return nil, nil, fmt.Errorf("program: %w", err)
	}
	if server, err = in.Server(); err != nil {
		return nil, nil, fmt.Errorf("program: %s: %w", security.EnvInternal, err)
	}
	if client, err = in.Client(); err != nil {
		return nil, nil, fmt.Errorf("program: %s: %w", security.EnvInternal, err)
	}
	return server, client, nil
}
