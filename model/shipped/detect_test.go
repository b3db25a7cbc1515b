package shipped

import (
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"testing"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/model"
)

func TestShippedDetector(t *testing.T) {
	d, err := detect.Load(Detector)
	if err != nil {
		t.Fatal(err)
	}
	info := d.Info()
	if info.Kind != model.KindDetector || info.InputW != 256 || info.Output != (model.Shape{5, 16, 16}) || !info.Int8 || len(Detector) > 1<<20 {
		t.Fatalf("unexpected shipped detector: %+v, %d bytes", info, len(Detector))
	}
	// The embedder and the detector are not interchangeable.
	if _, err := detect.Load(Model); err == nil {
		t.Fatal("the shipped embedder loaded as a detector")
	}
	// Pepper's face in the committed test image (hand box 205,128,57,62, tools/gallery/detval),
	// by the lenient match (bench_detect.py): a box centre inside it and a size within 0.5-2x (the shipped
	// detector's boxes run large: see detect/README.md).
	f, err := os.Open("../../tools/gallery/testimages/pepper_sample.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	want := detect.Box{X: 205, Y: 128, W: 57, H: 62}
	found := false
	for _, b := range boxes {
		cx, cy := b.X+b.W/2, b.Y+b.H/2
		r := math.Sqrt(float64(b.W*b.H) / float64(want.W*want.H))
		if cx >= want.X && cx <= want.X+want.W && cy >= want.Y && cy <= want.Y+want.H && r >= 0.5 && r <= 2 {
			found = true
		}
	}
	if !found {
		t.Fatalf("Pepper's face not among %v", boxes)
	}
}
