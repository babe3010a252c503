package restart

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Strategy decides whether and when a failed job restarts: Flink's
// RestartBackoffTimeStrategy.
//
// A Strategy is not safe for concurrent use: it is owned by the job master,
// which calls it from its one goroutine. It reads no clock: the caller
// passes the time of each failure, so a Strategy's decisions depend only on
// its Config, those times and its random source.
type Strategy interface {
	// OnFailure records a failure at now and returns the delay before the
	// job restarts, or ok=false if the job must fail for good. err is the
	// failure's cause; the strategies of this package do not look at it.
	// Calls must come in non-decreasing order of now.
	OnFailure(now time.Time, err error) (delay time.Duration, ok bool)
	// String describes the strategy for logs:
	// "fixed-delay (3 attempts, 1s delay)".
	String() string
}

// The strategies, as restart-strategy.type names them.
const (
	None             = "none"
	FixedDelay       = "fixed-delay"
	FailureRate      = "failure-rate"
	ExponentialDelay = "exponential-delay"
)

// typeAliases maps every spelling of restart-strategy.type that Flink
// accepts (case-insensitively) to its strategy constant.
var typeAliases = map[string]string{
	"none": None, "off": None, "disable": None,
	"fixed-delay": FixedDelay, "fixeddelay": FixedDelay,
	"failure-rate": FailureRate, "failurerate": FailureRate,
	"exponential-delay": ExponentialDelay, "exponentialdelay": ExponentialDelay,
}

// Unlimited is the number of attempts that means "no limit", as in Flink
// (Integer.MAX_VALUE).
const Unlimited = math.MaxInt32

// Config is the restart strategy of a job. Defaults returns Flink's
// defaults; Parse reads the restart-strategy.* keys over them.
type Config struct {
	// Type is None, FixedDelay, FailureRate or ExponentialDelay, or "" if
	// restart-strategy.type is not set: then the job's checkpointing
	// decides (Resolve, Default).
	Type             string
	FixedDelay       FixedDelayConfig
	FailureRate      FailureRateConfig
	ExponentialDelay ExponentialDelayConfig
}

// FixedDelayConfig configures fixed-delay: restart Attempts times, each
// Delay after the failure, then fail.
type FixedDelayConfig struct {
	// Attempts is restart-strategy.fixed-delay.attempts (default 1), at
	// least 0.
	Attempts int
	// Delay is restart-strategy.fixed-delay.delay (default 1 s), at least 0.
	Delay time.Duration
}

// FailureRateConfig configures failure-rate: restart Delay after each
// failure, but fail once more than MaxFailuresPerInterval failures fall
// within one Interval.
type FailureRateConfig struct {
	// MaxFailuresPerInterval is
	// restart-strategy.failure-rate.max-failures-per-interval (default 1),
	// at least 1.
	MaxFailuresPerInterval int
	// Interval is restart-strategy.failure-rate.failure-rate-interval
	// (default 1 min), positive.
	Interval time.Duration
	// Delay is restart-strategy.failure-rate.delay (default 1 s), at least 0.
	Delay time.Duration
}

// ExponentialDelayConfig configures exponential-delay: restart after a
// backoff that starts at InitialBackoff and is multiplied by
// BackoffMultiplier at each restart, up to MaxBackoff, with a random
// jitter of ±JitterFactor of it. A failure more than ResetBackoffThreshold
// after the last restart starts again from InitialBackoff. The job fails
// when more than AttemptsBeforeResetBackoff restarts happen without such a
// reset.
type ExponentialDelayConfig struct {
	// InitialBackoff is restart-strategy.exponential-delay.initial-backoff
	// (default 1 s), positive.
	InitialBackoff time.Duration
	// MaxBackoff is restart-strategy.exponential-delay.max-backoff
	// (default 1 min), at least InitialBackoff.
	MaxBackoff time.Duration
	// BackoffMultiplier is
	// restart-strategy.exponential-delay.backoff-multiplier (default 2.0),
	// at least 1.
	BackoffMultiplier float64
	// ResetBackoffThreshold is
	// restart-strategy.exponential-delay.reset-backoff-threshold (default
	// 1 h), positive.
	ResetBackoffThreshold time.Duration
	// JitterFactor is restart-strategy.exponential-delay.jitter-factor
	// (default 0.1), in [0, 1].
	JitterFactor float64
	// AttemptsBeforeResetBackoff is
	// restart-strategy.exponential-delay.attempts-before-reset-backoff
	// (default Unlimited), at least 1.
	AttemptsBeforeResetBackoff int
}

// Defaults returns Flink's defaults, with Type unset.
func Defaults() Config {
	return Config{
		FixedDelay: FixedDelayConfig{Attempts: 1, Delay: time.Second},
		FailureRate: FailureRateConfig{
			MaxFailuresPerInterval: 1, Interval: time.Minute, Delay: time.Second,
		},
		ExponentialDelay: ExponentialDelayConfig{
			InitialBackoff:             time.Second,
			MaxBackoff:                 time.Minute,
			BackoffMultiplier:          2.0,
			ResetBackoffThreshold:      time.Hour,
			JitterFactor:               0.1,
			AttemptsBeforeResetBackoff: Unlimited,
		},
	}
}

// Default returns the strategy of a job that sets no restart-strategy.type,
// as Flink (since 1.19) chooses it: none without checkpointing (a job that
// cannot restore its state is not restarted), and with checkpointing
// exponential-delay with the defaults of its keys: restarts 1 s after the
// first failure, the delay doubled at each failure that follows within
// 1 h of the last restart, up to 1 min, with a jitter of up to ±10%, and
// no limit on attempts. A job that fails now and then restarts at once; one
// that keeps failing (a dependency down) backs off instead of restarting
// every second.
func Default(checkpointing bool) Config {
	c := Defaults()
	if !checkpointing {
		c.Type = None
		return c
	}
	c.Type = ExponentialDelay
	return c
}

// Resolve returns c, or Default(checkpointing) if c.Type is unset.
func (c Config) Resolve(checkpointing bool) Config {
	if c.Type == "" {
		return Default(checkpointing)
	}
	return c
}

// option is one configuration key: its name, its default as a user writes
// it, what it means, and how it is set.
type option struct {
	Option
	set func(c *Config, v string) error
}

// Option describes one configuration key that Parse reads.
type Option struct {
	Key         string
	Default     string
	Description string
}

const keyPrefix = "restart-strategy."

const (
	keyType                = "restart-strategy.type"
	keyTypeDeprecated      = "restart-strategy"
	keyFixedAttempts       = "restart-strategy.fixed-delay.attempts"
	keyFixedDelay          = "restart-strategy.fixed-delay.delay"
	keyRateMaxFailures     = "restart-strategy.failure-rate.max-failures-per-interval"
	keyRateInterval        = "restart-strategy.failure-rate.failure-rate-interval"
	keyRateDelay           = "restart-strategy.failure-rate.delay"
	keyExpInitialBackoff   = "restart-strategy.exponential-delay.initial-backoff"
	keyExpMaxBackoff       = "restart-strategy.exponential-delay.max-backoff"
	keyExpMultiplier       = "restart-strategy.exponential-delay.backoff-multiplier"
	keyExpResetThreshold   = "restart-strategy.exponential-delay.reset-backoff-threshold"
	keyExpJitter           = "restart-strategy.exponential-delay.jitter-factor"
	keyExpAttemptsBeforeRs = "restart-strategy.exponential-delay.attempts-before-reset-backoff"
)

var options = []option{
	{Option{keyType, "none, or exponential-delay if checkpointing is enabled",
		"The restart strategy: none (also off, disable), fixed-delay (fixeddelay), failure-rate (failurerate) or exponential-delay (exponentialdelay). " +
			"If it is not set, a job without checkpointing is not restarted, and one with checkpointing restarts with exponential-delay and the defaults of its keys: " +
			"1 s after the first failure, twice as long after each failure that follows, up to 1 min, with jitter and unlimited attempts."},
		func(c *Config, v string) error {
			t, ok := typeAliases[strings.ToLower(v)]
			if !ok {
				return fmt.Errorf("%q is not a restart strategy (none, fixed-delay, failure-rate or exponential-delay)", v)
			}
			c.Type = t
			return nil
		}},
	{Option{keyFixedAttempts, "1", "fixed-delay: the number of restarts before the job fails."},
		setInt(func(c *Config) *int { return &c.FixedDelay.Attempts })},
	{Option{keyFixedDelay, "1 s", "fixed-delay: the delay between a failure and the restart."},
		setDuration(func(c *Config) *time.Duration { return &c.FixedDelay.Delay })},
	{Option{keyRateMaxFailures, "1", "failure-rate: the most restarts within one failure-rate-interval; one more failure fails the job."},
		setInt(func(c *Config) *int { return &c.FailureRate.MaxFailuresPerInterval })},
	{Option{keyRateInterval, "1 min", "failure-rate: the interval in which failures are counted."},
		setDuration(func(c *Config) *time.Duration { return &c.FailureRate.Interval })},
	{Option{keyRateDelay, "1 s", "failure-rate: the delay between a failure and the restart."},
		setDuration(func(c *Config) *time.Duration { return &c.FailureRate.Delay })},
	{Option{keyExpInitialBackoff, "1 s", "exponential-delay: the delay before the first restart."},
		setDuration(func(c *Config) *time.Duration { return &c.ExponentialDelay.InitialBackoff })},
	{Option{keyExpMaxBackoff, "1 min", "exponential-delay: the longest delay between a failure and the restart."},
		setDuration(func(c *Config) *time.Duration { return &c.ExponentialDelay.MaxBackoff })},
	{Option{keyExpMultiplier, "2.0", "exponential-delay: what the delay is multiplied by after each restart."},
		setFloat(func(c *Config) *float64 { return &c.ExponentialDelay.BackoffMultiplier })},
	{Option{keyExpResetThreshold, "1 h", "exponential-delay: a failure this long after the last restart starts again from the initial backoff and counts attempts afresh."},
		setDuration(func(c *Config) *time.Duration { return &c.ExponentialDelay.ResetBackoffThreshold })},
	{Option{keyExpJitter, "0.1", "exponential-delay: each delay varies randomly by up to this fraction of it, so that jobs sharing a failed dependency do not restart together."},
		setFloat(func(c *Config) *float64 { return &c.ExponentialDelay.JitterFactor })},
	{Option{keyExpAttemptsBeforeRs, "2147483647 (unlimited)", "exponential-delay: the number of restarts without a reset (see reset-backoff-threshold) before the job fails."},
		setInt(func(c *Config) *int { return &c.ExponentialDelay.AttemptsBeforeResetBackoff })},
}

// Options lists the keys Parse reads, with their defaults and meanings,
// for the configuration reference.
func Options() []Option {
	out := make([]Option, len(options))
	for i, o := range options {
		out[i] = o.Option
	}
	return out
}

func setInt(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%q is out of range (at most %d)", v, math.MaxInt32)
		}
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = int(n)
		return nil
	}
}

func setFloat(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q is not a number", v)
		}
		*field(c) = f
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration: %w", v, err)
		}
		*field(c) = d
		return nil
	}
}

// Parse reads the restart-strategy.* keys of conf over Defaults. Keys with
// other prefixes are left to their owners. An unknown restart-strategy.*
// key, a malformed value or one out of range is an error naming the key:
//
//	restart: restart-strategy.fixed-delay.attempts: "x" is not an integer
//
// Every such error is reported, one per line, keys in sorted order. As in
// Flink, the deprecated key restart-strategy is read when
// restart-strategy.type is not set.
func Parse(conf map[string]string) (Config, error) {
	c := Defaults()
	byKey := make(map[string]*option, len(options))
	for i := range options {
		byKey[options[i].Key] = &options[i]
	}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		if strings.HasPrefix(k, keyPrefix) || k == keyTypeDeprecated {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		o := byKey[k]
		if k == keyTypeDeprecated {
			if _, ok := conf[keyType]; ok {
				continue // the new key wins
			}
			o = byKey[keyType]
		}
		if o == nil {
			errs = append(errs, fmt.Errorf("restart: unknown key %s", k))
			continue
		}
		if err := o.set(&c, strings.TrimSpace(conf[k])); err != nil {
			errs = append(errs, fmt.Errorf("restart: %s: %w", k, err))
		}
	}
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			return Config{}, err
		}
		return c, nil
	}
	if len(errs) == 1 {
		return Config{}, errs[0]
	}
	return Config{}, errors.Join(errs...)
}

// Validate checks every field against Flink's bounds, whichever strategy
// Type selects, and reports the first field out of bounds by its key.
func (c Config) Validate() error {
	if _, ok := typeAliases[strings.ToLower(c.Type)]; !ok && c.Type != "" {
		return fmt.Errorf("restart: %s: %q is not a restart strategy (none, fixed-delay, failure-rate or exponential-delay)", keyType, c.Type)
	}
	f, r, e := c.FixedDelay, c.FailureRate, c.ExponentialDelay
	for _, check := range []struct {
		bad      bool
		key, msg string
	}{
		{f.Attempts < 0, keyFixedAttempts, fmt.Sprintf("%d is negative", f.Attempts)},
		{f.Delay < 0, keyFixedDelay, formatDuration(f.Delay) + " is negative"},
		{r.MaxFailuresPerInterval < 1, keyRateMaxFailures, fmt.Sprintf("%d is less than 1", r.MaxFailuresPerInterval)},
		{r.Interval <= 0, keyRateInterval, formatDuration(r.Interval) + " is not positive"},
		{r.Delay < 0, keyRateDelay, formatDuration(r.Delay) + " is negative"},
		{e.InitialBackoff <= 0, keyExpInitialBackoff, formatDuration(e.InitialBackoff) + " is not positive"},
		{e.MaxBackoff < e.InitialBackoff, keyExpMaxBackoff,
			fmt.Sprintf("%s is less than %s (%s)", formatDuration(e.MaxBackoff), keyExpInitialBackoff, formatDuration(e.InitialBackoff))},
		{!(e.BackoffMultiplier >= 1), keyExpMultiplier, fmt.Sprintf("%v is less than 1", e.BackoffMultiplier)},
		{e.ResetBackoffThreshold <= 0, keyExpResetThreshold, formatDuration(e.ResetBackoffThreshold) + " is not positive"},
		{!(e.JitterFactor >= 0 && e.JitterFactor <= 1), keyExpJitter, fmt.Sprintf("%v is not between 0 and 1", e.JitterFactor)},
		{e.AttemptsBeforeResetBackoff < 1, keyExpAttemptsBeforeRs, fmt.Sprintf("%d is less than 1", e.AttemptsBeforeResetBackoff)},
	} {
		if check.bad {
			return fmt.Errorf("restart: %s: %s", check.key, check.msg)
		}
	}
	return nil
}

// New returns a new Strategy of c's Type, with the global random source
// for exponential-delay's jitter. c.Type must be set (see Resolve); New
// panics if it is not a strategy. c should have passed Validate; a Strategy
// of an invalid Config does not panic, but its decisions are unspecified.
func (c Config) New() Strategy { return c.NewWithRand(nil) }

// NewWithRand is New with the random source of exponential-delay's jitter:
// tests pass a seeded one to make the delays reproducible. r is used only
// from the Strategy's calls, so it must not be shared with other
// goroutines; nil means the global source.
func (c Config) NewWithRand(r *rand.Rand) Strategy {
	switch typeAliases[strings.ToLower(c.Type)] {
	case None:
		return noRestart{}
	case FixedDelay:
		return &fixedDelay{cfg: c.FixedDelay}
	case FailureRate:
		return &failureRate{cfg: c.FailureRate}
	case ExponentialDelay:
		return &exponentialDelay{cfg: c.ExponentialDelay, rand: r}
	}
	panic(fmt.Sprintf("restart: Config.New of strategy type %q: call Resolve to choose the default", c.Type))
}

// String describes the strategy c configures, as Strategy.String does.
func (c Config) String() string {
	if c.Type == "" {
		return "default (none, or exponential-delay if checkpointing is enabled)"
	}
	if _, ok := typeAliases[strings.ToLower(c.Type)]; !ok {
		return fmt.Sprintf("unknown restart strategy %q", c.Type)
	}
	return c.NewWithRand(nil).String()
}

// noRestart never restarts.
type noRestart struct{}

func (noRestart) OnFailure(time.Time, error) (time.Duration, bool) { return 0, false }

func (noRestart) String() string { return "none (no restarts)" }

// fixedDelay restarts cfg.Attempts times, each after cfg.Delay.
type fixedDelay struct {
	cfg      FixedDelayConfig
	restarts int // restarts granted so far
}

func (s *fixedDelay) OnFailure(time.Time, error) (time.Duration, bool) {
	if s.restarts >= s.cfg.Attempts {
		return 0, false
	}
	s.restarts++
	return s.cfg.Delay, true
}

func (s *fixedDelay) String() string {
	return fmt.Sprintf("fixed-delay (%s, %s delay)", attempts(s.cfg.Attempts), formatDuration(s.cfg.Delay))
}

func attempts(n int) string {
	switch n {
	case Unlimited:
		return "unlimited attempts"
	case 1:
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// failureRate restarts unless the failure is the (max+1)th within one
// interval. It remembers the times of the last max+1 failures (Flink's
// FailureRateRestartBackoffTimeStrategy, as fixed by FLINK-20752, which
// allows max restarts per interval, not max-1).
type failureRate struct {
	cfg      FailureRateConfig
	failures []time.Time // the last ≤ max+1 failures, oldest first
}

func (s *failureRate) OnFailure(now time.Time, _ error) (time.Duration, bool) {
	keep := max(s.cfg.MaxFailuresPerInterval+1, 1)
	if len(s.failures) >= keep {
		n := copy(s.failures, s.failures[len(s.failures)-keep+1:])
		s.failures = s.failures[:n]
	}
	s.failures = append(s.failures, now)
	// The window is closed: failures at both of its ends count.
	if len(s.failures) >= keep && now.Sub(s.failures[0]) <= s.cfg.Interval {
		return 0, false
	}
	return s.cfg.Delay, true
}

func (s *failureRate) String() string {
	return fmt.Sprintf("failure-rate (at most %d restarts per %s, %s delay)",
		s.cfg.MaxFailuresPerInterval, formatDuration(s.cfg.Interval), formatDuration(s.cfg.Delay))
}

// exponentialDelay is Flink's ExponentialDelayRestartBackoffTimeStrategy
// (1.19): the backoff of restart attempt n (from 0) is
// initial·multiplier^n, with jitter, within [initial, max]. A failure
// before the pending restart is due is the same failure (a TaskManager
// that fails takes many tasks with it): it waits for the same restart and
// counts no attempt.
type exponentialDelay struct {
	cfg  ExponentialDelayConfig
	rand *rand.Rand // nil: the global source

	attempt int       // attempts since the last reset
	next    time.Time // when the pending or last restart is due; zero before the first failure
}

func (s *exponentialDelay) OnFailure(now time.Time, _ error) (time.Duration, bool) {
	if !s.next.IsZero() && !now.After(s.next) {
		return s.next.Sub(now), s.attempt <= s.cfg.AttemptsBeforeResetBackoff
	}
	if s.next.IsZero() || now.Sub(s.next) >= s.cfg.ResetBackoffThreshold {
		s.attempt = 0
	}
	delay := s.backoff()
	s.next = now.Add(delay)
	s.attempt++
	if s.attempt > s.cfg.AttemptsBeforeResetBackoff {
		return 0, false
	}
	return delay, true
}

// backoff is the delay of the current attempt.
func (s *exponentialDelay) backoff() time.Duration {
	lo, hi := s.cfg.InitialBackoff, s.cfg.MaxBackoff
	b := hi
	if f := float64(lo) * math.Pow(s.cfg.BackoffMultiplier, float64(s.attempt)); f < float64(hi) {
		b = time.Duration(f)
	}
	if s.cfg.JitterFactor > 0 {
		off := min(int64(float64(b)*s.cfg.JitterFactor), math.MaxInt64/4)
		var j int64
		if s.rand != nil {
			j = s.rand.Int64N(2*off+1) - off
		} else {
			j = rand.Int64N(2*off+1) - off
		}
		if j > 0 && b > math.MaxInt64-time.Duration(j) {
			b = math.MaxInt64
		} else {
			b += time.Duration(j)
		}
	}
	return max(lo, min(b, hi))
}

func (s *exponentialDelay) String() string {
	c := s.cfg
	str := fmt.Sprintf("exponential-delay (%s initial backoff, %s max backoff, multiplier %v, reset after %s, jitter %v",
		formatDuration(c.InitialBackoff), formatDuration(c.MaxBackoff), c.BackoffMultiplier,
		formatDuration(c.ResetBackoffThreshold), c.JitterFactor)
	if c.AttemptsBeforeResetBackoff != Unlimited {
		str += fmt.Sprintf(", %s before reset", attempts(c.AttemptsBeforeResetBackoff))
	}
	return str + ")"
}
