package task

import (
	"sync"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
)

type mailKind uint8

const (
	mailTrigger mailKind = iota + 1
	mailComplete
	mailAbort
	mailEvent
)

// mail is one message to the task from outside its goroutine.
type mail struct {
	kind    mailKind
	barrier *network.Barrier   // mailTrigger
	id      int64              // mailComplete, mailAbort
	opts    checkpoint.Options // mailComplete
	node    int                // mailEvent: the stream node the event is for
	event   []byte             // mailEvent
}

// mailbox carries messages to the task's goroutine in the order they were
// put: a split assignment put before a checkpoint's trigger is handled
// before the subtask takes part in that checkpoint. Its length is bounded
// by what the job master sends: a trigger and a notification per pending
// checkpoint and the coordinators' events, each a reaction to something the
// task did or to a checkpoint.
type mailbox struct {
	mu     sync.Mutex
	q      []mail
	signal chan struct{}
}

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

func (m *mailbox) put(x mail) {
	m.mu.Lock()
	m.q = append(m.q, x)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// take returns the queued messages, in order, and empties the box.
func (m *mailbox) take(dst []mail) []mail {
	m.mu.Lock()
	dst = append(dst, m.q...)
	clear(m.q)
	m.q = m.q[:0]
	m.mu.Unlock()
	return dst
}

// TriggerCheckpoint asks a source subtask to take part in the checkpoint b:
// snapshot its state and send b downstream, between two polls. Safe for
// concurrent use.
func (t *Task) TriggerCheckpoint(b *network.Barrier) {
	t.mail.put(mail{kind: mailTrigger, barrier: b})
}

// NotifyCheckpointComplete tells the subtask that checkpoint id is complete
// (its metadata is durable). With opts.Final or opts.Terminate, the subtask
// ends afterwards. Safe for concurrent use.
func (t *Task) NotifyCheckpointComplete(id int64, opts checkpoint.Options) {
	t.mail.put(mail{kind: mailComplete, id: id, opts: opts})
}

// NotifyCheckpointAborted tells the subtask that checkpoint id was aborted.
// Safe for concurrent use.
func (t *Task) NotifyCheckpointAborted(id int64) {
	t.mail.put(mail{kind: mailAbort, id: id})
}

// DeliverOperatorEvent hands an event of an operator's coordinator to the
// operator of stream node node in this subtask. Safe for concurrent use.
func (t *Task) DeliverOperatorEvent(node int, event []byte) {
	t.mail.put(mail{kind: mailEvent, node: node, event: event})
}
