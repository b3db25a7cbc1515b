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
// Edge strength: the crop as FlatSide x FlatSide grey levels in [0, 1] (Rec. 601 weights; each
// cell the mean of a few of its pixels), its 3x3 Sobel derivatives across and down at the inner pixels, the 98th percentile of
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
	flatPct = 98
)

// EdgeStrength is the crop's edge strength (see FlatEdge) on a flattened, non-premultiplied
// RGBA image (stride 4*w, pix holding 4*w*h bytes); box is clipped to the image, and an empty
// intersection is 0.
func EdgeStrength(pix []byte, w, h int, box image.Rectangle) float32 {
	gx, gy, ok := derivatives(pix, w, h, box)
	if !ok {
		return 0
	}
	slices.Sort(gx[:])
	slices.Sort(gy[:])
	return min(gx[pctIndex], gy[pctIndex])
}

// pctIndex is the flatPct percentile's index among the sorted inner pixels' derivatives.
const pctIndex = ((FlatSide-2)*(FlatSide-2) - 1) * flatPct / 100

// IsFlat says whether a crop is too flat to be a face: EdgeStrength below edge (never, for
// edge <= 0). The click search, IdentifyAll and live mode all ask it. It counts instead of
// sorting (a click search measures 10 crops, live mode every detection): the percentile at
// pctIndex is >= edge exactly when at least len-pctIndex of the values are.
func IsFlat(pix []byte, w, h int, box image.Rectangle, edge float32) bool {
	if edge <= 0 {
		return false
	}
	gx, gy, ok := derivatives(pix, w, h, box)
	if !ok {
		return true // nothing of the image in the box: EdgeStrength 0
	}
	need := len(gx) - pctIndex
	nx, ny := 0, 0
	for i := range gx {
		nx += btoi(gx[i] >= edge)
		ny += btoi(gy[i] >= edge)
	}
	return nx < need || ny < need
}

// derivatives returns the magnitudes of the Sobel derivatives across (gx) and down (gy) at the
// inner pixels of the crop's FlatSide x FlatSide grey levels in [0, 1]; ok false when the box
// holds no pixel of the image.
func derivatives(pix []byte, w, h int, box image.Rectangle) (gx, gy *[(FlatSide - 2) * (FlatSide - 2)]float32, ok bool) {
	b := box.Intersect(image.Rect(0, 0, w, h))
	if b.Empty() {
		return nil, nil, false
	}
	const n = FlatSide
	var g [n * n]float32
	bw, bh := b.Dx(), b.Dy()
	for i := 0; i < n; i++ {
		y0 := b.Min.Y + i*bh/n
		y1 := max(b.Min.Y+(i+1)*bh/n, y0+1)
		sy := max(1, (y1-y0)/2)
		for j := 0; j < n; j++ {
			x0 := b.Min.X + j*bw/n
			x1 := max(b.Min.X+(j+1)*bw/n, x0+1)
			// A cell's level is the mean of every sy-th row's every (sx/4)-th pixel (2-3 a side):
			// the measure needs the level, not every pixel of a 1000 px box.
			sx := 4 * max(1, (x1-x0)/2)
			sum, cnt := 0, 0
			for y := y0; y < y1; y += sy {
				row := pix[4*(y*w+x0) : 4*(y*w+x1)]
				for x := 0; x+2 < len(row); x += sx {
					sum += 299*int(row[x]) + 587*int(row[x+1]) + 114*int(row[x+2])
					cnt++
				}
			}
			g[i*n+j] = float32(sum) / float32(255000*cnt)
		}
	}
	gx, gy = new([(n - 2) * (n - 2)]float32), new([(n - 2) * (n - 2)]float32)
	k := 0
	for y := 1; y < n-1; y++ {
		up, mid, down := g[(y-1)*n:y*n], g[y*n:(y+1)*n], g[(y+1)*n:(y+2)*n]
		for x := 1; x < n-1; x++ {
			dx := up[x+1] + 2*mid[x+1] + down[x+1] - up[x-1] - 2*mid[x-1] - down[x-1]
			dy := down[x-1] + 2*down[x] + down[x+1] - up[x-1] - 2*up[x] - up[x+1]
			gx[k], gy[k] = abs32(dx), abs32(dy)
			k++
		}
	}
	return gx, gy, true
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
