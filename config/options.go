package config

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/state/keygroup"
)

// The options of runnel's core, with Flink's keys and defaults where
// Flink has them. Subsystems declare their own options in their packages.
// The options marked PerJob, and the restart-strategy.* keys, are what
// stream.Environment.Configure takes.

// maxPort is the largest TCP port.
const maxPort = 65535

// JobManager.
var (
	JobManagerRPCAddress = String("jobmanager.rpc.address", "localhost",
		"The address of the JobManager, which TaskManagers and clients connect to.")
	JobManagerRPCPort = Int("jobmanager.rpc.port", 6123,
		"The port of the JobManager's RPC endpoint.").
		WithValidator(Between(0, maxPort))
)

// REST endpoint.
var (
	RestPort = Int("rest.port", 8081,
		"The port of the REST endpoint and web UI; 0 picks a free port.").
		WithValidator(Between(0, maxPort))
	RestAddress = String("rest.address", "",
		"The address clients use to reach the REST endpoint. If it is not set, jobmanager.rpc.address is used.")
	RestBindAddress = String("rest.bind-address", "localhost",
		"The address the REST endpoint listens on: by default loopback only, as in Flink's shipped configuration. Set 0.0.0.0 to listen on all interfaces.")
)

// BlobServerPort is the port of the JobManager's BLOB server.
var BlobServerPort = Int("blob.server.port", 0,
	"The port of the JobManager's BLOB server, which serves job artifacts to TaskManagers; 0 picks a free port.").
	WithValidator(Between(0, maxPort))

// TaskManager.
var (
	NumTaskSlots = Int("taskmanager.numberOfTaskSlots", 1,
		"The number of slots of a TaskManager: how many parallel subtasks of a job it can run.").
		WithValidator(AtLeast(1))
	TaskManagerHost = String("taskmanager.host", "",
		"The address the TaskManager is reached at by the JobManager and other TaskManagers. If it is not set, it is the address of the interface the TaskManager reaches the JobManager through.")
	TaskManagerRPCPort = Int("taskmanager.rpc.port", 0,
		"The port of the TaskManager's RPC endpoint, which JobMasters start and stop the worker processes of their jobs through; 0 picks a free port.").
		WithValidator(Between(0, maxPort))
	TaskManagerDataPort = Int("taskmanager.data.port", 0,
		"The port TaskManagers exchange records on; 0 picks a free port.").
		WithValidator(Between(0, maxPort))
	TaskManagerResourceID = String("taskmanager.resource-id", "",
		"The TaskManager's ID. A resource manager that starts TaskManagers sets it; if it is not set, a random one.")
	TaskManagerWorkingDir = String("process.taskmanager.working-dir", "",
		"The directory a TaskManager keeps the job programs it fetched from the BLOB server in, and the logs of its worker processes, one per job named after the job's ID. If it is not set, a temporary directory, removed when the TaskManager stops.")
	NetworkBuffersPerChannel = Int("taskmanager.network.memory.buffers-per-channel", 2,
		"The number of network buffers each input channel owns exclusively: the credit it grants its sender.").
		WithValidator(AtLeast(0))
	MemorySegmentSize = Memory("taskmanager.memory.segment-size", 32*Kibibyte,
		"The size of a network buffer: the most bytes of records sent in one piece.").
		WithValidator(func(m MemorySize) error {
			if m < 4*Kibibyte || m&(m-1) != 0 {
				return errors.New("must be a power of two, at least 4 kb")
			}
			return nil
		})
)

// Job defaults. Every process of a job must build the same job graph, and
// these shape it: a job is built with the values of the machine it is
// submitted from, so a cluster's values are not defaults of its jobs.
var (
	DefaultParallelism = Int("parallelism.default", runtime.NumCPU(),
		"The parallelism of a job's operators that are given none (`runnel run --parallelism` sets it). "+
			"If it is not set, the number of CPUs of the machine that builds the job: for a job submitted to a cluster, "+
			"the one it is submitted from. A cluster's value is not a default of the jobs it runs.").
		WithDocumentedDefault("the number of CPUs").
		WithValidator(AtLeast(1)).
		PerJob()
	MaxParallelism = Int("pipeline.max-parallelism", 128,
		"The number of key groups: the most parallelism a job's keyed state can be rescaled to. "+
			"A cluster's value is not a default of the jobs it runs.").
		WithValidator(Between(1, keygroup.UpperBound)).
		PerJob()
)

// BufferTimeout is Flink's execution.buffer-timeout: how long records may
// wait in a partly filled network buffer (task.Deployment.BufferTimeout).
var BufferTimeout = register(newSignedDuration("execution.buffer-timeout", 100*time.Millisecond,
	"How long a record may wait in a partly filled network buffer before its task sends it to the next: a positive value flushes the buffers at that period of processing time, 0 after every record (the lowest latency), -1 ms only when a buffer is full (the highest throughput). Whatever the value, a task sends its buffers whenever its input runs dry, at the end of its input and before checkpoint barriers.")).
	WithValidator(func(d time.Duration) error {
		if d < 0 && d != -time.Millisecond {
			return errors.New("must be -1 ms (flush only full buffers), 0 (flush after every record) or positive")
		}
		return nil
	}).
	PerJob()

// Checkpoints and savepoints. The checkpoint coordinator, a pure core
// that does not import this package, names the keys and holds the defaults
// and bounds; the options are declared with them.
var (
	CheckpointingInterval = Duration(checkpoint.KeyInterval, 0,
		"The period of periodic checkpoints; 0 disables them. Otherwise at least "+FormatDuration(checkpoint.MinInterval)+".").
		WithValidator(func(d time.Duration) error {
			if d != 0 && d < checkpoint.MinInterval {
				return fmt.Errorf("must be 0 (disabled) or at least %s", FormatDuration(checkpoint.MinInterval))
			}
			return nil
		}).
		PerJob()
	CheckpointingTimeout = Duration(checkpoint.KeyTimeout, checkpoint.DefaultTimeout,
		"How long a checkpoint may take before it is aborted.").
		WithValidator(AtLeast(checkpoint.MinInterval)).
		PerJob()
	CheckpointingMinPause = Duration(checkpoint.KeyMinPause, 0,
		"The least time from the end of one checkpoint to the start of the next.").
		WithValidator(AtLeast(time.Duration(0))).
		PerJob()
	MaxConcurrentCheckpoints = Int(checkpoint.KeyMaxConcurrent, checkpoint.DefaultMaxConcurrent,
		"How many checkpoints may be in progress at once.").
		WithValidator(AtLeast(1)).
		PerJob()
	TolerableFailedCheckpoints = Int(checkpoint.KeyTolerableFailures, 0,
		"How many consecutive checkpoint failures a job tolerates; one more fails it.").
		WithValidator(AtLeast(0)).
		PerJob()
	CheckpointsDir = String("state.checkpoints.dir", "",
		"The directory checkpoints are written to. If it is not set, a temporary directory, removed when the job ends.").
		PerJob()
	SavepointsDir = String("state.savepoints.dir", "",
		"The default directory of savepoints. If it is not set, every savepoint must be given a directory.").
		PerJob()
	NumRetainedCheckpoints = Int(checkpoint.KeyNumRetained, checkpoint.DefaultNumRetained,
		"How many completed checkpoints are kept; older ones are discarded.").
		WithValidator(AtLeast(1)).
		PerJob()
	SavepointPath = String("execution.savepoint.path", "",
		"The savepoint or retained checkpoint a job starts from.").
		PerJob()
	SavepointIgnoreUnclaimedState = Bool("execution.savepoint.ignore-unclaimed-state", false,
		"Whether a job may start from a savepoint holding state that no operator of the job claims.").
		PerJob()
)

// Heartbeats and the resource manager.
var (
	HeartbeatInterval = Duration("heartbeat.interval", 10*time.Second,
		"How often the JobManager and TaskManagers send each other heartbeats.").
		WithValidator(AtLeast(time.Millisecond))
	HeartbeatTimeout = Duration("heartbeat.timeout", 50*time.Second,
		"How long a peer may go without a heartbeat before it is taken to be dead.").
		WithValidator(AtLeast(time.Millisecond))
	TaskManagerTimeout = Duration("resourcemanager.taskmanager-timeout", 30*time.Second,
		"How long a TaskManager may stay idle, with no slot in use, before the resource manager releases it.")
	SlotRequestTimeout = Duration("slot.request.timeout", 5*time.Minute,
		"How long a job's request for slots may wait; a job whose slots do not come within it fails with \"not enough slots\".").
		WithValidator(AtLeast(time.Millisecond))
	ResourceManagerDriver = Enum("resourcemanager.driver", "standalone", []string{"standalone", "process"},
		"How the resource manager gets TaskManagers: standalone waits for TaskManagers started by hand; process starts them as local processes.")
)

// High availability.
var (
	HighAvailabilityType = Enum("high-availability.type", "NONE", []string{"NONE", "ZOOKEEPER"},
		"The high-availability services: NONE, or ZOOKEEPER for leader election and job recovery through ZooKeeper.").
		WithDeprecatedKeys("high-availability")
	ZooKeeperQuorum = String("high-availability.zookeeper.quorum", "",
		"The ZooKeeper servers, as host:port pairs separated by commas. Required with ZOOKEEPER.").
		WithDeprecatedKeys("recovery.zookeeper.quorum")
	HighAvailabilityStorageDir = String("high-availability.storageDir", "",
		"The directory the JobManager's metadata is kept in for recovery; ZooKeeper holds only pointers to it. Required with ZOOKEEPER.").
		WithDeprecatedKeys("high-availability.zookeeper.storageDir", "recovery.zookeeper.storageDir")
	ZooKeeperMesosWorkersPath = String("high-availability.zookeeper.path.mesos-workers", "/mesos-workers",
		"The ZooKeeper node, under the cluster's root, where the Mesos application master keeps its workers.").
		WithDeprecatedKeys("recovery.zookeeper.path.mesos-workers")
	ZooKeeperRoot = String("high-availability.zookeeper.path.root", "/flink",
		"The ZooKeeper node under which every cluster keeps its nodes, each under its high-availability.cluster-id.").
		WithDeprecatedKeys("recovery.zookeeper.path.root").
		WithValidator(zkPath)
	HighAvailabilityClusterID = String("high-availability.cluster-id", "/default",
		"The cluster's ID: its nodes are under high-availability.zookeeper.path.root/<cluster-id> and its files under high-availability.storageDir/<cluster-id>, so that several clusters share one quorum and one directory.").
		WithDeprecatedKeys("high-availability.zookeeper.path.namespace", "recovery.zookeeper.path.namespace").
		WithValidator(zkPath)
	ZooKeeperSessionTimeout = Duration("high-availability.zookeeper.client.session-timeout", 60*time.Second,
		"The ZooKeeper session timeout: how long the servers keep a client's session, its leaderships among them, while they do not hear from it. The servers bound it by their minSessionTimeout and maxSessionTimeout.").
		WithDeprecatedKeys("recovery.zookeeper.client.session-timeout").
		WithValidator(AtLeast(time.Millisecond))
	ZooKeeperConnectionTimeout = Duration("high-availability.zookeeper.client.connection-timeout", 15*time.Second,
		"How long start-up waits for a session with the ZooKeeper quorum before it fails.").
		WithDeprecatedKeys("recovery.zookeeper.client.connection-timeout").
		WithValidator(AtLeast(time.Millisecond))
	ZooKeeperRetryWait = Duration("high-availability.zookeeper.client.retry-wait", 5*time.Second,
		"How long an operation on ZooKeeper that failed for a lost connection waits before it is tried again (sooner if the connection is back).").
		WithDeprecatedKeys("recovery.zookeeper.client.retry-wait").
		WithValidator(AtLeast(time.Duration(0)))
	ZooKeeperMaxRetryAttempts = Int("high-availability.zookeeper.client.max-retry-attempts", 3,
		"How many times an operation on ZooKeeper that failed for a lost connection is tried again before it fails.").
		WithDeprecatedKeys("recovery.zookeeper.client.max-retry-attempts").
		WithValidator(AtLeast(0))
	ZooKeeperACL = Enum("high-availability.zookeeper.client.acl", "open", []string{"open", "creator"},
		"The ACL of the nodes the cluster creates: open (anyone may read and change them) or creator (only clients authenticated as the creator, with the digest credentials of high-availability.zookeeper.client.digest-credentials-file).").
		WithDeprecatedKeys("recovery.zookeeper.client.acl")
	ZooKeeperDigestFile = String("high-availability.zookeeper.client.digest-credentials-file", "",
		"A file holding user:password, the credentials of ZooKeeper's digest authentication that the client adds to its session: required with the creator ACL, and every process of the cluster must use the same. The credentials are never logged.")
	ZooKeeperTolerateSuspended = Bool("high-availability.zookeeper.client.tolerate-suspended-connections", false,
		"Whether a leader keeps its leadership while its connection to ZooKeeper is suspended (lost, the session not yet expired): if false, as by default, a leader steps down as soon as the connection is lost; if true, only once its session is lost.")
)

// zkPath checks a ZooKeeper path key: it must not be empty nor end in a
// slash.
func zkPath(p string) error {
	if p == "" || strings.HasSuffix(p, "/") && p != "/" || strings.Contains(p, "//") {
		return errors.New("must be a ZooKeeper path such as /flink, without a trailing or double slash")
	}
	return nil
}

// RestartStrategy is the family of restart-strategy.* keys: a job's restart
// strategy, which restart.Parse reads and checks.
var RestartStrategy = RegisterPrefix(Prefix{
	Prefix:      "restart-strategy.",
	Description: "The restart strategy of jobs. These keys are checked by package `runtime/restart`.",
	Check: func(m map[string]string) error {
		_, err := restart.Parse(m)
		return err
	},
	Keys:   restartRows(),
	PerJob: true,
})

func restartRows() []Row {
	var rows []Row
	for _, o := range restart.Options() {
		rows = append(rows, Row{Key: o.Key, Default: o.Default, Description: o.Description})
	}
	return rows
}

// Bind addresses: where the cluster's processes listen, as opposed to the
// addresses they are reached at. Every listener binds to loopback unless
// one of these, or the address it is reached at, says otherwise;
// listening on all interfaces takes an explicit 0.0.0.0.
var (
	JobManagerBindHost = String("jobmanager.bind-host", "",
		"The address the JobManager's RPC endpoint and BLOB server listen on. If it is not set, jobmanager.rpc.address (by default localhost: loopback only). Set 0.0.0.0 to listen on all interfaces.")
	TaskManagerBindHost = String("taskmanager.bind-host", "",
		"The address the TaskManager's RPC endpoint and its workers' RPC and data ports listen on. If it is not set, the address the TaskManager is reached at (taskmanager.host, or the interface towards the JobManager: loopback for a JobManager on loopback). Set 0.0.0.0 to listen on all interfaces.")
)

// Security: TLS for the cluster's internal connections and for the REST
// API, and what the REST API lets its callers do. Package cluster/security
// reads these keys.
var (
	SSLInternalEnabled = Bool("security.ssl.internal.enabled", false,
		"Whether every internal connection (the RPC between the JobManager, JobMasters, TaskManagers and workers; the records between workers; BLOB downloads) is TLS 1.3 with mutual authentication: each side presents security.ssl.internal.cert and accepts only peers whose certificate chains to security.ssl.internal.trust.")
	SSLInternalCert = String("security.ssl.internal.cert", "",
		"The PEM file of the certificate (with its chain) a process presents on internal connections. Required with security.ssl.internal.enabled.")
	SSLInternalKey = String("security.ssl.internal.key", "",
		"The PEM file of the private key of security.ssl.internal.cert. Required with security.ssl.internal.enabled.")
	SSLInternalTrust = String("security.ssl.internal.trust", "",
		"The PEM file of the CA certificates internal peers must chain to. Required with security.ssl.internal.enabled.")
	SSLRESTEnabled = Bool("security.ssl.rest.enabled", false,
		"Whether the REST API is served over HTTPS (TLS 1.3) with security.ssl.rest.cert, and clients (the CLI, jobs' clients) connect with HTTPS, trusting security.ssl.rest.trust.")
	SSLRESTCert = String("security.ssl.rest.cert", "",
		"The PEM file of the REST API's certificate (with its chain); a client presents it as its certificate when the server asks for one. Required for the server with security.ssl.rest.enabled.")
	SSLRESTKey = String("security.ssl.rest.key", "",
		"The PEM file of the private key of security.ssl.rest.cert.")
	SSLRESTTrust = String("security.ssl.rest.trust", "",
		"The PEM file of the CA certificates a client trusts the REST API's certificate by, and, with security.ssl.rest.authentication-enabled, that clients' certificates must chain to. If it is not set, clients trust the system's CAs.")
	SSLRESTAuthentication = Bool("security.ssl.rest.authentication-enabled", false,
		"Whether the REST API accepts only clients that present a certificate chaining to security.ssl.rest.trust (mutual TLS).")
	RESTTokenFile = String("rest.authentication.token-file", "",
		"A file holding a bearer token: the REST API answers 401 to requests without the header Authorization: Bearer <token>, and the CLI sends it. The token is never logged nor shown by the REST API.")
	WebSubmitEnable = Bool("web.submit.enable", true,
		"Whether the REST API accepts jobs (POST /jobs); if false, submissions get 403.")
	WebCancelEnable = Bool("web.cancel.enable", true,
		"Whether the REST API cancels jobs (PATCH /jobs/:jobid); if false, cancellations get 403.")
	RESTSavepointAnyDirectory = Bool("rest.savepoint.allow-any-directory", false,
		"Whether the REST API takes savepoints, and stops jobs with savepoints, into any directory a caller names. If false, a named directory must be state.savepoints.dir or below it; without state.savepoints.dir, callers cannot name one.")
)
