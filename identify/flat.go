package identify

import (
	"image"
	"math"
	"slices"
)

// A crop with no sharp edge is not a face. Drawn, rendered and pixel-art faces all have some
// (eye, mouth and outline strokes); an out-of-focus background, sky or a blank wall has none,
// and its embedding lands near whatever gallery art is as blurred: a click on the Sintel
// frame's warm background named a glowing SuperTux sprite (Willowisp) at 0.80, above the
// default pack's threshold, at 12 of 63 grid points. So the crop stage measures a crop's edge
// strength before embedding it, and a crop under FlatEdge (DefaultSearch's) is answered "not a
// face" (Reply.Flat, Face.Flat) without being embedded or matched.
//
// Edge strength: the crop, area-averaged to FlatSide x FlatSide grey levels in [0, 1] (Rec. 601
// weights), its 3x3 Sobel derivatives across and down at the inner pixels, the 98th percentile of
// each one's magnitude (the strongest edges, so a face that is mostly flat colour still counts by
// its strokes), and the smaller of the two: a face has strokes both ways, while a letterbox bar
// or a horizon is one straight edge (with the gradient's magnitude instead, crops of the Sintel
// frame's background that caught the letterbox bar passed, and still answered "Probably
// Willowisp?" at 0.66).
const (
	FlatSide = 64
	// FlatEdge was set 2026-12-03 from measurements of EdgeStrength (TestFlatGate keeps the ones
	// the repository holds): the 198 realval face crops score 0.71 and up; the training data's
	// eval sets (14,000 DiceBear and procedural faces, 302 game sprites) 0.21 and up (procedural
	// pixel art; its 1st percentile 0.41; "personas", flat vector faces, 0.36), except three SuperTux
	// effect frames (a melted Mr. Iceblock, 0.06-0.15); the click search's crops of the Sintel frame's
	// out-of-focus background a median 0.06, at most 0.20. 0.15 keeps every face but three such frames.
	FlatEdge = 0.15
	// flatPct is the percentile of the derivatives' magnitudes EdgeStrength reads.
	flatPct = 0.98
)

// EdgeStrength is the crop's edge strength (see FlatEdge) on a flattened, non-premultiplied
// RGBA image (stride 4*w); box is clipped to the image, and an empty intersection is 0.
func EdgeStrength(pix []byte, w, h int, box image.Rectangle) float32 {
	b := box.Intersect(image.Rect(0, 0, w, h))
	if b.Empty() {
		return 0
	}
	const n = FlatSide
	var g [n * n]float32
	bw, bh := b.Dx(), b.Dy()
	for i := 0; i < n; i++ {
		y0 := b.Min.Y + i*bh/n
		y1 := max(b.Min.Y+(i+1)*bh/n, y0+1)
		for j := 0; j < n; j++ {
			x0 := b.Min.X + j*bw/n
			x1 := max(b.Min.X+(j+1)*bw/n, x0+1)
			// Large crops average a subsample (every sy-th row, sx-th column) of the cell: the
			// measure needs the cell's level, not every pixel of a 1000 px box.
			sy, sx := max(1, (y1-y0)/4), max(1, (x1-x0)/4)
			var sum float64
			cnt := 0
			for y := y0; y < y1; y += sy {
				row := pix[4*(y*w+x0) : 4*(y*w+x1)]
				for x := 0; x < len(row); x += 4 * sx {
					sum += 0.299*float64(row[x]) + 0.587*float64(row[x+1]) + 0.114*float64(row[x+2])
					cnt++
				}
			}
			g[i*n+j] = float32(sum / float64(cnt) / 255)
		}
	}
	gxs := make([]float32, 0, (n-2)*(n-2))
	gys := make([]float32, 0, (n-2)*(n-2))
	for y := 1; y < n-1; y++ {
		for x := 1; x < n-1; x++ {
			at := func(dy, dx int) float32 { return g[(y+dy)*n+x+dx] }
			gx := at(-1, 1) + 2*at(0, 1) + at(1, 1) - at(-1, -1) - 2*at(0, -1) - at(1, -1)
			gy := at(1, -1) + 2*at(1, 0) + at(1, 1) - at(-1, -1) - 2*at(-1, 0) - at(-1, 1)
			gxs, gys = append(gxs, float32(math.Abs(float64(gx)))), append(gys, float32(math.Abs(float64(gy))))
		}
	}
	slices.Sort(gxs)
	slices.Sort(gys)
	i := int(flatPct * float64(len(gxs)-1))
	return min(gxs[i], gys[i])
}

// isFlat says whether a crop is too flat to be a face: EdgeStrength below the search's FlatEdge.
func (id *Identifier) isFlat(pix []byte, w, h int, box image.Rectangle) bool {
	return id.search.FlatEdge > 0 && EdgeStrength(pix, w, h, box) < id.search.FlatEdge
}
