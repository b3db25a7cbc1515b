package eval

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/toonid/toonid/pack"

	"github.com/toonid/toonid/internal/fsutil"
)

// maxTSVBytes bounds a manifest or gallery file.
const maxTSVBytes = 64 << 20

// readTSV reads a tab-separated file with a header; required columns must be present, optional ones
// may be. It returns one map per data row (missing optional cells are ""), plus each row's line number.
// Paths in the "path" column are made relative to the TSV's directory.
func readTSV(name string, required, optional []string) ([]map[string]string, []int, error) {
	f, err := fsutil.OpenRegular(name)
	if err != nil {
		return nil, nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxTSVBytes {
		return nil, nil, fmt.Errorf("eval: %s: %d bytes, limit %d", name, st.Size(), maxTSVBytes)
	}
	var out []map[string]string
	var lines []int
	dir := filepath.Dir(name)
	err = ScanTSV(f, name, required, optional, func(ln int, row map[string]string) error {
		if p := row["path"]; p != "" && !filepath.IsAbs(p) {
			row["path"] = filepath.Join(dir, p)
		}
		out = append(out, row)
		lines = append(lines, ln)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("eval: %w", err)
	}
	return out, lines, nil
}

// ScanTSV reads tab-separated rows with a header line naming the columns (other columns are
// ignored; blank lines and lines starting with # are skipped; CRLF is accepted) and calls fn with
// each data row's line number and its required and optional cells, trimmed. Required columns must be
// in the header and non-empty in every row; a missing optional cell is left out of the map. Errors
// name the file (name) and line; an error from fn stops the scan and is returned with the location.
func ScanTSV(r io.Reader, name string, required, optional []string, fn func(ln int, row map[string]string) error) error {
	return ScanTSVComments(r, name, required, optional, nil, fn)
}

// ScanTSVComments is ScanTSV that also hands every comment line (starting with #, anywhere in
// the file) to comment, for files that carry a stamp in a comment (collect's labels.tsv); nil
// skips them as ScanTSV does. An error from comment stops the scan like one from fn.
func ScanTSVComments(r io.Reader, name string, required, optional []string, comment func(ln int, line string) error, fn func(ln int, row map[string]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTSVLine)
	var cols map[string]int
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimRight(sc.Text(), "\r")
		if ln == 1 {
			// Spreadsheet exports start with a byte-order mark, which would otherwise be part of
			// the first column's name ("\ufeffpath") and hide it.
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if strings.HasPrefix(line, "#") && comment != nil {
			if err := comment(ln, line); err != nil {
				return fmt.Errorf("%s:%d: %w", name, ln, err)
			}
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
				if j, dup := cols[c]; dup && c != "" {
					return fmt.Errorf("%s:%d: column %q appears twice in the header (columns %d and %d)", name, ln, c, j+1, i+1)
				}
				cols[c] = i
			}
			for _, c := range required {
				if _, ok := cols[c]; !ok {
					return fmt.Errorf("%s:%d: header lacks column %q (want %s, tab-separated)", name, ln, c, strings.Join(append(required, optional...), ", "))
				}
			}
			continue
		}
		row := map[string]string{}
		for _, c := range append(required, optional...) {
			i, ok := cols[c]
			if !ok {
				continue
			}
			if i >= len(cells) {
				if contains(required, c) {
					return fmt.Errorf("%s:%d: missing column %q", name, ln, c)
				}
				continue
			}
			row[c] = strings.TrimSpace(cells[i])
		}
		for _, c := range required {
			if row[c] == "" {
				return fmt.Errorf("%s:%d: empty %q", name, ln, c)
			}
		}
		if err := fn(ln, row); err != nil {
			return fmt.Errorf("%s:%d: %w", name, ln, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", name, ln+1, maxTSVLine)
		}
		return fmt.Errorf("%s:%d: %w", name, ln+1, err)
	}
	if cols == nil {
		return fmt.Errorf("%s: empty file (no header)", name)
	}
	return nil
}

// maxTSVLine bounds one TSV line; no gallery or boxes line comes near it.
const maxTSVLine = 1 << 20

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// ReadManifest reads an eval manifest: header `path identity role`, role gallery|probe|distractor,
// paths relative to the manifest.
func ReadManifest(name string) ([]Row, error) {
	rows, lines, err := readTSV(name, []string{"path", "identity", "role"}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		role := Role(r["role"])
		if role != Gallery && role != Probe && role != Distractor {
			return nil, fmt.Errorf("eval: %s:%d: role %q, want gallery, probe or distractor", name, lines[i], r["role"])
		}
		out[i] = Row{Path: r["path"], Identity: r["identity"], Role: role}
	}
	return out, nil
}

// GalleryRow is one line of a pack-build gallery: `path identity [name] [series] [credit]`.
type GalleryRow struct {
	Path  string
	Label pack.Label
}

// ReadGallery reads a gallery TSV; a missing name defaults to the identity.
func ReadGallery(name string) ([]GalleryRow, error) {
	rows, lines, err := readTSV(name, []string{"path", "identity"}, []string{"name", "series", "credit"})
	if err != nil {
		return nil, err
	}
	// One identity, one name: a second spelling would silently lose to the first in the pack.
	type named struct {
		name string
		line int
	}
	first := map[string]named{}
	out := make([]GalleryRow, len(rows))
	for i, r := range rows {
		if n := r["name"]; n != "" {
			if f, ok := first[r["identity"]]; !ok {
				first[r["identity"]] = named{n, lines[i]}
			} else if f.name != n {
				return nil, fmt.Errorf("eval: %s:%d: identity %q is named %q here but %q on line %d", name, lines[i],
					r["identity"], n, f.name, f.line)
			}
		}
		l := pack.Label{ID: r["identity"], Name: r["name"], Series: r["series"], Credit: r["credit"]}
		if l.Name == "" {
			l.Name = l.ID
		}
		out[i] = GalleryRow{Path: r["path"], Label: l}
	}
	return out, nil
}

// Paths returns the rows' image paths.
func Paths(rows []Row) []string {
	p := make([]string, len(rows))
	for i, r := range rows {
		p[i] = r.Path
	}
	return p
}
