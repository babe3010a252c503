package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	path := writeFile(t, `# Flink's flat keys
jobmanager.rpc.address: jm.example.com
rest.port: 8082
pipeline.max-parallelism: 256
# nested maps
execution:
  checkpointing:
    interval: 10 s
    timeout: 1 min
taskmanager:
  numberOfTaskSlots: 4
  memory.segment-size: 64 kb
# a flat key under a nested one
high-availability:
  type: zookeeper
  zookeeper.quorum: a:2181,b:2181
state.checkpoints.dir:
float.kept: 1.0
list.joined: [a, b, c]
anchored: &x value
aliased: *x
`)
	c, err := Load(path, []string{"rest.port=9000", "parallelism.default = 3", "state.savepoints.dir=file:///a=b", "rest.port=9001"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"jobmanager.rpc.address":             "jm.example.com",
		"rest.port":                          "9001", // the last -D wins over the file and earlier -D
		"pipeline.max-parallelism":           "256",
		"execution.checkpointing.interval":   "10 s",
		"execution.checkpointing.timeout":    "1 min",
		"taskmanager.numberOfTaskSlots":      "4",
		"taskmanager.memory.segment-size":    "64 kb",
		"high-availability.type":             "zookeeper",
		"high-availability.zookeeper.quorum": "a:2181,b:2181",
		"state.checkpoints.dir":              "",
		"float.kept":                         "1.0",
		"list.joined":                        "a;b;c",
		"anchored":                           "value",
		"aliased":                            "value",
		"parallelism.default":                " 3",
		"state.savepoints.dir":               "file:///a=b",
	}
	if got := c.Map(); !maps.Equal(got, want) {
		t.Errorf("Map() = %v\nwant %v", got, want)
	}
	m := c.Map()
	m["rest.port"] = "1"
	if v, _ := Get(c, RestPort); v != 9001 {
		t.Errorf("changing Map's result changed the configuration: rest.port = %d", v)
	}
	for _, tc := range []struct {
		got, want any
		err       error
	}{
		{first(Get(c, RestPort)), 9001, second(Get(c, RestPort))},
		{first(Get(c, NumTaskSlots)), 4, second(Get(c, NumTaskSlots))},
		{first(Get(c, MemorySegmentSize)), 64 * Kibibyte, second(Get(c, MemorySegmentSize))},
		{first(Get(c, DefaultParallelism)), 3, second(Get(c, DefaultParallelism))},
		{first(Get(c, HighAvailabilityType)), "ZOOKEEPER", second(Get(c, HighAvailabilityType))},
		{first(Get(c, HeartbeatTimeout)), HeartbeatTimeout.Default(), second(Get(c, HeartbeatTimeout))},
	} {
		if tc.err != nil || tc.got != tc.want {
			t.Errorf("got %v, %v; want %v", tc.got, tc.err, tc.want)
		}
	}
	if err := c.Validate("float.", "list.joined", "anchored", "aliased"); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func first[T any](v T, _ error) T { return v }

func TestLoadWithoutFile(t *testing.T) {
	c, err := Load("", []string{"rest.port=1"})
	if err != nil || c.Map()["rest.port"] != "1" || len(c.Map()) != 1 {
		t.Errorf("Load(\"\", rest.port=1) = %v, %v", c.Map(), err)
	}
	for _, text := range []string{"", "# only a comment\n", "~\n"} {
		c, err := Load(writeFile(t, text), nil)
		if err != nil || len(c.Map()) != 0 {
			t.Errorf("Load(%q) = %v, %v; want an empty configuration", text, c.Map(), err)
		}
	}
}

func TestLoadDuplicateKey(t *testing.T) {
	path := writeFile(t, "rest.port: 1\nrest:\n  address: x\n  port: 2\n")
	_, err := Load(path, nil)
	want := path + ":4: rest.port: set again (first at line 1)"
	if err == nil || err.Error() != "config: "+want {
		t.Errorf("got %v, want config: %s", err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string // after "config: <path>"
	}{
		{"rest.port: 1\nrest.address: [a\n", ":2: did not find expected ',' or ']'"},
		{"a: 1\nb: 2\nc: [a\nd: 4\n", ":3: did not find expected ',' or ']'"},
		{"a: 1\nb: 2\nc: \"abc\nd: 4\n", ":3: found unexpected end of stream"},
		{"a: 1\nb: 2\n\tc: 3\n", ":2: found a tab character that violates indentation"},
		{"rest.port: 1\n  bad: indentation\n", ":2: mapping values are not allowed in this context"},
		{"- a\n- b\n", ":1: want a map of keys to values"},
		{"rest.port: 1\n[a, b]: x\n", ":2: a key must be a plain string"},
		{"a:\n  b: 1\n  c:\n    - {d: 1}\n", ":4: a.c: a list may hold only plain values"},
	} {
		path := writeFile(t, tc.text)
		_, err := Load(path, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+path+tc.want) {
			t.Errorf("Load(%q) = %v, want config: %s%s", tc.text, err, path, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("missing file: %v", err)
	}
	for _, d := range []string{"rest.port", "=1", " =1"} {
		if _, err := Load("", []string{d}); err == nil || err.Error() != "config: -D"+d+": want -Dkey=value" {
			t.Errorf("-D%s: %v", d, err)
		}
	}
}

// TestValueErrorsNameFileAndLine: a malformed value read from a file is
// reported at its line; after a -D override of the key, without one.
func TestValueErrorsNameFileAndLine(t *testing.T) {
	path := writeFile(t, "rest.address: x\nrest:\n  port: abc\nheartbeat.interval: soon\n")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Get(c, RestPort)
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "rest.port" || ce.Source != path+":3" ||
		err.Error() != "config: "+path+`:3: rest.port: "abc" is not an integer` {
		t.Errorf("Get(rest.port) = %v", err)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "config: "+path+`:4: heartbeat.interval: "soon" is not a duration`) ||
		!strings.Contains(err.Error(), "config: "+path+`:3: rest.port: "abc"`) {
		t.Errorf("Validate() = %v", err)
	}

	c, err = Load(path, []string{"rest.port=def"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Get(c, RestPort); err == nil || err.Error() != `config: rest.port: "def" is not an integer` {
		t.Errorf("after -D: %v", err)
	}
}

// TestDesignExample loads the configuration of DESIGN.md §6.
func TestDesignExample(t *testing.T) {
	path := writeFile(t, `high-availability: zookeeper
high-availability.zookeeper.quorum: node:2181
high-availability.zookeeper.storageDir: hdfs://node/flink/ha
recovery.zookeeper.path.mesos-workers: /mesos-workers
`)
	c, err := Load(path, []string{"mesos.master=node:5050", "mesos.initial-tasks=1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate("mesos."); err != nil {
		t.Fatal(err)
	}
	for o, want := range map[*Option[string]]string{
		HighAvailabilityType:       "ZOOKEEPER",
		ZooKeeperQuorum:            "node:2181",
		HighAvailabilityStorageDir: "hdfs://node/flink/ha",
		ZooKeeperMesosWorkersPath:  "/mesos-workers",
	} {
		if v, err := Get(c, o); v != want || err != nil {
			t.Errorf("%s = %q, %v; want %q", o, v, err, want)
		}
	}
}
