package hdfstest

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runnel-io/runnel/internal/javatest"
)

// Version is the Hadoop release the tests run: 3.5.0 is the first whose
// NameNode and DataNode support running on Java 17, the Java installed
// here.
const Version = "3.5.0"

// slf4jVersion is the logging binding the launcher prints with: that of
// the slf4j API Hadoop's client jars depend on.
const slf4jVersion = "1.7.36"

//go:embed MiniHDFS.java
var launcher string

// Jars returns the directory holding Hadoop's jars and those the cluster
// needs, fetching them with Maven from Maven Central the first time.
func Jars() (string, error) {
	lib, err := javatest.Fetch("hadoop-"+Version, "Hadoop "+Version,
		"org.apache.hadoop:hadoop-client-minicluster:"+Version, "org.slf4j:slf4j-simple:"+slf4jVersion)
	if err != nil {
		return "", fmt.Errorf("hdfstest: %w", err)
	}
	return lib, nil
}

// classpath returns the launcher's classpath, fetching the jars and
// compiling the launcher the first time.
func classpath() (string, error) {
	jars, err := Jars()
	if err != nil {
		return "", err
	}
	classes, err := javatest.Compile("minihdfs", map[string]string{"MiniHDFS.java": launcher}, jars)
	if err != nil {
		return "", fmt.Errorf("hdfstest: %w", err)
	}
	return classes + string(os.PathListSeparator) + filepath.Join(jars, "*"), nil
}
