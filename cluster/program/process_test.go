package program

import (
	"strings"
	"testing"
	"time"
)

func TestProcessFromEnv(t *testing.T) {
	t.Setenv(EnvVar, "")
	if p, err := FromEnv(); p != nil || err != nil {
		t.Fatalf("no role: %v, %v", p, err)
	}
	want := &Process{Role: RoleWorker, JobID: "j", JobMaster: "h:1", TaskManager: "tm-1", Config: map[string]string{"parallelism.default": "3"},
		HeartbeatInterval: time.Second, HeartbeatTimeout: 5 * time.Second}
	name, value, _ := strings.Cut(want.Env(), "=")
	if name != EnvVar {
		t.Fatalf("Env names %s", name)
	}
	t.Setenv(EnvVar, value)
	p, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != want.Role || p.JobID != "j" || p.TaskManager != "tm-1" || p.Config["parallelism.default"] != "3" || p.HeartbeatTimeout != 5*time.Second {
		t.Errorf("FromEnv = %+v, want %+v", p, want)
	}
	for _, bad := range []string{
		`{"role":"worker","jobId":"j"}`,
		`{"role":"jobmaster"}`,
		`{"role":"client"}`,
		`{"role":"chef"}`,
		`{"role":`,
	} {
		t.Setenv(EnvVar, bad)
		if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), EnvVar) {
			t.Errorf("%s: %v, want an error naming %s", bad, err, EnvVar)
		}
	}
	t.Setenv(EnvVar, `{"role":"local","config":{"parallelism.default":"2"}}`)
	if p, err := FromEnv(); err != nil || p.Role != RoleLocal || p.HeartbeatTimeout <= p.HeartbeatInterval {
		t.Errorf("local: %+v, %v", p, err)
	}
}

// TestAdvertised: a server is advertised at its host, or at the address
// it is bound to; one bound to all interfaces at loopback, which reaches
// it, never at 0.0.0.0 or ::, which reach nothing.
func TestAdvertised(t *testing.T) {
	for _, c := range []struct{ host, addr, want string }{
		{"", "[::]:4000", "[::1]:4000"},
		{"10.0.0.5", "[::]:4000", "10.0.0.5:4000"},
		{"0.0.0.0", "0.0.0.0:4000", "127.0.0.1:4000"},
		{"", "127.0.0.1:4000", "127.0.0.1:4000"},
		{"tm.example", "127.0.0.1:80", "tm.example:80"},
	} {
		if got := advertised(c.host, c.addr); got != c.want {
			t.Errorf("advertised(%q, %q) = %q, want %q", c.host, c.addr, got, c.want)
		}
	}
}
