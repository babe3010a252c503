// Package hdfstest runs a real HDFS for tests: a NameNode and one
// DataNode of Apache Hadoop's MiniDFSCluster, from the
// hadoop-client-minicluster jars on Maven Central, run with the installed
// Java 17 on free loopback ports.
//
// The jars are fetched once, with Maven, into the cache directory
// ($RUNNEL_CACHE, else the user's cache directory's runnel/, e.g.
// ~/.cache/runnel), and the small launcher MiniHDFS.java is compiled
// there once with javac against them, so that a second run downloads and
// builds nothing (see package javatest).
//
// The cluster checks no permissions (any user may write anywhere), keeps
// one replica of each block, and needs no Kerberos: a client such as
// github.com/colinmarc/hdfs/v2 connects to NameNodeAddr as it is. As on
// a real cluster, closing a file that client wrote may fail with
// hdfs.ErrReplicating until the DataNode has reported the last block to
// the NameNode (within its one-second heartbeat here): callers retry the
// Close, as Hadoop's Java client does. Starting
// it takes some seconds, so a package starts one cluster in TestMain and
// its tests share it, each under a directory of its own. The cluster's
// process is killed with the test binary (Pdeathsig), and Close removes
// its data.
package hdfstest
