package collect

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/toonid/toonid/tools/eval"
)

// DefaultGrid are the window divisors of the shorter side: squares of side s, s/2 and s/3.
var DefaultGrid = []int{1, 2, 3}

// maxGridDivisor bounds -grid (a 1/12 window of a 4K frame is already 180 px).
const maxGridDivisor = 12

// Windows returns the square crop proposals for a w x h image when no detector or box list is
// given. For each divisor d of grid, squares of side min(w,h)/d slide over the image with a stride
// of about half a side, spread evenly so the first touches the top/left edge and the last the
// bottom/right edge. d = 1 is the whole-image square (for a square image, exactly the image; for
// a wide frame, a few full-height squares). Windows with a side under minSide are left out, except
// those of d = 1, so every image gives at least one proposal. Order: by d, then row, column.
//
// Why a grid: a face crop (the face box enlarged ~2x, as the model wants) of a character who
// matters in a frame spans a third to all of the frame's shorter side, and with half-side
// strides one window of the right scale is always within a quarter side of it. The grid costs
// 4 + 27 + 84 = 115 embeddings for a 1280x544 frame at the default {1,2,3}; -grid 1 keeps the
// whole-image square only (sprites, portraits). Windows that hold no face mostly become
// singletons that fall out at min_size or near-duplicates; background that recurs with variations
// forms clusters of its own, which the reviewer rejects.
func Windows(w, h int, grid []int, minSide int) []image.Rectangle {
	if w <= 0 || h <= 0 {
		return nil
	}
	short := min(w, h)
	var out []image.Rectangle
	for _, d := range grid {
		if d < 1 {
			continue
		}
		side := short / d
		if side < 1 || (side < minSide && d != 1) {
			continue
		}
		for _, y := range spread(h, side) {
			for _, x := range spread(w, side) {
				out = append(out, image.Rect(x, y, x+side, y+side))
			}
		}
	}
	return out
}

// spread places windows of side s along n pixels at a stride of at most s/2, evenly spaced.
func spread(n, s int) []int {
	if s >= n {
		return []int{0}
	}
	stride := max(1, s/2)
	k := (n-s+stride-1)/stride + 1
	pos := make([]int, k)
	for i := range pos {
		pos[i] = int(math.Round(float64(i) * float64(n-s) / float64(k-1)))
	}
	return pos
}

// ParseGrid reads "1,2,3" (or "none" for no windows, only useful with boxes).
func ParseGrid(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultGrid, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 1 || d > maxGridDivisor {
			return nil, fmt.Errorf("grid %q: want divisors 1..%d separated by commas, e.g. 1,2,3", s, maxGridDivisor)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// maxBoxesBytes bounds a -boxes TSV.
const maxBoxesBytes = 64 << 20

// ReadBoxes reads a box list: a header `path x y w h` (other columns are ignored, so
// tools/gallery/testimages/faces.tsv is one), then one box per line; paths are relative to the
// folder being collected, boxes in pixels. Lines starting with # are comments. An image may have
// several lines. enlarge grows each box about its centre into a square of enlarge times its longer
// side (use 2 for tight face boxes from a detector; 1 keeps the box as given).
func ReadBoxes(r io.Reader, name string, enlarge float64) (map[string][]image.Rectangle, error) {
	if !(enlarge >= 1 && enlarge <= 8) {
		return nil, fmt.Errorf("collect: boxes: enlarge %v, want 1..8", enlarge)
	}
	out := map[string][]image.Rectangle{}
	err := eval.ScanTSV(io.LimitReader(r, maxBoxesBytes), name, []string{"path", "x", "y", "w", "h"}, nil, func(_ int, row map[string]string) error {
		p := row["path"]
		if err := checkRelPath(p); err != nil {
			return err
		}
		var v [4]float64
		for i, c := range []string{"x", "y", "w", "h"} {
			f, err := strconv.ParseFloat(row[c], 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<24 {
				return fmt.Errorf("%s = %q, want a number", c, row[c])
			}
			v[i] = f
		}
		if v[2] <= 0 || v[3] <= 0 {
			return fmt.Errorf("box %v,%v,%v,%v: width and height must be positive", v[0], v[1], v[2], v[3])
		}
		r := image.Rect(int(math.Round(v[0])), int(math.Round(v[1])), int(math.Round(v[0]+v[2])), int(math.Round(v[1]+v[3])))
		if enlarge != 1 {
			cx, cy := v[0]+v[2]/2, v[1]+v[3]/2
			s := max(v[2], v[3]) * enlarge / 2
			r = image.Rect(int(math.Round(cx-s)), int(math.Round(cy-s)), int(math.Round(cx+s)), int(math.Round(cy+s)))
		}
		if r.Empty() {
			return errors.New("box rounds to nothing")
		}
		out[path.Clean(p)] = append(out[path.Clean(p)], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	return out, nil
}
