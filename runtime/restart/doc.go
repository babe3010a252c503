// Package restart decides whether and when a failed job restarts: Flink's
// restart strategies, configured with Flink's keys.
//
//	restart-strategy.type: fixed-delay
//	restart-strategy.fixed-delay.attempts: 3
//	restart-strategy.fixed-delay.delay: 10 s
//
// [Parse] reads the restart-strategy.* keys into a typed [Config] (and
// rejects unknown keys and malformed values, naming the key);
// [Config.Resolve] applies Flink's default when restart-strategy.type is
// not set ([Default]: none without checkpointing, and with checkpointing
// exponential-delay with the defaults of its keys, as in Flink since
// 1.19); [Config.New] returns the [Strategy] the job master consults on
// each failure. [ParseDuration] reads Flink's duration syntax ("10 s",
// "1 min", "500" for 500 ms), which other packages' keys share.
//
// The strategies are deterministic cores: they read no clock (the caller
// passes each failure's time) and take their randomness from a source the
// caller may give, so tests replay a sequence of failures without sleeping.
//
// # Invariants
//
//  1. none never restarts (TestNone); it is the default without
//     checkpointing, and exponential-delay with Defaults' values the
//     default with it (TestDefaultWithCheckpointing).
//  2. fixed-delay grants exactly Attempts restarts, each after Delay, and
//     refuses every failure after them (TestFixedDelay).
//  3. failure-rate refuses a failure exactly when it is the
//     (MaxFailuresPerInterval+1)th within a closed window of Interval
//     ending at it: at most MaxFailuresPerInterval restarts per interval
//     (TestFailureRate).
//  4. exponential-delay's delay is InitialBackoff·BackoffMultiplier^n for
//     attempt n, within [InitialBackoff, MaxBackoff] even with jitter; a
//     failure at or before the pending restart's time joins that restart
//     without counting an attempt; a failure ResetBackoffThreshold or more
//     after the last restart starts again from attempt 0; more than
//     AttemptsBeforeResetBackoff attempts without a reset fail the job
//     (TestExponentialDelay, TestExponentialDelayJitter).
//  5. With the same Config, failure times and seeded random source, a
//     Strategy makes the same decisions (TestExponentialDelayJitter).
//  6. Parse accepts a configuration only if every restart-strategy.* key is
//     known and its value well-formed and within Flink's bounds; otherwise
//     its error names each offending key (TestParseErrors).
package restart
