package zookeeper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
)

// pointers keeps records as files of the storage, each pointed to by the
// node <dir>/<id> whose data is the file's pointer (Flink's
// ZooKeeperStateHandleStore). A new version is written to a new file
// before the node points to it, and a file is deleted only once no node
// points to it: a node never points to a missing or partial file.
type pointers struct {
	s    *Services
	dir  string
	file string // the files' name prefix
}

type record struct {
	id    string
	data  []byte
	czxid int64 // when the node was created: the record's age
}

func (p pointers) node(id string) string { return p.dir + "/" + id }

func (p pointers) put(ctx context.Context, id string, data []byte) error {
	if err := checkName("job ID", id); err != nil {
		return err
	}
	if err := p.s.ensure(ctx, p.dir); err != nil {
		return err
	}
	ptr, err := p.s.storage.Write(ctx, p.file+"-"+id, data)
	if err != nil {
		return err
	}
	var old []byte
	err = p.s.retry(ctx, func() error {
		for {
			prev, stat, err := p.s.conn.Get(p.node(id))
			if errors.Is(err, zk.ErrNoNode) {
				_, err = p.s.conn.Create(p.node(id), []byte(ptr), 0, p.s.acl)
				if errors.Is(err, zk.ErrNodeExists) {
					continue
				}
				return err
			}
			if err != nil {
				return err
			}
			if _, err = p.s.conn.Set(p.node(id), []byte(ptr), stat.Version); errors.Is(err, zk.ErrBadVersion) {
				continue
			}
			old = prev
			return err
		}
	})
	if err != nil {
		// After a connection error the write may have been applied: the
		// file goes only if the node is known not to point at it.
		if cur, _, gerr := p.s.conn.Get(p.node(id)); errors.Is(gerr, zk.ErrNoNode) || (gerr == nil && string(cur) != ptr) {
			_ = p.s.storage.Delete(ctx, ptr)
		}
		return p.wrap("put", id, err)
	}
	if old != nil && string(old) != ptr {
		if err := p.s.storage.Delete(ctx, string(old)); err != nil {
			p.s.log.Warn("zookeeper: deleting a replaced file", "pointer", string(old), "error", err)
		}
	}
	return nil
}

func (p pointers) wrap(op, id string, err error) error {
	if errors.Is(err, ha.ErrClosed) {
		return err
	}
	return fmt.Errorf("zookeeper: %s %s: %w", op, p.node(id), err)
}

// get returns the record; ok is false if there is none.
func (p pointers) get(ctx context.Context, id string) (r record, ok bool, err error) {
	if err := checkName("job ID", id); err != nil {
		return record{}, false, err
	}
	var ptr []byte
	var stat *zk.Stat
	err = p.s.retry(ctx, func() (err error) {
		ptr, stat, err = p.s.conn.Get(p.node(id))
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, p.wrap("get", id, err)
	}
	data, err := p.s.storage.Read(ctx, string(ptr))
	if err != nil {
		return record{}, false, p.wrap("get", id, err)
	}
	return record{id, data, stat.Czxid}, true, nil
}

// list returns every record, oldest first.
func (p pointers) list(ctx context.Context) ([]record, error) {
	var ids []string
	err := p.s.retry(ctx, func() (err error) {
		ids, _, err = p.s.conn.Children(p.dir)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, p.wrap("list", "", err)
	}
	var out []record
	for _, id := range ids {
		r, ok, err := p.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok { // else removed since
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b record) int { return cmp.Compare(a.czxid, b.czxid) })
	return out, nil
}

// remove deletes the node, then the file it pointed to.
func (p pointers) remove(ctx context.Context, id string) error {
	if err := checkName("job ID", id); err != nil {
		return err
	}
	var ptr []byte
	err := p.s.retry(ctx, func() error {
		for {
			data, stat, err := p.s.conn.Get(p.node(id))
			if err != nil {
				return err
			}
			if err = p.s.conn.Delete(p.node(id), stat.Version); errors.Is(err, zk.ErrBadVersion) {
				continue
			}
			ptr = data
			return err
		}
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return p.wrap("remove", id, err)
	}
	return p.s.storage.Delete(ctx, string(ptr))
}

// Jobs keeps the submissions as files under high-availability.storageDir
// pointed to by <base>/jobgraphs/<jobID>.
func (s *Services) Jobs() ha.JobStore {
	return jobStore{pointers{s, path.Join(s.base, "jobgraphs"), "submittedJobGraph"}}
}

type jobStore struct{ p pointers }

func (j jobStore) Put(ctx context.Context, r ha.JobRecord) error {
	return j.p.put(ctx, r.ID, r.Submission)
}

func (j jobStore) Remove(ctx context.Context, id string) error { return j.p.remove(ctx, id) }

func (j jobStore) List(ctx context.Context) ([]ha.JobRecord, error) {
	rs, err := j.p.list(ctx)
	var out []ha.JobRecord
	for _, r := range rs {
		out = append(out, ha.JobRecord{ID: r.id, Submission: r.data})
	}
	return out, err
}

// Results keeps the results as files pointed to by
// <base>/job-results/<jobID>.
func (s *Services) Results() ha.JobResultStore {
	return resultStore{pointers{s, path.Join(s.base, "job-results"), "jobResult"}}
}

type resultStore struct{ p pointers }

func (j resultStore) Put(ctx context.Context, r ha.JobResult) error {
	return j.p.put(ctx, r.ID, r.Result)
}

func (j resultStore) Get(ctx context.Context, id string) (ha.JobResult, bool, error) {
	r, ok, err := j.p.get(ctx, id)
	return ha.JobResult{ID: r.id, Result: r.data}, ok, err
}

func (j resultStore) Remove(ctx context.Context, id string) error { return j.p.remove(ctx, id) }

func (j resultStore) List(ctx context.Context) ([]ha.JobResult, error) {
	rs, err := j.p.list(ctx)
	var out []ha.JobResult
	for _, r := range rs {
		out = append(out, ha.JobResult{ID: r.id, Result: r.data})
	}
	return out, err
}

// Checkpoints keeps the job's checkpoints as nodes
// <base>/checkpoints/<jobID>/<ID, zero-padded to 19 digits> holding each
// checkpoint's location.
func (s *Services) Checkpoints(jobID string) ha.CheckpointStore {
	return &checkpointStore{s: s, job: jobID, dir: path.Join(s.base, "checkpoints", jobID)}
}

type checkpointStore struct {
	s        *Services
	job, dir string
}

func cpName(id int64) string { return fmt.Sprintf("%019d", id) }

func (c *checkpointStore) wrap(op string, err error) error {
	if errors.Is(err, ha.ErrClosed) {
		return err
	}
	return fmt.Errorf("zookeeper: %s checkpoints of %s: %w", op, c.job, err)
}

func (c *checkpointStore) Add(ctx context.Context, id int64, location string) error {
	if err := checkName("job ID", c.job); err != nil {
		return err
	}
	if id < 0 {
		return fmt.Errorf("zookeeper: checkpoint ID %d is negative", id)
	}
	if err := c.s.ensure(ctx, c.dir); err != nil {
		return err
	}
	node := c.dir + "/" + cpName(id)
	err := c.s.retry(ctx, func() error {
		_, err := c.s.conn.Create(node, []byte(location), 0, c.s.acl)
		if errors.Is(err, zk.ErrNodeExists) {
			_, err = c.s.conn.Set(node, []byte(location), -1)
		}
		return err
	})
	if err != nil {
		return c.wrap("add to", err)
	}
	return nil
}

// ids returns the checkpoint IDs stored, ascending.
func (c *checkpointStore) ids(ctx context.Context) ([]int64, error) {
	if err := checkName("job ID", c.job); err != nil {
		return nil, err
	}
	var names []string
	err := c.s.retry(ctx, func() (err error) {
		names, _, err = c.s.conn.Children(c.dir)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap("list", err)
	}
	var ids []int64
	for _, n := range names {
		if id, err := strconv.ParseInt(n, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// read returns a checkpoint's location; ok is false if it was removed.
func (c *checkpointStore) read(ctx context.Context, id int64) (string, bool, error) {
	var data []byte
	err := c.s.retry(ctx, func() (err error) {
		data, _, err = c.s.conn.Get(c.dir + "/" + cpName(id))
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return "", false, nil
	}
	if err != nil {
		return "", false, c.wrap("read", err)
	}
	return string(data), true, nil
}

func (c *checkpointStore) Latest(ctx context.Context) (ha.Checkpoint, bool, error) {
	for {
		ids, err := c.ids(ctx)
		if err != nil || len(ids) == 0 {
			return ha.Checkpoint{}, false, err
		}
		id := ids[len(ids)-1]
		loc, ok, err := c.read(ctx, id)
		if err != nil {
			return ha.Checkpoint{}, false, err
		}
		if ok { // else removed since: look again
			return ha.Checkpoint{ID: id, Location: loc}, true, nil
		}
	}
}

func (c *checkpointStore) All(ctx context.Context) ([]ha.Checkpoint, error) {
	ids, err := c.ids(ctx)
	if err != nil {
		return nil, err
	}
	var out []ha.Checkpoint
	for _, id := range ids {
		loc, ok, err := c.read(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ha.Checkpoint{ID: id, Location: loc})
		}
	}
	return out, nil
}

func (c *checkpointStore) Remove(ctx context.Context, id int64) error {
	if err := checkName("job ID", c.job); err != nil {
		return err
	}
	err := c.s.retry(ctx, func() error { return c.s.conn.Delete(c.dir+"/"+cpName(id), -1) })
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return c.wrap("remove from", err)
	}
	return nil
}

// CheckpointIDs counts the job's IDs in <base>/checkpoint-counter/<jobID>,
// the next ID in decimal, changed only by compare-and-set of the node's
// version (Curator's SharedCount). An increment retried after a lost
// connection may skip an ID, never hand one out twice.
func (s *Services) CheckpointIDs(jobID string) ha.CheckpointIDCounter {
	return &counter{s: s, job: jobID, node: path.Join(s.base, "checkpoint-counter", jobID)}
}

type counter struct {
	s         *Services
	job, node string
}

// update applies next to the counter's value by compare-and-set until it
// wins, and returns the value it saw; next returns the value to set, or
// false to leave it.
func (c *counter) update(ctx context.Context, next func(int64) (int64, bool)) (int64, error) {
	if err := checkName("job ID", c.job); err != nil {
		return 0, err
	}
	if err := c.s.ensure(ctx, path.Dir(c.node)); err != nil {
		return 0, err
	}
	var seen int64
	err := c.s.retry(ctx, func() error {
		for {
			data, stat, err := c.s.conn.Get(c.node)
			if errors.Is(err, zk.ErrNoNode) {
				if _, err := c.s.conn.Create(c.node, []byte("1"), 0, c.s.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			v, err := strconv.ParseInt(string(data), 10, 64)
			if err != nil {
				return fmt.Errorf("the node holds %q, not a number", data)
			}
			seen = v
			n, set := next(v)
			if !set {
				return nil
			}
			_, err = c.s.conn.Set(c.node, []byte(strconv.FormatInt(n, 10)), stat.Version)
			if errors.Is(err, zk.ErrBadVersion) {
				continue
			}
			return err
		}
	})
	if err != nil && !errors.Is(err, ha.ErrClosed) {
		err = fmt.Errorf("zookeeper: checkpoint ID counter %s: %w", c.node, err)
	}
	return seen, err
}

func (c *counter) GetAndIncrement(ctx context.Context) (int64, error) {
	return c.update(ctx, func(v int64) (int64, bool) { return v + 1, true })
}

func (c *counter) SetAtLeast(ctx context.Context, id int64) error {
	_, err := c.update(ctx, func(v int64) (int64, bool) { return id, v < id })
	return err
}
