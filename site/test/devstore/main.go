// Command devstore writes a small self-made store (random-weight int8 model + a pack of
// procedurally drawn characters + a test scene) so the browser harness runs before, or without,
// the shipped model and the default pack. It uses no third-party art.
//
//	go run ./site/test/devstore -out build/devstore
//
// Output: models/<sha>.tmdl, packs/default/{manifest.json,<sha>.tps}, scene.png, scene.json
// (each character's face centre and crop box in the scene).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/internal/devmodel"
)

type character struct {
	id, name         string
	skin, hair, eyes color.RGBA
	hairStyle        int
}

var cast = []character{
	{"dev-ember", "Ember", rgb(250, 210, 170), rgb(200, 40, 20), rgb(30, 120, 40), 0},
	{"dev-moss", "Moss", rgb(140, 200, 120), rgb(40, 70, 30), rgb(250, 220, 0), 1},
	{"dev-tide", "Tide", rgb(170, 200, 250), rgb(20, 40, 140), rgb(200, 30, 160), 2},
	{"dev-soot", "Soot", rgb(90, 90, 95), rgb(240, 240, 240), rgb(255, 120, 0), 0},
	{"dev-plum", "Plum", rgb(230, 180, 230), rgb(110, 20, 110), rgb(20, 20, 20), 1},
	{"dev-dune", "Dune", rgb(230, 200, 120), rgb(150, 100, 40), rgb(20, 150, 200), 2},
}

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 255} }

func main() {
	out := flag.String("out", "build/devstore", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "devstore:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	rng := rand.New(rand.NewPCG(7, 7))
	g := devmodel.Graph(rng)
	if err := centre(g, rng); err != nil {
		return err
	}
	mb, err := model.Encode(g, model.EncodeOptions{Int8: true})
	if err != nil {
		return err
	}
	m, err := model.Load(mb)
	if err != nil {
		return err
	}
	sha := m.Info().SHA256
	if err := os.MkdirAll(filepath.Join(out, "models"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "models", sha+".tmdl"), mb, 0o644); err != nil {
		return err
	}

	labels := make([]pack.Label, len(cast))
	embs := make([][][]float32, len(cast))
	var genuine, impostor []float32
	for i, c := range cast {
		labels[i] = pack.Label{ID: c.id, Name: c.name, Series: "toonid dev cast", Credit: "drawn by site/test/devstore (no third-party art)"}
		for v := range 8 {
			img := portrait(c, 128, rng, v)
			e, err := m.EmbedImage(img, img.Bounds())
			if err != nil {
				return err
			}
			embs[i] = append(embs[i], e)
		}
	}
	for i := range embs {
		for j := range embs {
			for _, a := range embs[i][:4] {
				for _, b := range embs[j][4:] {
					if i == j {
						genuine = append(genuine, dot(a, b))
					} else {
						impostor = append(impostor, dot(a, b))
					}
				}
			}
		}
	}
	// Midway between the worst impostor and the mean genuine score: a dev threshold, not a calibration.
	th := (maxOf(impostor) + mean(genuine)) / 2
	p, err := pack.Build(labels, embs, pack.BuildOptions{Name: "default", ModelSHA256: sha, Threshold: th})
	if err != nil {
		return err
	}
	if _, err := p.WriteDir(filepath.Join(out, "packs", "default"), pack.EncodeOptions{}); err != nil {
		return err
	}

	// The scene: three of the cast on a plain background, plus one character not in the pack.
	scene := image.NewRGBA(image.Rect(0, 0, 800, 500))
	fill(scene, scene.Bounds(), rgb(235, 232, 220))
	type placed struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		X      int    `json:"x"`
		Y      int    `json:"y"`
		Box    [4]int `json:"box"`
		InPack bool   `json:"inPack"`
	}
	var where []placed
	stranger := character{"dev-stranger", "Stranger", rgb(255, 160, 160), rgb(0, 160, 150), rgb(90, 40, 0), 2}
	for i, c := range []character{cast[0], cast[2], cast[4], stranger} {
		side := []int{180, 150, 210, 160}[i]
		x0, y0 := []int{40, 260, 450, 640}[i], []int{60, 250, 120, 20}[i]
		x0 = min(x0, 800-side)
		img := portrait(c, side, rng, 99)
		drawOver(scene, img, image.Pt(x0, y0))
		where = append(where, placed{c.id, c.name, x0 + side/2, y0 + side/2, [4]int{x0, y0, side, side}, c.id != "dev-stranger"})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, scene); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "scene.png"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(where, "", " ")
	fmt.Printf("devstore: model %s (%d bytes, %.1f MMAC), %d characters, threshold %.3f -> %s\n", sha[:12], len(mb), float64(m.Info().MACs)/1e6, len(cast), th, out)
	return os.WriteFile(filepath.Join(out, "scene.json"), js, 0o644)
}

// centre sets the last layer's bias to minus its mean output over the cast, so embeddings
// spread around the origin instead of all sharing one direction (random ReLU features do).
func centre(g *model.Graph, rng *rand.Rand) error {
	m, err := model.FromGraph(g)
	if err != nil {
		return err
	}
	last := &g.Ops[len(g.Ops)-1]
	sum := make([]float64, len(last.Bias))
	n := 0
	for _, c := range cast {
		for v := range 4 {
			img := portrait(c, 128, rng, v)
			in, err := m.Preprocess(nil, img.Pix, img.Stride, 128, 128, img.Bounds())
			if err != nil {
				return err
			}
			out, err := m.Forward(in)
			if err != nil {
				return err
			}
			for i, x := range out {
				sum[i] += float64(x)
			}
			n++
		}
	}
	for i := range last.Bias {
		last.Bias[i] = float32(-sum[i] / float64(n))
	}
	return nil
}

// portrait draws character c as a side x side face crop (face ~half the crop, as the model
// expects crops of the face box enlarged 2x); variant jitters position, size and background.
func portrait(c character, side int, rng *rand.Rand, variant int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	bg := rgb(uint8(200+rng.IntN(50)), uint8(200+rng.IntN(50)), uint8(190+rng.IntN(50)))
	fill(img, img.Bounds(), bg)
	j := func(a float64) float64 { return a * (1 + 0.06*(rng.Float64()*2-1)) }
	if variant == 99 {
		j = func(a float64) float64 { return a }
	}
	s := float64(side)
	cx, cy, r := j(0.5)*s, j(0.52)*s, j(0.25)*s
	switch c.hairStyle {
	case 0: // big round hair
		disc(img, cx, cy-0.1*s, r*1.35, c.hair)
	case 1: // spikes
		for k := -2; k <= 2; k++ {
			disc(img, cx+float64(k)*r*0.45, cy-r*0.95, r*0.35, c.hair)
		}
	case 2: // long hair
		rect(img, cx-r*1.25, cy-r*1.1, cx+r*1.25, cy+r*1.6, c.hair)
	}
	disc(img, cx, cy, r, c.skin)
	disc(img, cx-r*0.4, cy-r*0.15, r*0.18, rgb(255, 255, 255))
	disc(img, cx+r*0.4, cy-r*0.15, r*0.18, rgb(255, 255, 255))
	disc(img, cx-r*0.4, cy-r*0.15, r*0.1, c.eyes)
	disc(img, cx+r*0.4, cy-r*0.15, r*0.1, c.eyes)
	rect(img, cx-r*0.35, cy+r*0.45, cx+r*0.35, cy+r*0.55, rgb(120, 30, 30))
	return img
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func disc(img *image.RGBA, cx, cy, r float64, c color.RGBA) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy; dx*dx+dy*dy <= r*r {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

func rect(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	fill(img, image.Rect(int(x0), int(y0), int(x1), int(y1)).Intersect(img.Bounds()), c)
}

func drawOver(dst, src *image.RGBA, at image.Point) {
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if p := image.Pt(at.X+x, at.Y+y); p.In(dst.Bounds()) {
				dst.SetRGBA(p.X, p.Y, src.RGBAAt(x, y))
			}
		}
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func mean(v []float32) float32 {
	var s float32
	for _, x := range v {
		s += x
	}
	return s / float32(len(v))
}

func maxOf(v []float32) float32 {
	m := float32(-2)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
