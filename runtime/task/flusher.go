package task

import "time"

// DefaultBufferTimeout is the buffer timeout of a Deployment that sets
// none: Flink's default of execution.buffer-timeout.
const DefaultBufferTimeout = 100 * time.Millisecond

// flushPeriod turns a Deployment's BufferTimeout into the period of the
// writers' flush in milliseconds (0: none) and whether every record is
// flushed.
func flushPeriod(timeout *time.Duration) (every int64, always bool) {
	d := DefaultBufferTimeout
	if timeout != nil {
		d = *timeout
	}
	switch {
	case d == 0:
		return 0, true
	case d < 0:
		return 0, false
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), false
}

// flushWriters sends the writers' partly filled segments. It is also the
// buffer timeout's flusher: a processing-time callback every flushEvery
// milliseconds, on the task's goroutine like every callback, so that
// nothing else touches the writers. Like every callback it does not run
// while a stop with a savepoint is under way (see wake), when nothing may
// leave the task after the savepoint's barrier, and it stops with the
// other timers, when the chain has finished or closes.
func (t *Task) flushWriters(int64) error {
	for _, w := range t.writers {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}
