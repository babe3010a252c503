package stream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// SocketTextStream connects to host:port and emits the lines it reads
// (without "\n" or "\r\n"), until the peer closes the connection. It is
// non-parallel, as Flink's socketTextStream.
//
// It is not replayable, and gives no delivery guarantee beyond the
// connection's: records read but not yet processed when the job fails are
// lost (at most once). When the job checkpoints, the subtask logs a warning
// saying so as it opens.
func SocketTextStream(env *Environment, host string, port int) DataStream[string] {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	return nonParallel(FromSource(env, socketSource{addr: addr}, NoWatermarks[string](), "Socket Stream ("+addr+")"))
}

type socketSource struct{ addr string }

func (s socketSource) Bounded() bool { return false }

func (s socketSource) replayWarning() string {
	return "socket source is not replayable: it is at most once, and the records in flight when the job fails (read from the connection but not yet processed) are lost"
}

func (s socketSource) CreateReader(ctx context.Context, _ *RuntimeContext) (SourceReader[string], error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("stream: socket source: %w", err)
	}
	r := &socketReader{conn: conn, lines: make(chan string, 4*pollBatch), ready: make(chan struct{}, 1), done: make(chan struct{})}
	r.wg.Add(1)
	go r.read()
	return r, nil
}

// socketReader reads lines on its own goroutine into a bounded queue; a
// full queue stops the reading, and TCP's flow control the sender.
type socketReader struct {
	conn  net.Conn
	lines chan string // closed by read when the connection ends
	ready chan struct{}
	done  chan struct{} // closed by Close
	wg    sync.WaitGroup
	err   error // set by read before it closes lines
}

func (r *socketReader) read() {
	defer r.wg.Done()
	// Signal after closing lines, so that the poll the signal wakes sees
	// the end of input; signalling first lets that poll find lines empty
	// but open, and wait for a signal that never comes.
	defer r.signal()
	defer close(r.lines)
	sc := bufio.NewScanner(r.conn)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		select {
		case r.lines <- string(trimEOL(sc.Bytes())):
		case <-r.done:
			return
		}
		r.signal()
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		r.err = fmt.Errorf("stream: socket source: %w", err)
	}
}

func (r *socketReader) signal() {
	select {
	case r.ready <- struct{}{}:
	default:
	}
}

func (r *socketReader) PollNext(out ReaderOutput[string]) (InputStatus, error) {
	for range pollBatch {
		select {
		case line, ok := <-r.lines:
			if !ok {
				return EndOfInput, r.err
			}
			out.Collect(line)
		default:
			return NothingAvailable, nil
		}
	}
	return MoreAvailable, nil
}

func (r *socketReader) Available() <-chan struct{} { return r.ready }

func (r *socketReader) Close() error {
	close(r.done)
	err := r.conn.Close()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
