// Package config declares runnel's configuration keys and reads their
// values from a YAML file and -Dkey=value options.
//
// Each key is declared once, as a typed [Option] in a package-level
// variable, with its default and description: Flink's ConfigOption.
//
//	var RestPort = config.Int("rest.port", 8081, "The port of the REST endpoint.").
//		WithValidator(config.Between(0, 65535))
//
// The core's options are declared in this package (options.go), with
// Flink's keys and defaults; a subsystem declares its own in its package,
// or registers a [Prefix] of keys it checks itself, as restart-strategy.*
// is checked by restart.Parse. A program loads the file and overrides,
// validates them once at start-up and then reads typed values:
//
//	conf, err := config.Load(path, dOptions) // "key=value" strings
//	...
//	if err := conf.Validate(); err != nil { ... }
//	port, err := config.Get(conf, config.RestPort)
//
// Some keys are a job's own, marked PerJob where they are declared: the
// job's parallelism, checkpoints, savepoints and restart strategy. A job
// sets them in its program or its submission, and ValidateJob checks such
// a configuration, refusing every other key as the cluster's;
// stream.Environment.Configure reads a job's keys that way, and
// IsJobKey tells whether a key is a job's own.
//
// [Markdown] writes the reference of every declared key, docs/config.md;
// TestDocsUpToDate fails when that file is stale, and
// "go generate ./config" rewrites it.
//
// Errors start with "config: " and name the key, and the file and line
// of a value read from a file:
//
//	config: conf.yaml:3: rest.port: "abc" is not an integer
//
// # Invariants
//
//  1. Get returns an option's default exactly when none of its keys is
//     set, its own key's value before a deprecated key's, and otherwise
//     the value parsed with the option's type, or an *Error naming the key
//     as it was written (TestGetTypes, TestDeprecatedKeys).
//  2. A -D override wins over the file; the file's flat and nested keys
//     are one namespace, and a key set twice in the file is an error
//     (TestLoad, TestLoadDuplicateKey).
//  3. Validate accepts a configuration only if every key is an option's
//     key or deprecated key with a valid value, under a registered prefix
//     whose check accepts it, or known to the caller; its error names every
//     other key (TestValidate).
//  4. Every declared default is a valid value of its option: declaring one
//     that is not panics (TestDefaultsAreValid).
//  5. docs/config.md is what Markdown writes (TestDocsUpToDate).
//  6. ValidateJob accepts a key only if Validate would and it is a job's
//     own; its error names every declared key that is not as the
//     cluster's (ErrClusterKey), and suggests only a job's keys for an
//     unknown one (TestValidateJob, TestJobKeysOfTheCore).
package config

//go:generate go test -run ^TestDocsUpToDate$ -update .
