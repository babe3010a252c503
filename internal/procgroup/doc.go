// Package procgroup runs child processes in process groups of their own
// and reaps them together with what they started: the TaskManagers that
// the process driver starts, and the workers a TaskManager starts.
package procgroup
