package identify_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/pack"
)

// A click on a face: the shipped model, a pack of two characters taught from crops of the same
// picture, and the click search around the point. A real pack comes from `toonid pack build`
// and is opened with pack.Open.
func ExampleIdentifier_Identify() {
	m, err := model.Load(shipped.Model)
	if err != nil {
		log.Fatal(err)
	}
	// A 400x300 picture: a yellow face with two eyes on the left, a blue one on the right.
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{235, 235, 235, 255}), image.Point{}, draw.Src)
	face := func(r image.Rectangle, c color.RGBA) {
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
		for _, dx := range []int{r.Dx() / 4, r.Dx() * 5 / 8} {
			eye := image.Rect(r.Min.X+dx, r.Min.Y+r.Dy()/3, r.Min.X+dx+r.Dx()/8, r.Min.Y+r.Dy()/3+r.Dy()/8)
			draw.Draw(img, eye, image.NewUniform(color.RGBA{20, 20, 20, 255}), image.Point{}, draw.Src)
		}
	}
	yellow, blue := image.Rect(40, 90, 160, 210), image.Rect(240, 90, 360, 210)
	face(yellow, color.RGBA{250, 210, 40, 255})
	face(blue, color.RGBA{40, 90, 230, 255})

	// Teach each face from its crop (the face box enlarged, as the model expects).
	var items []pack.Item
	for _, c := range []struct {
		id, name string
		crop     image.Rectangle
	}{{"sun", "Sunny", yellow.Inset(-30)}, {"sea", "Blue", blue.Inset(-30)}} {
		e, err := m.EmbedImage(img, c.crop)
		if err != nil {
			log.Fatal(err)
		}
		items = append(items, pack.Item{Label: pack.Label{ID: c.id, Name: c.name}, Embedding: e})
	}
	p, err := pack.BuildItems(items, pack.BuildOptions{Name: "example", ModelSHA256: m.Info().SHA256, Threshold: 0.5})
	if err != nil {
		log.Fatal(err)
	}
	matcher, err := pack.NewMatcher(p)
	if err != nil {
		log.Fatal(err)
	}

	id := identify.New(m, matcher, identify.DefaultSearch())
	// A click on the yellow face's cheek; the unit is the picture's shorter side.
	r, err := id.Identify(img.Pix, 400, 300, identify.Request{Click: &identify.Click{X: 90, Y: 170, Unit: 300}, K: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Answers[0].Name, r.Unknown)
	// Output: Sunny false
}
