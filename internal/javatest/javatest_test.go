package javatest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestPOM: the POM names each artifact, and a malformed coordinate is an
// error naming it.
func TestPOM(t *testing.T) {
	pom, err := pomOf("x", []string{"org.a:b:1.2", "c:d:3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<artifactId>x</artifactId>", "<groupId>org.a</groupId>", "<artifactId>b</artifactId>", "<version>1.2</version>", "<groupId>c</groupId>"} {
		if !strings.Contains(pom, want) {
			t.Errorf("the POM lacks %s:\n%s", want, pom)
		}
	}
	if _, err := pomOf("x", []string{"org.a:b"}); err == nil || !strings.Contains(err.Error(), `"org.a:b"`) {
		t.Errorf("a coordinate without version: %v", err)
	}
}
