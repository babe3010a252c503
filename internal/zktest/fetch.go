package zktest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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
func CacheDir() (string, error) {
	if d := os.Getenv("RUNNEL_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("zktest: no cache directory (set RUNNEL_CACHE): %w", err)
	}
	return filepath.Join(base, "runnel"), nil
}

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
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	// The directory is named after what it holds: a change of the list
	// fetches anew.
	spec := fmt.Sprintf(pom, Version, metricsVersion, snappyVersion, slf4jVersion)
	sum := sha256.Sum256([]byte(spec))
	dir := filepath.Join(cache, fmt.Sprintf("zookeeper-%s-%x", Version, sum[:4]))
	lib := filepath.Join(dir, "lib")
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		return lib, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("zktest: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(done); err == nil {
		return lib, nil // fetched by another test binary meanwhile
	}
	if err := os.WriteFile(filepath.Join(dir, "pom.xml"), []byte(spec), 0o644); err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	_ = os.RemoveAll(lib)
	cmd := exec.Command("mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"), "dependency:copy-dependencies",
		"-DoutputDirectory="+lib, "-DincludeScope=runtime")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("zktest: fetching ZooKeeper %s with Maven (is mvn installed, and Maven Central reachable?): %w\n%s", Version, err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", fmt.Errorf("zktest: %w", err)
	}
	return lib, nil
}
