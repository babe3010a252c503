// Package pace paces a source to a rate of records per second of
// processing time, without blocking: the source asks how many records it
// may emit now and, when none, waits on a channel that becomes ready when
// the next one is due.
package pace

import "time"

// Pacer paces one source reader. It is used from the reader's goroutine;
// its timer's callback only signals Ready.
type Pacer struct {
	rate    float64 // records per second
	start   time.Time
	emitted int64
	timer   *time.Timer
	ready   chan struct{}
}

// New returns a pacer for perSecond records per second (> 0).
func New(perSecond float64) *Pacer {
	p := &Pacer{rate: perSecond, ready: make(chan struct{}, 1)}
	p.timer = time.AfterFunc(time.Hour, func() {
		select {
		case p.ready <- struct{}{}:
		default:
		}
	})
	p.timer.Stop()
	return p
}

// Allow returns how many of want records may be emitted now; the caller
// reports what it emitted with Emitted. When it returns 0, the timer is set
// and Ready becomes ready when the next record is due.
func (p *Pacer) Allow(want int64) int64 {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	due := int64(time.Since(p.start).Seconds()*p.rate) + 1 - p.emitted
	if due > 0 {
		return min(want, due)
	}
	wait := time.Duration(float64(p.emitted)/p.rate*float64(time.Second)) - time.Since(p.start)
	p.timer.Reset(max(wait, time.Millisecond))
	return 0
}

// Emitted records that n records were emitted.
func (p *Pacer) Emitted(n int64) { p.emitted += n }

// Ready is ready when a record is due after Allow returned 0.
func (p *Pacer) Ready() <-chan struct{} { return p.ready }

// Stop stops the timer.
func (p *Pacer) Stop() { p.timer.Stop() }
