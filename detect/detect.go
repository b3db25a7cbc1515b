// Package detect finds cartoon faces in a frame with a detector model file (model.KindDetector,
// model/FORMAT.md): letterbox the frame into the network's square input, run it once, decode
// the raw output maps into boxes (DecodeCenter5: centre score, offset, log size per cell),
// keep 3x3 local maxima above a threshold, suppress overlaps (NMS) and map the boxes back to
// frame pixels. The same code runs natively and in js/wasm.
package detect

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sort"

	"github.com/toonid/toonid/model"
)

// MaxBoxes bounds what Detect returns.
const MaxBoxes = 100

// MinSide: frames whose short side is below this many pixels give no boxes (and no error).
const MinSide = 32

// Box is a face box in frame pixels: top-left X, Y, size W, H, score in [0, 1].
type Box struct {
	X, Y, W, H, Score float32
}

// ErrNotDetector is returned by New for a model file that is not a detector.
var ErrNotDetector = errors.New("detect: this model file is an embedder, not a detector")

// Detector runs a detector model. It is safe for concurrent use.
type Detector struct {
	m    *model.Model
	info model.Info
	// Threshold: the minimum score kept (default: the file's decode record).
	Threshold float32
}

// New wraps a loaded model; it refuses anything but a detector with a decoding it knows.
func New(m *model.Model) (*Detector, error) {
	info := m.Info()
	if info.Kind != model.KindDetector {
		return nil, fmt.Errorf("%w (kind %v)", ErrNotDetector, info.Kind)
	}
	if info.Decode.Scheme != model.DecodeCenter5 || info.InputW != info.InputH {
		return nil, fmt.Errorf("detect: decode scheme %d on a %dx%d input unsupported", info.Decode.Scheme, info.InputW, info.InputH)
	}
	return &Detector{m: m, info: info, Threshold: info.Decode.Threshold}, nil
}

// Load reads a detector model file.
func Load(b []byte) (*Detector, error) {
	m, err := model.Load(b)
	if err != nil {
		return nil, err
	}
	return New(m)
}

// Info describes the underlying model.
func (d *Detector) Info() model.Info { return d.info }

// Detect returns img's face boxes, best first, after NMS, at most MaxBoxes. Tiny frames
// (short side < MinSide) and blank ones (one flat colour) give none. Frames of any size are
// reduced straight into the network input (an area average): beyond the input, the only memory
// is one RGBA copy of a frame that is not already *image.RGBA (callers bound the frame itself,
// as tools/eval's decode limits do).
func (d *Detector) Detect(img image.Image) ([]Box, error) {
	b := img.Bounds()
	if b.Dx() < MinSide || b.Dy() < MinSide {
		return nil, nil
	}
	in, scale, flat := Letterbox(img, d.info.InputW, d.info.Mean, d.info.Std)
	if flat {
		return nil, nil
	}
	out, err := d.m.Forward(in)
	if err != nil {
		return nil, err
	}
	return Decode(out, d.info.Output, d.info.Decode.Stride, scale, d.Threshold, d.info.Decode.NMS, b.Dx(), b.Dy()), nil
}

// Pad is the value (on the [0,1] scale) of the input outside the letterboxed frame.
const Pad = 0.5

// Letterbox scales img so its long side is size and puts it at the top-left of a size x size
// CHW input, normalised (v - mean) / std, the rest Pad. Each input pixel is the average of the
// frame pixels it covers (bilinear when enlarging). It returns the input, the scale
// (input px per frame px) and whether the frame is one flat colour.
func Letterbox(img image.Image, size int, mean, std [3]float32) ([]float32, float64, bool) {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	scale := float64(size) / float64(max(W, H))
	w, h := max(1, int(math.Round(float64(W)*scale))), max(1, int(math.Round(float64(H)*scale)))
	in := make([]float32, 3*size*size)
	for c := 0; c < 3; c++ {
		p := (Pad - mean[c]) / std[c]
		plane := in[c*size*size : (c+1)*size*size]
		for i := range plane {
			plane[i] = p
		}
	}
	rgba := toRGBA(img)
	px := func(x, y int) (float32, float32, float32) {
		o := (y-b.Min.Y)*rgba.Stride + (x-b.Min.X)*4
		q := rgba.Pix[o : o+3 : o+3]
		return float32(q[0]), float32(q[1]), float32(q[2])
	}
	// A blank frame (a fade, a title card's background) must give no boxes, not the detector's
	// guesses on noise; a 64x64 sample of it decides.
	r0, g0, b0 := px(b.Min.X, b.Min.Y)
	flat := true
	for y := b.Min.Y; y < b.Max.Y && flat; y += max(1, H/64) {
		for x := b.Min.X; x < b.Max.X; x += max(1, W/64) {
			r, g, bb := px(x, y)
			if abs32(r-r0) > 2 || abs32(g-g0) > 2 || abs32(bb-b0) > 2 {
				flat = false
				break
			}
		}
	}
	sx, sy := float64(W)/float64(w), float64(H)/float64(h)
	plane := size * size
	for oy := 0; oy < h; oy++ {
		y0, y1 := float64(oy)*sy, float64(oy+1)*sy
		for ox := 0; ox < w; ox++ {
			x0, x1 := float64(ox)*sx, float64(ox+1)*sx
			var r, g, bl float32
			if sx <= 1 && sy <= 1 { // enlarging: bilinear at the pixel centre
				fx, fy := (float64(ox)+0.5)*sx-0.5, (float64(oy)+0.5)*sy-0.5
				r, g, bl = bilinear(px, b, fx, fy)
			} else {
				ix0, ix1 := int(x0), max(int(x0)+1, int(math.Ceil(x1)))
				iy0, iy1 := int(y0), max(int(y0)+1, int(math.Ceil(y1)))
				ix1, iy1 = min(ix1, W), min(iy1, H)
				n := float32(0)
				for yy := iy0; yy < iy1; yy++ {
					for xx := ix0; xx < ix1; xx++ {
						pr, pg, pb := px(b.Min.X+xx, b.Min.Y+yy)
						r, g, bl, n = r+pr, g+pg, bl+pb, n+1
					}
				}
				r, g, bl = r/n, g/n, bl/n
			}
			o := oy*size + ox
			in[o] = (r/255 - mean[0]) / std[0]
			in[plane+o] = (g/255 - mean[1]) / std[1]
			in[2*plane+o] = (bl/255 - mean[2]) / std[2]
		}
	}
	return in, scale, flat
}

func bilinear(px func(x, y int) (float32, float32, float32), b image.Rectangle, fx, fy float64) (float32, float32, float32) {
	W, H := b.Dx(), b.Dy()
	x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
	ax, ay := float32(fx-float64(x0)), float32(fy-float64(y0))
	cl := func(v, n int) int { return min(max(v, 0), n-1) }
	xa, xb, ya, yb := cl(x0, W), cl(x0+1, W), cl(y0, H), cl(y0+1, H)
	r00, g00, b00 := px(b.Min.X+xa, b.Min.Y+ya)
	r01, g01, b01 := px(b.Min.X+xb, b.Min.Y+ya)
	r10, g10, b10 := px(b.Min.X+xa, b.Min.Y+yb)
	r11, g11, b11 := px(b.Min.X+xb, b.Min.Y+yb)
	mix := func(a, b, c, d float32) float32 {
		return (a*(1-ax)+b*ax)*(1-ay) + (c*(1-ax)+d*ax)*ay
	}
	return mix(r00, r01, r10, r11), mix(g00, g01, g10, g11), mix(b00, b01, b10, b11)
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	b := img.Bounds()
	r := image.NewRGBA(b)
	// draw.Draw has fast paths for the decoders' types (YCbCr for JPEG, NRGBA, Paletted), where a
	// per-pixel At/RGBA loop allocates a colour per pixel.
	draw.Draw(r, b, img, b.Min, draw.Src)
	return r
}

// Decode turns a DecodeCenter5 output (shape [5, GH, GW], stride input px per cell) into
// boxes in frame pixels (input px / scale), clipped to the frame (fw x fh; 0 = no clipping):
// cells whose score is >= thr and a 3x3 local maximum, best first, NMS at IoU nms, at most
// MaxBoxes. Non-finite values are skipped.
func Decode(out []float32, shape model.Shape, stride int, scale float64, thr, nms float32, fw, fh int) []Box {
	gh, gw := shape[1], shape[2]
	n := gh * gw
	if shape[0] != 5 || len(out) != 5*n || scale <= 0 {
		return nil
	}
	logit := out[:n]
	// score threshold as a logit: sigmoid(v) >= thr
	var cand []Box
	s := float32(stride)
	for i := 0; i < gh; i++ {
		for j := 0; j < gw; j++ {
			v := logit[i*gw+j]
			if v != v || math.IsInf(float64(v), 0) {
				continue
			}
			sc := sigmoid(v)
			if sc < thr {
				continue
			}
			peak := true
			for di := -1; di <= 1 && peak; di++ {
				for dj := -1; dj <= 1; dj++ {
					ii, jj := i+di, j+dj
					if (di == 0 && dj == 0) || ii < 0 || jj < 0 || ii >= gh || jj >= gw {
						continue
					}
					u := logit[ii*gw+jj]
					// ties: the first cell in raster order wins
					if u > v || (u == v && (di < 0 || (di == 0 && dj < 0))) {
						peak = false
						break
					}
				}
			}
			if !peak {
				continue
			}
			k := i*gw + j
			dx, dy, lw, lh := out[n+k], out[2*n+k], out[3*n+k], out[4*n+k]
			if !finite(dx) || !finite(dy) || !finite(lw) || !finite(lh) {
				continue
			}
			cx := (float32(j) + 0.5 + dx) * s
			cy := (float32(i) + 0.5 + dy) * s
			w := float32(math.Exp(float64(min(lw, 8)))) * s
			h := float32(math.Exp(float64(min(lh, 8)))) * s
			inv := float32(1 / scale)
			b := Box{(cx - w/2) * inv, (cy - h/2) * inv, w * inv, h * inv, sc}
			if fw > 0 && fh > 0 {
				b = clip(b, float32(fw), float32(fh))
				if b.W < 1 || b.H < 1 {
					continue
				}
			}
			cand = append(cand, b)
		}
	}
	return NMS(cand, nms, MaxBoxes)
}

func clip(b Box, fw, fh float32) Box {
	x0, y0 := max(b.X, 0), max(b.Y, 0)
	x1, y1 := min(b.X+b.W, fw), min(b.Y+b.H, fh)
	return Box{x0, y0, x1 - x0, y1 - y0, b.Score}
}

func finite(v float32) bool { return v == v && !math.IsInf(float64(v), 0) }

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

// NMS sorts boxes by score (stable: equal scores keep their order) and drops every box whose
// IoU with a better kept box exceeds iou; it keeps at most limit.
func NMS(boxes []Box, iou float32, limit int) []Box {
	sort.SliceStable(boxes, func(a, b int) bool { return boxes[a].Score > boxes[b].Score })
	var keep []Box
	for _, b := range boxes {
		ok := true
		for _, k := range keep {
			if IoU(b, k) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, b)
			if len(keep) >= limit {
				break
			}
		}
	}
	return keep
}

// IoU is the intersection over union of two boxes (0 when either is empty).
func IoU(a, b Box) float32 {
	x0, y0 := max(a.X, b.X), max(a.Y, b.Y)
	x1, y1 := min(a.X+a.W, b.X+b.W), min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := (x1 - x0) * (y1 - y0)
	u := a.W*a.H + b.W*b.H - in
	if u <= 0 {
		return 0
	}
	return in / u
}
