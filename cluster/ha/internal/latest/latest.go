package latest

// Chan is a channel that holds at most one value, the latest sent. It
// has one sender: Send and Close must not be called concurrently with
// each other; receivers may be many.
type Chan[T any] struct{ c chan T }

// New returns an empty channel.
func New[T any]() Chan[T] { return Chan[T]{make(chan T, 1)} }

// C is the channel receivers read.
func (l Chan[T]) C() <-chan T { return l.c }

// Send makes v the value the next receive gets, dropping one not yet
// received.
func (l Chan[T]) Send(v T) {
	for {
		select {
		case l.c <- v:
			return
		default:
		}
		select {
		case <-l.c: // drop the stale value
		default:
		}
	}
}

// Close closes the channel: receivers get the value not yet received, if
// any, and then see it closed.
func (l Chan[T]) Close() { close(l.c) }
