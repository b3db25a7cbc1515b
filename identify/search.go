package identify

import (
	"image"
	"math"
)

// Search is the detector-free click search: the candidate crops tried around a click point.
// A coarse pass centres one square crop per scale on the click; a refine pass shifts and
// rescales the best coarse crop. Every crop is the model's input crop (face box enlarged ~2x),
// so the sides are relative to the image's shorter side ("unit").
type Search struct {
	Scales      []float64 // coarse crop sides, as fractions of unit
	Shift       float64   // refine offset, as a fraction of the crop side
	RefineScale float64   // refine rescale factor (>1): the best side times and divided by it
	// Confident skips the refine pass when the best coarse crop already scores at least this much
	// above the matcher's threshold (a clear answer does not need 6 more embeddings). <= 0: never.
	Confident float32
	// FlatEdge: a crop the search or the detector chose whose EdgeStrength is below this is not
	// a face and is not matched (see the constant FlatEdge; a Request.Box is never gated). 0: no gate.
	FlatEdge float32
}

// DefaultSearch is what the demo and `toonid identify -at` use; site/README.md documents its cost.
func DefaultSearch() Search {
	return Search{
		Scales:      []float64{0.22, 0.34, 0.5, 0.72},
		Shift:       0.18,
		RefineScale: 1.2,
		Confident:   0.1,
		FlatEdge:    FlatEdge,
	}
}

// Extent is how far (in units) any candidate crop can reach from the click, so a caller can send
// only that region's pixels.
func (s Search) Extent() float64 {
	m := 0.0
	for _, v := range s.Scales {
		m = math.Max(m, v)
	}
	rs := math.Max(s.RefineScale, 1)
	return m*rs/2 + m*s.Shift + 0.01
}

// Coarse returns one crop per scale centred on (x, y) in a w x h image.
func (s Search) Coarse(x, y, unit float64, w, h int) []image.Rectangle {
	var out []image.Rectangle
	for _, sc := range s.Scales {
		out = appendUnique(out, square(x, y, sc*unit, w, h))
	}
	return out
}

// Refine returns the shifted (left, right, up, down) and rescaled neighbours of best.
func (s Search) Refine(best image.Rectangle, w, h int) []image.Rectangle {
	side := float64(best.Dx())
	cx := float64(best.Min.X+best.Max.X) / 2
	cy := float64(best.Min.Y+best.Max.Y) / 2
	d := s.Shift * side
	var out []image.Rectangle
	for _, c := range [][2]float64{{-d, 0}, {d, 0}, {0, -d}, {0, d}} {
		out = appendUnique(out, square(cx+c[0], cy+c[1], side, w, h))
	}
	if s.RefineScale > 1 {
		out = appendUnique(out, square(cx, cy, side/s.RefineScale, w, h))
		out = appendUnique(out, square(cx, cy, side*s.RefineScale, w, h))
	}
	var fresh []image.Rectangle
	for _, r := range out {
		if r != best {
			fresh = append(fresh, r)
		}
	}
	return fresh
}

// Views is best, made square and moved inside the w x h image as every crop is, followed by its
// Refine neighbours: the crops a later click near the same face may be answered from. Teaching a
// character in the browser stores all of them (site/app.js), because one crop alone is matched
// again only when the next click lands on nearly the same box.
func (s Search) Views(best image.Rectangle, w, h int) []image.Rectangle {
	c := square(float64(best.Min.X+best.Max.X)/2, float64(best.Min.Y+best.Max.Y)/2, float64(max(best.Dx(), best.Dy())), w, h)
	return append([]image.Rectangle{c}, s.Refine(c, w, h)...)
}

// square is the side x side square centred on (cx, cy), moved (not cut) to lie inside the image
// so the model never sees padding; it shrinks only when the image is smaller than side.
func square(cx, cy, side float64, w, h int) image.Rectangle {
	s := int(math.Round(side))
	s = min(s, w, h)
	s = max(s, 1)
	x0 := int(math.Round(cx - float64(s)/2))
	y0 := int(math.Round(cy - float64(s)/2))
	x0 = min(max(x0, 0), w-s)
	y0 = min(max(y0, 0), h-s)
	return image.Rect(x0, y0, x0+s, y0+s)
}

func appendUnique(rs []image.Rectangle, r image.Rectangle) []image.Rectangle {
	for _, q := range rs {
		if q == r {
			return rs
		}
	}
	return append(rs, r)
}
