//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/program"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// TestClusterSafeDefaults starts a cluster with `runnel cluster start`
// and no address configured (free ports only) and runs a job on it.
// Every listener of the cluster's processes — the JobManager's RPC, REST
// and BLOB ports, the TaskManager's RPC port, the job's JobMaster's RPC
// port and its worker's RPC and data ports — is on loopback; the logs say
// so, and print URLs that reach the REST API. Then the ways in that once
// ran any command run nothing: an uploaded shell script (400), a builtin
// submission of "run /bin/sh" (400 naming /bin/sh) and a StartWorker
// sent straight to the TaskManager (refused: no slots for that job).
func TestClusterSafeDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	dir := t.TempDir()
	out, err := exec.Command(bin, "cluster", "start", "--dir", dir, "--taskmanagers", "1",
		"-Djobmanager.rpc.port=0", "-Drest.port=0", "-Dtaskmanager.numberOfTaskSlots=2",
		"-Dheartbeat.interval=100ms", "-Dheartbeat.timeout=2s").CombinedOutput()
	t.Cleanup(func() { _ = exec.Command(bin, "cluster", "stop", "--dir", dir).Run() })
	if err != nil {
		t.Fatalf("cluster start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, log := range []string{"jobmanager.log", "taskmanager-1.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, log))
				t.Logf("==== %s\n%s", log, b)
			}
		}
	})
	m := regexp.MustCompile(`REST API at (http://127\.0\.0\.1:\d+),`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cluster start said %q; want the REST API's loopback URL", out)
	}
	restURL := string(m[1])
	c := clustertest.Attach(t, bin, strings.TrimPrefix(restURL, "http://"))
	waitFor(t, c, 1)

	jmLog, tmLog := readLog(t, dir, "jobmanager.log"), readLog(t, dir, "taskmanager-1.log")
	for name, log := range map[string]string{"jobmanager": jmLog, "taskmanager": tmLog} {
		if !strings.Contains(log, "listening on loopback only; set ") {
			t.Errorf("the %s's log does not say that it listens on loopback only:\n%s", name, log)
		}
	}
	if lm := regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+)`).FindStringSubmatch(jmLog); lm == nil || lm[2] != restURL {
		t.Errorf("the listening line %q; want rest=%s", lm, restURL)
	}

	work := t.TempDir()
	id := c.Submit("--parallelism", "2", "exactlyonce", "--", "--events", "100000000", "--keys", "5",
		"--output", filepath.Join(work, "out"), "--rate", "50")
	t.Cleanup(func() { _ = exec.Command(bin, "cancel", "--jobmanager", c.REST, id).Run() })
	c.Until("the job running", func() bool { return c.State(id) == "RUNNING" })

	// The cluster's processes: those cluster start recorded, and their
	// descendants (JobMasters, workers).
	roles := map[int]string{}
	pids, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(pids)), "\n") {
		f := strings.Fields(line)
		pid, _ := strconv.Atoi(f[0])
		roles[pid] = f[2]
	}
	parents := processParents(t)
	for pid, ppid := range parents {
		for p := ppid; p > 1; p = parents[p] {
			if role, ok := roles[p]; ok && (role == "jobmanager" || role == "taskmanager") {
				roles[pid] = map[string]string{"jobmanager": "jobmaster", "taskmanager": "worker"}[role]
				break
			}
		}
	}
	// Each role's listeners, at least: jobmanager RPC, REST and BLOB;
	// taskmanager RPC; jobmaster RPC; worker RPC and data.
	want := map[string]int{"jobmanager": 3, "taskmanager": 1, "jobmaster": 1, "worker": 2}
	var listening map[string][]string
	c.Until("every process of the job listening", func() bool {
		listening = map[string][]string{}
		socks := listeners(t)
		for pid, role := range roles {
			for _, inode := range socketInodes(pid) {
				if addr, ok := socks[inode]; ok {
					listening[role] = append(listening[role], addr)
				}
			}
		}
		for role, n := range want {
			if len(listening[role]) < n {
				return false
			}
		}
		return true
	})
	for role, addrs := range listening {
		for _, addr := range addrs {
			host, _, _ := net.SplitHostPort(addr)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("the %s listens on %s, not on loopback", role, addr)
			}
		}
	}
	t.Logf("listeners: %v", listening)
	// What an operator sees: ss -ltn lists each of these ports on loopback
	// only.
	if ss, err := exec.LookPath("ss"); err == nil {
		table, err := exec.Command(ss, "-ltnH").Output()
		if err != nil {
			t.Fatalf("ss -ltn: %v", err)
		}
		for role, addrs := range listening {
			for _, addr := range addrs {
				_, port, _ := net.SplitHostPort(addr)
				for _, line := range strings.Split(string(table), "\n") {
					f := strings.Fields(line)
					if len(f) < 4 || !strings.HasSuffix(f[3], ":"+port) {
						continue
					}
					if host := strings.TrimSuffix(f[3], ":"+port); host != "127.0.0.1" && host != "[::1]" {
						t.Errorf("ss -ltn shows the %s's port %s on %s", role, port, f[3])
					}
				}
			}
		}
	}

	marker := filepath.Join(t.TempDir(), "ran")
	touch := "touch " + marker

	// An uploaded shell script.
	status, body := submitRaw(t, restURL, `{"jobName":"evil","builtin":false,"programArgs":[]}`, []byte("#!/bin/sh\n"+touch+"\n"))
	if status != http.StatusBadRequest || !strings.Contains(body, "a job program must be a compiled runnel job binary") {
		t.Errorf("uploaded script: %d %s; want 400 saying a job program must be a compiled binary", status, body)
	}
	// A builtin submission that runs a shell.
	status, body = submitRaw(t, restURL, `{"jobName":"evil","builtin":true,"programArgs":["run","/bin/sh","--","-c","`+touch+`"]}`, nil)
	if status != http.StatusBadRequest || !strings.Contains(body, `\"/bin/sh\" is not a builtin job`) {
		t.Errorf("builtin /bin/sh: %d %s; want 400 naming /bin/sh", status, body)
	}
	// StartWorker sent to the TaskManager by anyone who reaches it.
	tm := regexp.MustCompile(`"taskmanager listening" .*\brpc=(\S+)`).FindStringSubmatch(tmLog)
	if tm == nil {
		t.Fatalf("the TaskManager's log does not say where it listens:\n%s", tmLog)
	}
	var tmID string
	for tid := range c.TaskManagers() {
		tmID = tid
	}
	// The job's real JobMaster, which has slots on the TaskManager: its
	// arguments are not the ones submitted.
	realJM := regexp.MustCompile(`"JobMaster registered" job=` + id + ` .*\baddress=(\S+)`).FindStringSubmatch(readLog(t, dir, "jobmanager.log"))
	if realJM == nil {
		t.Fatal("the JobManager's log does not say where the job's JobMaster is")
	}
	for _, tc := range []struct{ job, jm string }{
		{"0123456789abcdef0123456789abcdef", "127.0.0.1:1"}, {id, "127.0.0.1:1"}, {id, realJM[1]},
	} {
		job, jm := tc.job, tc.jm
		env := (&program.Process{Role: program.RoleWorker, JobID: job, TaskManager: tmID, JobMaster: jm}).Env()
		req := &rpc.StartWorker{JobID: job, Builtin: true, Args: []string{"run", "/bin/sh", "--", "-c", touch}, JobMaster: jm, Env: env}
		_, err := rpc.Call[rpc.StartWorker, rpc.Empty](context.Background(), &rpc.Client{}, tm[1], rpc.MethodStartWorker, req)
		var re *rpc.Error
		if !errors.As(err, &re) || re.Code != rpc.CodeForbidden {
			t.Errorf("StartWorker of job %s straight to the TaskManager: %v, want a refusal", job, err)
		} else {
			t.Logf("refused: %s", re.Message)
		}
	}
	if c.State(id) != "RUNNING" {
		t.Errorf("the job is %s after the refused calls", c.State(id))
	}
	// Each refusal came before anything started; the marker would be
	// there by now had any of them run.
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command ran: %s exists (%v)", marker, err)
	}
	if jobs := c.CLI("list"); strings.Contains(jobs, "evil") {
		t.Errorf("a refused submission is listed:\n%s", jobs)
	}
}

func readLog(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// submitRaw posts a submission as curl -F would and returns the answer.
func submitRaw(t *testing.T, restURL, request string, program []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("request")
	w.Write([]byte(request))
	if program != nil {
		w, _ = mw.CreateFormFile("program", "evil.sh")
		w.Write(program)
	}
	mw.Close()
	res, err := http.Post(restURL+"/jobs", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// processParents maps every process to its parent.
func processParents(t *testing.T) map[int]int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parents := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if f := strings.Fields(string(b[i+1:])); i >= 0 && len(f) > 1 {
			parents[pid], _ = strconv.Atoi(f[1])
		}
	}
	return parents
}

// socketInodes are the inodes of the sockets process pid has open.
func socketInodes(pid int) []string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, _ := os.ReadDir(dir)
	var inodes []string
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes = append(inodes, strings.TrimSuffix(inode, "]"))
		}
	}
	return inodes
}

// listeners maps the inodes of the host's listening TCP sockets to their
// local addresses, from /proc/net/tcp and /proc/net/tcp6.
func listeners(t *testing.T) map[string]string {
	t.Helper()
	socks := map[string]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // TCP_LISTEN
				continue
			}
			hexIP, hexPort, _ := strings.Cut(f[1], ":")
			raw, err := hex.DecodeString(hexIP)
			port, perr := strconv.ParseUint(hexPort, 16, 16)
			if err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
				t.Fatalf("%s: cannot read %q", file, line)
			}
			// The kernel prints each 32-bit word in host (little-endian) order.
			ip := make(net.IP, len(raw))
			for w := 0; w < len(raw); w += 4 {
				ip[w], ip[w+1], ip[w+2], ip[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
			}
			socks[f[9]] = net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
		}
	}
	return socks
}
