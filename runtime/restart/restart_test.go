package restart

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	errBoom = errors.New("boom")
)

// step is one failure of a scripted sequence: when it happens (after t0)
// and what the strategy must answer.
type step struct {
	at    time.Duration
	delay time.Duration
	ok    bool
}

func run(t *testing.T, s Strategy, steps []step) {
	t.Helper()
	for i, st := range steps {
		delay, ok := s.OnFailure(t0.Add(st.at), errBoom)
		if ok != st.ok || (ok && delay != st.delay) {
			t.Fatalf("%s: failure %d at +%v: got (%v, %v), want (%v, %v)", s, i, st.at, delay, ok, st.delay, st.ok)
		}
	}
}

func TestNone(t *testing.T) {
	s := Default(false).New()
	run(t, s, []step{{at: 0}, {at: time.Hour}})
	if got := s.String(); got != "none (no restarts)" {
		t.Fatalf("String() = %q", got)
	}
}

func TestFixedDelay(t *testing.T) {
	c := Defaults()
	c.Type = FixedDelay
	c.FixedDelay = FixedDelayConfig{Attempts: 3, Delay: 10 * time.Second}
	s := c.New()
	if got := s.String(); got != "fixed-delay (3 attempts, 10s delay)" {
		t.Fatalf("String() = %q", got)
	}
	run(t, s, []step{
		{at: 0, delay: 10 * time.Second, ok: true},
		{at: time.Minute, delay: 10 * time.Second, ok: true},
		{at: 24 * time.Hour, delay: 10 * time.Second, ok: true}, // attempts never come back
		{at: 48 * time.Hour},
		{at: 72 * time.Hour},
	})

	c.FixedDelay.Attempts = 0
	run(t, c.New(), []step{{at: 0}})

	// Flink's default: restart-strategy.fixed-delay.attempts = 1.
	d := Defaults()
	d.Type = FixedDelay
	run(t, d.New(), []step{{at: 0, delay: time.Second, ok: true}, {at: time.Hour}})
	if got := d.New().String(); got != "fixed-delay (1 attempt, 1s delay)" {
		t.Fatalf("String() = %q", got)
	}
}

func TestDefaultWithCheckpointing(t *testing.T) {
	c := Default(true)
	want := ExponentialDelayConfig{
		InitialBackoff: time.Second, MaxBackoff: time.Minute, BackoffMultiplier: 2,
		ResetBackoffThreshold: time.Hour, JitterFactor: 0.1, AttemptsBeforeResetBackoff: Unlimited,
	}
	if c.Type != ExponentialDelay || c.ExponentialDelay != want {
		t.Fatalf("Default(true) = %+v", c)
	}
	if d := Defaults(); c.ExponentialDelay != d.ExponentialDelay {
		t.Fatalf("Default(true) = %+v, not the keys' defaults %+v", c.ExponentialDelay, d.ExponentialDelay)
	}
	s := c.NewWithRand(rand.New(rand.NewPCG(1, 2)))
	if got := s.String(); got != "exponential-delay (1s initial backoff, 1min max backoff, multiplier 2, reset after 1h, jitter 0.1)" {
		t.Fatalf("String() = %q", got)
	}
	// Failures 1 s after each restart: 1 s, 2 s, 4 s ... up to 1 min, each
	// within ±10%, and never refused.
	now := t0
	for i := range 10000 {
		d, ok := s.OnFailure(now, errBoom)
		base := time.Minute
		if i < 6 {
			base = time.Second << i
		}
		lo, hi := max(base*9/10, time.Second), min(base*11/10, time.Minute)
		if !ok || d < lo || d > hi {
			t.Fatalf("failure %d: (%v, %v), want a delay in [%v, %v]", i, d, ok, lo, hi)
		}
		now = now.Add(d + time.Second)
	}
	// A failure an hour after the last restart starts again from 1 s.
	if d, ok := s.OnFailure(now.Add(time.Hour), errBoom); !ok || d > 1100*time.Millisecond {
		t.Fatalf("after an hour: (%v, %v), want about 1s", d, ok)
	}
	// Resolve keeps a set type and fills an unset one.
	if got := (Config{Type: None}).Resolve(true); got.Type != None {
		t.Fatalf("Resolve replaced a set type: %+v", got)
	}
	if got := Defaults().Resolve(true); !reflect.DeepEqual(got, c) {
		t.Fatalf("Resolve(true) = %+v", got)
	}
	if got := Defaults().Resolve(false); got.Type != None {
		t.Fatalf("Resolve(false) = %+v", got)
	}
}

func TestFailureRate(t *testing.T) {
	c := Defaults()
	c.Type = FailureRate
	c.FailureRate = FailureRateConfig{MaxFailuresPerInterval: 2, Interval: time.Minute, Delay: 5 * time.Second}
	if got := c.New().String(); got != "failure-rate (at most 2 restarts per 1min, 5s delay)" {
		t.Fatalf("String() = %q", got)
	}
	ok := step{delay: 5 * time.Second, ok: true}
	at := func(d time.Duration, s step) step { s.at = d; return s }
	for name, steps := range map[string][]step{
		"third within the interval": {at(0, ok), at(10*time.Second, ok), at(20*time.Second, step{})},
		"spread out": {
			at(0, ok), at(10*time.Second, ok), at(61*time.Second, ok), // 0 left the window
			at(100*time.Second, ok), // window (40s, 100s]: 61s, 100s
			at(200*time.Second, ok), at(210*time.Second, ok), at(300*time.Second, ok),
		},
		"window is closed": {at(0, ok), at(30*time.Second, ok), at(60*time.Second, step{})},
		"just outside":     {at(0, ok), at(30*time.Second, ok), at(60*time.Second+time.Millisecond, ok)},
		"boundary later":   {at(0, ok), at(10*time.Second, ok), at(61*time.Second, ok), at(70*time.Second, step{})},
	} {
		t.Run(name, func(t *testing.T) { run(t, c.New(), steps) })
	}

	// Flink's defaults: one restart per minute.
	d := Defaults()
	d.Type = FailureRate
	run(t, d.New(), []step{
		{at: 0, delay: time.Second, ok: true},
		{at: 61 * time.Second, delay: time.Second, ok: true},
		{at: 90 * time.Second},
	})
}

func TestExponentialDelay(t *testing.T) {
	c := Defaults()
	c.Type = ExponentialDelay
	c.ExponentialDelay = ExponentialDelayConfig{
		InitialBackoff: time.Second, MaxBackoff: 10 * time.Second, BackoffMultiplier: 2,
		ResetBackoffThreshold: time.Hour, JitterFactor: 0, AttemptsBeforeResetBackoff: Unlimited,
	}
	if got := c.New().String(); got != "exponential-delay (1s initial backoff, 10s max backoff, multiplier 2, reset after 1h, jitter 0)" {
		t.Fatalf("String() = %q", got)
	}
	const ms = time.Millisecond
	run(t, c.New(), []step{
		{at: 0, delay: time.Second, ok: true},                   // restart due at 1s
		{at: 500 * ms, delay: 500 * ms, ok: true},               // joins the pending restart
		{at: time.Second, delay: 0, ok: true},                   // still the same one, due now
		{at: 2 * time.Second, delay: 2 * time.Second, ok: true}, // attempt 1, due at 4s
		{at: 5 * time.Second, delay: 4 * time.Second, ok: true}, // due at 9s
		{at: 10 * time.Second, delay: 8 * time.Second, ok: true},
		{at: 20 * time.Second, delay: 10 * time.Second, ok: true}, // capped, due at 30s
		{at: 31 * time.Second, delay: 10 * time.Second, ok: true}, // due at 41s
		// Less than the threshold after the last restart: no reset.
		{at: 41*time.Second + 59*time.Minute, delay: 10 * time.Second, ok: true}, // due at 59m51s
		// The threshold after it: back to the initial backoff.
		{at: 51*time.Second + 2*time.Hour, delay: time.Second, ok: true},
		{at: 53*time.Second + 2*time.Hour, delay: 2 * time.Second, ok: true},
	})

	c.ExponentialDelay.AttemptsBeforeResetBackoff = 2
	if got := c.New().String(); !strings.HasSuffix(got, ", 2 attempts before reset)") {
		t.Fatalf("String() = %q", got)
	}
	run(t, c.New(), []step{
		{at: 0, delay: time.Second, ok: true},
		{at: 2 * time.Second, delay: 2 * time.Second, ok: true},
		{at: 5 * time.Second},                             // a third attempt without reset
		{at: 6 * time.Second},                             // joins the refused one
		{at: 2 * time.Hour, delay: time.Second, ok: true}, // reset: attempts start again
	})

	// Flink's defaults.
	d := Defaults()
	d.Type = ExponentialDelay
	d.ExponentialDelay.JitterFactor = 0
	run(t, d.New(), []step{
		{at: 0, delay: time.Second, ok: true},
		{at: 2 * time.Second, delay: 2 * time.Second, ok: true},
		{at: 5 * time.Second, delay: 4 * time.Second, ok: true},
	})
}

func TestExponentialDelayJitter(t *testing.T) {
	c := Defaults()
	c.Type = ExponentialDelay
	c.ExponentialDelay.JitterFactor = 0.25
	sequence := func(seed uint64) []time.Duration {
		s := c.NewWithRand(rand.New(rand.NewPCG(seed, 1)))
		var out []time.Duration
		now := t0
		for i := range 12 {
			delay, ok := s.OnFailure(now, errBoom)
			if !ok {
				t.Fatalf("failure %d refused", i)
			}
			base := min(time.Second<<i, time.Minute)
			lo, hi := time.Duration(float64(base)*0.75), time.Duration(float64(base)*1.25)
			if delay < max(lo, time.Second) || delay > min(hi, time.Minute) {
				t.Fatalf("attempt %d: delay %v outside [%v, %v] ∩ [1s, 1min]", i, delay, lo, hi)
			}
			out = append(out, delay)
			now = now.Add(delay + time.Second)
		}
		return out
	}
	a, b := sequence(42), sequence(42)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different delays:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, sequence(43)) {
		t.Fatalf("different seeds, same delays: %v", a)
	}
	// Jitter varies the delay: not every attempt got its exact base.
	varied := false
	for i, d := range a[:6] {
		varied = varied || d != time.Second<<i
	}
	if !varied {
		t.Fatalf("no jitter: %v", a)
	}
	// The global source works too.
	if _, ok := c.New().OnFailure(t0, errBoom); !ok {
		t.Fatal("refused")
	}
}

func TestParse(t *testing.T) {
	c, err := Parse(map[string]string{
		"restart-strategy.type":                                            "FixedDelay",
		"restart-strategy.fixed-delay.attempts":                            " 3 ",
		"restart-strategy.fixed-delay.delay":                               "10 s",
		"restart-strategy.failure-rate.max-failures-per-interval":          "5",
		"restart-strategy.failure-rate.failure-rate-interval":              "5 min",
		"restart-strategy.failure-rate.delay":                              "500",
		"restart-strategy.exponential-delay.initial-backoff":               "2 s",
		"restart-strategy.exponential-delay.max-backoff":                   "2 min",
		"restart-strategy.exponential-delay.backoff-multiplier":            "1.5",
		"restart-strategy.exponential-delay.reset-backoff-threshold":       "1 d",
		"restart-strategy.exponential-delay.jitter-factor":                 "0",
		"restart-strategy.exponential-delay.attempts-before-reset-backoff": "10",
		"state.checkpoints.dir":                                            "file:///not/ours",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Type:        FixedDelay,
		FixedDelay:  FixedDelayConfig{Attempts: 3, Delay: 10 * time.Second},
		FailureRate: FailureRateConfig{MaxFailuresPerInterval: 5, Interval: 5 * time.Minute, Delay: 500 * time.Millisecond},
		ExponentialDelay: ExponentialDelayConfig{
			InitialBackoff: 2 * time.Second, MaxBackoff: 2 * time.Minute, BackoffMultiplier: 1.5,
			ResetBackoffThreshold: 24 * time.Hour, JitterFactor: 0, AttemptsBeforeResetBackoff: 10,
		},
	}
	if c != want {
		t.Fatalf("Parse:\ngot  %+v\nwant %+v", c, want)
	}
	if got := c.String(); got != "fixed-delay (3 attempts, 10s delay)" {
		t.Fatalf("String() = %q", got)
	}

	// Nothing set: Flink's defaults, the type left to Resolve.
	c, err = Parse(nil)
	if err != nil || c != Defaults() {
		t.Fatalf("Parse(nil) = %+v, %v", c, err)
	}
	if !strings.HasPrefix(c.String(), "default") {
		t.Fatalf("String() = %q", c.String())
	}
}

func TestParseTypeAliases(t *testing.T) {
	for in, want := range map[string]string{
		"none": None, "off": None, "disable": None, "NONE": None,
		"fixed-delay": FixedDelay, "fixeddelay": FixedDelay, "FixedDelay": FixedDelay,
		"failure-rate": FailureRate, "failurerate": FailureRate,
		"exponential-delay": ExponentialDelay, "exponentialdelay": ExponentialDelay,
	} {
		c, err := Parse(map[string]string{"restart-strategy.type": in})
		if err != nil || c.Type != want {
			t.Errorf("restart-strategy.type %q: %q, %v; want %q", in, c.Type, err, want)
		}
		c.New() // every accepted type has a strategy
	}
	// The deprecated key, used only when restart-strategy.type is not set.
	c, err := Parse(map[string]string{"restart-strategy": "failure-rate"})
	if err != nil || c.Type != FailureRate {
		t.Fatalf("restart-strategy: %+v, %v", c, err)
	}
	c, err = Parse(map[string]string{"restart-strategy": "failure-rate", "restart-strategy.type": "none"})
	if err != nil || c.Type != None {
		t.Fatalf("both keys: %+v, %v", c, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		conf map[string]string
		want string
	}{
		{map[string]string{"restart-strategy.fixed-delay.attempts": "x"},
			`restart: restart-strategy.fixed-delay.attempts: "x" is not an integer`},
		{map[string]string{"restart-strategy.fixed-delay.attempts": ""},
			`restart: restart-strategy.fixed-delay.attempts: "" is not an integer`},
		{map[string]string{"restart-strategy.fixed-delay.attempts": "99999999999"},
			`restart: restart-strategy.fixed-delay.attempts: "99999999999" is out of range (at most 2147483647)`},
		{map[string]string{"restart-strategy.fixed-delay.attempts": "-1"},
			`restart: restart-strategy.fixed-delay.attempts: -1 is negative`},
		{map[string]string{"restart-strategy.fixed-delay.delay": "10 fortnights"},
			`restart: restart-strategy.fixed-delay.delay: "10 fortnights" is not a duration: unknown unit "fortnights" (use ns, us, ms, s, min, h or d)`},
		{map[string]string{"restart-strategy.type": "sometimes"},
			`restart: restart-strategy.type: "sometimes" is not a restart strategy (none, fixed-delay, failure-rate or exponential-delay)`},
		{map[string]string{"restart-strategy.fixed-delay.atempts": "3"},
			`restart: unknown key restart-strategy.fixed-delay.atempts`},
		{map[string]string{"restart-strategy.failure-rate.max-failures-per-interval": "0"},
			`restart: restart-strategy.failure-rate.max-failures-per-interval: 0 is less than 1`},
		{map[string]string{"restart-strategy.failure-rate.failure-rate-interval": "0 s"},
			`restart: restart-strategy.failure-rate.failure-rate-interval: 0s is not positive`},
		{map[string]string{"restart-strategy.exponential-delay.initial-backoff": "0"},
			`restart: restart-strategy.exponential-delay.initial-backoff: 0s is not positive`},
		{map[string]string{"restart-strategy.exponential-delay.initial-backoff": "2 min"},
			`restart: restart-strategy.exponential-delay.max-backoff: 1min is less than restart-strategy.exponential-delay.initial-backoff (2min)`},
		{map[string]string{"restart-strategy.exponential-delay.backoff-multiplier": "abc"},
			`restart: restart-strategy.exponential-delay.backoff-multiplier: "abc" is not a number`},
		{map[string]string{"restart-strategy.exponential-delay.backoff-multiplier": "NaN"},
			`restart: restart-strategy.exponential-delay.backoff-multiplier: "NaN" is not a number`},
		{map[string]string{"restart-strategy.exponential-delay.backoff-multiplier": "0.5"},
			`restart: restart-strategy.exponential-delay.backoff-multiplier: 0.5 is less than 1`},
		{map[string]string{"restart-strategy.exponential-delay.jitter-factor": "1.5"},
			`restart: restart-strategy.exponential-delay.jitter-factor: 1.5 is not between 0 and 1`},
		{map[string]string{"restart-strategy.exponential-delay.reset-backoff-threshold": "0"},
			`restart: restart-strategy.exponential-delay.reset-backoff-threshold: 0s is not positive`},
		{map[string]string{"restart-strategy.exponential-delay.attempts-before-reset-backoff": "0"},
			`restart: restart-strategy.exponential-delay.attempts-before-reset-backoff: 0 is less than 1`},
		// Every malformed key is reported, in key order.
		{map[string]string{"restart-strategy.type": "x", "restart-strategy.fixed-delay.delay": "y", "restart-strategy.nope": "1"},
			`restart: restart-strategy.fixed-delay.delay: "y" is not a duration: it does not start with a number` + "\n" +
				`restart: unknown key restart-strategy.nope` + "\n" +
				`restart: restart-strategy.type: "x" is not a restart strategy (none, fixed-delay, failure-rate or exponential-delay)`},
	} {
		c, err := Parse(tc.conf)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%v):\ngot  %v\nwant %s", tc.conf, err, tc.want)
		}
		if c != (Config{}) {
			t.Errorf("Parse(%v) returned %+v with its error", tc.conf, c)
		}
	}
}

func TestOptions(t *testing.T) {
	seen := map[string]bool{}
	conf := map[string]string{}
	for _, o := range Options() {
		if seen[o.Key] || o.Description == "" || o.Default == "" || !strings.HasPrefix(o.Key, keyPrefix) {
			t.Errorf("option %+v", o)
		}
		seen[o.Key] = true
		conf[o.Key] = "1"
	}
	conf["restart-strategy.type"] = "none"
	conf["restart-strategy.exponential-delay.backoff-multiplier"] = "1"
	if _, err := Parse(conf); err != nil {
		t.Fatalf("every documented key is read: %v", err)
	}
	if len(seen) != 12 {
		t.Fatalf("%d options", len(seen))
	}
}

func TestNewNeedsAType(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "Resolve") {
			t.Fatalf("recovered %v", r)
		}
	}()
	Defaults().New()
}
