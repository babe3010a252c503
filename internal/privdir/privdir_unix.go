//go:build unix

package privdir

import (
	"fmt"
	"os"
	"syscall"
)

// Check returns nil if dir does not exist, or is a directory owned by the
// current user that neither its group nor others may write to; an error
// saying which is not the case otherwise.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to user %d, not to this user (%d): choose a directory of your own", dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by other users (mode %v): choose a directory of your own, or chmod go-w it", dir, fi.Mode().Perm())
	}
	return nil
}
