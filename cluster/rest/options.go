package rest

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
)

// Options are the access rules of a Server. The zero value asks for no
// token and accepts submissions and cancellations, but takes savepoints
// only into SavepointsDir, which is unset: a caller cannot name a
// directory.
type Options struct {
	// Token, if not empty, is the bearer token every request must carry
	// (Authorization: Bearer <token>); others are answered 401. The
	// server keeps only its hash and compares in constant time.
	Token string
	// DisableSubmit refuses submissions (POST /jobs) with 403:
	// web.submit.enable: false.
	DisableSubmit bool
	// DisableCancel refuses cancellations (PATCH /jobs/{jobid}, and
	// savepoints with cancel-job) with 403, and /config reports the
	// feature web-cancel off: web.cancel.enable: false. A stop with a
	// savepoint, which ends the job gracefully, stays allowed, as in
	// Flink.
	DisableCancel bool
	// SavepointsDir is the cluster's state.savepoints.dir, an absolute
	// path or file:// URI: the directory that savepoints and stops with a
	// savepoint may name (it or a directory below it), unless
	// AnySavepointDirectory (rest.savepoint.allow-any-directory).
	SavepointsDir         string
	AnySavepointDirectory bool
	// MaxProgramSize bounds the program of a submission, in bytes: the
	// BlobServer's limit, blob.DefaultMaxSize if 0.
	MaxProgramSize int64
}

// ServerConfig reads the REST server's settings: its TLS configuration
// (nil without security.ssl.rest.enabled), its bearer token
// (rest.authentication.token-file), web.submit.enable, web.cancel.enable,
// state.savepoints.dir and rest.savepoint.allow-any-directory. Its errors
// name the key.
func ServerConfig(c *config.Configuration) (Options, *tls.Config, error) {
	sec, err := security.RESTFrom(c)
	if err != nil {
		return Options{}, nil, fmt.Errorf("rest: %w", err)
	}
	conf, err := sec.Server()
	if err != nil {
		return Options{}, nil, fmt.Errorf("rest: %w", err)
	}
	var o Options
	if o.Token, err = sec.Token(); err != nil {
		return Options{}, nil, fmt.Errorf("rest: %w", err)
	}
	get := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	var submit, cancel bool
	get(func() (e error) { submit, e = config.Get(c, config.WebSubmitEnable); return })
	get(func() (e error) { cancel, e = config.Get(c, config.WebCancelEnable); return })
	get(func() (e error) { o.SavepointsDir, e = config.Get(c, config.SavepointsDir); return })
	get(func() (e error) { o.AnySavepointDirectory, e = config.Get(c, config.RESTSavepointAnyDirectory); return })
	if err != nil {
		return Options{}, nil, fmt.Errorf("rest: %w", err)
	}
	o.DisableSubmit, o.DisableCancel = !submit, !cancel
	// A relative state.savepoints.dir is relative to the working
	// directory, as the checkpoint storage takes it.
	if loc, ok := parseLocation(o.SavepointsDir); ok && !loc.uri && o.SavepointsDir != "" && !filepath.IsAbs(o.SavepointsDir) {
		if o.SavepointsDir, err = filepath.Abs(o.SavepointsDir); err != nil {
			return Options{}, nil, fmt.Errorf("rest: %s: %w", config.SavepointsDir.Key(), err)
		}
	}
	return o, conf, nil
}

// tokenHash is the hash a server keeps of its token: requests are
// compared with it in constant time, whatever their token's length.
type tokenHash [sha256.Size]byte

func (o Options) maxProgram() int64 {
	if o.MaxProgramSize > 0 {
		return o.MaxProgramSize
	}
	return blob.DefaultMaxSize
}

// location is a directory as savepointDir compares it: a scheme ("file"
// for a local path), a host ("" for local files, file://localhost too)
// and a cleaned absolute slash path. ok is false for a malformed URI.
type location struct {
	scheme, host, path string
	uri                bool // dir was written as a URI
}

func parseLocation(dir string) (loc location, ok bool) {
	if !strings.Contains(dir, ":") {
		p := filepath.ToSlash(filepath.Clean(dir))
		return location{scheme: "file", path: p}, true
	}
	u, err := url.Parse(dir)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return location{}, false
	}
	loc = location{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host), path: path.Clean("/" + u.Path), uri: true}
	if u.Path == "" {
		loc.path = "/"
	}
	if loc.scheme == "file" && loc.host == "localhost" {
		loc.host = ""
	}
	return loc, true
}

// String is the location as the backend gets it: a cleaned path, or a
// URI with a cleaned path.
func (l location) String() string {
	if !l.uri {
		return filepath.FromSlash(l.path)
	}
	return (&url.URL{Scheme: l.scheme, Host: l.host, Path: l.path}).String()
}

// within reports whether l is base or below it, element by element: the
// same scheme and host, and a path under base's.
func (l location) within(base location) bool {
	if l.scheme != base.scheme || l.host != base.host {
		return false
	}
	b := strings.TrimSuffix(base.path, "/") // "" for the root
	return l.path == base.path || l.path == b || strings.HasPrefix(l.path, b+"/")
}

// savepointDir checks the target directory of a savepoint or of a stop
// with a savepoint and returns it cleaned, as the backend gets it ("" is
// state.savepoints.dir, the backend's default, and always allowed).
//
// Unless AnySavepointDirectory, a directory must be state.savepoints.dir
// or below it. Both are read as a scheme, a host and a path (a plain path
// is a local file, file:///p and file://localhost/p the same), and
// cleaned (so "/sp/a/../b" is /sp/b, and "/sp/.." escapes); the target
// must then have the scheme and host of the base and lie under its path,
// element by element (/sp2 is not below /sp). This holds for any scheme:
// hdfs://nn/sp/x is below hdfs://nn/sp. A relative directory is refused
// (400): it has no meaning on the cluster's hosts. Symbolic links are not
// resolved: whoever can create one below state.savepoints.dir can already
// write there. A refused directory is 403, naming state.savepoints.dir
// and rest.savepoint.allow-any-directory.
func (o Options) savepointDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	loc, ok := parseLocation(dir)
	switch {
	case !ok:
		return "", fmt.Errorf("%w: target directory %q: not a path nor a URI", ErrBadRequest, dir)
	case !loc.uri && !filepath.IsAbs(dir):
		return "", fmt.Errorf("%w: target directory %q: must be an absolute path", ErrBadRequest, dir)
	case o.AnySavepointDirectory:
		return loc.String(), nil
	case o.SavepointsDir == "":
		return "", fmt.Errorf("%w: target directory %q: %s is not set, and %s is false: savepoints go only to the default directory",
			ErrForbidden, dir, config.SavepointsDir.Key(), config.RESTSavepointAnyDirectory.Key())
	}
	if base, ok := parseLocation(o.SavepointsDir); ok && loc.within(base) {
		return loc.String(), nil
	}
	return "", fmt.Errorf("%w: target directory %q is not %s (%s) nor below it, and %s is false",
		ErrForbidden, dir, config.SavepointsDir.Key(), o.SavepointsDir, config.RESTSavepointAnyDirectory.Key())
}
