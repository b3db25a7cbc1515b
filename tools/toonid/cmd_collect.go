package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/collect"
)

func runCollect(args []string, stdout, stderr io.Writer) error {
	return collectSub(args, stderr, func(sub string, rest []string) error {
		if sub == "propose" {
			return runCollectPropose(rest, stdout, stderr)
		}
		return runCollectApply(rest, stdout, stderr)
	})
}

// parseCollect parses and checks a collect subcommand's arguments only.
func parseCollect(args []string, stderr io.Writer) error {
	return collectSub(args, stderr, func(sub string, rest []string) error {
		var err error
		if sub == "propose" {
			_, err = parseCollectPropose(rest, stderr)
		} else {
			_, err = parseCollectApply(rest, stderr)
		}
		return err
	})
}

func collectSub(args []string, stderr io.Writer, do func(sub string, rest []string) error) error {
	const use = "usage: toonid collect propose|apply [flags]; 'toonid collect propose -h' for flags"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return errors.New("missing subcommand: propose or apply")
	}
	switch args[0] {
	case "propose", "apply":
		return do(args[0], args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, use)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: want propose or apply", clipArg(args[0]))
}

// proposeArgs are collect propose's checked arguments.
type proposeArgs struct {
	in, out, packDirs, model, boxes, grid string
	enlarge, link, dedup, threshold       float64
	minSide, window, minSize, maxProps    int
	gridDivs                              []int
	detect                                bool   // -detect: the detector's face boxes, 2x crops
	detector                              string // -detector FILE (default the shipped one)
	video                                 bool   // -in is a video file
	fps                                   float64
	frames                                string // -frames DIR for a video's decoded frames
	maxFrames                             int
}

func parseCollectPropose(args []string, stderr io.Writer) (*proposeArgs, error) {
	fs := newFlags("collect propose", "collect propose -in DIR|VIDEO -o REVIEWDIR [-pack PACKDIR] [-boxes FILE] [-link 0.6] [-model FILE]\n\n"+
		"Proposes square face crops of every image under DIR (a window grid, or the boxes of -boxes),\n"+
		"embeds them, drops near-duplicates, pre-labels with -pack and clusters the rest. Open\n"+
		"REVIEWDIR/review.html to name the clusters, then run 'toonid collect apply'.\n"+
		"-boxes FILE: header `path x y w h` (tab-separated), paths relative to DIR.\n"+
		"-in VIDEO (a file): frames decoded by ffmpeg at -fps into -frames (default REVIEWDIR/frames),\n"+
		"the detector's faces followed by the tracker: one cluster per track, named once.", stderr)
	var a proposeArgs
	fs.StringVar(&a.in, "in", "", "folder of frames or images (required)")
	fs.StringVar(&a.out, "o", "", "review folder to write (required; not inside -in)")
	fs.StringVar(&a.packDirs, "pack", "", "pack directories (comma-separated) whose characters pre-label proposals")
	fs.StringVar(&a.model, "model", "", "model file (default: the shipped model)")
	fs.StringVar(&a.boxes, "boxes", "", "TSV of crop boxes to use instead of the window grid")
	fs.BoolVar(&a.detect, "detect", false, "propose the face detector's boxes (each grown 2x into a square) instead of the window grid")
	fs.StringVar(&a.detector, "detector", "", "detector model file for -detect (default: the shipped detector)")
	fs.Float64Var(&a.enlarge, "enlarge", 1, "with -boxes: grow each box into a square this many times its longer side (1..8; 2 for tight face boxes)")
	fs.StringVar(&a.grid, "grid", "1,2,3", "window sizes as divisors of the shorter side (1 = the whole-image square)")
	fs.IntVar(&a.minSide, "min-side", collect.DefaultMinSide, "smallest window side in pixels")
	fs.Float64Var(&a.link, "link", collect.DefaultLink, "average-link cosine threshold in (-1, 1]: higher makes tighter, smaller clusters")
	fs.Float64Var(&a.dedup, "dedup", collect.DefaultDedup, "cosine at which a crop is a near-duplicate of an earlier one (above 1: off)")
	fs.IntVar(&a.window, "dedup-window", collect.DefaultDedupWindow, "images back in walk order that near-duplicates are looked for in")
	fs.IntVar(&a.minSize, "min-size", collect.DefaultMinSize, "leave out clusters with fewer crops (pack suggestions always stay)")
	fs.IntVar(&a.maxProps, "max-proposals", collect.DefaultMaxProposals, fmt.Sprintf("refuse runs with more crops than this (at most %d)", maxProposals))
	fs.Float64Var(&a.threshold, "threshold", 0, "override the pack's threshold for suggestions (-1..1; 0: the pack's)")
	fs.Float64Var(&a.fps, "fps", collect.DefaultFPS, fmt.Sprintf("video: frames per second to decode (0..%d]", collect.MaxFPS))
	fs.StringVar(&a.frames, "frames", "", "video: folder for the decoded frames (default REVIEWDIR/"+collect.FramesDir+"; kept: apply reads them)")
	fs.IntVar(&a.maxFrames, "max-frames", collect.DefaultMaxFrames, "video: decode at most this many frames")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if a.in == "" || a.out == "" || fs.NArg() > 0 {
		fs.Usage()
		return nil, errors.New("-in and -o are required")
	}
	if !(a.link > -1 && a.link <= 1) {
		return nil, fmt.Errorf("-link %v: want a cosine in (-1, 1]", a.link)
	}
	if !(a.dedup > 0 && a.dedup <= math.MaxFloat32) {
		return nil, fmt.Errorf("-dedup %v: want a cosine above 0 (above 1: off)", a.dedup)
	}
	for _, err := range []error{
		floatIn("enlarge", a.enlarge, 1, 8),
		floatIn("threshold", a.threshold, -1, 1),
		intIn("min-side", a.minSide, 1, maxCoord),
		intIn("dedup-window", a.window, 1, maxProposals),
		intIn("min-size", a.minSize, 1, maxProposals),
		intIn("max-proposals", a.maxProps, 1, maxProposals),
	} {
		if err != nil {
			return nil, err
		}
	}
	if a.detect && a.boxes != "" {
		return nil, errors.New("-detect or -boxes, not both")
	}
	if st, err := os.Stat(a.in); err == nil && st.Mode().IsRegular() {
		a.video = true
		if a.boxes != "" {
			return nil, errors.New("-in is a video: its faces come from the detector, not -boxes")
		}
		if !(a.fps > 0 && a.fps <= collect.MaxFPS) {
			return nil, fmt.Errorf("-fps %v: want (0, %d]", a.fps, collect.MaxFPS)
		}
		if err := intIn("max-frames", a.maxFrames, 1, maxProposals); err != nil {
			return nil, err
		}
	}
	if a.boxes == "" {
		g, err := collect.ParseGrid(a.grid)
		if err != nil {
			return nil, err
		}
		a.gridDivs = g
	}
	return &a, nil
}

// maxProposals bounds -max-proposals (and the counts compared with proposals).
const maxProposals = 10_000_000

func runCollectPropose(args []string, stdout, stderr io.Writer) error {
	a, err := parseCollectPropose(args, stderr)
	if err != nil {
		return err
	}
	m, err := loadModel(a.model)
	if err != nil {
		return err
	}
	if a.video {
		return runProposeVideo(a, m, stdout, stderr)
	}
	opts := collect.Options{
		Model: m, MinSide: a.minSide, Link: float32(a.link), Dedup: float32(a.dedup), DedupWindow: a.window,
		MinSize: a.minSize, MaxProposals: a.maxProps, Grid: a.gridDivs,
		Warn:     func(s string) { fmt.Fprintln(stderr, "warning:", s) },
		Progress: progress(stderr, "embedding"),
	}
	if a.boxes != "" {
		f, err := os.Open(a.boxes)
		if err != nil {
			return err
		}
		opts.Boxes, err = collect.ReadBoxes(f, a.boxes, a.enlarge)
		f.Close()
		if err != nil {
			return err
		}
		if opts.Boxes == nil {
			opts.Boxes = map[string][]image.Rectangle{}
		}
		opts.BoxesName = filepath.Base(a.boxes)
	}
	if a.detect {
		if opts.Boxes, err = detectFolder(a.in, a.detector, opts.Warn); err != nil {
			return err
		}
		opts.BoxesName = "detector"
	}
	if opts.Matcher, opts.PackNames, err = proposeMatcher(a, m); err != nil {
		return err
	}
	p, err := collect.Propose(context.Background(), a.in, a.out, opts)
	if err != nil {
		return err
	}
	st := p.Stats
	fmt.Fprintf(stderr, "%d images (%d files skipped): %d crops, %d near-duplicates dropped, %d suggested by the pack, "+
		"%d in %d clusters, %d left out (clusters under %d)\n",
		st.Images, st.Skipped, st.Proposals, st.Duplicates, st.Suggested, st.Clustered+st.Suggested, len(p.Clusters), st.LeftOut, a.minSize)
	fmt.Fprintf(stdout, "%s\n", filepath.Join(a.out, "review.html"))
	return nil
}

// proposeMatcher opens -pack's packs (nil without -pack) with -threshold applied.
func proposeMatcher(a *proposeArgs, m *model.Model) (*pack.Matcher, []string, error) {
	if a.packDirs == "" {
		return nil, nil, nil
	}
	var packs []*pack.Pack
	var names []string
	for _, d := range strings.Split(a.packDirs, ",") {
		p, err := pack.Open(os.DirFS(d), pack.OpenOptions{ModelSHA256: m.Info().SHA256})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", d, err)
		}
		packs = append(packs, p)
		names = append(names, p.Name)
	}
	mt, err := pack.NewMatcher(packs...)
	if err != nil {
		return nil, nil, err
	}
	if a.threshold != 0 {
		mt = mt.WithThreshold(float32(a.threshold))
	}
	return mt, names, nil
}

// runProposeVideo is collect propose on a video file: collect.ProposeVideo.
func runProposeVideo(a *proposeArgs, m *model.Model, stdout, stderr io.Writer) error {
	d, err := loadDetector(a.detector)
	if err != nil {
		return err
	}
	opts := collect.VideoOptions{
		Options: collect.Options{
			Model: m, MinSide: a.minSide, Dedup: float32(a.dedup), DedupWindow: a.window, MinSize: a.minSize,
			Warn:     func(s string) { fmt.Fprintln(stderr, "warning:", s) },
			Progress: progress(stderr, "frames"),
		},
		Detector: d, FPS: a.fps, MaxFrames: a.maxFrames, Frames: a.frames,
	}
	if opts.Matcher, opts.PackNames, err = proposeMatcher(a, m); err != nil {
		return err
	}
	p, err := collect.ProposeVideo(context.Background(), a.in, a.out, opts)
	if err != nil {
		return err
	}
	st := p.Stats
	fmt.Fprintf(stderr, "%d frames at %g fps: %d faces in %d tracks (%d shown after %d near-duplicates; %d faces in tracks under %d left out)\n",
		st.Images, a.fps, st.Proposals, st.Tracks, st.Clustered+st.Suggested, st.Duplicates, st.LeftOut, a.minSize)
	fmt.Fprintf(stdout, "%s\n", filepath.Join(a.out, "review.html"))
	return nil
}

// applyArgs are collect apply's checked arguments.
type applyArgs struct {
	review, labels, out, in string
	maxSide                 int
}

// maxCropSide bounds -max-side.
const maxCropSide = 1 << 16

func parseCollectApply(args []string, stderr io.Writer) (*applyArgs, error) {
	fs := newFlags("collect apply", "collect apply -review REVIEWDIR -labels labels.tsv -o OUTDIR [-in DIR]\n\n"+
		"Checks labels.tsv (from review.html) against REVIEWDIR/proposals.json and writes OUTDIR/crops/,\n"+
		"OUTDIR/gallery.tsv for 'toonid pack build -gallery' and OUTDIR/icartoonface.txt (+ _labels.tsv)\n"+
		"for model/train's iCartoonFace adapter (image root: OUTDIR).", stderr)
	var a applyArgs
	fs.StringVar(&a.review, "review", "", "review folder written by 'collect propose' (required)")
	fs.StringVar(&a.labels, "labels", "", "labels.tsv exported by the review page (required)")
	fs.StringVar(&a.out, "o", "", "output folder (required)")
	fs.StringVar(&a.in, "in", "", "source images folder, when it moved since propose (default: proposals.json's root)")
	fs.IntVar(&a.maxSide, "max-side", collect.DefaultMaxSide, fmt.Sprintf("downscale crops whose longer side is over this (1..%d)", maxCropSide))
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if a.review == "" || a.labels == "" || a.out == "" || fs.NArg() > 0 {
		fs.Usage()
		return nil, errors.New("-review, -labels and -o are required")
	}
	if err := intIn("max-side", a.maxSide, 1, maxCropSide); err != nil {
		return nil, err
	}
	return &a, nil
}

func runCollectApply(args []string, stdout, stderr io.Writer) error {
	a, err := parseCollectApply(args, stderr)
	if err != nil {
		return err
	}
	p, err := collect.ReadProposals(os.DirFS(a.review))
	if err != nil {
		return fmt.Errorf("%s: %w", a.review, err)
	}
	f, err := os.Open(a.labels)
	if err != nil {
		return err
	}
	l, err := collect.ReadLabels(f, a.labels)
	f.Close()
	if err != nil {
		return err
	}
	res, err := collect.Apply(context.Background(), p, l, a.labels, a.out, collect.ApplyOptions{Root: a.in, MaxSide: a.maxSide})
	if err != nil {
		return err
	}
	for _, k := range res.Kept {
		fmt.Fprintf(stderr, "kept %s: an earlier apply wrote it, but it changed since (no longer listed in %s)\n", filepath.Join(a.out, k), collect.RecordFile)
	}
	fmt.Fprintf(stderr, "%d crops of %d characters -> %s\nnext: toonid pack build -gallery %s -o PACKDIR\n",
		res.Crops, res.Identities, a.out, res.Gallery)
	fmt.Fprintln(stdout, res.Gallery)
	return nil
}
