package javatest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// CacheDir is where downloads are kept: $RUNNEL_CACHE, else runnel/ in
// the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("RUNNEL_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("javatest: no cache directory (set RUNNEL_CACHE): %w", err)
	}
	return filepath.Join(base, "runnel"), nil
}

// Install returns the directory sub in the directory name-HASH of the
// cache directory, HASH being that of spec, filling it with fill the
// first time: fill is called under a file lock with name-HASH and its
// emptied sub (where it writes what it installs), and what it wrote is
// kept only if it returns nil.
func Install(name, sub, spec string, fill func(dir, out string) error) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(spec))
	dir := filepath.Join(cache, fmt.Sprintf("%s-%x", name, sum[:4]))
	out := filepath.Join(dir, sub)
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("javatest: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("javatest: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("javatest: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(done); err == nil {
		return out, nil // installed by another test binary meanwhile
	}
	_ = os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("javatest: %w", err)
	}
	if err := fill(dir, out); err != nil {
		return "", err
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", fmt.Errorf("javatest: %w", err)
	}
	return out, nil
}

// Fetch returns a directory holding the jars of artifacts (Maven
// coordinates "group:artifact:version") and of their runtime
// dependencies, fetching them with Maven from Maven Central the first
// time; what names what is fetched in errors. The directory is named after
// name and a hash of the list: a change of it fetches anew.
func Fetch(name, what string, artifacts ...string) (string, error) {
	pom, err := pomOf(name, artifacts)
	if err != nil {
		return "", err
	}
	return Install(name, "lib", pom, func(dir, out string) error {
		if err := os.WriteFile(filepath.Join(dir, "pom.xml"), []byte(pom), 0o644); err != nil {
			return fmt.Errorf("javatest: %w", err)
		}
		cmd := exec.Command("mvn", "-q", "-B", "-f", filepath.Join(dir, "pom.xml"), "dependency:copy-dependencies",
			"-DoutputDirectory="+out, "-DincludeScope=runtime")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("javatest: fetching %s with Maven (is mvn installed, and Maven Central reachable?): %w\n%s", what, err, b)
		}
		return nil
	})
}

// pomOf is the POM of a project named name that depends on artifacts.
func pomOf(name string, artifacts []string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n"+
		"  <groupId>io.runnel.test</groupId>\n  <artifactId>%s</artifactId>\n  <version>1</version>\n"+
		"  <packaging>pom</packaging>\n  <dependencies>\n", name)
	for _, a := range artifacts {
		f := strings.Split(a, ":")
		if len(f) != 3 || f[0] == "" || f[1] == "" || f[2] == "" {
			return "", fmt.Errorf("javatest: artifact %q is not group:artifact:version", a)
		}
		fmt.Fprintf(&b, "    <dependency>\n      <groupId>%s</groupId>\n      <artifactId>%s</artifactId>\n"+
			"      <version>%s</version>\n    </dependency>\n", f[0], f[1], f[2])
	}
	b.WriteString("  </dependencies>\n</project>\n")
	return b.String(), nil
}

// Compile returns a directory of the classes compiled with javac from
// sources (file name, such as "Main.java", to its text) against the jars
// in the directory jars, compiling them the first time. The directory is
// named after name and a hash of the sources and jars.
func Compile(name string, sources map[string]string, jars string) (string, error) {
	var files []string
	for f := range sources {
		files = append(files, f)
	}
	sort.Strings(files)
	var spec strings.Builder
	fmt.Fprintf(&spec, "jars %s\n", jars)
	for _, f := range files {
		fmt.Fprintf(&spec, "file %s %d\n%s\n", f, len(sources[f]), sources[f])
	}
	return Install(name, "classes", spec.String(), func(dir, out string) error {
		src := filepath.Join(dir, "src")
		_ = os.RemoveAll(src)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return fmt.Errorf("javatest: %w", err)
		}
		args := []string{"-nowarn", "-d", out, "-cp", filepath.Join(jars, "*")}
		for _, f := range files {
			p := filepath.Join(src, f)
			if err := os.WriteFile(p, []byte(sources[f]), 0o644); err != nil {
				return fmt.Errorf("javatest: %w", err)
			}
			args = append(args, p)
		}
		if b, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("javatest: compiling %s (is a JDK installed?): %w\n%s", strings.Join(files, ", "), err, b)
		}
		return nil
	})
}
