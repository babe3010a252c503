package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/runnel-io/runnel/runtime/restart"
)

// Option is one typed configuration key with its default and description:
// Flink's ConfigOption. Options are declared once, in package-level
// variables, with the constructors of this package (Int, String, ...),
// which register them for Validate and Markdown:
//
//	var NumRetained = config.Int("state.checkpoints.num-retained", 1,
//		"How many completed checkpoints are kept.").
//		WithValidator(config.AtLeast(1))
//
// and read with Get. An Option is immutable once declared: WithValidator,
// WithDeprecatedKeys, WithDocumentedDefault and PerJob are for its
// declaration only, and it is then safe for concurrent use.
type Option[T any] struct {
	key        string
	def        T
	defDoc     string // the default as the reference shows it, if not format(def)
	desc       string
	typ        string // the type's name in the reference: Integer, Duration, ...
	parse      func(string) (T, error)
	format     func(T) string
	allowed    []string // Enum's values
	deprecated []string
	validators []func(T) error
	job        bool // a job's key: see PerJob
}

// Key returns the option's key.
func (o *Option[T]) Key() string { return o.key }

// Default returns the value of the option when no key of it is set.
func (o *Option[T]) Default() T { return o.def }

// Description returns the option's description, as the reference shows it.
func (o *Option[T]) Description() string { return o.desc }

// DeprecatedKeys returns the option's deprecated keys, in the order Get
// consults them.
func (o *Option[T]) DeprecatedKeys() []string { return append([]string(nil), o.deprecated...) }

// String returns the option's key.
func (o *Option[T]) String() string { return o.key }

// WithValidator adds a check of the option's values: Get and Validate
// report its error, naming the key. It panics if the default fails it:
// a default must be a valid value.
func (o *Option[T]) WithValidator(v func(T) error) *Option[T] {
	if err := v(o.def); err != nil {
		panic(fmt.Sprintf("config: the default of %s, %s, fails its validator: %v", o.key, o.format(o.def), err))
	}
	o.validators = append(o.validators, v)
	return o
}

// WithDeprecatedKeys adds keys that the option was once known by. If the
// option's key is not set, Get reads the first of them that is; Validate
// accepts them.
func (o *Option[T]) WithDeprecatedKeys(keys ...string) *Option[T] {
	for _, k := range keys {
		checkKey(k)
	}
	o.deprecated = append(o.deprecated, keys...)
	return o
}

// WithDocumentedDefault makes the reference show text as the option's
// default instead of its value, for a default that depends on the machine
// a program runs on, such as "the number of CPUs".
func (o *Option[T]) WithDocumentedDefault(text string) *Option[T] {
	o.defDoc = text
	return o
}

// PerJob marks the option as a job's own: a job may set it, in its program
// (stream.Environment.Configure) or in its submission, and ValidateJob
// accepts it. An option that is not marked configures the cluster's
// processes, and a job cannot set it.
func (o *Option[T]) PerJob() *Option[T] {
	o.job = true
	return o
}

// Validate applies the option's validators to v, a value of the option
// that a program holds in Go rather than reads from a Configuration (a
// field of a struct it fills, say): nil if every validator accepts it,
// else the first refusal, which says what is wrong ("must be at least 1")
// and leaves naming the key and the value to the caller.
func (o *Option[T]) Validate(v T) error {
	for _, check := range o.validators {
		if err := check(v); err != nil {
			return err
		}
	}
	return nil
}

// value parses raw and applies the validators. Its errors quote raw and
// leave naming the key to the caller.
func (o *Option[T]) value(raw string) (T, error) {
	v, err := o.parse(raw)
	if err != nil {
		return v, err
	}
	if err := o.Validate(v); err != nil {
		var zero T
		return zero, fmt.Errorf("%q: %w", raw, err)
	}
	return v, nil
}

// Parse reads raw as a value of the option, as Get reads a key's value:
// parsed with the option's type and checked by its validators. Its error
// quotes raw and leaves naming the key to the caller.
func (o *Option[T]) Parse(raw string) (T, error) { return o.value(raw) }

// The type-erased view that the registry, Validate and Markdown use.

func (o *Option[T]) keys() []string { return append([]string{o.key}, o.deprecated...) }

func (o *Option[T]) check(raw string) error {
	_, err := o.value(raw)
	return err
}

func (o *Option[T]) defaultValue() string { return o.format(o.def) }

func (o *Option[T]) perJob() bool { return o.job }

func (o *Option[T]) row() Row {
	desc := o.desc
	if len(o.allowed) > 0 {
		desc += " One of: " + codeList(o.allowed) + "."
	}
	if len(o.deprecated) > 0 {
		desc += " Deprecated keys: " + codeList(o.deprecated) + "."
	}
	if o.job {
		desc += " " + jobNote
	}
	def := o.defDoc
	if def == "" {
		def = o.format(o.def)
	}
	return Row{Key: o.key, Default: def, Type: o.typ, Description: desc}
}

func codeList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "`" + v + "`"
	}
	return strings.Join(q, ", ")
}

// Constructors. Each registers the option; declaring a key twice panics.

// Int declares an integer option.
func Int(key string, def int, desc string) *Option[int] { return register(newInt(key, def, desc)) }

// String declares a string option. Its values are taken as written.
func String(key, def, desc string) *Option[string] { return register(newString(key, def, desc)) }

// Bool declares a boolean option: true or false, in any case.
func Bool(key string, def bool, desc string) *Option[bool] { return register(newBool(key, def, desc)) }

// Float declares a floating-point option.
func Float(key string, def float64, desc string) *Option[float64] {
	return register(newFloat(key, def, desc))
}

// Duration declares a duration option, in Flink's syntax (see
// restart.ParseDuration): "10 s", "500ms", "1 min"; a number without a
// unit is in milliseconds.
func Duration(key string, def time.Duration, desc string) *Option[time.Duration] {
	return register(newDuration(key, def, desc))
}

// Enum declares an option whose value is one of allowed, matched without
// regard to case; Get returns the spelling in allowed. It panics if def is
// not one of them.
func Enum(key, def string, allowed []string, desc string) *Option[string] {
	return register(newEnum(key, def, allowed, desc))
}

// Memory declares a memory size option, in Flink's syntax (see
// ParseMemorySize): "32 kb", "64 mb", "1g"; a number without a unit is in
// bytes.
func Memory(key string, def MemorySize, desc string) *Option[MemorySize] {
	return register(newMemorySize(key, def, desc))
}

func newOption[T any](key string, def T, desc, typ string, parse func(string) (T, error), format func(T) string) *Option[T] {
	checkKey(key)
	return &Option[T]{key: key, def: def, desc: desc, typ: typ, parse: parse, format: format}
}

// checkKey panics on a key that could not be written in a file or after
// -D: a broken invariant of a declaration.
func checkKey(key string) {
	if key == "" || strings.ContainsAny(key, " \t\n=:") || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") {
		panic(fmt.Sprintf("config: %q is not a valid key", key))
	}
}

func newInt(key string, def int, desc string) *Option[int] {
	return newOption(key, def, desc, "Integer", func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, fmt.Errorf("%q is out of range", s)
			}
			return 0, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	}, strconv.Itoa)
}

func newString(key, def, desc string) *Option[string] {
	return newOption(key, def, desc, "String", func(s string) (string, error) { return s, nil },
		func(s string) string { return s })
}

func newBool(key string, def bool, desc string) *Option[bool] {
	return newOption(key, def, desc, "Boolean", func(s string) (bool, error) {
		switch t := strings.TrimSpace(s); {
		case strings.EqualFold(t, "true"):
			return true, nil
		case strings.EqualFold(t, "false"):
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean (true or false)", s)
	}, strconv.FormatBool)
}

func newFloat(key string, def float64, desc string) *Option[float64] {
	return newOption(key, def, desc, "Float", func(s string) (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	}, func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) })
}

func newDuration(key string, def time.Duration, desc string) *Option[time.Duration] {
	return newOption(key, def, desc, "Duration", func(s string) (time.Duration, error) {
		return parseDuration(s, s)
	}, FormatDuration)
}

// newSignedDuration declares a duration option whose values may also be
// negative, written with a minus sign ("-1 ms", or "-1": a number without
// a unit is in milliseconds), for keys where Flink gives -1 ms a meaning;
// its validators say which negative values are valid.
func newSignedDuration(key string, def time.Duration, desc string) *Option[time.Duration] {
	return newOption(key, def, desc, "Duration", func(s string) (time.Duration, error) {
		abs, neg := strings.CutPrefix(strings.TrimSpace(s), "-")
		d, err := parseDuration(abs, s)
		if neg {
			d = -d
		}
		return d, err
	}, FormatDuration)
}

// parseDuration parses s in Flink's syntax; its error quotes raw, the value
// as written.
func parseDuration(s, raw string) (time.Duration, error) {
	d, err := restart.ParseDuration(s)
	if err != nil {
		// restart's error says the same with its own prefix; keep the cause.
		cause := errors.Unwrap(err)
		if cause == nil {
			cause = err
		}
		return 0, fmt.Errorf("%q is not a duration: %w", raw, cause)
	}
	return d, nil
}

func newEnum(key, def string, allowed []string, desc string) *Option[string] {
	allowed = append([]string(nil), allowed...)
	o := newOption(key, def, desc, "Enum", func(s string) (string, error) {
		t := strings.TrimSpace(s)
		for _, a := range allowed {
			if strings.EqualFold(t, a) {
				return a, nil
			}
		}
		return "", fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
	}, func(s string) string { return s })
	o.allowed = allowed
	found := false
	for _, a := range allowed {
		found = found || a == def
	}
	if !found {
		panic(fmt.Sprintf("config: the default of %s, %q, is not one of %q", key, def, allowed))
	}
	return o
}

func newMemorySize(key string, def MemorySize, desc string) *Option[MemorySize] {
	return newOption(key, def, desc, "MemorySize", parseMemorySize, MemorySize.String)
}

// FormatDuration writes d in the largest unit that divides it, in the
// syntax Duration options read: "10 min", "50 s", "500 ms", "0 ms".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0 ms"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"},
		{time.Millisecond, "ms"}, {time.Microsecond, "us"}} {
		if d%u.d == 0 {
			return fmt.Sprintf("%d %s", d/u.d, u.name)
		}
	}
	return fmt.Sprintf("%d ns", d)
}

// Validators.

// AtLeast returns a validator of values no less than lo.
func AtLeast[T cmp.Ordered](lo T) func(T) error {
	return func(v T) error {
		if v < lo {
			return fmt.Errorf("must be at least %v", lo)
		}
		return nil
	}
}

// Between returns a validator of values from lo to hi, both included.
func Between[T cmp.Ordered](lo, hi T) func(T) error {
	return func(v T) error {
		if v < lo || v > hi {
			return fmt.Errorf("must be between %v and %v", lo, hi)
		}
		return nil
	}
}
