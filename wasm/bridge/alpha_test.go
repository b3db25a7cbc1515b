package bridge

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/tools/eval"
)

// A transparent sprite gets the same embedding from the browser path (a canvas's
// non-premultiplied RGBA, transparent pixels black, through Bridge.Embed) as from the tools'
// path (the PNG file decoded by tools/eval, as `toonid embed` and `pack build` do): one
// transparency rule, model.FlattenOnWhite. Without it the browser saw the background as black.
func TestTransparentPNGSameEmbeddingInBrowserAndCLI(t *testing.T) {
	m, err := model.Load(shipped.Model)
	if err != nil {
		t.Fatal(err)
	}
	// A round blue-and-orange creature on a transparent background, with a soft edge.
	const side = 120
	src := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			dx, dy := float64(x-60), float64(y-60)
			d := dx*dx + dy*dy
			switch {
			case d < 30*30:
				src.SetNRGBA(x, y, color.NRGBA{40, 90, 200, 255})
			case d < 34*34:
				src.SetNRGBA(x, y, color.NRGBA{250, 140, 30, 128}) // half-transparent rim
			}
		}
	}
	var file bytes.Buffer
	if err := png.Encode(&file, src); err != nil {
		t.Fatal(err)
	}

	img, err := eval.DecodeImage(bytes.NewReader(file.Bytes()), "sprite.png", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := m.EmbedImage(img, img.Bounds())
	if err != nil {
		t.Fatal(err)
	}

	// What getImageData gives for the same file: non-premultiplied, transparent pixels 0,0,0,0.
	dec, err := png.Decode(bytes.NewReader(file.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewNRGBA(dec.Bounds())
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			canvas.Set(x, y, dec.At(x, y))
		}
	}
	raw := append([]byte(nil), canvas.Pix...)
	b := New(m, nil, identify.DefaultSearch())
	var got struct {
		Embedding []float32 `json:"embedding"`
		Error     string    `json:"error"`
	}
	if err := json.Unmarshal(b.Embed(canvas.Pix, side, side), &got); err != nil || got.Error != "" {
		t.Fatalf("Embed: %v %s", err, got.Error)
	}
	if c := model.Cosine(got.Embedding, cli); c < 0.9999 {
		t.Errorf("browser vs CLI embedding of a transparent PNG: cosine %.6f", c)
	}
	// The test means something: the unflattened pixels (black background) embed differently.
	x, err := m.Preprocess(nil, raw, 4*side, side, side, image.Rect(0, 0, side, side))
	if err != nil {
		t.Fatal(err)
	}
	black, err := m.EmbedBatch([][]float32{x})
	if err != nil {
		t.Fatal(err)
	}
	if c := model.Cosine(black[0], cli); c > 0.99 {
		t.Errorf("a black background embeds like the white one (cosine %.4f): the check is blind", c)
	}
}
