package jobmanager

import "testing"

// TestJobDefaults checks which of the cluster's keys reach the jobs that
// do not set them: a job's own keys, but not those that shape its graph.
func TestJobDefaults(t *testing.T) {
	for key, want := range map[string]bool{
		"execution.checkpointing.interval":      true,
		"state.checkpoints.dir":                 true,
		"state.savepoints.dir":                  true,
		"execution.savepoint.path":              true,
		"restart-strategy.type":                 true,
		"restart-strategy":                      true,
		"restart-strategy.fixed-delay.attempts": true,
		"parallelism.default":                   false,
		"pipeline.max-parallelism":              false,
		"rest.port":                             false,
		"heartbeat.interval":                    false,
		"high-availability.zookeeper.quorum":    false,
		"state.checkpoints.unknown":             false,
	} {
		if got := jobDefault(key); got != want {
			t.Errorf("jobDefault(%s) = %v, want %v", key, got, want)
		}
	}
}
