package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// getRaw sets key to raw in a fresh configuration and reads o.
func getRaw[T any](o *Option[T], raw string) (T, error) {
	var c Configuration
	c.Set(o.Key(), raw)
	return Get(&c, o)
}

func TestGetTypes(t *testing.T) {
	i := newInt("t.int", 7, "")
	s := newString("t.string", "d", "")
	b := newBool("t.bool", false, "")
	f := newFloat("t.float", 0.5, "")
	d := newDuration("t.duration", time.Second, "")
	e := newEnum("t.enum", "NONE", []string{"NONE", "ZOOKEEPER"}, "")
	m := newMemorySize("t.memory", 32*Kibibyte, "")

	// Unset: the default.
	if v, err := Get(nil, i); v != 7 || err != nil {
		t.Errorf("Get(nil, int) = %v, %v; want the default 7", v, err)
	}
	if v, err := Get(&Configuration{}, m); v != 32*Kibibyte || err != nil {
		t.Errorf("Get(empty, memory) = %v, %v; want the default", v, err)
	}

	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", name, got, err, want)
		}
	}
	v1, err := getRaw(i, " 8081 ")
	check("int", v1, 8081, err)
	v1, err = getRaw(i, "-3")
	check("negative int", v1, -3, err)
	v2, err := getRaw(s, " as is ")
	check("string", v2, " as is ", err)
	v3, err := getRaw(b, "TRUE")
	check("bool", v3, true, err)
	v3, err = getRaw(b, "false")
	check("bool", v3, false, err)
	v4, err := getRaw(f, "1e-3")
	check("float", v4, 0.001, err)
	v5, err := getRaw(d, "10 min")
	check("duration", v5, 10*time.Minute, err)
	v5, err = getRaw(d, "500")
	check("duration without unit", v5, 500*time.Millisecond, err)
	v6, err := getRaw(e, "zookeeper")
	check("enum", v6, "ZOOKEEPER", err)
	v7, err := getRaw(m, "64 mb")
	check("memory", v7, 64*Mebibyte, err)
	v7, err = getRaw(m, "1g")
	check("memory", v7, Gibibyte, err)
	v7, err = getRaw(m, "100")
	check("memory without unit", v7, MemorySize(100), err)

	for _, tc := range []struct {
		get  func() error
		want string
	}{
		{func() error { _, err := getRaw(i, "abc"); return err }, `config: t.int: "abc" is not an integer`},
		{func() error { _, err := getRaw(i, "1.5"); return err }, `config: t.int: "1.5" is not an integer`},
		{func() error { _, err := getRaw(i, "99999999999999999999"); return err }, `config: t.int: "99999999999999999999" is out of range`},
		{func() error { _, err := getRaw(b, "yes"); return err }, `config: t.bool: "yes" is not a boolean (true or false)`},
		{func() error { _, err := getRaw(b, "1"); return err }, `config: t.bool: "1" is not a boolean (true or false)`},
		{func() error { _, err := getRaw(f, "NaN"); return err }, `config: t.float: "NaN" is not a number`},
		{func() error { _, err := getRaw(f, "x"); return err }, `config: t.float: "x" is not a number`},
		{func() error { _, err := getRaw(d, "10 parsecs"); return err }, `config: t.duration: "10 parsecs" is not a duration: unknown unit "parsecs" (use ns, us, ms, s, min, h or d)`},
		{func() error { _, err := getRaw(d, "1.5s"); return err }, `config: t.duration: "1.5s" is not a duration: unknown unit ".5s"`},
		{func() error { _, err := getRaw(e, "kubernetes"); return err }, `config: t.enum: "kubernetes" is not one of NONE, ZOOKEEPER`},
		{func() error { _, err := getRaw(m, "1 pb"); return err }, `config: t.memory: "1 pb" is not a memory size: unknown unit "pb" (use bytes, kb, mb, gb or tb)`},
		{func() error { _, err := getRaw(m, "-1 kb"); return err }, `config: t.memory: "-1 kb" is not a memory size: it does not start with a number`},
		{func() error { _, err := getRaw(m, "99999999999 tb"); return err }, `config: t.memory: "99999999999 tb" is not a memory size: it is too large`},
	} {
		err := tc.get()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got error %v, want %q", err, tc.want)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Source != "" {
			t.Errorf("%v: not an *Error without a source", err)
		}
	}
}

func TestMemorySize(t *testing.T) {
	for in, want := range map[string]MemorySize{
		"0": 0, "1 b": 1, "7bytes": 7, "32 kb": 32 * Kibibyte, "32K": 32 * Kibibyte,
		"2 kibibytes": 2 * Kibibyte, "64 MB": 64 * Mebibyte, "3 mebibytes": 3 * Mebibyte,
		"1g": Gibibyte, "1 GB": Gibibyte, "2 gibibytes": 2 * Gibibyte, "1t": Tebibyte, "1 tb": Tebibyte,
	} {
		got, err := ParseMemorySize(in)
		if err != nil || got != want {
			t.Errorf("ParseMemorySize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for m, want := range map[MemorySize]string{
		0: "0 bytes", 100: "100 bytes", 32 * Kibibyte: "32 kb", 1536 * Kibibyte: "1536 kb",
		64 * Mebibyte: "64 mb", Gibibyte: "1 gb", 3 * Tebibyte: "3 tb",
	} {
		if got := m.String(); got != want {
			t.Errorf("MemorySize(%d).String() = %q, want %q", int64(m), got, want)
		}
		if back, err := ParseMemorySize(want); err != nil || back != m {
			t.Errorf("ParseMemorySize(%q) = %v, %v; want %d", want, back, err, int64(m))
		}
	}
	if _, err := ParseMemorySize("kb"); err == nil || err.Error() != `config: "kb" is not a memory size: it does not start with a number` {
		t.Errorf("ParseMemorySize(kb) = %v", err)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 ms", 10 * time.Minute: "10 min", 50 * time.Second: "50 s", 90 * time.Second: "90 s",
		500 * time.Millisecond: "500 ms", 2 * time.Hour: "2 h", 48 * time.Hour: "2 d",
		3 * time.Microsecond: "3 us", 7: "7 ns",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := getRaw(newDuration("t.d", 0, ""), got); err != nil || back != d {
			t.Errorf("%q parses back as %v, %v; want %v", got, back, err, d)
		}
	}
}

// TestSignedDuration: a signed duration option reads a minus sign, and a
// plain duration option does not.
func TestSignedDuration(t *testing.T) {
	o := newSignedDuration("t.signed", 0, "")
	for raw, want := range map[string]time.Duration{
		"-1": -time.Millisecond, "-1 ms": -time.Millisecond, " -1ms ": -time.Millisecond,
		"-2 s": -2 * time.Second, "0": 0, "-0": 0, "100 ms": 100 * time.Millisecond,
	} {
		if got, err := getRaw(o, raw); err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", raw, got, err, want)
		}
		if back, err := getRaw(o, FormatDuration(want)); err != nil || back != want {
			t.Errorf("%v formats as %q, which parses back as %v, %v", want, FormatDuration(want), back, err)
		}
	}
	for raw, want := range map[string]string{
		"-":    `config: t.signed: "-" is not a duration: it does not start with a number`,
		"--1":  `config: t.signed: "--1" is not a duration: it does not start with a number`,
		"-1 x": `config: t.signed: "-1 x" is not a duration: unknown unit "x"`,
	} {
		if _, err := getRaw(o, raw); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got error %v, want %q", raw, err, want)
		}
	}
	if _, err := getRaw(newDuration("t.unsigned", 0, ""), "-1"); err == nil {
		t.Error("a duration option read -1")
	}
}

func TestParse(t *testing.T) {
	o := newInt("t.parse", 1, "").WithValidator(AtLeast(1))
	if v, err := o.Parse(" 3 "); v != 3 || err != nil {
		t.Errorf("Parse(3) = %v, %v", v, err)
	}
	if _, err := o.Parse("0"); err == nil || err.Error() != `"0": must be at least 1` {
		t.Errorf("Parse(0) = %v", err)
	}
}

func TestValidators(t *testing.T) {
	port := newInt("t.port", 8081, "").WithValidator(Between(0, 65535))
	even := newInt("t.even", 2, "").WithValidator(func(n int) error {
		if n%2 != 0 {
			return errors.New("must be even")
		}
		return nil
	}).WithValidator(AtLeast(2))
	timeout := newDuration("t.timeout", time.Second, "").WithValidator(AtLeast(10 * time.Millisecond))

	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(getRaw(port, "70000")), `config: t.port: "70000": must be between 0 and 65535`},
		{second(getRaw(port, "-1")), `config: t.port: "-1": must be between 0 and 65535`},
		{second(getRaw(even, "3")), `config: t.even: "3": must be even`},
		{second(getRaw(even, "0")), `config: t.even: "0": must be at least 2`},
		{second(getRaw(timeout, "5 ms")), `config: t.timeout: "5 ms": must be at least 10ms`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v, want %q", tc.err, tc.want)
		}
	}
	for _, raw := range []string{"0", "65535", "8081"} {
		if _, err := getRaw(port, raw); err != nil {
			t.Errorf("t.port %s: %v", raw, err)
		}
	}
	if v, err := getRaw(even, "4"); v != 4 || err != nil {
		t.Errorf("t.even 4 = %v, %v", v, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestDeprecatedKeys(t *testing.T) {
	o := newString("new.key", "default", "").WithDeprecatedKeys("old.key", "older.key")
	var c Configuration
	if v, _ := Get(&c, o); v != "default" {
		t.Errorf("no key set: %q, want the default", v)
	}
	c.Set("older.key", "older")
	if v, _ := Get(&c, o); v != "older" {
		t.Errorf("older.key set: %q", v)
	}
	c.Set("old.key", "old")
	if v, _ := Get(&c, o); v != "old" {
		t.Errorf("old.key and older.key set: %q; want the first deprecated key's", v)
	}
	c.Set("new.key", "new")
	if v, _ := Get(&c, o); v != "new" {
		t.Errorf("every key set: %q; want the option's own key's", v)
	}
	if got := o.DeprecatedKeys(); strings.Join(got, ",") != "old.key,older.key" {
		t.Errorf("DeprecatedKeys() = %q", got)
	}

	// An error names the key as written.
	n := newInt("new.n", 1, "").WithDeprecatedKeys("old.n")
	var d Configuration
	d.Set("old.n", "x")
	if _, err := Get(&d, n); err == nil || err.Error() != `config: old.n: "x" is not an integer` {
		t.Errorf("got %v, want an error naming old.n", err)
	}

	// The core's own: Flink's high-availability key.
	var h Configuration
	h.Set("high-availability", "zookeeper")
	if v, err := Get(&h, HighAvailabilityType); v != "ZOOKEEPER" || err != nil {
		t.Errorf("high-availability: zookeeper gives %q, %v", v, err)
	}
}

func TestDefaultsAreValid(t *testing.T) {
	byKey, _ := std.snapshot()
	if len(byKey) == 0 {
		t.Fatal("no options declared")
	}
	for k, e := range byKey {
		row := e.row()
		if row.Description == "" {
			t.Errorf("%s has no description", k)
		}
		if err := e.check(e.defaultValue()); err != nil {
			t.Errorf("%s: the default, written as a value (%q), is not valid: %v", k, e.defaultValue(), err)
		}
	}
}

func TestDeclarationPanics(t *testing.T) {
	for name, declare := range map[string]func(){
		"default fails validator":  func() { newInt("t.p", -1, "").WithValidator(AtLeast(0)) },
		"enum default not allowed": func() { newEnum("t.e", "maybe", []string{"yes", "no"}, "") },
		"empty key":                func() { newInt("", 0, "") },
		"key with space":           func() { newInt("a key", 0, "") },
		"key with trailing dot":    func() { newInt("a.", 0, "") },
		"deprecated key with =":    func() { newInt("t.k", 0, "").WithDeprecatedKeys("a=b") },
		"declared twice": func() {
			var r registry
			r.add(newInt("t.twice", 0, ""))
			r.add(newString("t.twice", "", ""))
		},
		"shared deprecated key": func() {
			var r registry
			r.add(newInt("t.a", 0, "").WithDeprecatedKeys("t.old"))
			r.add(newInt("t.b", 0, "").WithDeprecatedKeys("t.old"))
			r.snapshot()
		},
		"prefix without dot": func() { (&registry{}).addPrefix(Prefix{Prefix: "mesos"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			declare()
		}()
	}
}

func TestOptionValidate(t *testing.T) {
	o := newInt("t.v", 2, "").WithValidator(AtLeast(1)).WithValidator(func(n int) error {
		if n%2 != 0 {
			return errors.New("must be even")
		}
		return nil
	})
	for v, want := range map[int]string{2: "", 0: "must be at least 1", 3: "must be even"} {
		err := o.Validate(v)
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("Validate(%d) = %v, want %q", v, err, want)
		}
	}
	if err := CheckpointingInterval.Validate(5 * time.Millisecond); err == nil {
		t.Error("the core's interval accepted 5 ms")
	}
}

func TestLookupAndFromMap(t *testing.T) {
	o := newInt("t.n", 7, "").WithDeprecatedKeys("t.old")
	m := map[string]string{"t.old": "3"}
	c := FromMap(m)
	m["t.old"] = "4" // FromMap copies
	if v, set, err := Lookup(c, o); v != 3 || !set || err != nil {
		t.Errorf("Lookup = %v, %v, %v; want 3, true, nil", v, set, err)
	}
	if v, set, err := Lookup(FromMap(nil), o); v != 7 || set || err != nil {
		t.Errorf("Lookup of nothing = %v, %v, %v; want the default, false, nil", v, set, err)
	}
	if _, set, err := Lookup(FromMap(map[string]string{"t.n": "x"}), o); !set || err == nil || err.Error() != `config: t.n: "x" is not an integer` {
		t.Errorf("Lookup of a bad value = %v, %v", set, err)
	}
}
