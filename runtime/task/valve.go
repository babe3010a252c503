package task

import (
	"github.com/runnel-io/runnel/runtime/operator"
)

// watermarker is what a valve feeds: the watermark methods of an input of
// the chain's head.
type watermarker interface {
	EmitWatermark(wm int64) error
	EmitWatermarkStatus(idle bool) error
}

// valve combines the watermarks and statuses of the channels of one logical
// input into the input's watermark and status, as Flink's
// StatusWatermarkValve:
//
//   - the input's watermark is the minimum over its aligned channels: the
//     active (not idle, not ended) channels whose watermark has reached the
//     last one emitted;
//   - the input is idle when all its channels are idle or ended;
//   - the emitted watermark never decreases (TestValveNeverGoesBackwards).
type valve struct {
	out      watermarker
	channels []channelState
	emitted  int64
	idle     bool
}

type channelState struct {
	wm      int64
	idle    bool
	ended   bool
	aligned bool
}

func newValve(out watermarker, channels int) *valve {
	v := &valve{out: out, channels: make([]channelState, channels), emitted: operator.MinWatermark}
	for i := range v.channels {
		v.channels[i] = channelState{wm: operator.MinWatermark, aligned: true}
	}
	return v
}

func (v *valve) watermark(ch int, wm int64) error {
	c := &v.channels[ch]
	if c.idle || c.ended || v.idle || wm <= c.wm {
		return nil
	}
	c.wm = wm
	if !c.aligned && wm >= v.emitted {
		c.aligned = true
	}
	return v.advance()
}

func (v *valve) status(ch int, idle bool) error {
	c := &v.channels[ch]
	if c.ended || c.idle == idle {
		return nil
	}
	c.idle = idle
	if idle {
		c.aligned = false
		if v.allInactive() {
			v.idle = true
			return v.out.EmitWatermarkStatus(true)
		}
		return v.advance()
	}
	c.aligned = c.wm >= v.emitted
	if v.idle {
		v.idle = false
		return v.out.EmitWatermarkStatus(false)
	}
	return nil
}

// end marks channel ch ended: it no longer holds the watermark back.
func (v *valve) end(ch int) error {
	c := &v.channels[ch]
	if c.ended {
		return nil
	}
	c.ended, c.aligned = true, false
	if v.allInactive() {
		return nil
	}
	return v.advance()
}

func (v *valve) allInactive() bool {
	for _, c := range v.channels {
		if !c.idle && !c.ended {
			return false
		}
	}
	return true
}

// advance emits the minimum watermark of the aligned channels if it is
// above the last one emitted.
func (v *valve) advance() error {
	min, any := int64(operator.MaxWatermark), false
	for _, c := range v.channels {
		if c.aligned && !c.idle && !c.ended {
			min, any = minInt(min, c.wm), true
		}
	}
	if !any || min <= v.emitted {
		return nil
	}
	v.emitted = min
	return v.out.EmitWatermark(min)
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
