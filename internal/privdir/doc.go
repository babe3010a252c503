// Package privdir checks that a directory belongs to the user running
// runnel: one that another user owns, or may write to, could hold files
// planted by that user (a pids file naming the operator's processes, a CA
// certificate the cluster would trust), so runnel refuses to use it.
package privdir
