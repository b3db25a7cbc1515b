package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/onnximport"
)

// detectArgs are `toonid detect`'s checked arguments.
type detectArgs struct {
	model     string
	json      bool
	threshold float64 // < 0: the file's default
	time      bool
	tsv       bool
	images    []string
	// quantize
	quantize  bool
	onnx, out string
	f32       bool
	nms       float64
}

func parseDetect(args []string, stderr io.Writer) (*detectArgs, error) {
	if len(args) > 0 && args[0] == "quantize" {
		return parseDetectQuantize(args[1:], stderr)
	}
	fs := newFlags("detect", "detect [-model FILE] [-json | -tsv] [-threshold T] IMAGE...\n"+
		"       toonid detect quantize [-f32] [-threshold 0.3] [-nms 0.5] -o FILE model.onnx\n\n"+
		"Prints the cartoon face boxes of each image: x, y, w, h in image pixels (brow or hair-line to chin,\n"+
		"ear to ear) and a score in [0,1], best first, after NMS, at most 100. With -json one line per image:\n"+
		"{\"path\": ..., \"boxes\": [[x, y, w, h, score], ...]}. quantize turns the detector's ONNX (model/train/detect.py)\n"+
		"into a detector model file.", stderr)
	a := &detectArgs{}
	fs.StringVar(&a.model, "model", "", "detector model `file` (default: the shipped detector)")
	fs.BoolVar(&a.json, "json", false, "one JSON object per image")
	fs.Float64Var(&a.threshold, "threshold", -1, "minimum score (0..1; default: the model file's)")
	fs.BoolVar(&a.tsv, "tsv", false, "print a box list for collect propose -boxes (header path x y w h, one row per box; give IMAGE paths relative to the folder, use -enlarge 2 there)")
	fs.BoolVar(&a.time, "time", false, "report milliseconds per frame (letterbox + network + decode, not the image decode) on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, errors.New("want at least one IMAGE")
	}
	if a.tsv && a.json {
		return nil, errors.New("-tsv or -json, not both")
	}
	if a.threshold != -1 {
		if err := floatIn("threshold", a.threshold, 0, 1); err != nil {
			return nil, err
		}
	}
	a.images = fs.Args()
	return a, nil
}

func parseDetectQuantize(args []string, stderr io.Writer) (*detectArgs, error) {
	fs := newFlags("detect quantize [-f32] [-threshold 0.3] [-nms 0.5] -o FILE model.onnx", "", stderr)
	a := &detectArgs{quantize: true}
	fs.StringVar(&a.out, "o", "", "output detector model `file` (.tmdl)")
	fs.BoolVar(&a.f32, "f32", false, "float32 weights (default int8, depthwise float32)")
	fs.Float64Var(&a.threshold, "threshold", 0.3, "default minimum score stored in the file (0..1)")
	fs.Float64Var(&a.nms, "nms", 0.5, "IoU above which a weaker box is suppressed (0..1]")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 || a.out == "" {
		fs.Usage()
		return nil, errors.New("need one model.onnx and -o FILE")
	}
	a.onnx = pos[0]
	if err := floatIn("threshold", a.threshold, 0, 1); err != nil {
		return nil, err
	}
	if err := floatIn("nms", a.nms, math.SmallestNonzeroFloat32, 1); err != nil {
		return nil, err
	}
	return a, nil
}

// loadDetector loads -model FILE, or the shipped detector when path is empty; an embedder
// file is refused with a clear error.
func loadDetector(path string) (*detect.Detector, error) {
	b := shippedDetector
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	} else if len(b) == 0 {
		return nil, errors.New("this build has no shipped detector: pass -model FILE")
	} else {
		path = "shipped detector"
	}
	d, err := detect.Load(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

func runDetect(args []string, stdout, stderr io.Writer) error {
	a, err := parseDetect(args, stderr)
	if err != nil {
		return err
	}
	if a.quantize {
		return runDetectQuantize(a, stdout)
	}
	d, err := loadDetector(a.model)
	if err != nil {
		return err
	}
	if a.threshold >= 0 {
		d.Threshold = float32(a.threshold)
	}
	var spent time.Duration
	if a.tsv {
		fmt.Fprintln(stdout, "path\tx\ty\tw\th")
	}
	for _, p := range a.images {
		img, err := loadImageFor(p, false)
		if err != nil {
			return err
		}
		t0 := time.Now()
		boxes, err := d.Detect(img)
		spent += time.Since(t0)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if a.tsv {
			for _, b := range boxes {
				r := image.Rect(int(math.Floor(float64(b.X))), int(math.Floor(float64(b.Y))), int(math.Ceil(float64(b.X+b.W))), int(math.Ceil(float64(b.Y+b.H))))
				fmt.Fprintf(stdout, "%s\t%d\t%d\t%d\t%d\n", p, r.Min.X, r.Min.Y, r.Dx(), r.Dy())
			}
			continue
		}
		if err := writeBoxes(stdout, p, boxes, a.json); err != nil {
			return err
		}
	}
	if a.time {
		fmt.Fprintf(stderr, "detect: %d frames, %.2f ms/frame\n", len(a.images), float64(spent.Microseconds())/1000/float64(len(a.images)))
	}
	return nil
}

// writeBoxes prints one image's boxes: JSON {"path", "boxes": [[x,y,w,h,score],...]} or
// "path<TAB>x,y,w,h,score<TAB>..." (pixels to 0.1, score to 0.001).
func writeBoxes(w io.Writer, path string, boxes []detect.Box, asJSON bool) error {
	r1 := func(v float32) float64 { return math.Round(float64(v)*10) / 10 }
	rows := make([][5]float64, len(boxes))
	for i, b := range boxes {
		rows[i] = [5]float64{r1(b.X), r1(b.Y), r1(b.W), r1(b.H), math.Round(float64(b.Score)*1000) / 1000}
	}
	if asJSON {
		line, err := json.Marshal(struct {
			Path  string       `json:"path"`
			Boxes [][5]float64 `json:"boxes"`
		}{path, rows})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", line)
		return err
	}
	s := path
	for _, r := range rows {
		s += fmt.Sprintf("\t%g,%g,%g,%g,%g", r[0], r[1], r[2], r[3], r[4])
	}
	_, err := fmt.Fprintln(w, s)
	return err
}

// runDetectQuantize imports the detector's ONNX (input x/255: mean 0, std 1), writes it as a
// detector model file and reports how far int8 weights move the raw output on a few inputs.
func runDetectQuantize(a *detectArgs, stdout io.Writer) error {
	src, err := os.ReadFile(a.onnx)
	if err != nil {
		return err
	}
	g, err := onnximport.Import(src)
	if err != nil {
		return fmt.Errorf("%s: %w", a.onnx, err)
	}
	g.Mean, g.Std = [3]float32{}, [3]float32{1, 1, 1}
	opt := model.EncodeOptions{Int8: !a.f32, F32Depthwise: true, Kind: model.KindDetector,
		Decode: model.DetectDecode{Scheme: model.DecodeCenter5, Threshold: float32(a.threshold), NMS: float32(a.nms)}}
	file, err := model.Encode(g, opt)
	if err != nil {
		return err
	}
	q, err := model.Load(file)
	if err != nil {
		return fmt.Errorf("reloading the written model: %w", err)
	}
	ref, err := model.FromGraph(g)
	if err != nil {
		return err
	}
	// agreement of the raw maps on smooth pseudo-images (max |difference| of the score logits)
	var worst float64
	for s := 0; s < 4; s++ {
		in := make([]float32, q.InputLen())
		n := q.Info().InputW
		for i := range in {
			x, y, c := i%n, (i/n)%n, i/(n*n)
			in[i] = float32(0.5 + 0.45*math.Sin(float64(x*(s+1))/17+float64(y*(c+1))/23+float64(s)))
		}
		fo, err := ref.Forward(in)
		if err != nil {
			return err
		}
		qo, err := q.Forward(in)
		if err != nil {
			return err
		}
		for i := range fo[:len(fo)/5] {
			worst = math.Max(worst, math.Abs(float64(fo[i]-qo[i])))
		}
	}
	info := q.Info()
	fmt.Fprintf(stdout, "detector %s: %dx%d input, output %v (stride %d), %d ops, %.1f MMAC, int8 %v, %d bytes, max |int8 - float| score logit %.4f, sha256 %s\n",
		a.out, info.InputW, info.InputH, info.Output, info.Decode.Stride, info.Ops, float64(info.MACs)/1e6, info.Int8, len(file), worst, info.SHA256)
	return os.WriteFile(a.out, file, 0o644)
}

// identifyAll names every detected face of img with identify.IdentifyAll, the function the
// browser's identifyAll runs, so both give the same answers.
func identifyAll(stdout io.Writer, id *identify.Identifier, detector string, img image.Image, k int, asJSON bool) error {
	d, err := loadDetector(detector)
	if err != nil {
		return err
	}
	rgba := rgbaOf(img)
	rep, err := id.IdentifyAll(rgba.Pix, rgba.Rect.Dx(), rgba.Rect.Dy(), d, k)
	if err != nil {
		return fmt.Errorf("identify -all: %w", err)
	}
	if asJSON {
		return printJSON(stdout, rep)
	}
	for _, f := range rep.Faces {
		name := "?"
		if !f.Unknown && len(f.Answers) > 0 {
			name = fmt.Sprintf("%s (%.4f)", f.Answers[0].Name, f.Answers[0].Score)
		}
		fmt.Fprintf(stdout, "%.1f,%.1f,%.1f,%.1f\t%.3f\t%s\n", f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score, name)
	}
	return nil
}

// detectFolder runs the detector on every image under dir (png, jpeg, gif by extension) and
// returns collect propose's box list: path relative to dir (slashes) -> the faces' 2x square
// crops. Images that fail to decode are passed over with a warning (collect reports them too).
func detectFolder(dir, detector string, warn func(string)) (map[string][]image.Rectangle, error) {
	d, err := loadDetector(detector)
	if err != nil {
		return nil, err
	}
	out := map[string][]image.Rectangle{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg", ".gif":
		default:
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		img, err := loadImageFor(p, false)
		if err != nil {
			warn(fmt.Sprintf("detect: %s: %v", rel, err))
			return nil
		}
		boxes, err := d.Detect(img)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		out[key] = []image.Rectangle{} // listed: collect proposes nothing here rather than a grid
		for _, b := range boxes {
			out[key] = append(out[key], identify.SquareAround(b, 2)) // a generous crop to review
		}
		return nil
	})
	return out, err
}
