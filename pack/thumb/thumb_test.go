package thumb

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/toonid/toonid/pack"
)

// Make keeps the centred square: a wide image with red sides and a green middle square gives a
// green Side x Side JPEG that pack accepts; a small sprite is enlarged to the same size.
func TestMake(t *testing.T) {
	for _, sz := range []image.Point{{300, 100}, {100, 300}, {45, 45}} {
		img := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
		s := min(sz.X, sz.Y)
		x0, y0 := (sz.X-s)/2, (sz.Y-s)/2
		for y := 0; y < sz.Y; y++ {
			for x := 0; x < sz.X; x++ {
				c := color.RGBA{220, 20, 20, 255}
				if x >= x0 && x < x0+s && y >= y0 && y < y0+s {
					c = color.RGBA{20, 200, 40, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		b, err := Make(img)
		if err != nil {
			t.Fatal(err)
		}
		if err := pack.CheckThumbnail(pack.ThumbnailName(b), b); err != nil {
			t.Fatal(err)
		}
		out, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if out.Bounds().Dx() != Side || out.Bounds().Dy() != Side {
			t.Fatalf("%v: thumbnail %v, want %dx%d", sz, out.Bounds(), Side, Side)
		}
		for _, p := range []image.Point{{1, 1}, {Side / 2, Side / 2}, {Side - 2, Side - 2}} {
			r, g, _, _ := out.At(p.X, p.Y).RGBA()
			if r>>8 > 80 || g>>8 < 150 {
				t.Errorf("%v: pixel %v is %d,%d: the red outside the centre square leaked in", sz, p, r>>8, g>>8)
			}
		}
		if len(b) > 8<<10 {
			t.Errorf("%v: %d bytes for a flat thumbnail", sz, len(b))
		}
	}
	if _, err := Make(image.NewRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Error("empty image: no error")
	}
}
