package rest

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/url"
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
	// DisableCancel refuses cancellations (PATCH /jobs/{jobid}) with
	// 403, and /config reports the feature web-cancel off:
	// web.cancel.enable: false.
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
	if _, isURI, ok := localPath(o.SavepointsDir); ok && !isURI && o.SavepointsDir != "" && !filepath.IsAbs(o.SavepointsDir) {
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

// localPath is the cleaned local path of dir, a path or a file:// URI
// (file:///dir, or file://localhost/dir), and whether it was a URI; ok
// is false for another scheme or a malformed URI.
func localPath(dir string) (path string, isURI, ok bool) {
	if strings.HasPrefix(strings.ToLower(dir), "file:") {
		u, err := url.Parse(dir)
		if err != nil || u.Opaque != "" || (u.Host != "" && u.Host != "localhost") {
			return "", true, false
		}
		return filepath.Clean(filepath.FromSlash(u.Path)), true, true
	}
	if strings.Contains(dir, "://") {
		return "", false, false
	}
	return filepath.Clean(dir), false, true
}

// savepointDir checks the target directory of a savepoint or of a stop
// with a savepoint and returns it cleaned, as the backend gets it ("" is
// state.savepoints.dir, the backend's default, and always allowed).
//
// Unless AnySavepointDirectory, a directory must be state.savepoints.dir
// or below it: both are cleaned (so "/sp/a/../b" is /sp/b, and "/sp/.."
// escapes), file:// URIs compared by their path, and the target must then
// lie under the base, element by element (/sp2 is not below /sp). A
// relative directory is refused (400): it has no meaning on the
// cluster's hosts. Symbolic links are not resolved: whoever can create
// one below state.savepoints.dir can already write there. A refused
// directory is 403, naming state.savepoints.dir and
// rest.savepoint.allow-any-directory.
func (o Options) savepointDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	path, isURI, ok := localPath(dir)
	switch {
	case !ok && o.AnySavepointDirectory:
		return dir, nil // the backend judges other schemes
	case !ok:
		return "", fmt.Errorf("%w: target directory %q: only a local path or file:// URI below %s can be named (%s is false)",
			ErrForbidden, dir, config.SavepointsDir.Key(), config.RESTSavepointAnyDirectory.Key())
	case !filepath.IsAbs(path):
		return "", fmt.Errorf("%w: target directory %q: must be an absolute path", ErrBadRequest, dir)
	}
	cleaned := path
	if isURI {
		cleaned = (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	}
	if o.AnySavepointDirectory {
		return cleaned, nil
	}
	if o.SavepointsDir == "" {
		return "", fmt.Errorf("%w: target directory %q: %s is not set, and %s is false: savepoints go only to the default directory",
			ErrForbidden, dir, config.SavepointsDir.Key(), config.RESTSavepointAnyDirectory.Key())
	}
	base, _, ok := localPath(o.SavepointsDir)
	if ok && within(base, path) {
		return cleaned, nil
	}
	return "", fmt.Errorf("%w: target directory %q is not %s (%s) nor below it, and %s is false",
		ErrForbidden, dir, config.SavepointsDir.Key(), o.SavepointsDir, config.RESTSavepointAnyDirectory.Key())
}

// within reports whether the cleaned absolute path is base or below it.
func within(base, path string) bool {
	rel, err := filepath.Rel(base, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}
