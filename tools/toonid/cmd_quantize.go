package main

import (
	"flag"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/onnximport"
	"github.com/toonid/toonid/tools/eval"
)

// runQuantize converts a float ONNX model into a toonid model file and reports how far the
// int8 weights move the embeddings on the calibration images.
func runQuantize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calib := fs.String("calib", "", "`dir` of images (png/jpeg/gif, searched recursively) to measure int8 vs float agreement on")
	out := fs.String("o", "", "output model `file` (.tmdl)")
	meanS := fs.String("mean", "0.5,0.5,0.5", "per-channel input `mean` (RGB in [0,1])")
	stdS := fs.String("std", "0.5,0.5,0.5", "per-channel input `std`")
	f32 := fs.Bool("f32", false, "store float32 weights instead of int8")
	f32Dense := fs.Bool("f32-dense", false, "keep fully connected (embedding projection) weights float32, convolutions int8")
	mirror := fs.Bool("mirror", false, "mark the file mirror-averaged: every Embed runs the network on the crop and on its left-right mirror (two passes) and averages the normalised outputs")
	limit := fs.Int("n", 512, "use at most `n` calibration images")
	minCos := fs.Float64("min-cos", 0.99, "fail when the smallest int8-vs-float cosine is below this")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: toonid quantize model.onnx -calib DIR -o model.tmdl [-mean 0.5,0.5,0.5 -std 0.5,0.5,0.5] [-f32 | -f32-dense] [-mirror]")
		fs.PrintDefaults()
	}
	// Accept the ONNX path before or after the flags.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			pos = append(pos, args[0])
			args = args[1:]
		}
	}
	if len(pos) != 1 || *out == "" || *calib == "" {
		fs.Usage()
		return fmt.Errorf("need one model.onnx, -calib DIR and -o FILE")
	}
	mean, err := parseTriple(*meanS)
	if err != nil {
		return fmt.Errorf("-mean: %w", err)
	}
	std, err := parseTriple(*stdS)
	if err != nil {
		return fmt.Errorf("-std: %w", err)
	}
	src, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	g, err := onnximport.Import(src)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	g.Mean, g.Std = mean, std
	ref, err := model.FromGraph(g)
	if err != nil {
		return err
	}
	imgs, err := loadCalib(*calib, *limit)
	if err != nil {
		return err
	}
	inputs := make([][]float32, 0, len(imgs))
	for _, p := range imgs {
		in, err := preprocessFile(ref, p)
		if err != nil {
			return err
		}
		inputs = append(inputs, in)
	}
	file, err := model.Encode(g, model.EncodeOptions{Int8: !*f32, F32Dense: *f32Dense, Mirror: *mirror})
	if err != nil {
		return err
	}
	q, err := model.Load(file)
	if err != nil {
		return fmt.Errorf("reloading the written model: %w", err)
	}
	// The gate compares single network passes (Compare uses Forward), with or without -mirror:
	// the mirror average is the same arithmetic on two such passes.
	agree, err := model.Compare(ref, q, inputs)
	if err != nil {
		return err
	}
	info := q.Info()
	kind := "int8 weights, float32 activations"
	if *f32 {
		kind = "float32 weights"
	} else if *f32Dense {
		kind = "int8 conv weights, float32 dense weights and activations"
	}
	if info.Mirror {
		kind += ", mirror-averaged embeddings (2 passes per embedding)"
	}
	fmt.Fprintf(stdout, "model %s: %dx%d input, %d-d embedding, %d ops, %.1f MMAC, %s, %d bytes, sha256 %s\n",
		*out, info.InputW, info.InputH, info.EmbedDim, info.Ops, float64(info.MACs)/1e6, kind, len(file), info.SHA256)
	fmt.Fprintf(stdout, "cosine vs float model over %d calibration images: min %.5f mean %.5f\n", agree.N, agree.MinCos, agree.MeanCos)
	if len(inputs) >= 2 {
		// What int8 activations would add (not implemented: no speed gain, see model/README.md),
		// calibrated on every other image and measured on the rest.
		var cal, held [][]float32
		for i, in := range inputs {
			if i%2 == 0 {
				cal = append(cal, in)
			} else {
				held = append(held, in)
			}
		}
		if sim, err := model.SimulateInt8Activations(q, cal, held); err == nil {
			fmt.Fprintf(stdout, "simulated int8 activations on top (not written): cosine over %d held-out images: min %.5f mean %.5f\n", sim.N, sim.MinCos, sim.MeanCos)
		}
	}
	if agree.MinCos < *minCos {
		return fmt.Errorf("min cosine %.5f below -min-cos %.3f; not writing %s", agree.MinCos, *minCos, *out)
	}
	return os.WriteFile(*out, file, 0o644)
}

func parseTriple(s string) ([3]float32, error) {
	var v [3]float32
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return v, fmt.Errorf("want three comma-separated numbers, got %q", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return v, err
		}
		v[i] = float32(f)
	}
	return v, nil
}

func loadCalib(dir string, limit int) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg", ".gif":
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("-calib: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("-calib: no images under %s", dir)
	}
	sort.Strings(paths)
	if len(paths) > limit {
		// Spread the sample over the whole (sorted) set rather than taking the first ones.
		step := float64(len(paths)) / float64(limit)
		sel := make([]string, limit)
		for i := range sel {
			sel[i] = paths[int(float64(i)*step)]
		}
		paths = sel
	}
	return paths, nil
}

// preprocessFile decodes an image and preprocesses all of it (calibration images are
// already face crops).
func preprocessFile(m *model.Model, path string) ([]float32, error) {
	// eval's limits (pixels and decoding bytes, from the header) and decode budget; not
	// flattened, so colours under transparent pixels stay what they were.
	img, err := eval.LoadImageAsIs(path, 0)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	nrgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(nrgba, nrgba.Rect, img, b.Min, draw.Src)
	in, err := m.Preprocess(nil, nrgba.Pix, nrgba.Stride, b.Dx(), b.Dy(), image.Rect(0, 0, b.Dx(), b.Dy()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}
