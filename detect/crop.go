package detect

import (
	"image"
	"math"
)

// FaceCrop is the embedder's crop of a face box: a square of twice the box's long side around
// its centre, as the embedder's training crops (hair and accessories identify a cartoon
// character). It may leave the frame: model.Preprocess counts the missing pixels as the mean.
func FaceCrop(b Box) image.Rectangle {
	s := 2 * float64(max(b.W, b.H))
	cx, cy := float64(b.X+b.W/2), float64(b.Y+b.H/2)
	x0, y0 := int(math.Round(cx-s/2)), int(math.Round(cy-s/2))
	n := max(1, int(math.Round(s)))
	return image.Rect(x0, y0, x0+n, y0+n)
}
