package zookeeper

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
)

// latchName is how a contender's node is named: the client prefixes a
// protection GUID and the server appends the sequence number.
const latchName = "latch-"

// infoName is the node the leader announces itself in.
const infoName = "info"

// leaderDir is the node of the component's contenders.
func (s *Services) leaderDir(component string) string { return path.Join(s.base, "leader", component) }

// leadership is one leadership of a component.
type leadership struct {
	s    *Services
	node string // the latch node
	info ha.LeaderInfo
	dir  string
	at   mark

	mu      sync.Mutex
	lost    chan struct{}
	ended   bool
	resign  bool
	release sync.Once
}

func (l *leadership) Session() string       { return l.info.Session }
func (l *leadership) Lost() <-chan struct{} { return l.lost }

// end closes Lost, once; it reports whether this call ended it.
func (l *leadership) end(why string, resign bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return false
	}
	l.ended, l.resign = true, resign
	close(l.lost)
	l.s.log.Info("zookeeper: leadership ended", "node", l.node, "session", l.info.Session, "why", why)
	return true
}

// Resign ends the leadership and removes its nodes; if the connection is
// down, a goroutine removes them once it is back (or the session's end
// removes them), and the error says so.
func (l *leadership) Resign() error {
	l.end("resigned", true)
	err := l.s.releaseNodes(l)
	if err == nil || l.s.isClosed() {
		return nil
	}
	l.s.spawn(func() { l.s.releaseLater(l) })
	return fmt.Errorf("zookeeper: resign %s: its nodes are removed once the connection is back: %w", l.node, err)
}

// Elect waits until the caller is the lowest of the component's
// contenders, watching only its predecessor, and then announces address
// with a new leader session in the component's info node.
func (s *Services) Elect(ctx context.Context, component, address string) (ha.Leadership, error) {
	if err := checkName("component", component); err != nil {
		return nil, err
	}
	dir := s.leaderDir(component)
	if err := s.ensure(ctx, dir); err != nil {
		return nil, err
	}
	var node string // our latch node, once created
	// The latch node is named after a token of this call, so that one whose
	// creation was applied but not acknowledged (a connection lost in
	// between) is found again rather than left to block the election.
	own := "_c_" + strings.ToLower(rand.Text()) + "-"
	fail := func(err error) (ha.Leadership, error) {
		if node != "" {
			n := node
			s.spawn(func() { s.removeLater(n) })
		} else {
			s.spawn(func() { s.removeOwnLater(dir, own) })
		}
		if errors.Is(err, ha.ErrClosed) {
			return nil, ha.ErrClosed
		}
		return nil, fmt.Errorf("zookeeper: elect %s: %w", component, err)
	}
	for {
		if err := s.awaitConnected(ctx); err != nil {
			return fail(err)
		}
		at := s.markNow()
		l, pred, err := s.step(dir, own, &node, address, at)
		switch {
		case err != nil && retriable(err):
			if err := s.pause(ctx); err != nil {
				return fail(err)
			}
			continue
		case err != nil:
			return fail(err)
		case l != nil:
			s.log.Info("zookeeper: elected", "component", component, "node", node, "session", l.info.Session, "address", address)
			return l, nil
		case pred == "":
			continue
		}
		ok, _, ev, err := s.conn.ExistsW(pred)
		switch {
		case err != nil:
			// Whatever failed, wait before the next look, so that a failing
			// call does not spin.
			s.log.Debug("zookeeper: watching the predecessor", "component", component, "node", pred, "error", err)
			if err := s.pause(ctx); err != nil {
				return fail(err)
			}
			continue
		case !ok:
			continue // gone already: look again
		}
		select {
		case e := <-ev:
			if e.Type == zk.EventNodeDeleted {
				s.wakeups.Add(1)
			}
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-s.done:
			return fail(ha.ErrClosed)
		}
	}
}

// step is one round of the election: it creates the latch node if need
// be, and either leads (l) or names the predecessor to watch (pred; ""
// to look again at once).
func (s *Services) step(dir, own string, node *string, address string, at mark) (l *leadership, pred string, err error) {
	if *node == "" {
		// A node of this call may exist already: created before the
		// connection was lost, its answer with it.
		children, _, err := s.conn.Children(dir)
		if err != nil {
			return nil, "", err
		}
		if i := slices.IndexFunc(children, func(c string) bool { return strings.HasPrefix(c, own) }); i >= 0 {
			*node = dir + "/" + children[i]
		} else {
			n, err := s.conn.Create(dir+"/"+own+latchName, nil, zk.FlagEphemeral|zk.FlagSequence, s.acl)
			if err != nil {
				return nil, "", err
			}
			*node = n
		}
	}
	children, _, err := s.conn.Children(dir)
	if err != nil {
		return nil, "", err
	}
	latches := sortLatches(children)
	i := slices.Index(latches, path.Base(*node))
	switch {
	case i < 0: // gone with an expired session: run again
		*node = ""
		return nil, "", nil
	case i > 0:
		return nil, dir + "/" + latches[i-1], nil
	}
	l, err = s.lead(dir, *node, address, at)
	return l, "", err
}

// sortLatches returns the latch nodes among children, lowest sequence
// number first.
func sortLatches(children []string) []string {
	var out []string
	for _, c := range children {
		if strings.Contains(c, latchName) {
			out = append(out, c)
		}
	}
	seq := func(n string) string { return n[strings.LastIndex(n, latchName)+len(latchName):] }
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(seq(a), seq(b)) })
	return out
}

// lead announces the leadership: the info node, ephemeral, created in one
// transaction with the check that the latch node still exists, so that a
// contender that is no longer one never announces itself.
func (s *Services) lead(dir, node, address string, at mark) (*leadership, error) {
	info := ha.LeaderInfo{Address: address, Session: rand.Text()}
	data, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	infoPath := dir + "/" + infoName
	check := &zk.CheckVersionRequest{Path: node, Version: -1}
	create := &zk.CreateRequest{Path: infoPath, Data: data, Acl: s.acl, Flags: zk.FlagEphemeral}
	err = multi(s.conn.Multi(check, create))
	if errors.Is(err, zk.ErrNodeExists) {
		// A former leader's whose latch node is gone: replace it.
		err = multi(s.conn.Multi(check, &zk.DeleteRequest{Path: infoPath, Version: -1}, create))
	}
	if err != nil {
		return nil, err
	}
	l := &leadership{s: s, node: node, info: info, dir: dir, at: at, lost: make(chan struct{})}
	if !s.spawn(func() { s.hold(l) }) {
		l.end("the services are closed", false)
	}
	return l, nil
}

// multi is the first error of a transaction.
func multi(res []zk.MultiResponse, err error) error {
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}

// hold ends the leadership when the connection is suspended (unless
// tolerated) or lost, when its latch node is deleted, or when the
// services close; then it removes the nodes left.
func (s *Services) hold(l *leadership) {
	var nodeEv <-chan zk.Event
	for {
		s.mu.Lock()
		why, changed, st := s.lostSince(l.at), s.changed, s.state
		s.mu.Unlock()
		if why != "" {
			l.end(why, false)
			break
		}
		if nodeEv == nil && st == connected {
			ok, _, ev, err := s.conn.ExistsW(l.node)
			if err == nil && !ok {
				l.end("its latch node was deleted", false)
				break
			}
			nodeEv = ev // nil on error: the state's change wakes us
		}
		select {
		case ev := <-nodeEv:
			nodeEv = nil
			if ev.Type == zk.EventNodeDeleted {
				l.end("its latch node was deleted", false)
			}
		case <-changed:
		case <-l.lost:
		case <-s.done:
		}
		if l.isEnded() {
			break
		}
	}
	l.mu.Lock()
	resigned := l.resign
	l.mu.Unlock()
	if !resigned {
		s.releaseLater(l)
	}
}

func (l *leadership) isEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// releaseNodes removes the leadership's info node, if it still announces
// this leadership, and its latch node, in one transaction.
func (s *Services) releaseNodes(l *leadership) error {
	infoPath := l.dir + "/" + infoName
	ops := []any{}
	data, stat, err := s.conn.Get(infoPath)
	switch {
	case err == nil:
		var cur ha.LeaderInfo
		if json.Unmarshal(data, &cur) == nil && cur.Session == l.info.Session {
			ops = append(ops, &zk.DeleteRequest{Path: infoPath, Version: stat.Version})
		}
	case !errors.Is(err, zk.ErrNoNode):
		return err
	}
	ops = append(ops, &zk.DeleteRequest{Path: l.node, Version: -1})
	err = multi(s.conn.Multi(ops...))
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) {
		err = s.conn.Delete(l.node, -1)
	}
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}

// releaseLater removes the leadership's nodes, again while the connection
// is down, until it succeeds or the services close (which removes them
// with the session). A LOST taken after the session timeout may be
// followed by a reconnection to the same session, whose nodes are still
// there: so it tries even then. Latch paths are never reused (a random
// GUID and a sequence number), and the info node is deleted only if it
// announces this leadership, so a late removal never touches another's.
func (s *Services) releaseLater(l *leadership) {
	l.release.Do(func() {
		for {
			if s.awaitConnected(context.Background()) != nil {
				return
			}
			if err := s.releaseNodes(l); err == nil || !retriable(err) {
				if err != nil {
					s.log.Warn("zookeeper: removing a former leadership's nodes", "node", l.node, "error", err)
				}
				return
			}
			if s.pause(context.Background()) != nil {
				return
			}
		}
	})
}

// removeLater removes the latch node of a contender that gave up, as
// releaseLater does.
// removeOwnLater removes, once connected, the latch nodes under dir whose
// names begin with own: those of an Elect that failed before it learnt
// its node's name.
func (s *Services) removeOwnLater(dir, own string) {
	for {
		if s.awaitConnected(context.Background()) != nil {
			return
		}
		children, _, err := s.conn.Children(dir)
		if err == nil {
			for _, c := range children {
				if strings.HasPrefix(c, own) {
					s.removeLater(dir + "/" + c)
				}
			}
			return
		}
		if !retriable(err) || s.pause(context.Background()) != nil {
			return
		}
	}
}

func (s *Services) removeLater(node string) {
	for {
		if s.awaitConnected(context.Background()) != nil {
			return
		}
		err := s.conn.Delete(node, -1)
		if err == nil || errors.Is(err, zk.ErrNoNode) || !retriable(err) {
			return
		}
		if s.pause(context.Background()) != nil {
			return
		}
	}
}
