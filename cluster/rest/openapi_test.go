package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type fakeBackend struct{}

func (fakeBackend) TaskManagers(context.Context) ([]TaskManager, error) {
	return []TaskManager{{ID: "tm-1", Path: "127.0.0.1", SlotsNumber: 2, FreeSlots: 1}}, nil
}

func (fakeBackend) Jobs(context.Context) ([]Job, error) {
	return []Job{{ID: "j1", Name: "wordcount", State: "RUNNING"}, {ID: "j2", Name: "x", State: "FINISHED"}}, nil
}

func (fakeBackend) Config() map[string]string { return map[string]string{"rest.port": "8081"} }

// schema is the part of an OpenAPI schema this test checks.
type schema struct {
	Type       string             `yaml:"type"`
	Required   []string           `yaml:"required"`
	Properties map[string]*schema `yaml:"properties"`
	Items      *schema            `yaml:"items"`
	Ref        string             `yaml:"$ref"`
}

type document struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Content map[string]struct {
				Schema *schema `yaml:"schema"`
			} `yaml:"content"`
		} `yaml:"responses"`
	} `yaml:"paths"`
	Components struct {
		Schemas map[string]*schema `yaml:"schemas"`
	} `yaml:"components"`
}

func (d *document) resolve(s *schema) *schema {
	if s != nil && s.Ref != "" {
		return d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// check reports where v does not have what schema s requires.
func (d *document) check(t *testing.T, where string, s *schema, v any) {
	t.Helper()
	s = d.resolve(s)
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", where, v)
			return
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				t.Errorf("%s: property %q missing", where, r)
			}
		}
		for name, ps := range s.Properties {
			if pv, ok := m[name]; ok {
				d.check(t, where+"."+name, ps, pv)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %T, want an array", where, v)
			return
		}
		for i, x := range a {
			d.check(t, where+"["+strconv.Itoa(i)+"]", s.Items, x)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			t.Errorf("%s: %v, want an integer", where, v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			t.Errorf("%s: %v, want a string", where, v)
		}
	}
}

// TestOpenAPIMatchesTheServer checks the checked-in document against the
// server: every route is documented, every documented path is served, and
// every answer has what its schema requires.
func TestOpenAPIMatchesTheServer(t *testing.T) {
	var doc document
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s := NewServer(fakeBackend{}, "test", nil)
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
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
	for path, ops := range doc.Paths {
		url := ts.URL + strings.ReplaceAll(path, "{tmid}", "tm-1")
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		err = json.NewDecoder(res.Body).Decode(&v)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s, %v", path, res.Status, err)
			continue
		}
		doc.check(t, "GET "+path, ops["get"].Responses["200"].Content["application/json"].Schema, v)
	}
	// A missing task manager is a documented 404 with Flink's error shape.
	res, err := http.Get(ts.URL + "/taskmanagers/nope")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing task manager: %s, want 404", res.Status)
	}
	doc.check(t, "404", doc.Components.Schemas["Errors"], v)
}
