// Package standalone is the resource manager's driver for TaskManagers
// that an operator starts (by hand, with a script, from systemd or any
// supervisor): they register with the resource manager on their own,
// each under its own taskmanager.resource-id. The driver starts and stops
// nothing; CanStartWorkers is false, so the SlotManager runs in
// Standalone mode and never asks it for a worker.
package standalone
