// Package zookeeper is the high-availability services in ZooKeeper
// (Flink's ZooKeeperLeaderElectionHaServices with Curator's recipes),
// high-availability.type ZOOKEEPER. Importing it registers it with ha.New.
package zookeeper
