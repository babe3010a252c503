package config

import (
	"bufio"
	"io"
	"sort"
	"strings"
)

// Markdown writes the configuration reference, docs/config.md: every
// declared option and every registered prefix's documented keys, in
// tables of key, default, type and description, one per group of keys
// that share their first component.
func Markdown(w io.Writer) error { return std.markdown(w) }

const markdownIntro = `# Configuration reference

<!-- Generated from package config by ` + "`go generate ./config`" + `. Do not edit. -->

runnel reads its configuration from a YAML file and from ` + "`-Dkey=value`" + ` options, which win
over the file. The keys are Flink's. The file may hold flat keys, as Flink's ` + "`config.yaml`" + `
and ` + "`flink-conf.yaml`" + ` do, nested maps, whose keys are joined with dots, or both:

` + "```yaml" + `
rest.port: 8081
execution:
  checkpointing:
    interval: 10 s
` + "```" + `

Every key is checked at start-up: an unknown key or a malformed value is an error that names
it. Durations are written as a number and a unit: ` + "`500 ms`, `10 s`, `1 min`, `2 h`, `1 d`" + `; a
number alone is in milliseconds. Memory sizes are written as a number and a unit: ` + "`512 b`,\n`32 kb`, `64 mb`, `1 gb`, `1 tb` (`k`, `m`, `g`, `t` too)" + `; a number alone is in bytes. Booleans are
` + "`true`" + ` or ` + "`false`" + `. An enumeration's value may be written in any case.

Most keys configure the cluster's processes. The keys that say "` + jobNote + `" are a job's own:
a job may set them in its program, through ` + "`stream.Environment.Configure`" + `, or in its
submission (` + "`runnel run --parallelism`, `--fromSavepoint`" + `); a job that sets any other key
fails. A cluster's value of a job's key is the default of the jobs it runs, unless its
description says otherwise.
`

// jobNote ends the description of a job's own key (Option.PerJob), and
// jobPrefixNote the note of a job's own prefix.
const (
	jobNote       = "A job may set it."
	jobPrefixNote = "A job may set these keys."
)

type group struct {
	name  string
	rows  []Row
	notes []string
}

func (r *registry) markdown(w io.Writer) error {
	byKey, prefixes := r.snapshot()
	groups := map[string]*group{}
	at := func(key string) *group {
		name, _, _ := strings.Cut(key, ".")
		g := groups[name]
		if g == nil {
			g = &group{name: name}
			groups[name] = g
		}
		return g
	}
	for k, e := range byKey {
		if e.keys()[0] == k {
			at(k).rows = append(at(k).rows, e.row())
		}
	}
	for _, p := range prefixes {
		g := at(p.Prefix)
		g.rows = append(g.rows, p.Keys...)
		note := p.Description
		if p.PerJob {
			note += " " + jobPrefixNote
		}
		g.notes = append(g.notes, note)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)

	b := bufio.NewWriter(w)
	b.WriteString(markdownIntro)
	for _, n := range names {
		g := groups[n]
		sort.Slice(g.rows, func(i, j int) bool { return g.rows[i].Key < g.rows[j].Key })
		b.WriteString("\n## " + n + "\n\n")
		for _, note := range g.notes {
			b.WriteString(note + "\n\n")
		}
		b.WriteString("| Key | Default | Type | Description |\n| --- | --- | --- | --- |\n")
		for _, row := range g.rows {
			def := "(none)"
			if row.Default != "" {
				def = cell(row.Default)
			}
			b.WriteString("| `" + row.Key + "` | " + def + " | " + cell(row.Type) + " | " + cell(row.Description) + " |\n")
		}
	}
	return b.Flush()
}

// cell escapes s for a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
