package config

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config.md")

const docsPath = "../docs/config.md"

// TestDocsUpToDate fails when docs/config.md is not what Markdown writes;
// "go generate ./config" (go test -run TestDocsUpToDate -update) rewrites it.
func TestDocsUpToDate(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(docsPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("%v; run go generate ./config", err)
	}
	if !bytes.Equal(old, b.Bytes()) {
		t.Errorf("%s is stale; run go generate ./config. First difference at line %d:\n got:  %q\n want: %q",
			docsPath, diffLine(old, b.Bytes())+1, line(old, diffLine(old, b.Bytes())), line(b.Bytes(), diffLine(old, b.Bytes())))
	}
}

func diffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i
		}
	}
	return min(len(la), len(lb))
}

func line(text []byte, i int) string {
	lines := strings.Split(string(text), "\n")
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

func TestMarkdown(t *testing.T) {
	r := &registry{}
	r.add(newInt("b.port", 80, "The port | pipes escaped.").WithDeprecatedKeys("b.old-port"))
	r.add(newString("b.address", "", "The address."))
	r.add(newEnum("a.mode", "fast", []string{"fast", "slow"}, "The mode."))
	r.add(newMemorySize("a.size", 64*Mebibyte, "The size."))
	r.add(newInt("a.workers", 3, "The workers.").WithDocumentedDefault("the number of CPUs").PerJob())
	r.addPrefix(Prefix{Prefix: "c.", Description: "Checked by package c.", Keys: []Row{{Key: "c.x", Default: "1 s", Description: "X."}}})
	r.addPrefix(Prefix{Prefix: "d.", Description: "Checked by package d.", PerJob: true, Keys: []Row{{Key: "d.y", Description: "Y."}}})
	var b bytes.Buffer
	if err := r.markdown(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	if !strings.HasPrefix(got, markdownIntro) {
		t.Fatal("the reference does not start with its introduction")
	}
	want := `
## a

| Key | Default | Type | Description |
| --- | --- | --- | --- |
| ` + "`a.mode`" + ` | fast | Enum | The mode. One of: ` + "`fast`, `slow`" + `. |
| ` + "`a.size`" + ` | 64 mb | MemorySize | The size. |
| ` + "`a.workers`" + ` | the number of CPUs | Integer | The workers. A job may set it. |

## b

| Key | Default | Type | Description |
| --- | --- | --- | --- |
| ` + "`b.address`" + ` | (none) | String | The address. |
| ` + "`b.port`" + ` | 80 | Integer | The port \| pipes escaped. Deprecated keys: ` + "`b.old-port`" + `. |

## c

Checked by package c.

| Key | Default | Type | Description |
| --- | --- | --- | --- |
| ` + "`c.x`" + ` | 1 s |  | X. |

## d

Checked by package d. A job may set these keys.

| Key | Default | Type | Description |
| --- | --- | --- | --- |
| ` + "`d.y`" + ` | (none) |  | Y. |
`
	if rest := got[len(markdownIntro):]; rest != want {
		t.Errorf("got\n%s\nwant\n%s", rest, want)
	}
}
