package rest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
)

// listen serves backend with opts, over TLS if conf is set, until the test
// ends.
func listen(t *testing.T, backend Backend, opts Options, sec security.REST) *Server {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	conf, err := sec.Server()
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(backend, "test", nil, opts)
	if err := s.Listen("127.0.0.1:0", conf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		defaultHTTP.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	return s
}

// newClient is NewClient whose connections are closed when the test
// ends (before listen's leak check, registered earlier).
func newClient(t *testing.T, address string, sec security.REST) (*Client, error) {
	t.Helper()
	c, err := NewClient(address, sec)
	if err == nil && c.HTTP != nil {
		t.Cleanup(c.HTTP.CloseIdleConnections)
	}
	return c, err
}

// request sends a request and returns its status code, headers and body.
func request(t *testing.T, method, url string, header http.Header, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := defaultHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func writeToken(t *testing.T, token string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// curl runs the curl binary, if installed, and returns the status code
// it got; ok is false without curl.
func curl(t *testing.T, args ...string) (code string, ok bool) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		return "", false
	}
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"-s", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %q: %v", args, err)
	}
	return string(out), true
}

func TestBearerToken(t *testing.T) {
	const token = "s3cr3t-t0ken"
	backend := &configBackend{fakeBackend: newFakeBackend(), conf: map[string]string{
		config.RESTTokenFile.Key(): "/etc/runnel/token", "rest.port": "8081"}}
	s := listen(t, backend, Options{Token: token}, security.REST{})
	url := s.URL() + "/jobs/overview"

	if code, ok := curl(t, url); ok {
		if code != "401" {
			t.Errorf("curl without the token: %s, want 401", code)
		}
		if code, _ := curl(t, "-H", "Authorization: Bearer "+token, url); code != "200" {
			t.Errorf("curl with the token: %s, want 200", code)
		}
	} else {
		t.Log("no curl: net/http only")
	}
	for _, c := range []struct {
		name, header string
		want         int
		challenge    string
	}{
		{"none", "", 401, `Bearer realm="runnel"`},
		{"basic", "Basic dXNlcjpwYXNz", 401, `Bearer realm="runnel"`},
		{"wrong", "Bearer nope", 401, `Bearer realm="runnel", error="invalid_token"`},
		{"prefix", "Bearer " + token[:len(token)-1], 401, `Bearer realm="runnel", error="invalid_token"`},
		{"right", "Bearer " + token, 200, ""},
		{"scheme in lower case", "bearer " + token, 200, ""},
	} {
		h := http.Header{}
		if c.header != "" {
			h.Set("Authorization", c.header)
		}
		code, header, body := request(t, "GET", url, h, nil)
		if code != c.want || header.Get("WWW-Authenticate") != c.challenge {
			t.Errorf("%s: %d, WWW-Authenticate %q, want %d, %q (%s)", c.name, code, header.Get("WWW-Authenticate"), c.want, c.challenge, body)
		}
		if strings.Contains(body, token) {
			t.Errorf("%s: the answer holds the token: %s", c.name, body)
		}
	}
	// Every route is behind the token, those that do not exist too.
	for _, p := range []string{"/overview", "/openapi.yaml", "/jobs/j1", "/nope"} {
		if code, _, _ := request(t, "GET", s.URL()+p, nil, nil); code != 401 {
			t.Errorf("GET %s without the token: %d, want 401", p, code)
		}
	}

	// The client sends the token of its token file.
	c, err := newClient(t, s.Addr(), security.REST{TokenFile: writeToken(t, token)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Jobs(t.Context()); err != nil {
		t.Errorf("with the token file: %v", err)
	}
	var se *StatusError
	_, err = (&Client{Address: s.Addr()}).Jobs(t.Context())
	if !errors.As(err, &se) || se.Code != 401 || !strings.Contains(err.Error(), config.RESTTokenFile.Key()) {
		t.Errorf("without a token: %v, want a 401 naming %s", err, config.RESTTokenFile.Key())
	}
	_, err = (&Client{Address: s.Addr(), Token: "nope"}).Jobs(t.Context())
	if !errors.As(err, &se) || se.Code != 401 || !strings.Contains(err.Error(), "wrong bearer token") {
		t.Errorf("with a wrong token: %v, want a 401 saying so", err)
	}

	// The token file's path is masked, like every sensitive key.
	code, _, body := request(t, "GET", s.URL()+"/jobmanager/config", http.Header{"Authorization": {"Bearer " + token}}, nil)
	if code != 200 || strings.Contains(body, "/etc/runnel/token") || !strings.Contains(body, config.HiddenValue) || !strings.Contains(body, "8081") {
		t.Errorf("GET /jobmanager/config: %d %s, want rest.authentication.token-file masked and rest.port shown", code, body)
	}
}

// configBackend is fakeBackend with a configuration of its own.
type configBackend struct {
	*fakeBackend
	conf map[string]string
}

func (c *configBackend) Config() map[string]string { return c.conf }

func TestJobManagerConfigMasksSecrets(t *testing.T) {
	backend := &configBackend{fakeBackend: newFakeBackend(), conf: map[string]string{
		"s3.secret-key": "hunter2", "metrics.reporter.dd.apikey": "k3y", "rest.port": "8081"}}
	s := listen(t, backend, Options{}, security.REST{})
	code, _, body := request(t, "GET", s.URL()+"/jobmanager/config", nil, nil)
	if code != 200 || strings.Contains(body, "hunter2") || strings.Contains(body, "k3y") {
		t.Errorf("GET /jobmanager/config: %d %s, want the secrets masked", code, body)
	}
	want := `{"key":"s3.secret-key","value":"******"}`
	if !strings.Contains(body, want) || !strings.Contains(body, `{"key":"rest.port","value":"8081"}`) {
		t.Errorf("GET /jobmanager/config: %s, want %s and rest.port", body, want)
	}
}

func TestTLSClientAuthentication(t *testing.T) {
	certs, err := security.CreateCertificates(t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := security.CreateCertificates(t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	host := certs.Hosts[0]
	server := security.REST{Enabled: true, Cert: host.Cert, Key: host.Key, Trust: certs.CA, ClientAuth: true}
	s := listen(t, newFakeBackend(), Options{}, server)
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s, want https", s.URL())
	}
	addr := "localhost:" + s.Addr()[strings.LastIndex(s.Addr(), ":")+1:]

	for _, c := range []struct {
		name string
		sec  security.REST
		want string // in the error; "" for none
	}{
		{"with a certificate", security.REST{Enabled: true, Cert: host.Cert, Key: host.Key, Trust: certs.CA}, ""},
		{"without a certificate", security.REST{Enabled: true, Trust: certs.CA},
			"the JobManager requires a client certificate (security.ssl.rest.authentication-enabled): set security.ssl.rest.cert and security.ssl.rest.key"},
		{"with a foreign certificate", security.REST{Enabled: true, Cert: foreign.Hosts[0].Cert, Key: foreign.Hosts[0].Key, Trust: certs.CA},
			"the JobManager refused the client certificate (security.ssl.rest.cert)"},
		{"without trusting the CA", security.REST{Enabled: true, Cert: host.Cert, Key: host.Key},
			"the JobManager's certificate is not trusted: set security.ssl.rest.trust"},
		{"trusting another CA", security.REST{Enabled: true, Cert: host.Cert, Key: host.Key, Trust: foreign.CA},
			"the JobManager's certificate is not trusted: set security.ssl.rest.trust"},
	} {
		cl, err := newClient(t, addr, c.sec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Jobs(t.Context())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	// "https://" in the address is enough for the client to use TLS.
	cl, err := newClient(t, "https://"+addr, security.REST{Cert: host.Cert, Key: host.Key, Trust: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Jobs(t.Context()); err != nil {
		t.Errorf("https:// without security.ssl.rest.enabled: %v", err)
	}
	// Plain HTTP to the HTTPS server.
	_, err = (&Client{Address: addr}).Jobs(t.Context())
	if err == nil {
		t.Error("plain HTTP to an HTTPS server worked")
	}
	// An http:// address with TLS configured is refused, not downgraded.
	if _, err := NewClient("http://"+addr, security.REST{Enabled: true, Trust: certs.CA}); err == nil ||
		!strings.Contains(err.Error(), "plain HTTP but security.ssl.rest.enabled is true") {
		t.Errorf("http:// with security.ssl.rest.enabled: %v, want a refusal", err)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := listen(t, newFakeBackend(), Options{}, security.REST{})
	for _, c := range []struct {
		method, path string
		allow        []string
	}{
		{"DELETE", "/jobs/j1", []string{"GET", "HEAD", "PATCH"}},
		{"PUT", "/jobs", []string{"GET", "HEAD", "POST"}},
		{"POST", "/overview", []string{"GET", "HEAD"}},
		{"GET", "/jobs/j1/stop", []string{"POST"}},
		{"PATCH", "/jobs/j1/savepoints/" + strings.Repeat("0", 32), []string{"GET", "HEAD"}},
	} {
		code, h, body := request(t, c.method, s.URL()+c.path, nil, nil)
		allow := strings.Split(h.Get("Allow"), ", ")
		slices.Sort(allow)
		if code != 405 || !slices.Equal(allow, c.allow) || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"errors"`) {
			t.Errorf("%s %s: %d, Allow %q, %s %s; want 405, Allow %q, error JSON", c.method, c.path, code, h.Get("Allow"), h.Get("Content-Type"), body, c.allow)
		}
	}
	code, h, body := request(t, "GET", s.URL()+"/nope", nil, nil)
	if code != 404 || h.Get("Content-Type") != "application/json" || !strings.Contains(body, "Not found: /nope") {
		t.Errorf("GET /nope: %d %s %s, want 404 error JSON", code, h.Get("Content-Type"), body)
	}
}

// chunked hides the length of a body, so that the server finds it too
// large while reading it.
type chunked struct{ io.Reader }

func TestBodyLimits(t *testing.T) {
	backend := newFakeBackend()
	s := listen(t, backend, Options{SavepointsDir: "/sp", MaxProgramSize: 1 << 10}, security.REST{})
	huge := `{"target-directory": "/sp", "x": "` + strings.Repeat("a", maxBody) + `"}`
	for _, body := range []io.Reader{strings.NewReader(huge), chunked{strings.NewReader(huge)}} {
		code, _, msg := request(t, "POST", s.URL()+"/jobs/j1/savepoints", http.Header{"Content-Type": {"application/json"}}, body)
		if code != 413 {
			t.Errorf("an oversized JSON body (%T): %d %s, want 413", body, code, msg)
		}
	}
	for name, parts := range map[string][][2]string{
		"request": {{"request", `{"jobName": "` + strings.Repeat("a", maxRequestPart) + `"}`}},
		"program": {{"request", `{"jobName": "mine"}`}, {"program", strings.Repeat("x", 1<<10+1)}},
	} {
		ct, body := multipartBody(t, parts...)
		code, _, msg := request(t, "POST", s.URL()+"/jobs", http.Header{"Content-Type": {ct}}, chunked{strings.NewReader(body)})
		if code != 413 || strings.Contains(msg, "unexpected EOF") {
			t.Errorf("an oversized %s: %d %s, want 413", name, code, msg)
		}
	}
	ct, body := multipartBody(t, [2]string{"request", `{"jobName": "mine"}`}, [2]string{"program", strings.Repeat("x", 1<<10)})
	if code, _, msg := request(t, "POST", s.URL()+"/jobs", http.Header{"Content-Type": {ct}}, chunked{strings.NewReader(body)}); code != 202 {
		t.Errorf("a program at the limit: %d %s, want 202", code, msg)
	}
	if subs := backend.submitted(); len(subs) != 1 || len(subs[0].program) != 1<<10 {
		t.Errorf("%d submissions, want the one at the limit", len(subs))
	}
}

func TestSwitches(t *testing.T) {
	backend := newFakeBackend()
	s := listen(t, backend, Options{DisableSubmit: true, DisableCancel: true}, security.REST{})
	ct, body := multipartBody(t, [2]string{"request", `{"jobName": "wc", "builtin": true, "programArgs": ["wordcount"]}`})
	code, _, msg := request(t, "POST", s.URL()+"/jobs", http.Header{"Content-Type": {ct}}, strings.NewReader(body))
	if code != 403 || !strings.Contains(msg, "web.submit.enable") {
		t.Errorf("POST /jobs: %d %s, want 403 naming web.submit.enable", code, msg)
	}
	if subs := backend.submitted(); len(subs) != 0 {
		t.Errorf("submitted %v", subs)
	}
	code, _, msg = request(t, "PATCH", s.URL()+"/jobs/j1?mode=cancel", nil, nil)
	if code != 403 || !strings.Contains(msg, "web.cancel.enable") {
		t.Errorf("PATCH /jobs/j1: %d %s, want 403 naming web.cancel.enable", code, msg)
	}
	code, _, msg = request(t, "POST", s.URL()+"/jobs/j1/savepoints", http.Header{"Content-Type": {"application/json"}},
		strings.NewReader(`{"cancel-job": true}`))
	if code != 403 || !strings.Contains(msg, "web.cancel.enable") {
		t.Errorf("a savepoint that cancels j1: %d %s, want 403 naming web.cancel.enable", code, msg)
	}
	if backend.cancelled {
		t.Error("j1 was cancelled")
	}
	_, _, msg = request(t, "GET", s.URL()+"/config", nil, nil)
	if !strings.Contains(msg, `"web-cancel":false`) {
		t.Errorf("GET /config: %s, want web-cancel false", msg)
	}

	on := listen(t, newFakeBackend(), Options{}, security.REST{})
	if _, _, msg := request(t, "GET", on.URL()+"/config", nil, nil); !strings.Contains(msg, `"web-cancel":true`) {
		t.Errorf("GET /config: %s, want web-cancel true", msg)
	}
}

// dirBackend records the directories its savepoints are taken into.
type dirBackend struct {
	*fakeBackend
	dirs chan string
}

func (d *dirBackend) TriggerSavepoint(_ context.Context, _, dir string, _ bool) (string, error) {
	d.dirs <- dir
	return dir + "/savepoint-1", nil
}

func (d *dirBackend) StopWithSavepoint(_ context.Context, _, dir string, _ bool) (string, error) {
	d.dirs <- dir
	return dir + "/savepoint-1", nil
}

func TestSavepointDirectories(t *testing.T) {
	for _, c := range []struct {
		opts Options
		dir  string
		want string // the directory the backend gets, or the status code
	}{
		{Options{SavepointsDir: "/sp"}, "", ""},
		{Options{SavepointsDir: "/sp"}, "/sp", "/sp"},
		{Options{SavepointsDir: "/sp"}, "/sp/", "/sp"},
		{Options{SavepointsDir: "/sp"}, "/sp/job-1", "/sp/job-1"},
		{Options{SavepointsDir: "/sp"}, "/sp/a/../b", "/sp/b"},
		{Options{SavepointsDir: "/sp/"}, "/sp/b", "/sp/b"},
		{Options{SavepointsDir: "/sp"}, "file:///sp/x", "file:///sp/x"},
		{Options{SavepointsDir: "file:///sp"}, "/sp/x", "/sp/x"},
		{Options{SavepointsDir: "/sp"}, "/sp/..", "403"},
		{Options{SavepointsDir: "/sp"}, "/sp/../etc", "403"},
		{Options{SavepointsDir: "/sp"}, "file:///sp/../etc", "403"},
		{Options{SavepointsDir: "/sp"}, "file://otherhost/sp/x", "403"},
		{Options{SavepointsDir: "/sp"}, "/sp2", "403"},
		{Options{SavepointsDir: "/sp"}, "/", "403"},
		{Options{SavepointsDir: "/sp"}, "s3://bucket/sp", "403"},
		{Options{SavepointsDir: "hdfs://nn:8020/sp"}, "hdfs://nn:8020/sp/job/../x", "hdfs://nn:8020/sp/x"},
		{Options{SavepointsDir: "hdfs://nn:8020/sp"}, "hdfs://other:8020/sp/x", "403"},
		{Options{SavepointsDir: "hdfs://nn:8020/sp"}, "hdfs://nn:8020/sp2", "403"},
		{Options{SavepointsDir: "hdfs://nn:8020/sp"}, "/sp/x", "403"},
		{Options{SavepointsDir: "s3://bucket/"}, "s3://bucket/savepoints", "s3://bucket/savepoints"},
		{Options{SavepointsDir: "/sp"}, "file:", "403"},
		{Options{SavepointsDir: "/sp"}, "sp/x", "400"},
		{Options{SavepointsDir: "/sp"}, "../sp", "400"},
		{Options{}, "/sp", "403"},
		{Options{AnySavepointDirectory: true}, "/elsewhere/../x", "/x"},
		{Options{AnySavepointDirectory: true}, "s3://bucket/sp", "s3://bucket/sp"},
		{Options{AnySavepointDirectory: true}, "x", "400"},
	} {
		backend := &dirBackend{fakeBackend: newFakeBackend(), dirs: make(chan string, 1)}
		s := NewServer(backend, "test", nil, c.opts)
		for _, route := range []struct{ path, field string }{{"/jobs/j1/savepoints", "target-directory"}, {"/jobs/j1/stop", "targetDirectory"}} {
			body := `{"` + route.field + `": "` + c.dir + `"}`
			req, _ := http.NewRequest("POST", route.path, strings.NewReader(body))
			w := &recorder{header: http.Header{}}
			s.Handler().ServeHTTP(w, req)
			got := ""
			if w.code == 202 {
				got = <-backend.dirs
			} else {
				got = http.StatusText(w.code)
			}
			want := c.want
			if len(want) == 3 && want[0] >= '0' && want[0] <= '9' {
				want = http.StatusText(map[string]int{"400": 400, "403": 403}[want])
				if !strings.Contains(w.body.String(), "rest.savepoint.allow-any-directory") && want == "Forbidden" {
					t.Errorf("%+v %s %q: %s, want a message naming rest.savepoint.allow-any-directory", c.opts, route.path, c.dir, w.body.String())
				}
			}
			if got != want {
				t.Errorf("%+v %s %q: %q (%s), want %q", c.opts, route.path, c.dir, got, w.body.String(), want)
			}
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}

func TestMalformedPathValues(t *testing.T) {
	s := listen(t, newFakeBackend(), Options{}, security.REST{})
	for _, p := range []string{"/jobs/..%2F..%2Fetc", "/jobs/a%00b", "/jobs/" + strings.Repeat("a", 65) + "/exceptions",
		"/jobs/j1/savepoints/..%2F..", "/jobs/j1/checkpoints/" + strings.Repeat("A", 32)} {
		if code, _, body := request(t, "GET", s.URL()+p, nil, nil); code != 400 || !strings.Contains(body, "malformed") {
			t.Errorf("GET %s: %d %s, want 400 malformed", p, code, body)
		}
	}
}
