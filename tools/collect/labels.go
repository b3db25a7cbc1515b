package collect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// MaxLabelsBytes bounds labels.tsv.
const MaxLabelsBytes = 64 << 20

// maxReported caps the errors one validation reports.
const maxReported = 20

// Labels is a parsed labels.tsv: what the review page exports (README.md, "labels.tsv").
type Labels struct {
	// Run is the proposals.json run the page stamped in the "# toonid-collect-labels run=..."
	// comment; empty when the file has none (hand-written files need not).
	Run  string
	Rows []LabelRow
}

// A LabelRow names one proposal: "this crop is that character".
type LabelRow struct {
	Line                 int
	Proposal             string
	Identity             string
	Name, Series, Credit string
	Box                  *[4]int // optional x,y,w,h replacing the proposal's box
}

var runComment = regexp.MustCompile(`^#\s*toonid-collect-labels\s+run=([0-9a-f]{16})\s*$`)

// LabelsHeader is the header line the page writes (name, series, credit and box are optional).
const LabelsHeader = "proposal\tidentity\tname\tseries\tcredit"

// ReadLabels parses labels.tsv: tab-separated with a header naming at least the columns
// proposal and identity (optional: name, series, credit, box as "x,y,w,h"); blank lines and
// lines starting with # are skipped, except the run comment. Cells are trimmed. It checks each
// row on its own (ids, text, box syntax); Check matches them against proposals.json.
func ReadLabels(r io.Reader, name string) (*Labels, error) {
	cr := &countReader{r: io.LimitReader(r, MaxLabelsBytes+1)}
	sc := bufio.NewScanner(cr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cols map[string]int
	l := &Labels{}
	var errs []error
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := runComment.FindStringSubmatch(line); m != nil {
			if l.Run != "" && l.Run != m[1] {
				return nil, fmt.Errorf("collect: %s:%d: a second, different run comment", name, ln)
			}
			l.Run = m[1]
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cells := strings.Split(line, "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range cells {
				c = strings.TrimSpace(c)
				if _, dup := cols[c]; dup {
					return nil, fmt.Errorf("collect: %s:%d: column %q twice in the header", name, ln, clip(c))
				}
				cols[c] = i
			}
			for _, c := range []string{"proposal", "identity"} {
				if _, ok := cols[c]; !ok {
					return nil, fmt.Errorf("collect: %s:%d: header lacks column %q (want %s, tab-separated)", name, ln, c, LabelsHeader)
				}
			}
			continue
		}
		get := func(c string) string {
			if i, ok := cols[c]; ok && i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		row := LabelRow{Line: ln, Proposal: get("proposal"), Identity: get("identity"),
			Name: get("name"), Series: get("series"), Credit: get("credit")}
		if err := checkRow(&row, get("box")); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, ln, err))
			if len(errs) >= maxReported {
				break
			}
			continue
		}
		l.Rows = append(l.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("collect: %s: %w", name, err)
	}
	if cr.n > MaxLabelsBytes {
		return nil, fmt.Errorf("collect: %s: over %d bytes", name, MaxLabelsBytes)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("collect: %d bad rows:\n%w", len(errs), errors.Join(errs...))
	}
	if cols == nil {
		return nil, fmt.Errorf("collect: %s: empty file (no header; want %s)", name, LabelsHeader)
	}
	return l, nil
}

func checkRow(r *LabelRow, box string) error {
	if !proposalID.MatchString(r.Proposal) {
		return fmt.Errorf("proposal %q: want an id of proposals.json like p000123", clip(r.Proposal))
	}
	if err := checkText(r.Identity, maxIDLen, true); err != nil {
		return fmt.Errorf("identity %q: %w", clip(r.Identity), err)
	}
	for _, f := range []struct{ what, v string }{{"name", r.Name}, {"series", r.Series}, {"credit", r.Credit}} {
		if err := checkText(f.v, maxTextLen, false); err != nil {
			return fmt.Errorf("%s %q: %w", f.what, clip(f.v), err)
		}
	}
	if box != "" {
		parts := strings.Split(box, ",")
		if len(parts) != 4 {
			return fmt.Errorf("box %q: want x,y,w,h", clip(box))
		}
		var b [4]int
		for i, s := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < -1<<24 || n > 1<<24 {
				return fmt.Errorf("box %q: want four integers x,y,w,h", clip(box))
			}
			b[i] = n
		}
		if b[2] <= 0 || b[3] <= 0 {
			return fmt.Errorf("box %q: width and height must be positive", box)
		}
		r.Box = &b
	}
	return nil
}

// Check matches labels against proposals: the run (when stamped), that every proposal exists
// and is named once, that a replaced box is inside its image, and that one identity does not get
// two different names, series or credits. It reports up to 20 problems at once, by line.
func Check(p *Proposals, l *Labels, name string) error {
	if l.Run != "" && p.Run != "" && l.Run != p.Run {
		return fmt.Errorf("collect: %s was exported for proposals run %s, but this proposals.json is run %s", name, l.Run, p.Run)
	}
	if len(l.Rows) == 0 {
		return fmt.Errorf("collect: %s names no proposals", name)
	}
	idx := p.index()
	seen := map[string]int{}
	type meta struct {
		line                 int
		name, series, credit string
	}
	ids := map[string]meta{}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	for _, r := range l.Rows {
		if len(errs) >= maxReported {
			break
		}
		m, ok := idx[r.Proposal]
		if !ok {
			add(fmt.Errorf("%s:%d: proposal %s is not in proposals.json (left out, or another run)", name, r.Line, r.Proposal))
			continue
		}
		if prev, dup := seen[r.Proposal]; dup {
			add(fmt.Errorf("%s:%d: proposal %s is named again (first on line %d)", name, r.Line, r.Proposal, prev))
			continue
		}
		seen[r.Proposal] = r.Line
		if r.Box != nil {
			im := p.Images[m.Image]
			if err := checkBox(*r.Box, im.Width, im.Height); err != nil {
				add(fmt.Errorf("%s:%d: proposal %s: %w", name, r.Line, r.Proposal, err))
				continue
			}
		}
		cur := meta{r.Line, r.Name, r.Series, r.Credit}
		if first, ok := ids[r.Identity]; ok {
			for _, f := range []struct{ what, a, b string }{{"name", first.name, cur.name}, {"series", first.series, cur.series}, {"credit", first.credit, cur.credit}} {
				if f.a != f.b {
					add(fmt.Errorf("%s:%d: identity %q has %s %q, but %q on line %d", name, r.Line, r.Identity, f.what, f.b, f.a, first.line))
					break
				}
			}
		} else {
			ids[r.Identity] = cur
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("collect: %s does not fit proposals.json (%d problems):\n%w", name, len(errs), errors.Join(errs...))
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
