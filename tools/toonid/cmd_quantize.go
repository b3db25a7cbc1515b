package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/onnximport"
	"github.com/toonid/toonid/tools/eval"

	"github.com/toonid/toonid/internal/fsutil"
)

// quantizeArgs are quantize's checked arguments.
type quantizeArgs struct {
	onnx, calib, out             string
	mean, std                    [3]float32
	f32, f32Dense, f32DW, mirror bool
	limit                        int
	minCos                       float64
	colourBins                   int
	colourWeight                 float64
}

// maxCalibImages bounds -n.
const maxCalibImages = 1_000_000

func parseQuantize(args []string, stderr io.Writer) (*quantizeArgs, error) {
	fs := flag.NewFlagSet("quantize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a quantizeArgs
	fs.StringVar(&a.calib, "calib", "", "`dir` of images (png/jpeg/gif, searched recursively) to measure int8 vs float agreement on")
	fs.StringVar(&a.out, "o", "", "output model `file` (.tmdl)")
	meanS := fs.String("mean", "0.5,0.5,0.5", "per-channel input `mean` (RGB in [0,1])")
	stdS := fs.String("std", "0.5,0.5,0.5", "per-channel input `std` (above 0)")
	fs.BoolVar(&a.f32, "f32", false, "store float32 weights instead of int8")
	fs.BoolVar(&a.f32Dense, "f32-dense", false, "keep fully connected (embedding projection) weights float32, convolutions int8")
	fs.BoolVar(&a.f32DW, "f32-depthwise", false, "keep depthwise convolution weights float32, other convolutions int8")
	fs.BoolVar(&a.mirror, "mirror", false, "mark the file mirror-averaged: every Embed runs the network on the crop and on its left-right mirror (two passes) and averages the normalised outputs")
	fs.IntVar(&a.limit, "n", 512, fmt.Sprintf("use at most `n` calibration images (1..%d)", maxCalibImages))
	fs.IntVar(&a.colourBins, "colour-bins", 0, fmt.Sprintf("append the colour cue (model.AppendColourCue): a foreground colour histogram of `n` bins per channel (%d..%d; 0: none), centred on the calibration images' mean", model.MinColourBins, model.MaxColourBins))
	fs.Float64Var(&a.colourWeight, "colour-weight", 0.5, "the colour cue's length beside the unit-length CNN embedding (above 0)")
	fs.Float64Var(&a.minCos, "min-cos", 0.99, "fail when the smallest int8-vs-float cosine is below this (-1..1)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: toonid quantize model.onnx -calib DIR -o model.tmdl [-mean 0.5,0.5,0.5 -std 0.5,0.5,0.5] [-f32 | -f32-dense] [-f32-depthwise] [-mirror] [-colour-bins N -colour-weight W]")
		fs.PrintDefaults()
	}
	// Accept the ONNX path before or after the flags.
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 || a.out == "" || a.calib == "" {
		fs.Usage()
		return nil, fmt.Errorf("need one model.onnx, -calib DIR and -o FILE")
	}
	a.onnx = pos[0]
	if a.mean, err = parseTriple(*meanS, 0, 1); err != nil {
		return nil, fmt.Errorf("-mean: %w", err)
	}
	if a.std, err = parseTriple(*stdS, smallestPositive, math.MaxFloat32); err != nil {
		return nil, fmt.Errorf("-std: %w", err)
	}
	if err := intIn("n", a.limit, 1, maxCalibImages); err != nil {
		return nil, err
	}
	if err := floatIn("min-cos", a.minCos, -1, 1); err != nil {
		return nil, err
	}
	if a.colourBins != 0 {
		if err := intIn("colour-bins", a.colourBins, model.MinColourBins, model.MaxColourBins); err != nil {
			return nil, err
		}
		if err := floatIn("colour-weight", a.colourWeight, smallestPositive, 100); err != nil {
			return nil, err
		}
	}
	return &a, nil
}

// runQuantize converts a float ONNX model into a toonid model file and reports how far the
// int8 weights move the embeddings on the calibration images (model.Quantize measures and gates;
// this decodes the images and prints).
func runQuantize(args []string, stdout, stderr io.Writer) error {
	a, err := parseQuantize(args, stderr)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(a.onnx)
	if err != nil {
		return err
	}
	g, err := onnximport.Import(src)
	if err != nil {
		return fmt.Errorf("%s: %w", a.onnx, err)
	}
	g.Mean, g.Std = a.mean, a.std
	ref, err := model.FromGraph(g)
	if err != nil {
		return err
	}
	imgs, err := loadCalib(a.calib, a.limit)
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
	if a.colourBins != 0 {
		// The preprocessing depends only on the input size, mean and std, which the cue
		// leaves as they are: the inputs above stay valid for the extended graph.
		if err := model.AppendColourCue(g, a.colourBins, float32(a.colourWeight), inputs); err != nil {
			return err
		}
		if ref, err = model.FromGraph(g); err != nil {
			return err
		}
	}
	q, qerr := model.Quantize(ref, inputs, model.QuantizeOptions{
		Encode: model.EncodeOptions{Int8: !a.f32, F32Dense: a.f32Dense, F32Depthwise: a.f32DW, Mirror: a.mirror},
		MinCos: a.minCos,
	})
	if q == nil {
		return qerr
	}
	info := q.Model.Info()
	kind := "int8 weights, float32 activations"
	if a.f32 {
		kind = "float32 weights"
	} else if a.f32Dense || a.f32DW {
		kind = "int8 weights except float32"
		if a.f32DW {
			kind += " depthwise"
		}
		if a.f32Dense {
			kind += " dense"
		}
		kind += " weights, float32 activations"
	}
	if info.Mirror {
		kind += ", mirror-averaged embeddings (2 passes per embedding)"
	}
	if a.colourBins != 0 {
		kind += fmt.Sprintf(", colour cue %d³ cells at weight %g", a.colourBins, a.colourWeight)
	}
	fmt.Fprintf(stdout, "model %s: %dx%d input, %d-d embedding, %d ops, %.1f MMAC, %s, %d bytes, sha256 %s\n",
		a.out, info.InputW, info.InputH, info.EmbedDim, info.Ops, float64(info.MACs)/1e6, kind, len(q.File), info.SHA256)
	fmt.Fprintf(stdout, "cosine vs float model over %d calibration images: min %.5f mean %.5f\n", q.Agreement.N, q.Agreement.MinCos, q.Agreement.MeanCos)
	if sim := q.Int8Activations; sim != nil {
		fmt.Fprintf(stdout, "simulated int8 activations on top (not written): cosine over %d held-out images: min %.5f mean %.5f\n", sim.N, sim.MinCos, sim.MeanCos)
	}
	if qerr != nil {
		return fmt.Errorf("%w (-min-cos); not writing %s", qerr, a.out)
	}
	return fsutil.WriteFileAtomic(a.out, q.File, 0o644) // an interrupted run leaves no half model
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
// already face crops) as eval and pack build decode what they embed (eval.PreprocessFile: the
// same pixel cap, decode budget and white background).
func preprocessFile(m *model.Model, path string) ([]float32, error) {
	return eval.PreprocessFile(m, path, 0)
}
