package bridge_test

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/wasm/bridge"
)

// What the Web Worker does: hand the bridge the verified bytes of the model, the pack manifest
// and its shards, then send identify requests as JSON. Here the pack is one character taught
// from a crop of the same picture.
func ExampleLoad() {
	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	draw.Draw(img, img.Rect, image.NewUniform(color.RGBA{235, 235, 235, 255}), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(60, 30, 140, 110), image.NewUniform(color.RGBA{250, 210, 40, 255}), image.Point{}, draw.Src)

	m, err := model.Load(shipped.Model)
	if err != nil {
		log.Fatal(err)
	}
	e, err := m.EmbedImage(img, image.Rect(40, 10, 160, 130))
	if err != nil {
		log.Fatal(err)
	}
	p, err := pack.BuildItems([]pack.Item{{Label: pack.Label{ID: "sun", Name: "Sunny"}, Embedding: e}},
		pack.BuildOptions{Name: "example", ModelSHA256: m.Info().SHA256, Threshold: 0.5})
	if err != nil {
		log.Fatal(err)
	}
	man, files, err := p.Encode(pack.EncodeOptions{}) // what `toonid pack build` writes
	if err != nil {
		log.Fatal(err)
	}
	manifest, err := pack.MarshalManifest(man)
	if err != nil {
		log.Fatal(err)
	}

	s, err := bridge.Load(shipped.Model, manifest, files, "example")
	if err != nil {
		log.Fatal(err)
	}
	reply := s.Identify(img.Pix, 200, 150, []byte(`{"box":[40,10,120,120],"k":1}`))
	var r struct {
		Answers []struct{ ID, Name string }
		Unknown bool
		Box     [4]int
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Answers[0].Name, r.Unknown, r.Box)
	// Output: Sunny false [40 10 120 120]
}
