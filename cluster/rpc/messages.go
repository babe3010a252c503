package rpc

// The methods of the JobManager's RPC endpoint and their messages.
const (
	// MethodRegisterTaskManager registers a TaskManager with the
	// ResourceManager (RegisterTaskManager → Registered).
	MethodRegisterTaskManager = "ResourceManager.RegisterTaskManager"
	// MethodHeartbeat is a TaskManager's heartbeat to the ResourceManager
	// (Heartbeat → HeartbeatAck); a not-found error means that the
	// ResourceManager does not know the TaskManager: it registers again.
	MethodHeartbeat = "ResourceManager.Heartbeat"
)

// RegisterTaskManager offers a TaskManager's slots.
type RegisterTaskManager struct {
	ID string `json:"id"`
	// Address is the TaskManager's RPC endpoint, DataAddress where it
	// exchanges records.
	Address     string `json:"address"`
	DataAddress string `json:"dataAddress"`
	Slots       int    `json:"slots"`
	// Version is the TaskManager's runnel version, for messages.
	Version string `json:"version"`
}

// Registered answers a registration.
type Registered struct {
	// HeartbeatIntervalMillis is how often the TaskManager is to send
	// heartbeats.
	HeartbeatIntervalMillis int64 `json:"heartbeatIntervalMillis"`
}

// Heartbeat is a TaskManager's sign of life.
type Heartbeat struct {
	ID string `json:"id"`
}

// HeartbeatAck answers a heartbeat: the JobManager's sign of life.
type HeartbeatAck struct{}
