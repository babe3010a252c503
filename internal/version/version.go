// Package version tells which runnel this is.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time (-ldflags "-X
// github.com/runnel-io/runnel/internal/version.Version=v1.2.3"); otherwise it
// is the module version recorded in the binary, or "devel".
var Version = ""

// String returns "runnel VERSION (GOVERSION, GOOS/GOARCH)".
func String() string {
	v := Version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return "runnel " + v + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
