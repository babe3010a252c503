package nexmark

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

// runQuery runs q at parallelism p over the events source makes and
// returns its results as sorted JSON lines.
func runQuery(t *testing.T, q Query, p int, source func(*stream.Environment) stream.DataStream[Event]) []string {
	t.Helper()
	// Watermarks every millisecond, so that event time advances while the
	// input flows (at the default 200 ms the job can end before the first
	// one) and the queries close auctions and drop state as they go.
	env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(time.Millisecond)
	var out bytes.Buffer
	sink := &Sink{JSON: &out}
	q.Build(source(env), sink)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Execute(ctx, "test "+q.Name); err != nil {
		t.Fatalf("%s at parallelism %d: %v", q.Name, p, err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	if int64(len(lines)) != sink.Results() {
		t.Errorf("%s at parallelism %d: %d JSON lines, %d results counted", q.Name, p, len(lines), sink.Results())
	}
	slices.Sort(lines)
	return lines
}

// compareLines reports the lines of want missing from got and the lines
// of got not in want, as multisets (both sorted).
func compareLines(t *testing.T, name string, p int, got, want []string) {
	t.Helper()
	var missing, extra []string
	i, j := 0, 0
	for i < len(got) || j < len(want) {
		switch {
		case j == len(want) || i < len(got) && got[i] < want[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || want[j] < got[i]:
			missing = append(missing, want[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(missing)+len(extra) == 0 {
		return
	}
	t.Errorf("%s at parallelism %d: %d results, want %d: %d missing, %d extra", name, p, len(got), len(want), len(missing), len(extra))
	for _, l := range missing[:min(len(missing), 5)] {
		t.Logf("missing %s", l)
	}
	for _, l := range extra[:min(len(extra), 5)] {
		t.Logf("extra   %s", l)
	}
}

// sliceEvents is a source of the events given, in their order, with
// Nexmark's watermarks.
func sliceEvents(events []Event) func(*stream.Environment) stream.DataStream[Event] {
	return func(env *stream.Environment) stream.DataStream[Event] {
		ws := stream.ForBoundedOutOfOrderness[Event](WatermarkDelay).
			WithTimestampAssigner(func(e Event, _ int64) int64 { return EventTimestamp(e) })
		return stream.FromSlice(env, events).AssignTimestampsAndWatermarks(ws).WithCodec(EventCodec())
	}
}

// checkNothingLate checks what the queries' clean-up and the references
// assume: no event of the source's splits is late, that is at or behind
// the watermark of its split (the largest timestamp so far less the delay
// and 1 ms), hence none behind the minimum over the splits that a
// downstream operator has.
func checkNothingLate(t *testing.T, cfg GeneratorConfig, p int) {
	t.Helper()
	gens, err := Split(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range gens {
		maxTs := int64(-1 << 62)
		for e, ok := g.Next(); ok; e, ok = g.Next() {
			ts := EventTimestamp(e)
			if ts <= maxTs-WatermarkDelay.Milliseconds()-1 {
				t.Fatalf("split %d of %d: an event at %d is late after one at %d", i, p, ts, maxTs)
			}
			maxTs = max(maxTs, ts)
		}
	}
}
