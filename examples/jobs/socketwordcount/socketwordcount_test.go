package socketwordcount

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// lines is what the test's server sends: mixed case, punctuation, "\r\n"
// endings, an empty line and a last line without an ending.
var lines = []string{
	"To be, or not to be,--that is the question:--\r\n",
	"\n",
	"Whether 'tis nobler in the mind to suffer\n",
	"THE the The tHe\r\n",
	"Café naïve x86_64 x86_64\n",
	"to be continued",
}

// reference counts the words of lines as Flink's WordCount does: lower-case,
// split on \W+.
func reference() map[string]int {
	counts := map[string]int{}
	for _, l := range lines {
		for _, w := range strings.FieldsFunc(strings.ToLower(l), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
		}) {
			counts[w]++
		}
	}
	return counts
}

// serve listens on a loopback port, sends lines to the first connection and
// closes it. It returns the port.
func serve(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		for _, l := range lines {
			if _, err := io.WriteString(conn, l); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("server: %v", err)
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSocketWordCount(t *testing.T) {
	want := reference()
	for _, p := range []int{1, 2, 3} {
		t.Run("parallelism="+strconv.Itoa(p), func(t *testing.T) {
			port := serve(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out bytes.Buffer
			args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--parallelism", strconv.Itoa(p)}
			if err := Run(ctx, args, &out); err != nil {
				t.Fatalf("Run(%q) = %v, want nil after the peer closed", args, err)
			}

			// Every word's counts are printed by the one subtask that owns
			// the word, in order: 1, 2, ..., its final count.
			last := map[string]int{}
			subtask := map[string]string{}
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				line := sc.Text()
				prefix := ""
				if p > 1 {
					var rest string
					var ok bool
					prefix, rest, ok = strings.Cut(line, "> ")
					if !ok {
						t.Fatalf("line %q lacks the subtask prefix of a parallel print sink", line)
					}
					if n, err := strconv.Atoi(prefix); err != nil || n < 1 || n > p {
						t.Fatalf("line %q: prefix %q, want a subtask in 1..%d", line, prefix, p)
					}
					line = rest
				} else if strings.Contains(line, "> ") {
					t.Fatalf("line %q has a prefix at parallelism 1", line)
				}
				word, n, ok := strings.Cut(line, " ")
				if !ok {
					t.Fatalf("malformed line %q", line)
				}
				count, err := strconv.Atoi(n)
				if err != nil {
					t.Fatalf("malformed count in %q", line)
				}
				if count != last[word]+1 {
					t.Errorf("word %q: count %d after %d, want rolling counts 1, 2, ...", word, count, last[word])
				}
				last[word] = count
				if s, seen := subtask[word]; seen && s != prefix {
					t.Errorf("word %q printed by subtasks %s and %s; a key belongs to one", word, s, prefix)
				}
				subtask[word] = prefix
			}
			if len(last) != len(want) {
				t.Errorf("%d distinct words printed, want %d", len(last), len(want))
			}
			for w, n := range want {
				if last[w] != n {
					t.Errorf("last count of %q = %d, want %d", w, last[w], n)
				}
			}
		})
	}
}

func TestSocketWordCountUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--port", "0"},
		{"--port", "65536"},
		{"--port", "9999", "--parallelism", "0"},
		{"--nope"},
		{"--port", "9999", "extra"},
	} {
		err := Run(context.Background(), args, io.Discard)
		if !errors.As(err, new(jobs.UsageError)) {
			t.Errorf("Run(%q) = %v, want a jobs.UsageError", args, err)
		}
	}
}

func TestSocketWordCountConnectionRefused(t *testing.T) {
	// A port nobody listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--parallelism", "1"}, io.Discard)
	if err == nil {
		t.Fatal("Run against a closed port succeeded")
	}
	if errors.As(err, new(jobs.UsageError)) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run against a closed port = %v, want a connection error", err)
	}
}

func TestSocketWordCountCancel(t *testing.T) {
	// A peer that never closes: the job runs until it is cancelled, and
	// then returns promptly with the context's error.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		io.WriteString(conn, "hello hello\n")
		accepted <- conn
	}()
	var out bytes.Buffer
	cancel, errc := clustertest.Go(t, func(ctx context.Context) error {
		return Run(ctx, []string{"--host", "127.0.0.1", "--port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "--parallelism", "2"}, &out)
	})
	conn, ok := <-accepted
	if !ok {
		t.Fatal("no connection")
	}
	defer conn.Close()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
		if got := jobs.ExitCode(err, io.Discard); got != 0 {
			t.Errorf("exit code after cancel = %d, want 0", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}
