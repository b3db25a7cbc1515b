package model

import (
	"fmt"
	"image"
	"image/draw"
	"unsafe"
)

// maxBoxSide bounds the crop box a caller may ask for (a 8K frame fits).
const maxBoxSide = 8192

// Preprocess resamples the crop box of an RGBA image (pix, stride in bytes, w x h pixels)
// into the model's normalised CHW input, writing into dst when it is long enough.
//
// The resampler is a separable triangle (bilinear) filter whose support grows with the
// downscale factor, so a crop much larger than the input is area-averaged instead of
// point-sampled and does not alias; upscaling is plain bilinear. Pixel centres are aligned
// (half-pixel convention) and the filter never reads outside the box. Where the box leaves
// the image the missing pixels count as the model's mean colour, i.e. zero after
// normalisation, like the network's own zero padding.
// Alpha is ignored.
func (m *Model) Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error) {
	return preprocess(dst, pix, stride, w, h, box, m.info.InputW, m.info.InputH, m.info.Mean, m.info.Std)
}

type taps struct {
	start []int     // first source index per output index
	n     []int     // tap count per output index
	w     []float32 // weights, n[i] per output index, in order
}

// filterTaps computes the triangle filter taps for mapping size source samples starting at
// lo onto out samples, reading only samples lo..lo+n-1 (n = size, or its ceiling for the
// fractional sizes of a row-halved source).
func filterTaps(lo int, size float64, n, out int) taps {
	scale := size / float64(out)
	support := max(scale, 1)
	t := taps{start: make([]int, out), n: make([]int, out)}
	for i := 0; i < out; i++ {
		c := float64(lo) + (float64(i)+0.5)*scale - 0.5
		// The support is clipped to the box, so the output depends on the box's pixels only.
		first := max(int(floorF(c-support))+1, lo)
		last := min(int(floorF(c+support)), lo+n-1)
		if last < first {
			first, last = min(max(int(floorF(c+0.5)), lo), lo+n-1), min(max(int(floorF(c+0.5)), lo), lo+n-1)
		}
		var sum float64
		ws := make([]float64, 0, last-first+1)
		for s := first; s <= last; s++ {
			d := 1 - absF(float64(s)-c)/support
			ws = append(ws, max(d, 0))
			sum += max(d, 0)
		}
		if sum == 0 { // only zero-weight taps left: take the nearest sample
			for k := range ws {
				ws[k] = 0
			}
			ws[min(max(int(floorF(c+0.5))-first, 0), len(ws)-1)] = 1
			sum = 1
		}
		t.start[i], t.n[i] = first, len(ws)
		for _, x := range ws {
			t.w = append(t.w, float32(x/sum))
		}
	}
	return t
}

func floorF(x float64) float64 {
	i := float64(int64(x))
	if i > x {
		i--
	}
	return i
}

func absF(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle, ow, oh int, mean, std [3]float32) ([]float32, error) {
	return preprocessOpt(dst, pix, stride, w, h, box, ow, oh, mean, std, true)
}

// preprocessOpt is preprocess with the row halving of large downscales optional (tests).
func preprocessOpt(dst []float32, pix []byte, stride, w, h int, box image.Rectangle, ow, oh int, mean, std [3]float32, halve bool) ([]float32, error) {
	if w < 1 || h < 1 || stride < 4*w || len(pix) < stride*(h-1)+4*w {
		return nil, fmt.Errorf("model: preprocess: %d bytes with stride %d do not hold a %dx%d RGBA image", len(pix), stride, w, h)
	}
	if !boxSidesOK(box) {
		return nil, fmt.Errorf("model: preprocess: crop box %v empty or larger than %d px", box, maxBoxSide)
	}
	if !box.Overlaps(image.Rect(0, 0, w, h)) {
		return nil, fmt.Errorf("model: preprocess: crop box %v outside the %dx%d image", box, w, h)
	}
	n := 3 * ow * oh
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	tx := filterTaps(box.Min.X, float64(box.Dx()), box.Dx(), ow)
	// Large downscales first halve the box's rows (2x1 byte averages, SIMD) while at least
	// four source rows per output row are left: the horizontal pass, the expensive one, then
	// runs over 1/f of the rows. (Halving down to two rows per output let period-5 stripes
	// through at 0.05; four keeps the result within the no-aliasing test's 0.04.) A box's row r' after f-fold halving is centred at f*r'+(f-1)/2,
	// which turns the triangle filter's centres into the same formula with scale/f. Boxes
	// that leave the image vertically take the direct path.
	src, srcStride, xoff := pix, stride, 0
	var ty taps
	var r0, rows int
	f := 1
	if halve && box.Min.Y >= 0 && box.Max.Y <= h {
		for box.Dy()/(2*f) >= 4*oh {
			f *= 2
		}
	}
	if f > 1 {
		cx0, cx1 := max(box.Min.X, 0), min(box.Max.X, w)
		src, srcStride, xoff = halveRows(pix, stride, box.Min.Y, box.Dy(), cx0, cx1, f), 4*(cx1-cx0), cx0
		rows = (box.Dy() + f - 1) / f
		ty = filterTaps(0, float64(box.Dy())/float64(f), rows, oh)
		h = rows
	} else {
		ty = filterTaps(box.Min.Y, float64(box.Dy()), box.Dy(), oh)
		// The source rows the vertical taps touch, clipped to the image.
		y0, y1 := ty.start[0], ty.start[oh-1]+ty.n[oh-1]
		r0 = max(y0, 0)
		rows = max(min(y1, h)-r0, 0)
	}
	// Horizontal pass over the needed rows into tmp[row][c][ox], in [0,1] units. Per output
	// column, the taps inside the image are a contiguous run (weights pre-scaled by 1/255);
	// the taps off the image read the mean colour, summed once into padW.
	type run struct{ lo, hi, k int } // source x range [lo,hi), first weight index
	runs := make([]run, ow)
	padW := make([]float32, ow)
	wts := make([]float32, len(tx.w))
	k := 0
	for ox := 0; ox < ow; ox++ {
		r := run{lo: min(max(tx.start[ox], 0), w), hi: min(tx.start[ox]+tx.n[ox], w)}
		r.hi = max(r.hi, r.lo)
		r.k = k + (r.lo - tx.start[ox])
		for t := 0; t < tx.n[ox]; t++ {
			x := tx.start[ox] + t
			wts[k+t] = tx.w[k+t] / 255
			if x < 0 || x >= w {
				padW[ox] += tx.w[k+t]
			}
		}
		runs[ox] = r
		k += tx.n[ox]
	}
	tmp := make([]float32, rows*3*ow)
	for r := 0; r < rows; r++ {
		row := src[(r0+r)*srcStride:]
		out := tmp[r*3*ow : (r+1)*3*ow]
		o0, o1, o2 := out[:ow], out[ow:2*ow], out[2*ow:3*ow]
		for ox, rn := range runs {
			pw := padW[ox]
			s0, s1, s2 := pw*mean[0], pw*mean[1], pw*mean[2]
			ws := wts[rn.k : rn.k+rn.hi-rn.lo]
			px := row[4*(rn.lo-xoff) : 4*(rn.hi-xoff)]
			if len(ws) > 0 {
				// Pointer walk: bounds checks in this loop cost 2-3x in Go wasm. Both
				// slices were just sliced to len(ws) taps, so the walk stays inside them.
				// Pointers are formed only for valid elements (never one past the end).
				pp, wp := unsafe.Pointer(&px[0]), unsafe.Pointer(&ws[0])
				for t := range ws {
					p := (*[4]byte)(unsafe.Add(pp, 4*t))
					wt := *(*float32)(unsafe.Add(wp, 4*t))
					s0 += wt * float32(p[0])
					s1 += wt * float32(p[1])
					s2 += wt * float32(p[2])
				}
			}
			o0[ox], o1[ox], o2[ox] = s0, s1, s2
		}
	}
	// Vertical pass and normalisation.
	k = 0
	for oy := 0; oy < oh; oy++ {
		for c := 0; c < 3; c++ {
			row := dst[c*oh*ow+oy*ow : c*oh*ow+(oy+1)*ow]
			clear(row)
			for t := 0; t < ty.n[oy]; t++ {
				wt := ty.w[k+t]
				y := ty.start[oy] + t
				if y < 0 || y >= h {
					for i := range row {
						row[i] += wt * mean[c]
					}
					continue
				}
				madd(row, tmp[(y-r0)*3*ow+c*ow:(y-r0)*3*ow+(c+1)*ow], wt)
			}
			inv := 1 / std[c]
			for i := range row {
				row[i] = (row[i] - mean[c]) * inv
			}
		}
		k += ty.n[oy]
	}
	return dst, nil
}

// boxSidesOK reports whether box is non-empty with sides of at most maxBoxSide. A box whose
// corners are far apart (x from -2^63 to 2^63-1) has a Dx() that overflows to a negative
// number; for a non-empty box (Max > Min) that is the only way Dx() can be <= 0.
func boxSidesOK(box image.Rectangle) bool {
	dx, dy := box.Dx(), box.Dy()
	return !box.Empty() && dx > 0 && dy > 0 && dx <= maxBoxSide && dy <= maxBoxSide
}

// rgbaView returns RGBA bytes covering box for any image: *image.RGBA and *image.NRGBA are
// used in place; other types are converted (only the part of the box inside the image).
// The returned box is in the returned buffer's coordinates.
func rgbaView(img image.Image, box image.Rectangle) (pix []byte, stride, w, h int, b image.Rectangle, err error) {
	switch im := img.(type) {
	case *image.RGBA:
		return im.Pix, im.Stride, im.Rect.Dx(), im.Rect.Dy(), box.Sub(im.Rect.Min), nil
	case *image.NRGBA:
		return im.Pix, im.Stride, im.Rect.Dx(), im.Rect.Dy(), box.Sub(im.Rect.Min), nil
	}
	r := box.Intersect(img.Bounds())
	if r.Empty() || !boxSidesOK(box) {
		return nil, 0, 0, 0, box, fmt.Errorf("model: crop box %v empty, outside the image %v or larger than %d px", box, img.Bounds(), maxBoxSide)
	}
	dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(dst, dst.Rect, img, r.Min, draw.Src)
	return dst.Pix, dst.Stride, r.Dx(), r.Dy(), box.Sub(r.Min), nil
}

// halveRows returns the columns [cx0, cx1) of rows [y0, y0+n) of an RGBA image with each
// group of f rows (f a power of two) averaged into one, by repeated pairwise rounding
// byte averages; a missing last row of a pair repeats the row before it.
func halveRows(pix []byte, stride, y0, n, cx0, cx1, f int) []byte {
	bw := 4 * (cx1 - cx0)
	rows := (n + 1) / 2
	buf := make([]byte, rows*bw)
	for r := 0; r < rows; r++ {
		a := y0 + 2*r
		b := min(a+1, y0+n-1)
		avgBytes(buf[r*bw:(r+1)*bw], pix[a*stride+4*cx0:a*stride+4*cx1], pix[b*stride+4*cx0:b*stride+4*cx1])
	}
	for f /= 2; f > 1; f /= 2 {
		n, rows = rows, (rows+1)/2
		for r := 0; r < rows; r++ {
			a, b := 2*r, min(2*r+1, n-1)
			avgBytes(buf[r*bw:(r+1)*bw], buf[a*bw:(a+1)*bw], buf[b*bw:(b+1)*bw])
		}
	}
	return buf[:rows*bw]
}

// FlattenOnWhite composites non-premultiplied RGBA pixels onto white in place: each channel
// becomes (c*a + 255*(255-a) + 127) / 255 and alpha 255. It is toonid's one rule for
// transparency: packs are built from images flattened on white, so a transparent sprite must
// reach the model the same way from a browser canvas (non-premultiplied getImageData, where a
// transparent pixel is black) and from a file decoded by the tools (tools/eval flattens with
// this too). Opaque pixels are left as they are.
func FlattenOnWhite(pix []byte) {
	for i := 3; i < len(pix); i += 4 {
		a := uint32(pix[i])
		if a == 255 {
			continue
		}
		for c := i - 3; c < i; c++ {
			pix[c] = uint8((uint32(pix[c])*a + 255*(255-a) + 127) / 255)
		}
		pix[i] = 255
	}
}
