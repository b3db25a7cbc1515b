package shipped

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/toonid/toonid/model"
)

func TestShippedModelLoadsAndEmbeds(t *testing.T) {
	m, err := model.Load(Model)
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	if info.InputW != 112 || info.InputH != 112 || info.EmbedDim != 256 || !info.Int8 || !info.Mirror || info.Mean != [3]float32{.5, .5, .5} || info.Std != [3]float32{.5, .5, .5} {
		t.Fatalf("unexpected shipped model: %+v", info)
	}
	// Two different pictures give different unit embeddings; the same picture the same one.
	img := image.NewRGBA(image.Rect(0, 0, 120, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 120; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 2), uint8((x ^ y) * 3), 255})
		}
	}
	a, err := m.EmbedImage(img, image.Rect(10, 10, 110, 110))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.EmbedImage(img, image.Rect(0, 0, 60, 60))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := m.EmbedImage(img, image.Rect(10, 10, 110, 110))
	var n float64
	for _, v := range a {
		n += float64(v) * float64(v)
	}
	if len(a) != 256 || math.Abs(n-1) > 1e-4 {
		t.Fatalf("embedding length %d, norm^2 %v", len(a), n)
	}
	if c := model.Cosine(a, a2); c < 0.999999 {
		t.Fatalf("same crop, cosine %v", c)
	}
	if c := model.Cosine(a, b); c > 0.9999 {
		t.Fatalf("different crops give the same embedding (cosine %v)", c)
	}
}
