package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Configuration is a set of raw values by key, as a YAML file and -D
// options give them; Get reads them with an Option's type. The zero
// Configuration is empty and ready to use.
//
// A Configuration that Load returned is not changed by this package
// again, and is safe for concurrent use. Set, for building one in code,
// must not run concurrently with any other method.
type Configuration struct {
	values  map[string]string
	sources map[string]string // "file:line" of each value read from a file
}

// Error is a mistake in a configuration: a malformed value, one a
// validator refused, or an unknown key. Its message names the key and,
// for a value read from a file, the file and line:
//
//	config: conf.yaml:3: rest.port: "abc" is not an integer
type Error struct {
	Key    string // the key as written (a deprecated key, if that was set)
	Source string // "file:line" if the value was read from a file, else ""
	Err    error  // what is wrong with it
}

func (e *Error) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config: %s: %s: %v", e.Source, e.Key, e.Err)
	}
	return fmt.Sprintf("config: %s: %v", e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads the YAML file at path (none if path is "") and then the
// overrides, each "key=value" as given by -Dkey=value; an override wins
// over the file, and a later override over an earlier one.
//
// The file holds Flink's flat keys ("rest.port: 8081", as in Flink's
// config.yaml and flink-conf.yaml), nested maps, whose keys are joined
// with dots ("rest: {port: 8081}" is rest.port), or both. Scalars are
// kept as written ("1.0" stays "1.0"); an empty value or null is ""; a
// list of scalars is joined with ";", as Flink writes lists. A key set
// twice in the file, even once flat and once nested, is an error.
//
// Load checks only the syntax; Validate checks the keys and values, and
// Get reads them. Errors name the file and line, and the key where there
// is one.
func Load(path string, overrides []string) (*Configuration, error) {
	c := &Configuration{values: map[string]string{}, sources: map[string]string{}}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := c.readYAML(path, data); err != nil {
			return nil, err
		}
	}
	for _, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("config: -D%s: want -Dkey=value", o)
		}
		c.values[k] = v
		delete(c.sources, k)
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (c *Configuration) readYAML(path string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			problem := msg[len(m[0]):]
			// The YAML library counts the lines of its parser's errors (as
			// opposed to its scanner's) from 0.
			if strings.HasPrefix(problem, "did not find expected") {
				n++
			}
			return fmt.Errorf("config: %s:%d: %s", path, n, problem)
		}
		return fmt.Errorf("config: %s: %s", path, strings.TrimPrefix(msg, "yaml: "))
	}
	if len(doc.Content) == 0 { // an empty file, or only comments
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s:%d: want a map of keys to values", path, root.Line)
	}
	return c.flatten(path, "", root)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func (c *Configuration) flatten(path, prefix string, m *yaml.Node) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, vn := resolve(m.Content[i]), resolve(m.Content[i+1])
		where := fmt.Sprintf("%s:%d", path, kn.Line)
		if kn.Kind != yaml.ScalarNode || kn.Value == "" || kn.Tag == "!!merge" {
			return fmt.Errorf("config: %s: a key must be a plain string", where)
		}
		key := prefix + kn.Value
		switch vn.Kind {
		case yaml.MappingNode:
			if err := c.flatten(path, key+".", vn); err != nil {
				return err
			}
			continue
		case yaml.SequenceNode:
			items := make([]string, len(vn.Content))
			for j, item := range vn.Content {
				item = resolve(item)
				if item.Kind != yaml.ScalarNode {
					return fmt.Errorf("config: %s:%d: %s: a list may hold only plain values", path, item.Line, key)
				}
				items[j] = item.Value
			}
			err := c.put(key, strings.Join(items, ";"), where)
			if err != nil {
				return err
			}
		default:
			v := vn.Value
			if vn.Tag == "!!null" {
				v = ""
			}
			if err := c.put(key, v, where); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Configuration) put(key, value, where string) error {
	if prev, ok := c.sources[key]; ok {
		return &Error{Key: key, Source: where, Err: fmt.Errorf("set again (first at line %s)", prev[strings.LastIndexByte(prev, ':')+1:])}
	}
	c.values[key] = value
	c.sources[key] = where
	return nil
}

// FromMap returns a Configuration of the raw values of m by key, as if
// each were set with Set: for code that is handed Flink's keys as
// strings, such as stream.Environment.Configure.
func FromMap(m map[string]string) *Configuration {
	return &Configuration{values: maps.Clone(m)}
}

// Set sets key to value, as if by -Dkey=value.
func (c *Configuration) Set(key, value string) {
	if c.values == nil {
		c.values = map[string]string{}
	}
	c.values[key] = value
	delete(c.sources, key)
}

// Map returns a copy of the raw values by key, deprecated keys as
// written, for code that takes Flink's keys as strings, such as
// restart.Parse. (stream.Environment.Configure rejects every key that is
// not a job's: hand it only those, see IsJobKey.)
func (c *Configuration) Map() map[string]string {
	if c == nil || c.values == nil {
		return map[string]string{}
	}
	return maps.Clone(c.values)
}

// lookup returns the first of keys that is set, and its value.
func (c *Configuration) lookup(keys []string) (key, value string, ok bool) {
	if c == nil {
		return "", "", false
	}
	for _, k := range keys {
		if v, ok := c.values[k]; ok {
			return k, v, true
		}
	}
	return "", "", false
}

func (c *Configuration) errorAt(key string, err error) *Error {
	return &Error{Key: key, Source: c.sources[key], Err: err}
}

// Get returns the value of o in c: that of o's key, or else of the first
// of its deprecated keys that is set, or else o's default. A value that
// does not parse as o's type, or that o's validators refuse, is an *Error
// naming the key:
//
//	config: rest.port: "abc" is not an integer
//
// A nil c holds no values.
func Get[T any](c *Configuration, o *Option[T]) (T, error) {
	v, _, err := Lookup(c, o)
	return v, err
}

// Lookup is Get that also reports whether c sets any key of o: set is
// false, and v o's default, when none is; set is true, whatever the
// error, when one is.
func Lookup[T any](c *Configuration, o *Option[T]) (v T, set bool, err error) {
	key, raw, ok := c.lookup(o.keys())
	if !ok {
		return o.def, false, nil
	}
	v, err = o.value(raw)
	if err != nil {
		var zero T
		return zero, true, c.errorAt(key, err)
	}
	return v, true, nil
}

// ErrUnknownKey is what Validate's error for a key that no option or
// prefix claims matches with errors.Is.
var ErrUnknownKey = errors.New("config: unknown key")

// ErrClusterKey is what ValidateJob's error for a declared key that is not
// a job's own matches with errors.Is.
var ErrClusterKey = errors.New("config: a cluster key")

// clusterKey is the Err of an *Error for a cluster's key in a job's
// configuration.
type clusterKey struct{}

func (clusterKey) Error() string { return "a cluster key, which a job cannot set" }

func (clusterKey) Is(target error) bool { return target == ErrClusterKey }

// unknownKey is the Err of an *Error for an unknown key.
type unknownKey struct{ suggestion string }

func (u unknownKey) Error() string {
	if u.suggestion != "" {
		return "unknown key; did you mean " + u.suggestion + "?"
	}
	return "unknown key"
}

func (u unknownKey) Is(target error) bool { return target == ErrUnknownKey }
