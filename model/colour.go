package model

import (
	"fmt"
	"math"
	"slices"
)

// The colour cue (OpColourHist, FORMAT.md). Generic ImageNet features and our synthetic
// training both carry little of what tells two sprites or two painted characters apart: their
// colours. A foreground colour histogram of the crop, centred and appended to the CNN's
// embedding with a fixed weight, raised real-art validation and the held-out DiceBear styles
// alike (MODEL_CARD.md, "The colour cue").

// Colour histogram limits and its foreground rule, stated once (FORMAT.md quotes them).
const (
	MinColourBins = 2
	MaxColourBins = 16 // 4096 cells
	// colourFgDist is how far (sum of the three channel differences on the [0,1] scale) a
	// pixel must be from the border colour to count as foreground: 40 of 765 levels.
	colourFgDist = 40.0 / 255
	// colourMinFgShare: with fewer foreground pixels than 1/80 of the image (a crop that is
	// all figure, or blank) every pixel counts.
	colourMinFgShare = 80
)

// colourHistScratch is the scratch colourHist needs for an h x w input.
func colourHistScratch(h, w int) int { return 2 * (h + w) }

// colourHist writes into dst (bins³ cells, r-major: (r·bins + g)·bins + b) the square root of
// the share of src's foreground pixels in each RGB cell. src is a [3,h,w] network input;
// pixel channel c on the [0,1] scale is src·std[c] + mean[c]. The border colour is the
// per-channel lower median of the outermost rows and columns; a pixel is foreground when its
// L1 distance from it exceeds colourFgDist. scratch holds at least colourHistScratch(h, w).
func colourHist(dst, src []float32, h, w, bins int, mean, std [3]float32, scratch []float32) {
	hw := h * w
	var border [3]float32
	for c := 0; c < 3; c++ {
		plane := src[c*hw : (c+1)*hw]
		b := scratch[:0]
		for x := 0; x < w; x++ {
			b = append(b, plane[x])
			if h > 1 {
				b = append(b, plane[(h-1)*w+x])
			}
		}
		for y := 1; y < h-1; y++ {
			b = append(b, plane[y*w])
			if w > 1 {
				b = append(b, plane[y*w+w-1])
			}
		}
		slices.Sort(b)
		border[c] = b[(len(b)-1)/2]*std[c] + mean[c]
	}
	cell := func(v float32) int {
		if !(v > 0) { // also NaN
			return 0
		}
		return min(int(v*float32(bins)), bins-1)
	}
	clear(dst[:bins*bins*bins])
	count := func(fgOnly bool) int {
		n := 0
		for i := 0; i < hw; i++ {
			r := src[i]*std[0] + mean[0]
			g := src[hw+i]*std[1] + mean[1]
			b := src[2*hw+i]*std[2] + mean[2]
			if fgOnly && abs32(r-border[0])+abs32(g-border[1])+abs32(b-border[2]) <= colourFgDist {
				continue
			}
			dst[(cell(r)*bins+cell(g))*bins+cell(b)]++
			n++
		}
		return n
	}
	n := count(true)
	if n*colourMinFgShare < hw {
		clear(dst[:bins*bins*bins])
		n = count(false)
	}
	for i := range dst[:bins*bins*bins] {
		dst[i] = float32(math.Sqrt(float64(dst[i]) / float64(n)))
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// ColourCueOps is how many ops AppendColourCue adds.
const ColourCueOps = 6

// AppendColourCue appends the colour cue to an embedder graph whose last op outputs the
// embedding e ([N,1,1]): the output becomes [e/|e|, weight·u] with u the unit vector of the
// input's colour histogram (bins per channel) minus its mean over calib (network inputs, as
// Model.PreprocessImage makes them), [N + bins³, 1, 1]. The mean is stored in the graph (an
// Add constant), so the file embeds every crop the same way wherever it runs.
func AppendColourCue(g *Graph, bins int, weight float32, calib [][]float32) error {
	if bins < MinColourBins || bins > MaxColourBins {
		return fmt.Errorf("model: colour cue: %d bins per channel (want %d..%d)", bins, MinColourBins, MaxColourBins)
	}
	if !(weight > 0) || math.IsInf(float64(weight), 0) {
		return fmt.Errorf("model: colour cue: weight %v (want a finite value above 0)", weight)
	}
	if len(calib) == 0 {
		return fmt.Errorf("model: colour cue: no calibration inputs to centre the histogram on")
	}
	shapes, err := g.Shapes()
	if err != nil {
		return err
	}
	last := len(g.Ops)
	if out := shapes[last]; out[1] != 1 || out[2] != 1 {
		return fmt.Errorf("model: colour cue: the graph's output %v is not an embedding [N,1,1]", out)
	}
	cells := bins * bins * bins
	mean := make([]float64, cells)
	h := make([]float32, cells)
	scratch := make([]float32, colourHistScratch(g.InputH, g.InputW))
	n := g.InputC * g.InputH * g.InputW
	for i, in := range calib {
		if len(in) != n {
			return fmt.Errorf("model: colour cue: calibration input %d has %d values, want %d", i, len(in), n)
		}
		colourHist(h, in, g.InputH, g.InputW, bins, g.Mean, g.Std, scratch)
		for j, v := range h {
			mean[j] += float64(v)
		}
	}
	neg := make([]float32, cells)
	for j, v := range mean {
		neg[j] = float32(-v / float64(len(calib)))
	}
	g.Ops = append(g.Ops,
		Op{Kind: OpL2Norm, In: [2]int{last, -1}},                                          // value last+1: e/|e|
		Op{Kind: OpColourHist, In: [2]int{0, -1}, Group: bins},                            // last+2
		Op{Kind: OpAdd, In: [2]int{last + 2, -1}, Weight: neg, WeightShape: []int{cells}}, // last+3: centred
		Op{Kind: OpL2Norm, In: [2]int{last + 3, -1}},                                      // last+4
		Op{Kind: OpMul, In: [2]int{last + 4, -1}, Weight: []float32{weight}, WeightShape: []int{1}},
		Op{Kind: OpConcat, In: [2]int{last + 1, last + 5}},
	)
	if _, err := g.Shapes(); err != nil {
		g.Ops = g.Ops[:last]
		return err
	}
	return nil
}
