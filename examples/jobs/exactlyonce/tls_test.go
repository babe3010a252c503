package exactlyonce

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
)

// TestExactlyOnceWithInternalTLS runs the compiled program on a JobManager
// and two TaskManagers with security.ssl.internal.enabled: the program
// travels from the BlobServer, the control plane and the keyed exchange
// between the two TaskManagers' workers go over mutual TLS. One
// TaskManager is killed once checkpoints complete and another started:
// the output holds every line exactly once.
func TestExactlyOnceWithInternalTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	certs := tlstest.New(t)
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	program := clustertest.Build(t, "github.com/runnel-io/runnel/examples/exactlyonce")
	c := clustertest.New(t, runnel, tlstest.Flags(certs.Cluster)...)

	// The RPC port speaks TLS only: a plain HTTP call is refused.
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", c.RPCPort))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "POST /rpc/v1/RegisterTaskManager HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	answer, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.Contains(string(answer), "HTTPS") {
		t.Errorf("the RPC port answered a plain call with %q", answer)
	}

	tm1 := c.TaskManager("tm-1")
	c.TaskManager("tm-2")
	c.Until("two TaskManagers", func() bool { return len(c.TaskManagers()) == 2 })

	const events, keys = 40000, 53
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	// Parallelism 4 on two TaskManagers of two slots: the keyed exchange
	// crosses between their workers.
	id := c.Submit("--parallelism", "4", program, "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-interval", "100ms", "--checkpoint-dir", ck, "--rate", "4000")

	waitCheckpoints(t, c, id, out)
	killAndFinish(t, c, id, tm1, out, events, keys)
}
