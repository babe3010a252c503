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
		err := tc.conf.validate(r, tc.known)
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
	err := configOf("rest.prot", "80").validate(testRegistry(), nil)
	var ce *Error
	if !errors.Is(err, ErrUnknownKey) || !errors.As(err, &ce) || ce.Key != "rest.prot" {
		t.Errorf("got %v; want an *Error for rest.prot matching ErrUnknownKey", err)
	}
	err = configOf("rest.port", "x").validate(testRegistry(), nil)
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
