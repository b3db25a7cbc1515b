package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toonid/toonid/model"
)

func writeCalib(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, 40+i, 40))
		for y := 0; y < 40; y++ {
			for x := 0; x < 40+i; x++ {
				img.Set(x, y, color.NRGBA{uint8(x * 6), uint8(y*5 + i*20), uint8((x + y) * 3), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, "c"+string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func TestQuantize(t *testing.T) {
	dir := t.TempDir()
	calib := filepath.Join(dir, "calib")
	os.Mkdir(calib, 0o755)
	writeCalib(t, calib, 5)
	cosLine := map[bool]string{}
	for _, c := range []struct {
		name   string
		extra  []string
		mirror bool
		dim    int
	}{
		{"plain", nil, false, 10},
		{"mirror", []string{"-mirror"}, true, 10},
		{"colour cue", []string{"-colour-bins", "3", "-colour-weight", "0.5"}, false, 10 + 27},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".tmdl")
			var stdout, stderr bytes.Buffer
			args := append([]string{"quantize", "../../model/testdata/ops.onnx", "-calib", calib, "-o", out, "-mean", "0.5,0.4,0.3", "-std", "0.2,0.2,0.2"}, c.extra...)
			code := run(args, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "cosine vs float model over 5 calibration images: min ") ||
				!strings.Contains(stdout.String(), "simulated int8 activations on top (not written): cosine over 2 held-out images") {
				t.Fatalf("output lacks the cosine report:\n%s", stdout.String())
			}
			if got := strings.Contains(stdout.String(), "mirror-averaged embeddings (2 passes per embedding)"); got != c.mirror {
				t.Fatalf("report says mirror-averaged: %v, want %v:\n%s", got, c.mirror, stdout.String())
			}
			for _, l := range strings.Split(stdout.String(), "\n") {
				if strings.HasPrefix(l, "cosine vs float model") && c.dim == 10 {
					cosLine[c.mirror] = l
				}
			}
			if got := strings.Contains(stdout.String(), "colour cue 3³ cells at weight 0.5"); got != (c.dim != 10) {
				t.Fatalf("report names the colour cue: %v:\n%s", got, stdout.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(b)
			if err != nil {
				t.Fatal(err)
			}
			info := m.Info()
			if !info.Int8 || info.InputW != 32 || info.Mean != [3]float32{.5, .4, .3} || info.Std != [3]float32{.2, .2, .2} || info.EmbedDim != c.dim || info.Mirror != c.mirror {
				t.Fatalf("info %+v", info)
			}
			t.Log(stdout.String())
		})
	}
	// The int8 gate compares single network passes whether or not the file is mirror-averaged.
	if cosLine[false] == "" || cosLine[false] != cosLine[true] {
		t.Fatalf("gate differs with -mirror:\n%q\n%q", cosLine[false], cosLine[true])
	}
}

func TestQuantizeErrors(t *testing.T) {
	dir := t.TempDir()
	writeCalib(t, dir, 2)
	out := filepath.Join(dir, "x.tmdl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"quantize"}, "need one model.onnx, -calib DIR and -o FILE"},
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-o", out}, "need one model.onnx, -calib DIR and -o FILE"},
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-calib", t.TempDir(), "-o", out}, "-calib: no images under"},
		{[]string{"quantize", "../../model/testdata/unsupported.onnx", "-calib", dir, "-o", out}, "unsupported.onnx: "},
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-calib", dir, "-o", out, "-mean", "1,2"}, "-mean: "},
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-calib", dir, "-o", out, "-colour-bins", "1"}, "-colour-bins"},
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-calib", dir, "-o", out, "-colour-bins", "4", "-colour-weight", "0"}, "-colour-weight"},
		// Int8 weights never reproduce the float model exactly, so a gate of 1 refuses the file.
		{[]string{"quantize", "../../model/testdata/ops.onnx", "-calib", dir, "-o", out, "-min-cos", "1"}, "quantized model disagrees with the float model: min cosine"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a failure saying %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed quantize wrote its output")
	}
}
