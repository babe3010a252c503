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

const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.runnel.test</groupId>
  <artifactId>zookeeper-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>%s</version>
    </dependency>
    <dependency>
      <groupId>io.dropwizard.metrics</groupId>
      <artifactId>metrics-core</artifactId>
      <version>%s</version>
    </dependency>
    <dependency>
      <groupId>org.xerial.snappy</groupId>
      <artifactId>snappy-java</artifactId>
      <version>%s</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>%s</version>
    </dependency>
  </dependencies>
</project>
`

// Jars returns the directory holding ZooKeeper's jars and those it needs,
// fetching them with Maven from Maven Central the first time.
func Jars() (string, error) {
	spec := fmt.Sprintf(pom, Version, metricsVersion, snappyVersion, slf4jVersion)
	lib, err := javatest.Fetch("zookeeper-"+Version, "ZooKeeper "+Version, spec)
	if err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	return lib, nil
}
