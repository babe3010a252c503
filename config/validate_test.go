package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// testRegistry declares a few options and prefixes apart from the core's.
func testRegistry() *registry {
	r := &registry{}
	r.add(newInt("rest.port", 8081, "").WithValidator(Between(0, 65535)))
	r.add(newString("rest.address", "", ""))
	r.add(newInt("taskmanager.numberOfTaskSlots", 1, ""))
	r.add(newEnum("high-availability.type", "NONE", []string{"NONE", "ZOOKEEPER"}, "").WithDeprecatedKeys("high-availability"))
	r.addPrefix(Prefix{Prefix: "high-availability."})
	r.addPrefix(Prefix{
		Prefix: "sink.",
		Check: func(m map[string]string) error {
			var errs []error
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k != "sink.path" {
					errs = append(errs, fmt.Errorf("sink: %s: unknown key", k))
				}
			}
			return errors.Join(errs...)
		},
		Keys: []Row{{Key: "sink.path"}},
	})
	return r
}

func configOf(kv ...string) *Configuration {
	var c Configuration
	for i := 0; i < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return &c
}

func TestValidate(t *testing.T) {
	r := testRegistry()
	for _, tc := range []struct {
		name  string
		conf  *Configuration
		known []string
		want  []string // the lines of the error, nil for none
	}{
		{name: "empty", conf: &Configuration{}},
		{name: "nil", conf: nil},
		{name: "valid", conf: configOf("rest.port", "80", "high-availability", "zookeeper",
			"high-availability.zookeeper.quorum", "x", "sink.path", "/tmp")},
		{name: "known keys and prefixes", conf: configOf("mesos.master", "m:5050", "mesos", "x", "web.tmpdir", "/tmp"),
			known: []string{"mesos.", "web.tmpdir"}},
		{name: "known prefix covers only its keys", conf: configOf("mesosphere", "x"), known: []string{"mesos."},
			want: []string{"config: mesosphere: unknown key"}},
		{name: "misspelt", conf: configOf("rest.prot", "80", "rest.adress", "x", "taskmanager.numberoftaskslots", "2"),
			want: []string{
				"config: rest.adress: unknown key; did you mean rest.address?",
				"config: rest.prot: unknown key; did you mean rest.port?",
				"config: taskmanager.numberoftaskslots: unknown key; did you mean taskmanager.numberOfTaskSlots?",
			}},
		{name: "misspelt prefixed key", conf: configOf("sink.pth", "x"),
			want: []string{"config: sink: sink.pth: unknown key"}},
		{name: "prefix errors each prefixed", conf: configOf("sink.a", "x", "sink", "y"),
			want: []string{"config: sink: sink: unknown key", "config: sink: sink.a: unknown key"}},
		{name: "misspelt known key", conf: configOf("web.tmpdri", "x"), known: []string{"web.tmpdir"},
			want: []string{"config: web.tmpdri: unknown key; did you mean web.tmpdir?"}},
		{name: "misspelt under no prefix", conf: configOf("sinks.path", "x"),
			want: []string{"config: sinks.path: unknown key; did you mean sink.path?"}},
		{name: "far from every key", conf: configOf("jobmanager.memory.process.size", "1g"),
			want: []string{"config: jobmanager.memory.process.size: unknown key"}},
		{name: "bad values", conf: configOf("rest.port", "http", "high-availability", "kubernetes", "taskmanager.numberOfTaskSlots", "70000"),
			want: []string{
				`config: high-availability: "kubernetes" is not one of NONE, ZOOKEEPER`,
				`config: rest.port: "http" is not an integer`,
			}},
		{name: "validator", conf: configOf("rest.port", "70000"),
			want: []string{`config: rest.port: "70000": must be between 0 and 65535`}},
	} {
		err := tc.conf.validate(r, tc.known, false)
		var got []string
		if err != nil {
			got = strings.Split(err.Error(), "\n")
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got\n\t%s\nwant\n\t%s", tc.name, strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
		}
	}
}

func TestValidateUnknownKeyError(t *testing.T) {
	err := configOf("rest.prot", "80").validate(testRegistry(), nil, false)
	var ce *Error
	if !errors.Is(err, ErrUnknownKey) || !errors.As(err, &ce) || ce.Key != "rest.prot" {
		t.Errorf("got %v; want an *Error for rest.prot matching ErrUnknownKey", err)
	}
	err = configOf("rest.port", "x").validate(testRegistry(), nil, false)
	if err == nil || errors.Is(err, ErrUnknownKey) {
		t.Errorf("a malformed value: got %v, want an error not matching ErrUnknownKey", err)
	}
}

// TestValidateCore validates against the core's options, whose
// restart-strategy.* keys are checked by restart.Parse.
func TestValidateCore(t *testing.T) {
	ok := configOf("rest.port", "8081", "restart-strategy.type", "fixed-delay",
		"restart-strategy.fixed-delay.attempts", "3", "restart-strategy.fixed-delay.delay", "10 s",
		"high-availability.zookeeper.path.root", "/runnel", "execution.checkpointing.interval", "1 min")
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	bad := configOf("restart-strategy.fixed-delay.attempts", "x", "restart-strategy.fixed-delay.dealy", "1 s",
		"execution.checkpointing.interval", "5 ms", "state.checkpoint.dir", "/tmp")
	err := bad.Validate()
	want := []string{
		`config: execution.checkpointing.interval: "5 ms": must be 0 (disabled) or at least 10 ms`,
		`config: state.checkpoint.dir: unknown key; did you mean state.checkpoints.dir?`,
		`config: restart: restart-strategy.fixed-delay.attempts: "x" is not an integer`,
		`config: restart: unknown key restart-strategy.fixed-delay.dealy`,
	}
	if err == nil {
		t.Fatal("Validate accepted bad keys")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() =\n%v\nwant it to contain %q", err, w)
		}
	}
	if err := configOf("restart-strategy", "fixeddelay").Validate(); err != nil {
		t.Errorf("the deprecated restart-strategy key: %v", err)
	}
	if err := configOf("restart-strategy.fixed-delay.atempts", "3").Validate(); err == nil {
		t.Error("a misspelt restart-strategy key was accepted")
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"rest.port", "rest.address", "rest.bind-address", "parallelism.default", "taskmanager.numberOfTaskSlots"}
	for key, want := range map[string]string{
		"rest.prot":                     "rest.port", // a transposition
		"rest.pot":                      "rest.port",
		"rest.porrt":                    "rest.port",
		"REST.PORT":                     "rest.port",
		"rest.bind.address":             "rest.bind-address",
		"rest.bindaddress":              "rest.bind-address",
		"paralelism.defualt":            "parallelism.default", // 2 edits in 18 bytes
		"taskmanager.numberOfTaskSlot":  "taskmanager.numberOfTaskSlots",
		"taskmanager.numberoftaskslots": "taskmanager.numberOfTaskSlots",
		"rest.ports.x":                  "",
		"rest.pt":                       "",
		"parallelism":                   "",
		"xyz":                           "",
	} {
		if got := suggest(key, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0}, {"abc", "acb", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"port", "prot", 1}, {"port", "pot", 1},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

// jobRegistry is testRegistry with a job's own option and prefix.
func jobRegistry() *registry {
	r := testRegistry()
	r.add(newInt("job.parallelism", 1, "").WithValidator(AtLeast(1)).PerJob())
	r.add(newInt("job.port", 1, "").PerJob())
	r.addPrefix(Prefix{Prefix: "retry.", PerJob: true, Keys: []Row{{Key: "retry.attempts"}}})
	return r
}

func TestValidateJob(t *testing.T) {
	r := jobRegistry()
	for _, tc := range []struct {
		name string
		conf *Configuration
		want []string
	}{
		{name: "a job's keys", conf: configOf("job.parallelism", "2", "retry.attempts", "3", "retry", "x")},
		{name: "cluster keys", conf: configOf("rest.port", "80", "high-availability", "zookeeper", "high-availability.zookeeper.quorum", "x", "sink.path", "/tmp"),
			want: []string{
				"config: high-availability: a cluster key, which a job cannot set",
				"config: high-availability.zookeeper.quorum: a cluster key, which a job cannot set",
				"config: rest.port: a cluster key, which a job cannot set",
				"config: sink.path: a cluster key, which a job cannot set",
			}},
		{name: "a cluster key with a bad value is still a cluster key", conf: configOf("rest.port", "x"),
			want: []string{"config: rest.port: a cluster key, which a job cannot set"}},
		{name: "bad value", conf: configOf("job.parallelism", "0"),
			want: []string{`config: job.parallelism: "0": must be at least 1`}},
		{name: "misspelt: only a job's keys are suggested", conf: configOf("job.prot", "1", "rest.prot", "1", "retry.atempts", "1"),
			want: []string{
				"config: job.prot: unknown key; did you mean job.port?",
				"config: rest.prot: unknown key",
			}},
	} {
		err := tc.conf.validate(r, nil, true)
		var got []string
		if err != nil {
			got = strings.Split(err.Error(), "\n")
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got\n\t%s\nwant\n\t%s", tc.name, strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
		}
	}
	err := configOf("rest.port", "80").validate(r, nil, true)
	var ce *Error
	if !errors.Is(err, ErrClusterKey) || errors.Is(err, ErrUnknownKey) || !errors.As(err, &ce) || ce.Key != "rest.port" {
		t.Errorf("got %v; want an *Error for rest.port matching ErrClusterKey", err)
	}
	if err := configOf("rest.port", "80").validate(r, nil, false); err != nil {
		t.Errorf("Validate refuses a cluster key: %v", err)
	}
}

// TestJobKeysOfTheCore checks which of the core's keys are a job's own.
func TestJobKeysOfTheCore(t *testing.T) {
	for key, want := range map[string]bool{
		"parallelism.default": true, "pipeline.max-parallelism": true, "execution.checkpointing.interval": true,
		"state.checkpoints.dir": true, "execution.savepoint.path": true,
		"restart-strategy.type": true, "restart-strategy": true, "restart-strategy.fixed-delay.attempts": true,
		"rest.port": false, "taskmanager.numberOfTaskSlots": false, "high-availability": false,
		"high-availability.zookeeper.path.root": false, "heartbeat.interval": false, "no.such.key": false,
	} {
		if got := IsJobKey(key); got != want {
			t.Errorf("IsJobKey(%s) = %v, want %v", key, got, want)
		}
	}
	err := configOf("parallelism.default", "2", "restart-strategy.type", "none", "rest.port", "1").ValidateJob()
	if err == nil || err.Error() != "config: rest.port: a cluster key, which a job cannot set" {
		t.Errorf("ValidateJob() = %v, want an error for rest.port only", err)
	}
	if err := configOf("restart-strategy.fixed-delay.attempts", "x").ValidateJob(); err == nil ||
		!strings.Contains(err.Error(), "restart-strategy.fixed-delay.attempts") {
		t.Errorf("ValidateJob() = %v, want restart.Parse's error", err)
	}
}

func TestUnder(t *testing.T) {
	r := jobRegistry()
	r.add(newInt("retry.claimed", 0, "").PerJob())
	c := configOf("retry.attempts", "3", "retry", "x", "retry.claimed", "1", "retryx", "y", "job.port", "2")
	got := c.under(r, Prefix{Prefix: "retry."})
	want := map[string]string{"retry.attempts": "3", "retry": "x"}
	if len(got) != len(want) || got["retry.attempts"] != "3" || got["retry"] != "x" {
		t.Errorf("under = %v, want %v", got, want)
	}
	if got := (*Configuration)(nil).Under(RestartStrategy); len(got) != 0 {
		t.Errorf("Under of nil = %v", got)
	}
	if got := configOf("restart-strategy", "none", "rest.port", "1").Under(RestartStrategy); len(got) != 1 || got["restart-strategy"] != "none" {
		t.Errorf("Under(RestartStrategy) = %v", got)
	}
}
