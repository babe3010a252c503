package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// entry is an option of any type, as the registry holds it.
type entry interface {
	keys() []string // its key, then its deprecated keys
	check(raw string) error
	defaultValue() string // the default, written as a value of the option
	perJob() bool
	row() Row
}

// Prefix is a family of keys that a subsystem reads and checks itself,
// such as restart-strategy.*, registered with RegisterPrefix. Validate
// accepts every key under it that no option claims.
type Prefix struct {
	// Prefix ends with a dot: "restart-strategy.". The key without the
	// dot ("restart-strategy") is under it too.
	Prefix string
	// Description says who reads the keys, for the reference.
	Description string
	// Check, if not nil, is given every set key under the prefix that no
	// option claims, with its value, and returns an error naming each key
	// that is wrong. If nil, the keys are reserved: any is accepted.
	Check func(map[string]string) error
	// Keys documents the keys, for the reference.
	Keys []Row
	// PerJob makes the keys a job's own, as Option.PerJob does an
	// option's.
	PerJob bool
}

// Row is one key in the configuration reference.
type Row struct {
	Key, Default, Type, Description string
}

func (p *Prefix) covers(key string) bool { return strings.HasPrefix(key+".", p.Prefix) }

// registry holds the declared options and prefixes. It is safe for
// concurrent use.
type registry struct {
	mu       sync.Mutex
	options  map[string]entry // by key
	prefixes []*Prefix
}

// std holds the options declared with this package's constructors.
var std = &registry{}

func register[T any](o *Option[T]) *Option[T] {
	std.add(o)
	return o
}

func (r *registry) add(e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.keys()[0]
	if _, dup := r.options[key]; dup {
		panic("config: " + key + " is declared twice")
	}
	if r.options == nil {
		r.options = map[string]entry{}
	}
	r.options[key] = e
}

// RegisterPrefix registers a family of keys that a subsystem checks
// itself (see Prefix), and returns it, for Under. It panics if p.Prefix
// does not end with a dot or is registered already.
func RegisterPrefix(p Prefix) Prefix {
	std.addPrefix(p)
	return p
}

func (r *registry) addPrefix(p Prefix) {
	if !strings.HasSuffix(p.Prefix, ".") || len(p.Prefix) < 2 {
		panic(fmt.Sprintf("config: prefix %q does not end with a dot", p.Prefix))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.prefixes {
		if q.Prefix == p.Prefix {
			panic("config: prefix " + p.Prefix + " is registered twice")
		}
	}
	r.prefixes = append(r.prefixes, &p)
}

// snapshot returns the options by every key of theirs, deprecated ones
// included, and the prefixes. It panics if two options share a key: a
// broken invariant of their declarations.
func (r *registry) snapshot() (map[string]entry, []*Prefix) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKey := make(map[string]entry, len(r.options))
	for _, e := range r.options {
		for _, k := range e.keys() {
			if prev, dup := byKey[k]; dup {
				panic(fmt.Sprintf("config: %s is a key of both %s and %s", k, prev.keys()[0], e.keys()[0]))
			}
			byKey[k] = e
		}
	}
	return byKey, slices.Clone(r.prefixes)
}

// Validate checks every key of c: it must be the key or a deprecated key
// of a declared option, and its value must be valid for it; or be under a
// registered Prefix, whose Check must accept it; or be one of known, each
// a key, or a prefix ending with a dot, that the caller reads itself.
// Otherwise the key is unknown: an *Error naming it that matches
// ErrUnknownKey, with the declared key it is closest to if that is close:
//
//	config: conf.yaml:4: rest.prot: unknown key; did you mean rest.port?
//
// Every mistake is reported, keys in sorted order, then the errors of the
// prefixes' checks; nil if there is none.
func (c *Configuration) Validate(known ...string) error {
	return c.validate(std, known, false)
}

// ValidateJob checks c as a job's configuration: as Validate does, but
// only a job's own keys (see Option.PerJob and Prefix.PerJob) are
// accepted. Any other declared key is an *Error naming it that matches
// ErrClusterKey:
//
//	config: rest.port: a cluster key, which a job cannot set
//
// and an unknown key's suggestion is the closest of the job's keys.
func (c *Configuration) ValidateJob() error {
	return c.validate(std, nil, true)
}

// IsJobKey reports whether key is a job's own (see Option.PerJob): the
// key or a deprecated key of an option marked PerJob, or a key under a
// Prefix marked PerJob that no option claims.
func IsJobKey(key string) bool {
	byKey, prefixes := std.snapshot()
	if e, ok := byKey[key]; ok {
		return e.perJob()
	}
	p := prefixOf(prefixes, key)
	return p != nil && p.PerJob
}

func (c *Configuration) validate(r *registry, known []string, jobOnly bool) error {
	byKey, prefixes := r.snapshot()
	var keys []string
	if c != nil {
		for k := range c.values {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	under := make(map[*Prefix]map[string]string)
	var errs []error
	for _, k := range keys {
		v := c.values[k]
		if e, ok := byKey[k]; ok {
			if jobOnly && !e.perJob() {
				errs = append(errs, c.errorAt(k, clusterKey{}))
			} else if err := e.check(v); err != nil {
				errs = append(errs, c.errorAt(k, err))
			}
			continue
		}
		if p := prefixOf(prefixes, k); p != nil {
			if jobOnly && !p.PerJob {
				errs = append(errs, c.errorAt(k, clusterKey{}))
				continue
			}
			if under[p] == nil {
				under[p] = map[string]string{}
			}
			under[p][k] = v
			continue
		}
		if isKnown(k, known) {
			continue
		}
		errs = append(errs, c.errorAt(k, unknownKey{suggest(k, candidates(byKey, prefixes, known, jobOnly))}))
	}
	for _, p := range prefixes {
		if p.Check == nil || under[p] == nil {
			continue
		}
		if err := p.Check(under[p]); err != nil {
			errs = append(errs, prefixed(err)...)
		}
	}
	return errors.Join(errs...)
}

// Under returns the keys of c under p that no option claims, with their
// values: what p's Check is given. It is empty if c sets none.
func (c *Configuration) Under(p Prefix) map[string]string { return c.under(std, p) }

func (c *Configuration) under(r *registry, p Prefix) map[string]string {
	byKey, _ := r.snapshot()
	out := map[string]string{}
	if c == nil {
		return out
	}
	for k, v := range c.values {
		if _, claimed := byKey[k]; !claimed && p.covers(k) {
			out[k] = v
		}
	}
	return out
}

// prefixed prefixes a subsystem's error with "config: ", or each of the
// errors it joins.
func prefixed(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, prefixed(e)...)
		}
		return out
	}
	return []error{fmt.Errorf("config: %w", err)}
}

// prefixOf returns the longest prefix that covers key, or nil.
func prefixOf(prefixes []*Prefix, key string) *Prefix {
	var best *Prefix
	for _, p := range prefixes {
		if p.covers(key) && (best == nil || len(p.Prefix) > len(best.Prefix)) {
			best = p
		}
	}
	return best
}

func isKnown(key string, known []string) bool {
	for _, k := range known {
		if k == key || strings.HasSuffix(k, ".") && strings.HasPrefix(key+".", k) {
			return true
		}
	}
	return false
}

// candidates returns the keys an unknown key may be a misspelling of:
// the options' current keys, the documented keys of the prefixes and the
// caller's known keys, sorted; only the job's own keys if jobOnly.
func candidates(byKey map[string]entry, prefixes []*Prefix, known []string, jobOnly bool) []string {
	var out []string
	for k, e := range byKey {
		if e.keys()[0] == k && (!jobOnly || e.perJob()) {
			out = append(out, k)
		}
	}
	for _, p := range prefixes {
		if jobOnly && !p.PerJob {
			continue
		}
		for _, row := range p.Keys {
			out = append(out, row.Key)
		}
	}
	for _, k := range known {
		if !strings.HasSuffix(k, ".") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// suggest returns the candidate closest to key by edit distance (case
// ignored; a transposition is one edit), if it is close: at most one edit,
// plus one per ten bytes of key. Ties go to the first candidate.
func suggest(key string, candidates []string) string {
	best, bestD := "", 2+len(key)/10 // one more than the largest distance accepted
	lk := strings.ToLower(key)
	for _, c := range candidates {
		if d := distance(lk, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes.
func distance(a, b string) int {
	// Row i holds the distances between a[:i] and each b[:j]; the
	// transposition looks back two rows.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
