package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// schema is the part of an OpenAPI schema this test checks.
type schema struct {
	Type                 string             `yaml:"type"`
	Required             []string           `yaml:"required"`
	Properties           map[string]*schema `yaml:"properties"`
	AdditionalProperties *schema            `yaml:"additionalProperties"`
	Items                *schema            `yaml:"items"`
	Ref                  string             `yaml:"$ref"`
	Nullable             bool               `yaml:"nullable"`
	AllOf                []*schema          `yaml:"allOf"`
	OneOf                []*schema          `yaml:"oneOf"`
	Enum                 []string           `yaml:"enum"`
}

type response struct {
	Ref     string `yaml:"$ref"`
	Content map[string]struct {
		Schema *schema `yaml:"schema"`
	} `yaml:"content"`
}

type operation struct {
	Responses map[string]*response `yaml:"responses"`
}

type pathItem struct {
	Get    *operation `yaml:"get"`
	Post   *operation `yaml:"post"`
	Put    *operation `yaml:"put"`
	Patch  *operation `yaml:"patch"`
	Delete *operation `yaml:"delete"`
}

// operations are the item's operations by method.
func (p pathItem) operations() map[string]*operation {
	ops := map[string]*operation{}
	for m, op := range map[string]*operation{"GET": p.Get, "POST": p.Post, "PUT": p.Put, "PATCH": p.Patch, "DELETE": p.Delete} {
		if op != nil {
			ops[m] = op
		}
	}
	return ops
}

type document struct {
	Paths      map[string]pathItem `yaml:"paths"`
	Components struct {
		Schemas   map[string]*schema   `yaml:"schemas"`
		Responses map[string]*response `yaml:"responses"`
	} `yaml:"components"`
}

func loadDocument(t *testing.T) *document {
	t.Helper()
	var doc document
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// schemaOf is the JSON schema of the documented response, nil if the
// response is not documented.
func (d *document) schemaOf(method, path string, code int) *schema {
	op := d.Paths[path].operations()[method]
	if op == nil {
		return nil
	}
	r := op.Responses[strconv.Itoa(code)]
	if r != nil && r.Ref != "" {
		r = d.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
	}
	if r == nil {
		return nil
	}
	return r.Content["application/json"].Schema
}

func (d *document) resolve(s *schema) *schema {
	if s != nil && s.Ref != "" {
		return d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// problems lists where v does not match schema s: a missing required
// property, an undocumented one, a wrong type, a value outside an enum.
func (d *document) problems(where string, s *schema, v any) []string {
	s = d.resolve(s)
	if s == nil {
		return []string{where + ": no schema"}
	}
	if v == nil {
		if s.Nullable {
			return nil
		}
		return []string{where + ": null"}
	}
	var ps []string
	for _, sub := range s.AllOf {
		ps = append(ps, d.problems(where, sub, v)...)
	}
	if len(s.OneOf) > 0 {
		matches := 0
		for _, sub := range s.OneOf {
			if len(d.problems(where, sub, v)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			ps = append(ps, fmt.Sprintf("%s: %v matches %d of the oneOf schemas, want 1", where, v, matches))
		}
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return append(ps, fmt.Sprintf("%s: %T, want an object", where, v))
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				ps = append(ps, fmt.Sprintf("%s: property %q missing", where, r))
			}
		}
		for name, pv := range m {
			switch psch, ok := s.Properties[name]; {
			case ok:
				ps = append(ps, d.problems(where+"."+name, psch, pv)...)
			case s.AdditionalProperties != nil:
				ps = append(ps, d.problems(where+"."+name, s.AdditionalProperties, pv)...)
			default:
				ps = append(ps, fmt.Sprintf("%s: property %q not documented", where, name))
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return append(ps, fmt.Sprintf("%s: %T, want an array", where, v))
		}
		for i, x := range a {
			ps = append(ps, d.problems(where+"["+strconv.Itoa(i)+"]", s.Items, x)...)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			ps = append(ps, fmt.Sprintf("%s: %v, want an integer", where, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			ps = append(ps, fmt.Sprintf("%s: %v, want a boolean", where, v))
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			ps = append(ps, fmt.Sprintf("%s: %v, want a string", where, v))
		} else if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			ps = append(ps, fmt.Sprintf("%s: %q, want one of %q", where, str, s.Enum))
		}
	}
	return ps
}

// apiTest sends requests to a server and checks each answer against the
// document, recording which documented answers were seen.
type apiTest struct {
	t    *testing.T
	doc  *document
	url  string
	seen map[string]bool // "GET /jobs/{jobid} 404"
}

// do sends a request to path, which route documents, and returns the
// answer's status code and JSON value after checking it against the
// document.
func (a *apiTest) do(method, route, path, contentType string, body io.Reader) (int, any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var v any
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		a.t.Fatalf("%s %s: %s: %v", method, path, res.Status, err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	where := fmt.Sprintf("%s %s %d", method, route, res.StatusCode)
	s := a.doc.schemaOf(method, route, res.StatusCode)
	if s == nil {
		a.t.Errorf("%s (%s): answer not documented: %v", where, path, v)
		return res.StatusCode, v
	}
	a.seen[where] = true
	for _, p := range a.doc.problems(where, s, v) {
		a.t.Error(p)
	}
	return res.StatusCode, v
}

// expect is do that fails the test unless the answer has code.
func (a *apiTest) expect(code int, method, route, path, contentType, body string) any {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	got, v := a.do(method, route, path, contentType, r)
	if got != code {
		a.t.Errorf("%s %s: %d %v, want %d", method, path, got, v, code)
	}
	return v
}

// trigger starts an operation and returns its trigger ID.
func (a *apiTest) trigger(route, path, body string) string {
	a.t.Helper()
	v, _ := a.expect(http.StatusAccepted, "POST", route, path, "application/json", body).(map[string]any)
	id, _ := v["request-id"].(string)
	if len(id) != 32 {
		a.t.Fatalf("POST %s: request-id %q, want 32 hexadecimal digits", path, id)
	}
	return id
}

// await polls an operation's status until it is completed, and returns
// its "operation".
func (a *apiTest) await(route, path string) map[string]any {
	a.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		v, _ := a.expect(http.StatusOK, "GET", route, path, "", "").(map[string]any)
		if status, _ := v["status"].(map[string]any); status["id"] == "COMPLETED" {
			op, _ := v["operation"].(map[string]any)
			return op
		}
	}
	a.t.Fatalf("GET %s: still in progress", path)
	return nil
}

// multipartBody is a submission: the parts in order, by name.
func multipartBody(t *testing.T, parts ...[2]string) (contentType, body string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		w, err := mw.CreateFormField(p[0])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(p[1]))
	}
	_ = mw.Close()
	return mw.FormDataContentType(), b.String()
}

// TestOpenAPIMatchesTheServer checks the checked-in document against the
// server: every route is documented, every documented path is served,
// every documented answer is given by some request, and every answer is
// documented and has exactly the properties and types its schema gives.
func TestOpenAPIMatchesTheServer(t *testing.T) {
	doc := loadDocument(t)
	backend := newFakeBackend()
	backend.gate = make(chan struct{})
	s := NewServer(backend, "test", nil, Options{SavepointsDir: "/sp", MaxProgramSize: 64})
	var documented []string
	for path, item := range doc.Paths {
		for method := range item.operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := slices.Clone(s.routes)
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("documented %q\nserved     %q", documented, served)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	a := &apiTest{t: t, doc: doc, url: ts.URL, seen: map[string]bool{}}
	const ctJSON = "application/json"

	// The cluster.
	for _, p := range []string{"/overview", "/config", "/jobmanager/config", "/taskmanagers", "/jobs", "/jobs/overview"} {
		a.expect(200, "GET", p, p, "", "")
	}
	a.expect(200, "GET", "/taskmanagers/{tmid}", "/taskmanagers/tm-1", "", "")
	a.expect(404, "GET", "/taskmanagers/{tmid}", "/taskmanagers/nope", "", "")

	// Submission.
	ct, body := multipartBody(t, [2]string{"request", `{"jobName": "wc", "builtin": true, "programArgs": ["wordcount"]}`})
	v := a.expect(202, "POST", "/jobs", "/jobs", ct, body)
	if want := map[string]any{"jobUrl": "/jobs/j3", "jobid": "j3"}; fmt.Sprint(v) != fmt.Sprint(want) {
		t.Errorf("POST /jobs = %v, want %v", v, want)
	}
	ct, body = multipartBody(t, [2]string{"request", `{"jobName": "mine"}`}, [2]string{"program", "\x7fELF..."})
	a.expect(202, "POST", "/jobs", "/jobs", ct, body)
	ct, body = multipartBody(t, [2]string{"request", `{"jobName": "mine"}`})
	a.expect(400, "POST", "/jobs", "/jobs", ct, body)
	huge := strings.Repeat("a", maxBody)
	ct, body = multipartBody(t, [2]string{"request", `{"jobName": "` + huge + `"}`})
	a.expect(413, "POST", "/jobs", "/jobs", ct, body)
	ct, body = multipartBody(t, [2]string{"request", `{"jobName": "mine"}`}, [2]string{"program", strings.Repeat("x", 65)})
	a.expect(413, "POST", "/jobs", "/jobs", ct, body)

	// A job.
	for _, id := range []string{"j1", "j2"} {
		for _, r := range []string{"/jobs/{jobid}", "/jobs/{jobid}/exceptions", "/jobs/{jobid}/checkpoints", "/jobs/{jobid}/execution-result", "/jobs/{jobid}/metrics"} {
			a.expect(200, "GET", r, strings.ReplaceAll(r, "{jobid}", id), "", "")
		}
	}
	if v := a.expect(200, "GET", "/jobs/{jobid}/metrics", "/jobs/j1/metrics?get=tm-1.Network.SegmentsInUse,nope", "", ""); fmt.Sprint(v) != "[map[id:tm-1.Network.SegmentsInUse value:12]]" {
		t.Errorf("GET /jobs/j1/metrics?get= = %v", v)
	}
	for _, r := range []string{"/jobs/{jobid}", "/jobs/{jobid}/exceptions", "/jobs/{jobid}/checkpoints", "/jobs/{jobid}/execution-result", "/jobs/{jobid}/metrics"} {
		a.expect(404, "GET", r, strings.ReplaceAll(r, "{jobid}", "nope"), "", "")
	}

	// Operations in progress, then completed or failed.
	spRoute, spStatus := "/jobs/{jobid}/savepoints", "/jobs/{jobid}/savepoints/{triggerid}"
	ckRoute, ckStatus := "/jobs/{jobid}/checkpoints", "/jobs/{jobid}/checkpoints/{triggerid}"
	stopRoute := "/jobs/{jobid}/stop"
	sp := a.trigger(spRoute, "/jobs/j1/savepoints", `{"target-directory": "/sp", "cancel-job": false}`)
	stop := a.trigger(stopRoute, "/jobs/j1/stop", `{"targetDirectory": "/sp", "drain": true}`)
	ck := a.trigger(ckRoute, "/jobs/j1/checkpoints", "")
	ckFull := a.trigger(ckRoute, "/jobs/j1/checkpoints", `{"checkpointType": "FULL"}`)
	spFail := a.trigger(spRoute, "/jobs/j1/savepoints", `{}`)
	ckFail := a.trigger(ckRoute, "/jobs/j2/checkpoints", "")
	want := map[string]any{"status": map[string]any{"id": "IN_PROGRESS"}}
	if v := a.expect(200, "GET", spStatus, "/jobs/j1/savepoints/"+sp, "", ""); fmt.Sprint(v) != fmt.Sprint(want) {
		t.Errorf("savepoint in progress: %v, want %v", v, want)
	}
	if v := a.expect(200, "GET", ckStatus, "/jobs/j1/checkpoints/"+ck, "", ""); fmt.Sprint(v) != fmt.Sprint(want) {
		t.Errorf("checkpoint in progress: %v, want %v", v, want)
	}
	close(backend.gate)
	for _, c := range []struct {
		route, path, want string
	}{
		{spStatus, "/jobs/j1/savepoints/" + sp, "map[location:/sp/savepoint-1]"},
		{spStatus, "/jobs/j1/savepoints/" + stop, "map[location:/sp/savepoint-drained]"},
		{ckStatus, "/jobs/j1/checkpoints/" + ck, "map[checkpointId:8]"},
		{ckStatus, "/jobs/j1/checkpoints/" + ckFull, "map[checkpointId:8]"},
		{spStatus, "/jobs/j1/savepoints/" + spFail, "map[failure-cause:map[class:rest.ErrConflict stack-trace:rest: conflict: no directory, and no state.savepoints.dir]]"},
		{ckStatus, "/jobs/j2/checkpoints/" + ckFail, "map[failure-cause:map[class:rest.ErrConflict stack-trace:rest: conflict: job j2 has finished]]"},
	} {
		if got := fmt.Sprint(a.await(c.route, c.path)); got != c.want {
			t.Errorf("GET %s: operation %s, want %s", c.path, got, c.want)
		}
	}
	unknown := strings.Repeat("0", 32)
	a.expect(404, "GET", spStatus, "/jobs/j1/savepoints/"+unknown, "", "")
	a.expect(404, "GET", ckStatus, "/jobs/j1/checkpoints/"+unknown, "", "")
	a.expect(400, "GET", spStatus, "/jobs/j1/savepoints/nope", "", "")
	a.expect(400, "GET", ckStatus, "/jobs/j1/checkpoints/nope", "", "")
	for _, r := range []string{spRoute, stopRoute, ckRoute} {
		a.expect(404, "POST", r, strings.ReplaceAll(r, "{jobid}", "nope"), ctJSON, "")
		a.expect(400, "POST", r, strings.ReplaceAll(r, "{jobid}", "j1"), ctJSON, "{")
		a.expect(413, "POST", r, strings.ReplaceAll(r, "{jobid}", "j1"), ctJSON, `{"checkpointType": "`+huge+`"}`)
	}
	a.expect(403, "POST", spRoute, "/jobs/j1/savepoints", ctJSON, `{"target-directory": "/sp/../etc"}`)
	a.expect(403, "POST", stopRoute, "/jobs/j1/stop", ctJSON, `{"targetDirectory": "/elsewhere"}`)
	a.expect(400, "POST", ckRoute, "/jobs/j1/checkpoints", ctJSON, `{"checkpointType": "INCREMENTAL"}`)

	// Cancellation, last: j1 is cancelling after it.
	a.expect(400, "PATCH", "/jobs/{jobid}", "/jobs/j1", "", "")
	a.expect(400, "PATCH", "/jobs/{jobid}", "/jobs/j1?mode=stop", "", "")
	a.expect(404, "PATCH", "/jobs/{jobid}", "/jobs/nope?mode=cancel", "", "")
	a.expect(409, "PATCH", "/jobs/{jobid}", "/jobs/j2?mode=cancel", "", "")
	if v := a.expect(202, "PATCH", "/jobs/{jobid}", "/jobs/j1?mode=cancel", "", ""); fmt.Sprint(v) != "map[]" {
		t.Errorf("PATCH /jobs/j1?mode=cancel = %v, want {}", v)
	}

	// What a server with submissions and cancellations disabled refuses.
	off := NewServer(newFakeBackend(), "test", nil, Options{DisableSubmit: true, DisableCancel: true})
	tsOff := httptest.NewServer(off.Handler())
	defer tsOff.Close()
	defer func() {
		if err := off.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	aOff := &apiTest{t: t, doc: doc, url: tsOff.URL, seen: a.seen}
	ct, body = multipartBody(t, [2]string{"request", `{"jobName": "wc", "builtin": true, "programArgs": ["wordcount"]}`})
	aOff.expect(403, "POST", "/jobs", "/jobs", ct, body)
	aOff.expect(403, "PATCH", "/jobs/{jobid}", "/jobs/j1?mode=cancel", "", "")

	// Every documented answer was given.
	for path, item := range doc.Paths {
		for method, op := range item.operations() {
			for code := range op.Responses {
				if k := method + " " + path + " " + code; !a.seen[k] {
					t.Errorf("no request was answered %s", k)
				}
			}
		}
	}
}

// TestOpenAPICheckFindsMismatches makes sure that the check of answers
// against the document can fail.
func TestOpenAPICheckFindsMismatches(t *testing.T) {
	doc := loadDocument(t)
	status := doc.schemaOf("GET", "/jobs/{jobid}/savepoints/{triggerid}", 200)
	for _, c := range []struct {
		v    string
		want string // in the first problem; "" for none
	}{
		{`{"status": {"id": "COMPLETED"}, "operation": {"location": "/sp"}}`, ""},
		{`{"status": {"id": "IN_PROGRESS"}}`, ""},
		{`{"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {"class": "c", "stack-trace": "s"}}}`, ""},
		{`{}`, `property "status" missing`},
		{`{"status": {"id": "DONE"}}`, `"DONE", want one of`},
		{`{"status": {"id": "COMPLETED"}, "extra": 1}`, `property "extra" not documented`},
		{`{"status": {"id": "COMPLETED"}, "operation": {"location": 1}}`, "matches 0 of the oneOf schemas"},
		{`{"status": {"id": "COMPLETED"}, "operation": {"location": "/sp", "failure-cause": {"class": "c", "stack-trace": "s"}}}`, "matches 0 of the oneOf"},
		{`{"status": null}`, "null"},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.v), &v); err != nil {
			t.Fatal(err)
		}
		ps := doc.problems("status", status, v)
		switch {
		case c.want == "" && len(ps) > 0:
			t.Errorf("%s: %q, want no problems", c.v, ps)
		case c.want != "" && (len(ps) == 0 || !strings.Contains(ps[0], c.want)):
			t.Errorf("%s: %q, want %q", c.v, ps, c.want)
		}
	}
	checkpoints := doc.schemaOf("GET", "/jobs/{jobid}/checkpoints", 200)
	v := map[string]any{
		"counts": map[string]any{"restored": 0.0, "total": 0.0, "in_progress": 0.0, "completed": 0.0, "failed": 0.5},
		"latest": map[string]any{"completed": nil, "savepoint": nil, "restored": map[string]any{"id": 1.0, "is_savepoint": "yes", "external_path": "/sp"}},
	}
	ps := doc.problems("checkpoints", checkpoints, v)
	slices.Sort(ps)
	want := []string{"checkpoints.counts.failed: 0.5, want an integer", "checkpoints.latest.restored.is_savepoint: yes, want a boolean"}
	if !slices.Equal(ps, want) {
		t.Errorf("problems %q, want %q", ps, want)
	}
}
