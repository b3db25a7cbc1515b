package model_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"
	"math"
	"os"

	"github.com/toonid/toonid/model"
)

// Load a model file (the shipped one is model/shipped.Model) and embed a crop of a picture.
func ExampleLoad() {
	b, err := os.ReadFile("testdata/tiny_int8.tmdl")
	if err != nil {
		log.Fatal(err)
	}
	m, err := model.Load(b)
	if err != nil {
		log.Fatal(err)
	}
	info := m.Info()
	fmt.Printf("%dx%d input, %d-value embedding\n", info.InputW, info.InputH, info.EmbedDim)

	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	draw.Draw(img, image.Rect(16, 8, 48, 40), image.NewUniform(color.RGBA{250, 210, 40, 255}), image.Point{}, draw.Src)
	e, err := m.EmbedImage(img, image.Rect(8, 0, 56, 48)) // the face box enlarged, as the model expects
	if err != nil {
		log.Fatal(err)
	}
	var n float64
	for _, v := range e {
		n += float64(v) * float64(v)
	}
	fmt.Printf("%d values, length %.3f\n", len(e), math.Sqrt(n))
	// Output:
	// 16x16 input, 16-value embedding
	// 16 values, length 1.000
}
