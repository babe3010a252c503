package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
)

// elect runs Elect in a goroutine; the channel gets its leadership.
func elect(t *testing.T, ctx context.Context, s *Services, component, address string) <-chan ha.Leadership {
	out := make(chan ha.Leadership, 1)
	go func() {
		l, err := s.Elect(ctx, component, address)
		if err != nil {
			t.Errorf("Elect %s: %v", address, err)
			close(out)
			return
		}
		out <- l
	}()
	return out
}

// contenders is the number of latch nodes of the component.
func contenders(t *testing.T, s *Services, component string) int {
	children, _, err := s.conn.Children(s.leaderDir(component))
	if err != nil {
		t.Fatal(err)
	}
	return len(sortLatches(children))
}

// TestPredecessorDeletion: three processes contend; when the leader
// resigns only the second in line wakes and leads, the third does not
// wake, and leads after the second resigns. Each leadership announces its
// own session.
func TestPredecessorDeletion(t *testing.T) {
	c := testConfig(t)
	a, b, cc := open(t, c), open(t, c), open(t, c)
	ctx := testContext(t)
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cc.Leader(ctx, ha.Dispatcher); err != nil || info != (ha.LeaderInfo{Address: "a:1", Session: la.Session()}) {
		t.Fatalf("Leader = %+v, %v; want a:1 with the session %s", info, err, la.Session())
	}
	eb := elect(t, ctx, b, ha.Dispatcher, "b:1")
	waitFor(t, "b contends", func() bool { return contenders(t, a, ha.Dispatcher) == 2 })
	ec := elect(t, ctx, cc, ha.Dispatcher, "c:1")
	waitFor(t, "c contends", func() bool { return contenders(t, a, ha.Dispatcher) == 3 })

	if err := la.Resign(); err != nil {
		t.Fatal(err)
	}
	if !closed(la.Lost()) {
		t.Error("Lost is open after Resign returned")
	}
	lb := <-eb
	select {
	case <-ec:
		t.Fatal("the third contender leads while the second does")
	default:
	}
	if n := cc.wakeups.Load(); n != 0 {
		t.Errorf("the third contender woke %d times on the first's resignation: a herd", n)
	}
	if n := b.wakeups.Load(); n != 1 {
		t.Errorf("the second contender woke %d times, want once", n)
	}
	if info, _ := a.Leader(ctx, ha.Dispatcher); info.Address != "b:1" || info.Session != lb.Session() || lb.Session() == la.Session() {
		t.Errorf("after a resigned: Leader = %+v, b's session %s, a's %s", info, lb.Session(), la.Session())
	}
	if err := lb.Resign(); err != nil {
		t.Fatal(err)
	}
	lc := <-ec
	if info, _ := a.Leader(ctx, ha.Dispatcher); info.Address != "c:1" || info.Session != lc.Session() {
		t.Errorf("after b resigned: Leader = %+v", info)
	}
	_ = lc.Resign()
	if _, err := a.Leader(ctx, ha.Dispatcher); !errors.Is(err, ha.ErrNoLeader) {
		t.Errorf("Leader with no one leading = %v, want ErrNoLeader", err)
	}
}

// TestManyContenders: ten contenders, five in each of two processes, all
// at once: exactly one leads at a time, and each leads in turn as the
// others resign.
func TestManyContenders(t *testing.T) {
	c := testConfig(t)
	procs := []*Services{open(t, c), open(t, c)}
	ctx := testContext(t)
	var leading atomic.Int32
	var wg sync.WaitGroup
	led := make([]bool, 10)
	for i := range led {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := procs[i%2]
			addr := fmt.Sprintf("c%d:1", i)
			l, err := s.Elect(ctx, ha.ResourceManager, addr)
			if err != nil {
				t.Error(err)
				return
			}
			if n := leading.Add(1); n != 1 {
				t.Errorf("%d leaders at once", n)
			}
			if info, err := procs[(i+1)%2].Leader(ctx, ha.ResourceManager); err != nil || info.Address != addr || info.Session != l.Session() {
				t.Errorf("%s leads but Leader = %+v, %v", addr, info, err)
			}
			led[i] = true
			time.Sleep(10 * time.Millisecond) // lead a while
			leading.Add(-1)
			if err := l.Resign(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, ok := range led {
		if !ok {
			t.Errorf("contender %d never led", i)
		}
	}
}

// TestLeaderRetrievalFollowsChanges: a watch in a third process sees no
// leader, then each leader in turn, then none again.
func TestLeaderRetrievalFollowsChanges(t *testing.T) {
	c := testConfig(t)
	a, b, r := open(t, c), open(t, c), open(t, c)
	ctx := testContext(t)
	w := r.WatchLeader(ctx, ha.Dispatcher)
	expect := func(want ha.LeaderInfo) {
		t.Helper()
		timeout := time.After(bound)
		for {
			select {
			case got, ok := <-w:
				if !ok {
					t.Fatal("the watch closed")
				}
				if got == want {
					return
				}
			case <-timeout:
				t.Fatalf("the watch did not deliver %+v", want)
			}
		}
	}
	expect(ha.LeaderInfo{})
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	expect(ha.LeaderInfo{Address: "a:1", Session: la.Session()})
	eb := elect(t, ctx, b, ha.Dispatcher, "b:1")
	_ = la.Resign()
	lb := <-eb
	expect(ha.LeaderInfo{Address: "b:1", Session: lb.Session()})
	_ = lb.Resign()
	expect(ha.LeaderInfo{})

	wctx, cancel := context.WithCancel(ctx)
	w2 := r.WatchLeader(wctx, ha.Dispatcher)
	cancel()
	for range w2 { // closed once its context is done
	}
}

// TestSuspendedConnectionEndsLeadership: by default a leader's Lost
// closes as soon as the connection is lost; the contender does not run
// again by itself, and once the connection is back its nodes are removed,
// so that another process leads.
func TestSuspendedConnectionEndsLeadership(t *testing.T) {
	c := testConfig(t)
	c.SessionTimeout = time.Minute // the session survives the outage
	a := open(t, c)
	ctx := testContext(t)
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	restartServer(t, 0, func() bool { return closed(la.Lost()) })
	waitFor(t, "a reconnects", func() bool { st, _ := a.watchState(); return st == connected })
	b := open(t, c)
	lb, err := b.Elect(ctx, ha.Dispatcher, "b:1")
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := a.Leader(ctx, ha.Dispatcher); info.Session != lb.Session() {
		t.Errorf("Leader = %+v, want b's", info)
	}
	if n := contenders(t, a, ha.Dispatcher); n != 1 {
		t.Errorf("%d contenders, want only b: a's latch stays", n)
	}
}

// TestToleratedSuspension: with tolerate-suspended-connections a
// leadership survives an outage shorter than the session timeout, and
// ends once the session timeout passes without a connection.
func TestToleratedSuspension(t *testing.T) {
	c := testConfig(t)
	c.TolerateSuspendedConnections = true
	a := open(t, c)
	ctx := testContext(t)
	w := a.WatchLeader(ctx, ha.Dispatcher)
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	restartServer(t, 0, func() bool { st, _ := a.watchState(); return st == suspended })
	waitFor(t, "a reconnects", func() bool { st, _ := a.watchState(); return st == connected })
	if closed(la.Lost()) {
		t.Fatal("a tolerated suspension ended the leadership")
	}
	if info, err := a.Leader(ctx, ha.Dispatcher); err != nil || info.Session != la.Session() {
		t.Errorf("after the reconnection Leader = %+v, %v", info, err)
	}
	// An outage past the session timeout loses the session.
	restartServer(t, 0, func() bool { return closed(la.Lost()) })
	waitFor(t, "the watch sees no leader, then a leader again", func() bool {
		select {
		case info := <-w:
			return info == ha.LeaderInfo{}
		default:
			return false
		}
	})
	waitFor(t, "a reconnects", func() bool { st, _ := a.watchState(); return st == connected })
	la2, err := a.Elect(ctx, ha.Dispatcher, "a:2")
	if err != nil {
		t.Fatal(err)
	}
	if la2.Session() == la.Session() {
		t.Error("a new leadership reuses the session of the lost one")
	}
}

// TestSessionExpiry: a client cut off from the servers past the session
// timeout loses its session, which the servers expire: the leadership
// ends (even with tolerate-suspended-connections), its nodes go with the
// session, another process leads, and the contender runs again only when
// it calls Elect, with a new session.
func TestSessionExpiry(t *testing.T) {
	c := testConfig(t)
	c.TolerateSuspendedConnections = true
	p := newProxy(t)
	c.Quorum = p.addr()
	a := open(t, c)
	c.Quorum = ensemble.Connect()
	b := open(t, c)
	ctx := testContext(t)
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	first := a.conn.SessionID()
	eb := elect(t, ctx, b, ha.Dispatcher, "b:1")
	p.setCut(true)
	lb := <-eb // the servers expired a's session: its latch is gone
	if lb == nil {
		t.FailNow()
	}
	waitFor(t, "a's leadership ends", func() bool { return closed(la.Lost()) })
	p.setCut(false)
	waitFor(t, "a has a new session", func() bool {
		st, _ := a.watchState()
		return st == connected && a.conn.SessionID() != first
	})
	if info, _ := a.Leader(ctx, ha.Dispatcher); info.Session != lb.Session() {
		t.Errorf("Leader = %+v, want b's", info)
	}
	ea := elect(t, ctx, a, ha.Dispatcher, "a:2")
	_ = lb.Resign()
	la2 := <-ea
	if la2 == nil || la2.Session() == la.Session() {
		t.Error("the new leadership has no new session")
	}
}

// TestCloseEndsEverything: Close ends leaderships, waiting Elects and
// watches, and the services refuse calls after.
func TestCloseEndsEverything(t *testing.T) {
	c := testConfig(t)
	a := open(t, c)
	ctx := testContext(t)
	la, err := a.Elect(ctx, ha.Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	w := a.WatchLeader(ctx, ha.Dispatcher)
	waiting := make(chan error, 1)
	go func() {
		_, err := a.Elect(ctx, ha.Dispatcher, "a:2")
		waiting <- err
	}()
	waitFor(t, "the second contends", func() bool { return contenders(t, a, ha.Dispatcher) == 2 })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !closed(la.Lost()) {
		t.Error("Close left the leadership")
	}
	if err := <-waiting; !errors.Is(err, ha.ErrClosed) {
		t.Errorf("a waiting Elect returned %v, want ErrClosed", err)
	}
	for range w {
	}
	if _, err := a.Elect(ctx, ha.Dispatcher, "a:3"); !errors.Is(err, ha.ErrClosed) {
		t.Errorf("Elect after Close = %v", err)
	}
	if _, err := a.Jobs().List(ctx); !errors.Is(err, ha.ErrClosed) {
		t.Errorf("List after Close = %v", err)
	}
	// Its session is closed: its nodes are gone at once.
	b := open(t, c)
	if n := contenders(t, b, ha.Dispatcher); n != 0 {
		t.Errorf("%d contenders left after Close", n)
	}
}

// TestNamespaces: clusters of different IDs on one quorum elect their
// leaders independently, under <root>/<cluster-id>, and the Mesos
// workers' node is reserved.
func TestNamespaces(t *testing.T) {
	c1 := testConfig(t)
	root := c1.ClusterID // the test's own
	c1.ClusterID, c1.Root = "/one", root
	c2 := c1
	c2.ClusterID = "two"
	one, two := open(t, c1), open(t, c2)
	ctx := testContext(t)
	if _, err := one.Elect(ctx, ha.Dispatcher, "one:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Elect(ctx, ha.Dispatcher, "two:1"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		root + "/one/leader/dispatcher/info",
		root + "/two/leader/dispatcher/info",
		root + "/one/mesos-workers",
	} {
		if ok, _, err := one.conn.Exists(p); err != nil || !ok {
			t.Errorf("%s: exists %v, %v", p, ok, err)
		}
	}
	if one.MesosWorkersPath() != root+"/one/mesos-workers" {
		t.Errorf("MesosWorkersPath = %s", one.MesosWorkersPath())
	}
	if _, _, err := one.conn.Get(root + "/one/leader/dispatcher/info"); errors.Is(err, zk.ErrNoNode) {
		t.Error("no info node")
	}
}
