// Package thumb makes the catalogue thumbnails of pack/FORMAT.md ("Thumbnails"): a square JPEG
// of a label's first gallery image. It is apart from package pack so that the browser's wasm
// build, which reads packs but never makes thumbnails, links no JPEG encoder.
package thumb

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/toonid/toonid/pack"
)

// Side is a thumbnail's width and height in pixels; Quality its JPEG quality.
const (
	Side    = 80
	Quality = 85
)

// Make returns the thumbnail of img: its centred largest square, area-averaged to Side x Side
// (smaller images are enlarged the same way), as a JPEG at Quality. Transparency is not looked
// at: callers pass the flattened pixels they embed (eval.LoadImage: on white).
func Make(img image.Image) ([]byte, error) {
	b := img.Bounds()
	s := min(b.Dx(), b.Dy())
	if s <= 0 {
		return nil, fmt.Errorf("thumb: empty image")
	}
	org := image.Pt(b.Min.X+(b.Dx()-s)/2, b.Min.Y+(b.Dy()-s)/2) // the square's top-left
	out := image.NewRGBA(image.Rect(0, 0, Side, Side))
	scale := float64(s) / Side // source pixels per output pixel
	for oy := 0; oy < Side; oy++ {
		y0, y1 := float64(oy)*scale, float64(oy+1)*scale
		for ox := 0; ox < Side; ox++ {
			x0, x1 := float64(ox)*scale, float64(ox+1)*scale
			var r, g, bl, a, wsum float64
			for sy := int(y0); float64(sy) < y1 && sy < s; sy++ {
				wy := min(y1, float64(sy+1)) - max(y0, float64(sy))
				for sx := int(x0); float64(sx) < x1 && sx < s; sx++ {
					w := wy * (min(x1, float64(sx+1)) - max(x0, float64(sx)))
					cr, cg, cb, ca := img.At(org.X+sx, org.Y+sy).RGBA()
					r += w * float64(cr)
					g += w * float64(cg)
					bl += w * float64(cb)
					a += w * float64(ca)
					wsum += w
				}
			}
			i := out.PixOffset(ox, oy)
			out.Pix[i+0] = uint8(r/wsum/257 + 0.5)
			out.Pix[i+1] = uint8(g/wsum/257 + 0.5)
			out.Pix[i+2] = uint8(bl/wsum/257 + 0.5)
			out.Pix[i+3] = uint8(a/wsum/257 + 0.5)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: Quality}); err != nil {
		return nil, fmt.Errorf("thumb: %w", err)
	}
	if buf.Len() > pack.MaxThumbnailBytes {
		return nil, fmt.Errorf("thumb: %d bytes, over pack.MaxThumbnailBytes", buf.Len())
	}
	return buf.Bytes(), nil
}
