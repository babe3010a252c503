package zookeeper

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/runnel-io/runnel/config"
)

// Config configures the services. The zero value of a field is its
// default, as the field says; ConfigFrom reads every field from the keys
// of the configuration.
type Config struct {
	// Quorum is the ZooKeeper servers, host:port pairs separated by
	// commas (high-availability.zookeeper.quorum). Required.
	Quorum string
	// Root is the node every cluster's nodes are under
	// (high-availability.zookeeper.path.root); default /flink.
	Root string
	// ClusterID is the cluster's node under Root and its directory under
	// StorageDir (high-availability.cluster-id); default /default.
	ClusterID string
	// StorageDir is where the stores keep the data their nodes point to
	// (high-availability.storageDir): a path or a file:// URI, under which
	// the cluster's files are in ClusterID. Required unless Storage is
	// set.
	StorageDir string
	// Storage, if not nil, keeps that data instead of files under
	// StorageDir.
	Storage Storage
	// SessionTimeout is the session timeout the client asks the servers
	// for; default 60 s.
	SessionTimeout time.Duration
	// ConnectionTimeout bounds New's wait for a session; default 15 s.
	ConnectionTimeout time.Duration
	// RetryWait is the wait before an operation that failed for a lost
	// connection is tried again, cut short when the connection is back;
	// default 5 s.
	RetryWait time.Duration
	// MaxRetryAttempts is how many times such an operation is tried again;
	// 0 means the default, 3, and a negative value none.
	MaxRetryAttempts int
	// ACL is "open" (the default) or "creator": the nodes created may be
	// read and changed only by clients authenticated with
	// DigestCredentials.
	ACL string
	// DigestCredentials is "user:password", the client's digest
	// authentication; required with the creator ACL.
	DigestCredentials string
	// TolerateSuspendedConnections keeps a leadership while the
	// connection is suspended, until the session is lost.
	TolerateSuspendedConnections bool
	// MesosWorkersPath is the node under the cluster's reserved for the
	// Mesos driver; default /mesos-workers.
	MesosWorkersPath string
}

// ConfigFrom reads the services' configuration from conf. Its errors name
// the key that is wrong.
func ConfigFrom(conf *config.Configuration) (Config, error) {
	var c Config
	var errs []error
	get := func(err error) { errs = append(errs, err) }
	var err error
	c.Quorum, err = config.Get(conf, config.ZooKeeperQuorum)
	get(err)
	c.Root, err = config.Get(conf, config.ZooKeeperRoot)
	get(err)
	c.ClusterID, err = config.Get(conf, config.HighAvailabilityClusterID)
	get(err)
	c.StorageDir, err = config.Get(conf, config.HighAvailabilityStorageDir)
	get(err)
	c.SessionTimeout, err = config.Get(conf, config.ZooKeeperSessionTimeout)
	get(err)
	c.ConnectionTimeout, err = config.Get(conf, config.ZooKeeperConnectionTimeout)
	get(err)
	c.RetryWait, err = config.Get(conf, config.ZooKeeperRetryWait)
	get(err)
	c.MaxRetryAttempts, err = config.Get(conf, config.ZooKeeperMaxRetryAttempts)
	get(err)
	if c.MaxRetryAttempts == 0 {
		c.MaxRetryAttempts = -1
	}
	c.ACL, err = config.Get(conf, config.ZooKeeperACL)
	get(err)
	c.TolerateSuspendedConnections, err = config.Get(conf, config.ZooKeeperTolerateSuspended)
	get(err)
	c.MesosWorkersPath, err = config.Get(conf, config.ZooKeeperMesosWorkersPath)
	get(err)
	file, err := config.Get(conf, config.ZooKeeperDigestFile)
	get(err)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			get(fmt.Errorf("zookeeper: %s: %w", config.ZooKeeperDigestFile, err))
		}
		c.DigestCredentials = strings.TrimSpace(string(b))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// EnsureDefaults sets the fields left zero to their defaults.
func (c *Config) EnsureDefaults() {
	set := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	set(&c.Root, config.ZooKeeperRoot.Default())
	set(&c.ClusterID, config.HighAvailabilityClusterID.Default())
	set(&c.ACL, config.ZooKeeperACL.Default())
	set(&c.MesosWorkersPath, config.ZooKeeperMesosWorkersPath.Default())
	dur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	dur(&c.SessionTimeout, config.ZooKeeperSessionTimeout.Default())
	dur(&c.ConnectionTimeout, config.ZooKeeperConnectionTimeout.Default())
	dur(&c.RetryWait, config.ZooKeeperRetryWait.Default())
	if c.MaxRetryAttempts == 0 {
		c.MaxRetryAttempts = config.ZooKeeperMaxRetryAttempts.Default()
	}
}

// Validate checks the fields that must be set and those that must agree,
// naming the key of each that is wrong.
func (c *Config) Validate() error {
	var errs []error
	if strings.Trim(c.Quorum, ", ") == "" {
		errs = append(errs, fmt.Errorf("zookeeper: %s is not set: high-availability.type ZOOKEEPER needs the servers", config.ZooKeeperQuorum))
	}
	if c.Storage == nil && c.StorageDir == "" {
		errs = append(errs, fmt.Errorf("zookeeper: %s is not set: high-availability.type ZOOKEEPER keeps the jobs' data there", config.HighAvailabilityStorageDir))
	}
	switch c.ACL {
	case "open":
	case "creator":
		if user, _, ok := strings.Cut(c.DigestCredentials, ":"); !ok || user == "" {
			errs = append(errs, fmt.Errorf("zookeeper: %s creator needs user:password in %s", config.ZooKeeperACL, config.ZooKeeperDigestFile))
		}
	default:
		errs = append(errs, fmt.Errorf("zookeeper: %s %q: want open or creator", config.ZooKeeperACL, c.ACL))
	}
	for _, p := range []struct {
		key fmt.Stringer
		v   string
	}{{config.ZooKeeperRoot, c.Root}, {config.HighAvailabilityClusterID, c.ClusterID}, {config.ZooKeeperMesosWorkersPath, c.MesosWorkersPath}} {
		if strings.HasSuffix(p.v, "/") && p.v != "/" || strings.Contains(p.v, "//") {
			errs = append(errs, fmt.Errorf("zookeeper: %s %q: not a ZooKeeper path", p.key, p.v))
		}
	}
	return errors.Join(errs...)
}

// servers splits the quorum into its host:port pairs.
func (c *Config) servers() []string {
	var out []string
	for _, s := range strings.Split(c.Quorum, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
