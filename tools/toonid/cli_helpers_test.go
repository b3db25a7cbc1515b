package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/internal/memtest"
	"github.com/toonid/toonid/model"
)

// tinyModel writes a small random conv net (16x16 input, 16-D output) as a model file: enough to
// tell solid colours apart, so the CLI can be tested without the shipped model.
func tinyModel(t *testing.T, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	w := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * 0.5
		}
		return v
	}
	g := &model.Graph{
		InputC: 3, InputH: 16, InputW: 16,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25},
		Ops: []model.Op{
			{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 2, StrideW: 2, KH: 3, KW: 3, Pads: [4]int{1, 1, 1, 1},
				Weight: w(8 * 3 * 9), WeightShape: []int{8, 3, 3, 3}, Bias: w(8), Act: model.Act{Kind: model.ActRelu}},
			{Kind: model.OpGlobalAvgPool, In: [2]int{1, -1}},
			{Kind: model.OpDense, In: [2]int{2, -1}, Weight: w(16 * 8), WeightShape: []int{16, 8}},
		},
	}
	b, err := model.Encode(g, model.EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "tiny.tmdl")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// drawFace writes a 32x32 PNG: background c with a square of colour d at offset off.
func drawFace(t *testing.T, name string, c, d color.RGBA, off int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			img.SetRGBA(x, y, c)
			if x >= 8+off && x < 20+off && y >= 8 && y < 20 {
				img.SetRGBA(x, y, d)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var palette = map[string]color.RGBA{
	"red": {230, 20, 20, 255}, "green": {20, 220, 40, 255}, "blue": {20, 30, 230, 255},
	"yellow": {240, 230, 20, 255}, "black": {10, 10, 10, 255}, "white": {250, 250, 250, 255},
	"cyan": {20, 230, 230, 255}, "magenta": {230, 20, 230, 255},
}

// testSet writes images for four identities (3 each) and two distractors, plus gallery.tsv,
// calib.tsv and eval.tsv. Returns the directory.
func testSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "img"), 0o755)
	ids := []string{"red", "green", "blue", "yellow"}
	var gal, ev strings.Builder
	gal.WriteString("path\tidentity\tname\tseries\tcredit\n")
	ev.WriteString("path\tidentity\trole\n")
	for _, id := range ids {
		for i := 0; i < 3; i++ {
			p := "img/" + id + string(rune('0'+i)) + ".png"
			drawFace(t, filepath.Join(dir, p), palette[id], palette["black"], 3*i)
			role := "probe"
			if i < 2 {
				role = "gallery"
				gal.WriteString(p + "\t" + id + "\t" + strings.ToUpper(id[:1]) + id[1:] + "\tColours\tmade in the test\n")
			}
			ev.WriteString(p + "\t" + id + "\t" + role + "\n")
		}
	}
	var cal strings.Builder
	cal.WriteString("path\tidentity\n")
	for _, id := range []string{"cyan", "magenta"} {
		p := "img/" + id + ".png"
		drawFace(t, filepath.Join(dir, p), palette[id], palette["white"], 0)
		cal.WriteString(p + "\t" + id + "\n")
		ev.WriteString(p + "\t" + id + "\tdistractor\n")
	}
	for name, body := range map[string]string{"gallery.tsv": gal.String(), "calib.tsv": cal.String(), "eval.tsv": ev.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cli runs the toonid command line in-process.
func cli(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// allocated is memtest.Allocated: the bytes f allocates.
var allocated = memtest.Allocated
