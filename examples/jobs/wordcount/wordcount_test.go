package wordcount

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/stream"
)

// nonWord is Java's \W+ over lower-cased text: what Flink's WordCount
// splits on. It defines a word for these tests (TestReferenceIsJavaW).
var nonWord = regexp.MustCompile(`[^a-z0-9_]+`)

// javaWords splits text as Flink's WordCount does: lower-case, then split on
// \W+.
func javaWords(text string) []string {
	var words []string
	for _, w := range nonWord.Split(strings.ToLower(text), -1) {
		if w != "" {
			words = append(words, w)
		}
	}
	return words
}

// reference counts the words of text the straightforward way, rune by rune,
// independently of Tokenize's byte loop. It is javaWords made fast enough
// for megabytes under the race detector, where the regexp is ten times
// slower.
func reference(text string) map[string]int {
	counts := map[string]int{}
	nonWord := func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }
	for _, w := range strings.FieldsFunc(strings.ToLower(text), nonWord) {
		counts[w]++
	}
	return counts
}

// bigText is the text of TestWordCountFile*, made once.
var bigText = sync.OnceValues(func() (string, map[string]int) {
	text := genText(42, 3<<20)
	return text, reference(text)
})

// genText writes about size bytes of text built from seed: tens of
// thousands of distinct words in mixed case, with digits, underscores,
// punctuation, non-ASCII letters, "\n" and "\r\n" endings and empty lines.
func genText(seed uint64, size int) string {
	rng := rand.New(rand.NewPCG(seed, 0x776f7264))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	const wordChars = letters + "0123456789___"
	fixed := []string{
		"Café", "Straße", "naïve", "ÀÉÎÕÜ", "日本語", "İstanbul", "Kelvin\u212A", "ǅemal",
		"don't", "e-mail", "x86_64", "C++", "__init__", "42", "3.14159", "ÆON", "\u00a0nbsp",
	}
	// The fixed words come first, among the frequent ones.
	vocab := append(make([]string, 0, 50_000), fixed...)
	for len(vocab) < cap(vocab) {
		n := 1 + rng.IntN(12)
		b := make([]byte, n)
		for i := range b {
			if i == 0 || rng.IntN(4) > 0 {
				b[i] = letters[rng.IntN(len(letters))]
			} else {
				b[i] = wordChars[rng.IntN(len(wordChars))]
			}
		}
		vocab = append(vocab, string(b))
	}
	seps := []string{" ", " ", " ", "  ", ", ", ". ", "; ", "--", "!", "?", "\t", "'", "\"", "(", ")", " — ", "«", "»", "/", ":", "é", "ß"}

	var sb strings.Builder
	sb.Grow(size + 1024)
	for sb.Len() < size {
		switch rng.IntN(25) {
		case 0:
			sb.WriteString("\n") // empty line
			continue
		case 1:
			sb.WriteString("\r\n")
			continue
		}
		for w := rng.IntN(20); w >= 0; w-- {
			// A Zipf-like draw: a few words are frequent, most are rare.
			var word string
			if rng.IntN(3) == 0 {
				word = vocab[rng.IntN(100)]
			} else {
				word = vocab[rng.IntN(len(vocab))]
			}
			sb.WriteString(word)
			sb.WriteString(seps[rng.IntN(len(seps))])
		}
		if rng.IntN(2) == 0 {
			sb.WriteString("\r\n")
		} else {
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

// readCounts parses the job's output, lines "word count" in any order, and
// fails the test on a malformed line or a word written twice.
func readCounts(t *testing.T, r io.Reader, prefixed bool) map[string]int {
	t.Helper()
	counts := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if prefixed {
			_, rest, ok := strings.Cut(line, "> ")
			if !ok {
				t.Fatalf("line %q has no subtask prefix", line)
			}
			line = rest
		}
		word, n, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("malformed output line %q", line)
		}
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			t.Fatalf("malformed count in line %q", line)
		}
		if prev, dup := counts[word]; dup {
			t.Fatalf("word %q written twice (counts %d and %d)", word, prev, c)
		}
		counts[word] = c
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

func readCountsFile(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readCounts(t, f, false)
}

// diffCounts reports up to a few differences between got and want.
func diffCounts(t *testing.T, got, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d distinct words, want %d", len(got), len(want))
	}
	bad := 0
	for w, n := range want {
		if got[w] != n {
			if bad++; bad <= 10 {
				t.Errorf("count of %q = %d, want %d", w, got[w], n)
			}
		}
	}
	for w, n := range got {
		if _, ok := want[w]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("unexpected word %q (count %d)", w, n)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d differences in all", bad)
	}
}

func TestReferenceIsJavaW(t *testing.T) {
	text := genText(3, 128<<10)
	want := map[string]int{}
	for _, w := range javaWords(text) {
		want[w]++
	}
	diffCounts(t, reference(text), want)
}

func TestGenTextIsDemanding(t *testing.T) {
	// The generated text must exercise what the tests claim it does.
	text, ref := bigText()
	if len(text) < 3<<20 || len(ref) < 30_000 {
		t.Errorf("%d bytes, %d distinct words; want megabytes and tens of thousands", len(text), len(ref))
	}
	for _, s := range []string{"\r\n", "\n\n", "\n\r\n", "Café", "Straße", "naïve", "_", "9", "A", "z"} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	if a, b := genText(1, 1<<16), genText(1, 1<<16); a != b {
		t.Error("genText is not deterministic")
	}
}

// The three parallelisms are separate tests to keep each short under the
// race detector; they share the generated text.
func TestWordCountFileParallelism1(t *testing.T) { testWordCountFile(t, 1) }
func TestWordCountFileParallelism2(t *testing.T) { testWordCountFile(t, 2) }
func TestWordCountFileParallelism4(t *testing.T) { testWordCountFile(t, 4) }

func testWordCountFile(t *testing.T, p int) {
	text, want := bigText()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "input.txt"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--input", in, "--output", out, "--parallelism", strconv.Itoa(p)}
	if err := Run(context.Background(), args, io.Discard); err != nil {
		t.Fatalf("Run(%q): %v", args, err)
	}
	diffCounts(t, readCountsFile(t, out), want)
}

func TestWordCountDirectory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(filepath.Join(in, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	files := []string{"a.txt", "b.txt", "sub/c.txt", "d.txt", "e"}
	for i, name := range files {
		text := genText(uint64(100+i), 100<<10)
		if i == len(files)-1 {
			text += "Q" // a last line of one byte, without a line ending
		}
		all.WriteString(text)
		all.WriteString("\n")
		if err := os.WriteFile(filepath.Join(in, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Hidden and underscore files and directories are skipped, as in Flink.
	if err := os.MkdirAll(filepath.Join(in, "_tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".hidden", "_SUCCESS", "_tmp/part"} {
		if err := os.WriteFile(filepath.Join(in, name), []byte("skipped skipped\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := reference(all.String())
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("out-%d", p))
			args := []string{"--input", in, "--output", out, "--parallelism", strconv.Itoa(p)}
			if err := Run(context.Background(), args, io.Discard); err != nil {
				t.Fatalf("Run(%q): %v", args, err)
			}
			got := readCountsFile(t, out)
			if _, ok := got["skipped"]; ok {
				t.Error("hidden or underscore files were read")
			}
			diffCounts(t, got, want)
		})
	}
}

// TestWordCountSplits reads one file cut into many small blocks, so that
// block boundaries fall inside lines and between "\r" and "\n": every line
// must still be read exactly once.
func TestWordCountSplits(t *testing.T) {
	dir := t.TempDir()
	text := genText(7, 600<<10)
	in := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.txt")
	if err := os.WriteFile(small, []byte(text[:20<<10]), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p     int
		split int64
		path  string
		text  string
	}{
		{1, 4093, in, text},
		{3, 4093, in, text},
		{4, 64 << 10, in, text},
		{2, 1, small, text[:20<<10]}, // a split per byte
	} {
		t.Run(fmt.Sprintf("parallelism=%d/split=%d", tc.p, tc.split), func(t *testing.T) {
			want := reference(tc.text)
			env := stream.NewEnvironment().SetParallelism(tc.p).SetRuntimeMode(stream.Batch)
			words := stream.FlatMap(stream.ReadTextFile(env, tc.path, stream.FileSplitSize(tc.split)), Tokenize)
			res := Count(words).Collect()
			if err := env.Execute(context.Background(), "splits"); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, wc := range res.Values() {
				if _, dup := got[wc.Word]; dup {
					t.Fatalf("word %q emitted twice in BATCH mode", wc.Word)
				}
				got[wc.Word] = wc.Count
			}
			diffCounts(t, got, want)
		})
	}
}

func TestWordCountBuiltinText(t *testing.T) {
	want := reference(builtinText)
	// A few counts checked by hand against the text, so that the reference
	// itself is checked too.
	for w, n := range map[string]int{"to": 13, "the": 7, "sleep": 5, "tis": 2, "d": 1, "wish": 1} {
		if want[w] != n {
			t.Errorf("reference count of %q = %d, want %d", w, want[w], n)
		}
	}
	for _, p := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			var out bytes.Buffer
			if err := Run(context.Background(), []string{"--parallelism", strconv.Itoa(p)}, &out); err != nil {
				t.Fatal(err)
			}
			got := readCounts(t, &out, p > 1)
			diffCounts(t, got, want)
		})
	}
}

func TestWordCountUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"},
		{"--parallelism", "0"},
		{"--parallelism", "-3"},
		{"--parallelism", "two"},
		{"--input"},
		{"extra", "args"},
	} {
		err := Run(context.Background(), args, io.Discard)
		var ue jobs.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Run(%q) = %v, want a jobs.UsageError", args, err)
			continue
		}
		if got := jobs.ExitCode(err, io.Discard); got != 2 {
			t.Errorf("ExitCode(Run(%q)) = %d, want 2", args, got)
		}
	}
}

func TestWordCountMissingInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.txt")
	err := Run(context.Background(), []string{"--input", missing, "--parallelism", "1"}, io.Discard)
	if err == nil {
		t.Fatal("Run with a missing input succeeded")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run with a missing input: %v, want an error wrapping os.ErrNotExist", err)
	}
	if errors.As(err, new(jobs.UsageError)) {
		t.Errorf("a missing input is reported as a usage error: %v", err)
	}
}

func TestTokenize(t *testing.T) {
	for _, line := range []string{
		"", "   ", "To be, or not to be,--that is the question:--", "Café Straße naïve",
		"x86_64 __init__ 3.14159", "İstanbul Kelvin\u212A", "trailing", "\r", "a\tb\u00a0c",
	} {
		var got []string
		if err := Tokenize(line, collectorFunc(func(w WordCount) {
			if w.Count != 1 {
				t.Errorf("Tokenize(%q) emitted %v, want count 1", line, w)
			}
			got = append(got, w.Word)
		})); err != nil {
			t.Fatal(err)
		}
		want := javaWords(line)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Tokenize(%q) = %q, want %q", line, got, want)
		}
	}
}

type collectorFunc func(WordCount)

func (f collectorFunc) Collect(w WordCount) { f(w) }
