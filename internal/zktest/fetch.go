package zktest

import (
	"fmt"

	"github.com/runnel-io/runnel/internal/javatest"
)

// Version is the ZooKeeper release the tests run.
const Version = "3.9.5"

// The versions of what the server needs beside ZooKeeper's own
// dependencies: its metrics (a dependency ZooKeeper's POM leaves to the
// distribution), snapshot compression (the same) and the logging it
// prints with.
const (
	metricsVersion = "4.1.12.1"
	snappyVersion  = "1.1.10.5"
	slf4jVersion   = "2.0.13"
)

// CacheDir is where downloads are kept: $RUNNEL_CACHE, else runnel/ in
// the user's cache directory.
func CacheDir() (string, error) { return javatest.CacheDir() }

// Jars returns the directory holding ZooKeeper's jars and those it needs,
// fetching them with Maven from Maven Central the first time.
func Jars() (string, error) {
	lib, err := javatest.Fetch("zookeeper-"+Version, "ZooKeeper "+Version, "org.apache.zookeeper:zookeeper:"+Version,
		"io.dropwizard.metrics:metrics-core:"+metricsVersion, "org.xerial.snappy:snappy-java:"+snappyVersion,
		"org.slf4j:slf4j-simple:"+slf4jVersion)
	if err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	return lib, nil
}
