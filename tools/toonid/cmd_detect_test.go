package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
)

// tinyDetectorFile writes a 32x32-input detector whose score logit is 20*R-10 per stride-4
// cell: a white square on black is one face box.
func tinyDetectorFile(t *testing.T) string {
	t.Helper()
	w := make([]float32, 15)
	w[0] = 20
	g := &model.Graph{InputC: 3, InputH: 32, InputW: 32, Std: [3]float32{1, 1, 1},
		Ops: []model.Op{{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 4, StrideW: 4, KH: 1, KW: 1,
			Weight: w, WeightShape: []int{5, 3, 1, 1}, Bias: []float32{-10, 0, 0, 0, 0}}}}
	b, err := model.Encode(g, model.EncodeOptions{Kind: model.KindDetector,
		Decode: model.DetectDecode{Scheme: model.DecodeCenter5, Threshold: 0.5, NMS: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "det.tmdl")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestDetectCLI(t *testing.T) {
	det := tinyDetectorFile(t)
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	for y := 32; y < 40; y++ {
		for x := 16; x < 24; x++ {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	face := writePNG(t, img)
	blank := writePNG(t, image.NewGray(image.Rect(0, 0, 80, 80)))
	var out, errb bytes.Buffer
	if code := run([]string{"detect", "-model", det, "-json", face, blank}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per image, got %q", out.String())
	}
	var r struct {
		Path  string
		Boxes [][]float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Path != face || len(r.Boxes) != 1 || len(r.Boxes[0]) != 5 || r.Boxes[0][0] != 16 || r.Boxes[0][1] != 32 ||
		r.Boxes[0][2] != 8 || r.Boxes[0][3] != 8 || r.Boxes[0][4] < 0.5 || r.Boxes[0][4] > 1 {
		t.Fatalf("face image: %s", lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil || len(r.Boxes) != 0 || r.Boxes == nil {
		t.Fatalf("blank image: %s (%v); want \"boxes\":[]", lines[1], err)
	}
	// plain output
	out.Reset()
	if code := run([]string{"detect", "-model", det, face}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), face+"\t16,32,8,8,") {
		t.Fatalf("plain: %d %q", code, out.String())
	}
	// an embedder given as -model is refused, clearly
	out.Reset()
	errb.Reset()
	if code := run([]string{"detect", "-model", tinyModel(t, 1), face}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "embedder, not a detector") {
		t.Fatalf("embedder as detector: exit %d, %q", code, errb.String())
	}
	// and the detector where an embedder is expected
	errb.Reset()
	if code := run([]string{"embed", "-model", det, face}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "detector, not an embedder") {
		t.Fatalf("detector as embedder: exit %d, %q", code, errb.String())
	}
}

func TestDetectArgs(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-threshold", "1.5", "x.png"},
		{"-threshold", "NaN", "x.png"},
		{"quantize"},
		{"quantize", "-o", "x.tmdl"},
		{"quantize", "-nms", "0", "-o", "x.tmdl", "m.onnx"},
		{"quantize", "-threshold", "-1", "-o", "x.tmdl", "m.onnx"},
	} {
		if _, err := parseDetect(args, &bytes.Buffer{}); err == nil {
			t.Fatalf("%q accepted", args)
		}
	}
	if a, err := parseDetect([]string{"quantize", "m.onnx", "-o", "x.tmdl"}, &bytes.Buffer{}); err != nil || a.onnx != "m.onnx" || a.threshold != 0.3 {
		t.Fatalf("quantize args: %+v %v", a, err)
	}
}

func TestIdentifyAll(t *testing.T) {
	mdl := tinyModel(t, 1)
	pk := buildTestPack(t, mdl, testSet(t))
	det := tinyDetectorFile(t)
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{0, 0, 0, 255})
		}
	}
	for y := 32; y < 40; y++ {
		for x := 16; x < 24; x++ {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	face := writePNG(t, img)
	code, out, errs := cli("identify", "-all", "-detector", det, "-pack", pk, "-model", mdl, "-k", "2", "-json", face)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r identify.AllReply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(r.Faces) != 1 || r.Faces[0].Box != [4]float32{16, 32, 8, 8} || len(r.Faces[0].Answers) != 2 {
		t.Fatalf("faces %+v", r.Faces)
	}
	if code, _, errs := cli("identify", "-all", "-box", "0,0,4,4", "-pack", pk, "-model", mdl, face); code == 0 || !strings.Contains(errs, "-all") {
		t.Fatalf("-all with -box: %d %s", code, errs)
	}
}

// -tsv writes the box list collect propose -boxes reads.
func TestDetectTSVFeedsCollect(t *testing.T) {
	det := tinyDetectorFile(t)
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{0, 0, 0, 255})
		}
	}
	for y := 32; y < 40; y++ {
		for x := 16; x < 24; x++ {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	f, _ := os.Create(filepath.Join(dir, "a.png"))
	png.Encode(f, img)
	f.Close()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli("detect", "-model", det, "-tsv", "a.png")
	if code != 0 || out != "path\tx\ty\tw\th\na.png\t16\t32\t8\t8\n" {
		t.Fatalf("exit %d %q %s", code, out, errs)
	}
}

// collect propose -detect proposes the detector's faces (2x crops) instead of the window grid.
func TestCollectProposeDetect(t *testing.T) {
	det := tinyDetectorFile(t)
	mdl := tinyModel(t, 1)
	in := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{0, 0, 0, 255})
		}
	}
	for y := 32; y < 40; y++ {
		for x := 16; x < 24; x++ {
			img.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
	}
	f, _ := os.Create(filepath.Join(in, "a.png"))
	png.Encode(f, img)
	f.Close()
	boxes, err := detectFolder(in, det, func(string) {})
	if err != nil || len(boxes["a.png"]) != 1 || boxes["a.png"][0] != image.Rect(12, 28, 28, 44) {
		t.Fatalf("boxes %v, %v", boxes, err)
	}
	out := filepath.Join(t.TempDir(), "review")
	code, _, errs := cli("collect", "propose", "-detect", "-detector", det, "-in", in, "-o", out, "-model", mdl, "-min-size", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(out, "proposals.json"))
	if err != nil || !strings.Contains(string(b), `"boxes": "detector"`) && !strings.Contains(string(b), `"boxes":"detector"`) {
		t.Fatalf("proposals.json: %v %.300s", err, b)
	}
	if code, _, errs := cli("collect", "propose", "-detect", "-boxes", "x.tsv", "-in", in, "-o", out, "-model", mdl); code == 0 || !strings.Contains(errs, "not both") {
		t.Fatalf("-detect with -boxes: %d %s", code, errs)
	}
}
