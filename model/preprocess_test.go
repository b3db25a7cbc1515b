package model

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/nfnt/resize"
)

var half = [3]float32{.5, .5, .5}

// stripes returns a w x h RGBA image whose columns are white where x%period == 0
// (rows, for a negative period).
func stripes(w, h, period int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0)
			if (period > 0 && x%period == 0) || (period < 0 && y%-period == 0) {
				v = 255
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = v, v, v, 255
		}
	}
	return img
}

// A 1080p frame crop of one-pixel stripes must come out as flat grey at 96 px: a point or
// bilinear sampler would return bands of black and white (aliasing).
func TestPreprocessDoesNotAlias(t *testing.T) {
	for _, period := range []int{2, 3, 5, -2, -3, -5} {
		for _, box := range []image.Rectangle{image.Rect(400, 40, 1400, 1040), image.Rect(0, 0, 1080, 1080), image.Rect(333, 17, 873, 557), image.Rect(900, 500, 1300, 900), image.Rect(-200, -100, 700, 800)} {
			img := stripes(1920, 1080, period)
			out, err := preprocess(nil, img.Pix, img.Stride, 1920, 1080, box, 96, 96, half, [3]float32{1, 1, 1})
			if err != nil {
				t.Fatal(err)
			}
			want := 1/math.Abs(float64(period)) - 0.5 // mean brightness, normalised with mean 0.5 std 1
			if box.Min.X < 0 {
				// Padding: compare only the output pixels fully inside the image.
				out = out[len(out)-96*96+96*96/2+96/2+10:][:20]
			}
			var worst float64
			for _, v := range out {
				worst = max(worst, math.Abs(float64(v)-want))
			}
			// A 1080p face crop (>= 8x downscale) must come out flat; at ~4x the triangle
			// filter leaves some ripple on period-5 stripes (measured 0.085).
			limit := 0.04
			if box.Dx() < 8*96 {
				limit = 0.1
			}
			if worst > limit {
				t.Errorf("period %d box %v: max deviation from flat %.3f is %.3f (aliasing)", period, box, want, worst)
			}
		}
	}
}

func TestPreprocessFlatAndPadding(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 50, 40))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 255, 0, 51, 255
	}
	mean, std := [3]float32{.5, .4, .3}, [3]float32{.5, .25, .2}
	// Inside the image: exact normalised colour, for down- and upscaling.
	for _, box := range []image.Rectangle{image.Rect(0, 0, 50, 40), image.Rect(10, 10, 14, 14), image.Rect(3, 1, 40, 39)} {
		out, err := preprocess(nil, img.Pix, img.Stride, 50, 40, box, 16, 16, mean, std)
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{(1 - .5) / .5, (0 - .4) / .25, (0.2 - .3) / .2}
		for c := 0; c < 3; c++ {
			for _, v := range out[c*256 : (c+1)*256] {
				if math.Abs(float64(v-want[c])) > 1e-4 {
					t.Fatalf("box %v channel %d: %v, want %v", box, c, v, want[c])
				}
			}
		}
	}
	// A box hanging off the right edge: the outside reads as the mean colour (0 after
	// normalisation), the inside keeps the image colour, with a blend over about one
	// output pixel at the border.
	out, err := preprocess(nil, img.Pix, img.Stride, 50, 40, image.Rect(30, 0, 70, 40), 20, 20, mean, std)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 20; y++ {
		if v := out[y*20+2]; math.Abs(float64(v-1)) > 1e-4 {
			t.Fatalf("inside pixel %v, want 1", v)
		}
		if v := out[y*20+15]; math.Abs(float64(v)) > 1e-4 {
			t.Fatalf("padded pixel %v, want 0", v)
		}
	}
}

func TestPreprocessRejectsBadInput(t *testing.T) {
	pix := make([]byte, 4*10*10)
	cases := []struct {
		name         string
		pix          []byte
		stride, w, h int
		box          image.Rectangle
	}{
		{"short buffer", pix[:100], 40, 10, 10, image.Rect(0, 0, 10, 10)},
		{"bad stride", pix, 20, 10, 10, image.Rect(0, 0, 10, 10)},
		{"empty box", pix, 40, 10, 10, image.Rect(5, 5, 5, 9)},
		{"outside", pix, 40, 10, 10, image.Rect(20, 20, 30, 30)},
		{"huge box", pix, 40, 10, 10, image.Rect(0, 0, 1<<20, 1<<20)},
		{"zero size", nil, 0, 0, 0, image.Rect(0, 0, 1, 1)},
	}
	for _, c := range cases {
		if _, err := preprocess(nil, c.pix, c.stride, c.w, c.h, c.box, 8, 8, half, half); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// The direct sampler against nfnt/resize (Lanczos3 and bilinear, also antialiased) followed
// by the conversion into the input tensor that resize leaves to the caller.
func BenchmarkPreprocess(b *testing.B) {
	img := stripes(1920, 1080, 3)
	for _, side := range []int{200, 400, 1000} {
		box := image.Rect(100, 50, 100+side, 50+side)
		b.Run(fmt.Sprintf("direct/%d", side), func(b *testing.B) {
			dst := make([]float32, 3*96*96)
			for b.Loop() {
				preprocess(dst, img.Pix, img.Stride, 1920, 1080, box, 96, 96, half, half)
			}
		})
		for _, f := range []struct {
			name string
			f    resize.InterpolationFunction
		}{{"nfnt-bilinear", resize.Bilinear}, {"nfnt-lanczos3", resize.Lanczos3}} {
			b.Run(fmt.Sprintf("%s/%d", f.name, side), func(b *testing.B) {
				dst := make([]float32, 3*96*96)
				sub := img.SubImage(box)
				for b.Loop() {
					r := resize.Resize(96, 96, sub, f.f).(*image.RGBA)
					for y := 0; y < 96; y++ {
						for x := 0; x < 96; x++ {
							p := r.Pix[y*r.Stride+4*x:]
							for c := 0; c < 3; c++ {
								dst[c*96*96+y*96+x] = (float32(p[c])/255 - .5) / .5
							}
						}
					}
				}
			})
		}
	}
}

// Halving the rows first (large crops) and filtering directly give nearly the same input.
func TestPreprocessHalvingMatchesDirect(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 900, 900))
	for y := 0; y < 900; y++ {
		for x := 0; x < 900; x++ {
			o := img.PixOffset(x, y)
			img.Pix[o] = uint8(128 + 127*math.Sin(float64(x)/37))
			img.Pix[o+1] = uint8(128 + 127*math.Sin(float64(y)/23))
			img.Pix[o+2] = uint8(128 + 127*math.Cos(float64(x+y)/29))
			img.Pix[o+3] = 255
		}
	}
	for _, box := range []image.Rectangle{image.Rect(20, 10, 820, 810), image.Rect(-50, 0, 850, 900), image.Rect(100, 100, 501, 499)} {
		got, err := preprocessOpt(nil, img.Pix, img.Stride, 900, 900, box, 96, 96, half, half, true)
		if err != nil {
			t.Fatal(err)
		}
		want, err := preprocessOpt(nil, img.Pix, img.Stride, 900, 900, box, 96, 96, half, half, false)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 0.03 { // normalised units (std 0.5): 0.03 is about 4 of 255 levels
			t.Errorf("box %v: halved and direct differ by up to %.4f", box, worst)
		}
	}
}

func TestFlattenOnWhite(t *testing.T) {
	tests := []struct {
		name    string
		in, out [4]byte
	}{
		{"opaque unchanged", [4]byte{10, 20, 30, 255}, [4]byte{10, 20, 30, 255}},
		{"transparent black is white", [4]byte{0, 0, 0, 0}, [4]byte{255, 255, 255, 255}},
		{"transparent colour is white", [4]byte{200, 0, 90, 0}, [4]byte{255, 255, 255, 255}},
		{"half red", [4]byte{255, 0, 0, 128}, [4]byte{255, 127, 127, 255}},
		{"quarter blue", [4]byte{0, 0, 255, 64}, [4]byte{191, 191, 255, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.in[:]
			FlattenOnWhite(p)
			if [4]byte(p) != tc.out {
				t.Fatalf("FlattenOnWhite(%v) = %v, want %v", tc.in, p, tc.out)
			}
		})
	}
}
