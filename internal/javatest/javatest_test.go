package javatest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestInstall: what is installed once is not installed again, and a
// failed install is tried again the next time.
func TestInstall(t *testing.T) {
	t.Setenv("RUNNEL_CACHE", t.TempDir())
	calls := 0
	fill := func(fail bool) func(dir, out string) error {
		return func(dir, out string) error {
			calls++
			if fail {
				return errors.New("no")
			}
			return os.WriteFile(filepath.Join(out, "x"), []byte("x"), 0o644)
		}
	}
	if _, err := Install("thing", "lib", "spec", fill(true)); err == nil {
		t.Fatal("a failed install succeeded")
	}
	out, err := Install("thing", "lib", "spec", fill(false))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Install("thing", "lib", "spec", fill(false))
	if err != nil {
		t.Fatal(err)
	}
	if again != out || calls != 2 {
		t.Errorf("second install: %s, %d fills; want %s and 2", again, calls, out)
	}
	if _, err := os.Stat(filepath.Join(out, "x")); err != nil {
		t.Error(err)
	}
	other, err := Install("thing", "lib", "another spec", fill(false))
	if err != nil {
		t.Fatal(err)
	}
	if other == out {
		t.Errorf("another spec installed in the same directory %s", out)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 || ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Errorf("ports %v, want three distinct", ports)
	}
}
