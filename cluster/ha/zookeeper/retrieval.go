package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/cluster/ha/internal/latest"
)

// decodeInfo reads an info node's data.
func decodeInfo(data []byte) (ha.LeaderInfo, error) {
	var info ha.LeaderInfo
	if err := json.Unmarshal(data, &info); err != nil || info.Address == "" || info.Session == "" {
		return ha.LeaderInfo{}, fmt.Errorf("zookeeper: a leader info node holds %q, not an address and a session", data)
	}
	return info, nil
}

// Leader reads the component's info node.
func (s *Services) Leader(ctx context.Context, component string) (ha.LeaderInfo, error) {
	if err := checkName("component", component); err != nil {
		return ha.LeaderInfo{}, err
	}
	p := s.leaderDir(component) + "/" + infoName
	var data []byte
	err := s.retry(ctx, func() (err error) {
		data, _, err = s.conn.Get(p)
		return err
	})
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return ha.LeaderInfo{}, fmt.Errorf("%w of %s", ha.ErrNoLeader, component)
	case errors.Is(err, ha.ErrClosed):
		return ha.LeaderInfo{}, err
	case err != nil:
		return ha.LeaderInfo{}, fmt.Errorf("zookeeper: leader of %s: %w", component, err)
	}
	return decodeInfo(data)
}

// WatchLeader follows the component's info node with watches, set again
// after every reconnection. While the connection is suspended (unless
// tolerate-suspended-connections) or the session lost, the leader is
// unknown: the channel delivers the zero LeaderInfo, as Flink's retrieval
// does, and the leader again once the connection is back.
func (s *Services) WatchLeader(ctx context.Context, component string) <-chan ha.LeaderInfo {
	out := latest.New[ha.LeaderInfo]()
	if checkName("component", component) != nil || !s.spawn(func() { s.watchLeader(ctx, component, out) }) {
		out.Close()
	}
	return out.C()
}

func (s *Services) watchLeader(ctx context.Context, component string, out latest.Chan[ha.LeaderInfo]) {
	defer out.Close()
	p := s.leaderDir(component) + "/" + infoName
	first, last := true, ha.LeaderInfo{}
	send := func(v ha.LeaderInfo) {
		if first || v != last {
			out.Send(v)
			first, last = false, v
		}
	}
	for {
		st, changed := s.watchState()
		var ev <-chan zk.Event
		switch {
		case st == lost || st == suspended && !s.cfg.TolerateSuspendedConnections:
			send(ha.LeaderInfo{})
		case st == connected:
			var again bool
			ev, again = s.readInfo(p, send)
			if again {
				continue
			}
		}
		select {
		case <-ev:
		case <-changed:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// readInfo reads the info node and sets a watch on it; again is true if
// it was created between the read and the watch.
func (s *Services) readInfo(p string, send func(ha.LeaderInfo)) (ev <-chan zk.Event, again bool) {
	data, _, ev, err := s.conn.GetW(p)
	switch {
	case err == nil:
		info, derr := decodeInfo(data)
		if derr != nil {
			s.log.Warn("zookeeper: leader retrieval", "error", derr)
		}
		send(info)
		return ev, false
	case errors.Is(err, zk.ErrNoNode):
		ok, _, ev, err := s.conn.ExistsW(p)
		if err != nil {
			return nil, false // the state's change wakes the watch
		}
		if ok {
			return nil, true
		}
		send(ha.LeaderInfo{})
		return ev, false
	}
	return nil, false
}
