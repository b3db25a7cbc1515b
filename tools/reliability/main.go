// Command reliability feeds hostile inputs to toonid's real entry points and prints what each
// did with them: corrupt, truncated and resealed models (model.Load), packs with broken
// manifests, memory-bomb manifests, lying shards and hostile file names (pack.Open,
// Manifest.DecodeShard), non-images and image bombs (eval.LoadImage: the header check, then the
// decode), and hostile requests to the local server's handler (serve.New + serve.Site). Every
// input is made in a temporary folder. For each it records whether it was refused or accepted,
// whether anything panicked, and the memory the call allocated (runtime.MemStats.TotalAlloc
// across the call: an upper bound on the heap it could have held at its peak; no timings).
//
// `make reliability` runs it with -o BENCHMARKS.md, which replaces the table between the
// <!-- reliability:begin --> and <!-- reliability:end --> markers. reliability_test.go runs the
// same cases and fails when one is not refused (or accepted) as its row says, panics, or
// allocates more than its bound.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/toonid/toonid/internal/memtest"
)

// A want is what a case must do with its inputs.
type want int

const (
	refuse want = iota // every input refused
	accept             // every input accepted
	either             // resealed mutants: valid ones may load; none may panic or blow up
)

func (w want) String() string { return [...]string{"refused", "accepted", "either"}[w] }

// A kase is one row: an entry point, what the inputs are, how many, and how to run input i.
// run returns nil when the entry point accepted the input and its error when it refused it.
type kase struct {
	entry, input string
	want         want
	n            int // inputs (default 1)
	run          func(i int) error
	// maxAlloc bounds the bytes one input may allocate (default defaultMaxAlloc): the test
	// fails above it. It is what the input may cost, not what it claims.
	maxAlloc uint64
}

const defaultMaxAlloc = 16 << 20

// A row is a case's outcome.
type row struct {
	kase
	tried, refused, panics int
	maxAlloc               uint64 // the most one input allocated
	firstErr               string // a refusal's message, for the table
	wrong                  []string
}

func runCase(c kase) row {
	r := row{kase: c}
	n := max(c.n, 1)
	for i := range n {
		var err error
		panicked := false
		a := memtest.Allocated(func() {
			defer func() {
				if p := recover(); p != nil {
					panicked = true
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			err = c.run(i)
		})
		r.tried++
		r.maxAlloc = max(r.maxAlloc, a)
		switch {
		case panicked:
			r.panics++
			r.wrong = append(r.wrong, fmt.Sprintf("input %d: %v", i, err))
		case err != nil:
			r.refused++
			if r.firstErr == "" {
				r.firstErr = err.Error()
			}
			if c.want == accept {
				r.wrong = append(r.wrong, fmt.Sprintf("input %d refused: %v", i, err))
			}
		case c.want == refuse:
			r.wrong = append(r.wrong, fmt.Sprintf("input %d accepted", i))
		}
		bound := c.maxAlloc
		if bound == 0 {
			bound = defaultMaxAlloc
		}
		if a > bound {
			r.wrong = append(r.wrong, fmt.Sprintf("input %d allocated %d bytes, bound %d", i, a, bound))
		}
	}
	return r
}

func mib(b uint64) string {
	switch {
	case b < 1<<10:
		return fmt.Sprintf("%d B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// cell makes text safe for a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 110 {
		s = s[:107] + "..."
	}
	return s
}

// table writes the rows as markdown, with a summary line.
func table(w io.Writer, rows []row) {
	var tried, refused, panics int
	var most uint64
	fmt.Fprintln(w, "| entry point | input | must be | tried | refused | panics or 5xx | allocated (max per input) | first refusal |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		tried += r.tried
		refused += r.refused
		panics += r.panics
		most = max(most, r.maxAlloc)
		msg := r.firstErr
		if msg == "" {
			msg = "-"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %d | %d | %d | %s | %s |\n", r.entry, cell(r.input), r.want, r.tried, r.refused, r.panics, mib(r.maxAlloc), cell(msg))
	}
	fmt.Fprintf(w, "\n%d inputs in %d cases: %d refused, %d accepted, %d panics; the most one input allocated: %s.\n",
		tried, len(rows), refused, tried-refused-panics, panics, mib(most))
}

const (
	beginMarker = "<!-- reliability:begin -->"
	endMarker   = "<!-- reliability:end -->"
)

// splice replaces what lies between the markers in doc with body.
func splice(doc, body []byte) ([]byte, error) {
	b := bytes.Index(doc, []byte(beginMarker))
	e := bytes.Index(doc, []byte(endMarker))
	if b < 0 || e < b {
		return nil, fmt.Errorf("no %s ... %s markers", beginMarker, endMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:b+len(beginMarker)])
	out.WriteString("\n")
	out.Write(body)
	out.Write(doc[e:])
	return out.Bytes(), nil
}

func main() {
	outFile := flag.String("o", "", "markdown file whose reliability markers get the table (default: print it)")
	flag.Parse()
	if err := run(*outFile); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
}

func run(outFile string) error {
	dir, err := os.MkdirTemp("", "toonid-reliability-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cases, err := buildCases(dir)
	if err != nil {
		return err
	}
	var rows []row
	var wrong []string
	for _, c := range cases {
		r := runCase(c)
		r.firstErr = strings.ReplaceAll(r.firstErr, dir+string(os.PathSeparator), "") // the same text every run
		rows = append(rows, r)
		for _, m := range r.wrong {
			wrong = append(wrong, fmt.Sprintf("%s %s: %s", c.entry, c.input, m))
		}
	}
	var body bytes.Buffer
	table(&body, rows)
	if len(wrong) > 0 {
		fmt.Fprintf(os.Stderr, "reliability: %d inputs not handled as their row says:\n  %s\n", len(wrong), strings.Join(wrong, "\n  "))
	}
	if outFile == "" {
		os.Stdout.Write(body.Bytes())
	} else {
		doc, err := os.ReadFile(outFile)
		if err != nil {
			return err
		}
		out, err := splice(doc, body.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %w", outFile, err)
		}
		if err := os.WriteFile(outFile+".tmp", out, 0o644); err != nil {
			return err
		}
		if err := os.Rename(outFile+".tmp", outFile); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "reliability: %d cases written to %s\n", len(rows), outFile)
	}
	if len(wrong) > 0 {
		return fmt.Errorf("%d inputs not handled as their row says", len(wrong))
	}
	return nil
}
