//go:build unix

package procgroup

import (
	"errors"
	"os"
	"syscall"
)

// Signal sends sig to the process group pgid; a group that is gone is
// os.ErrProcessDone.
func Signal(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}
