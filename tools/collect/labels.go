package collect

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/toonid/toonid/tools/eval"
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

// errEnough stops the scan once maxReported rows are bad.
var errEnough = errors.New("enough bad rows")

// ReadLabels parses labels.tsv: tab-separated with a header naming at least the columns
// proposal and identity (optional: name, series, credit, box as "x,y,w,h"); blank lines and
// lines starting with # are skipped, except the run comment. Cells are trimmed. The file is read
// by eval.ScanTSVComments, the TSV rules every tool shares (byte-order mark, CRLF, a column named
// twice, line limits). It checks each row on its own (ids, text, box syntax) and reports up to
// 20 bad rows at once; Check matches them against proposals.json.
func ReadLabels(r io.Reader, name string) (*Labels, error) {
	cr := &countReader{r: io.LimitReader(r, MaxLabelsBytes+1)}
	l := &Labels{}
	var errs []error
	comment := func(ln int, line string) error {
		m := runComment.FindStringSubmatch(line)
		if m == nil {
			return nil
		}
		if l.Run != "" && l.Run != m[1] {
			return errors.New("a second, different run comment")
		}
		l.Run = m[1]
		return nil
	}
	err := eval.ScanTSVComments(cr, name, []string{"proposal", "identity"}, []string{"name", "series", "credit", "box"}, comment,
		func(ln int, c map[string]string) error {
			row := LabelRow{Line: ln, Proposal: c["proposal"], Identity: c["identity"], Name: c["name"], Series: c["series"], Credit: c["credit"]}
			if err := checkRow(&row, c["box"]); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %w", name, ln, err))
				if len(errs) >= maxReported {
					return errEnough
				}
				return nil
			}
			l.Rows = append(l.Rows, row)
			return nil
		})
	if cr.n > MaxLabelsBytes {
		return nil, fmt.Errorf("collect: %s: over %d bytes", name, MaxLabelsBytes)
	}
	if err != nil && !errors.Is(err, errEnough) {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("collect: %d bad rows:\n%w", len(errs), errors.Join(errs...))
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
