package nexmark

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Published Flink 1.13 throughput per core from the nexmark/nexmark README
// (events/s/core), measured on other hardware.
var flinkPerCore = map[string]string{
	"q0": "155K", "q1": "158K", "q2": "175K", "q3": "152K", "q4": "34K", "q5": "22K",
	"q7": "12K", "q8": "146K", "q9": "14K", "q11": "40K", "q12": "76K",
}

const (
	reportBegin = "<!-- results:begin -->"
	reportEnd   = "<!-- results:end -->"
)

// Report runs every query at parallelism 1 and 2 over events generated
// events and rewrites the results section (between the markers
// <!-- results:begin --> and <!-- results:end -->) of the page at path,
// keeping the rest of the page.
func Report(ctx context.Context, path string, events int64) error {
	page, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nexmark: report: %w", err)
	}
	begin, end := bytes.Index(page, []byte(reportBegin)), bytes.Index(page, []byte(reportEnd))
	if begin < 0 || end < begin {
		return fmt.Errorf("nexmark: report: %s has no %s ... %s section", path, reportBegin, reportEnd)
	}
	byP := map[int][]Result{}
	for _, p := range []int{1, 2} {
		rs, err := Run(ctx, RunOptions{Query: "all", Events: events, Parallelism: p})
		if err != nil {
			return err
		}
		byP[p] = rs
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nMachine: %s, %d cores, %s %s/%s. Command: `make bench-nexmark` (`runnel nexmark report --events %d`).\n\n",
		reportBegin, cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, events)
	b.WriteString("| query | p=1 events/s | p=1 events/core-s | p=2 events/s | p=2 events/core-s | results | Flink 1.13, events/s/core (published, other hardware) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, r1 := range byP[1] {
		r2 := byP[2][i]
		flink := flinkPerCore[r1.Query]
		if flink == "" {
			flink = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s |\n", r1.Query,
			human(r1.EventsPerSecond), human(r1.EventsPerCoreSecond), human(r2.EventsPerSecond), human(r2.EventsPerCoreSecond), r1.Results, flink)
	}
	b.WriteString("\n")
	out := append(append(append([]byte{}, page[:begin]...), b.String()...), page[end:]...)
	return os.WriteFile(path, out, 0o644)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fK", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
