package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/collect"
)

func runCollect(args []string, stdout, stderr io.Writer) error {
	const use = "usage: toonid collect propose|apply [flags]; 'toonid collect propose -h' for flags"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return errors.New("missing subcommand: propose or apply")
	}
	switch args[0] {
	case "propose":
		return runCollectPropose(args[1:], stdout, stderr)
	case "apply":
		return runCollectApply(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, use)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: want propose or apply", args[0])
}

func runCollectPropose(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("collect propose", "collect propose -in DIR -o REVIEWDIR [-pack PACKDIR] [-boxes FILE] [-link 0.6] [-model FILE]\n\n"+
		"Proposes square face crops of every image under DIR (a window grid, or the boxes of -boxes),\n"+
		"embeds them, drops near-duplicates, pre-labels with -pack and clusters the rest. Open\n"+
		"REVIEWDIR/review.html to name the clusters, then run 'toonid collect apply'.\n"+
		"-boxes FILE: header `path x y w h` (tab-separated), paths relative to DIR.", stderr)
	in := fs.String("in", "", "folder of frames or images (required)")
	out := fs.String("o", "", "review folder to write (required; not inside -in)")
	packDirs := fs.String("pack", "", "pack directories (comma-separated) whose characters pre-label proposals")
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	boxes := fs.String("boxes", "", "TSV of crop boxes to use instead of the window grid")
	enlarge := fs.Float64("enlarge", 1, "with -boxes: grow each box into a square this many times its longer side (2 for tight face boxes)")
	grid := fs.String("grid", "1,2,3", "window sizes as divisors of the shorter side (1 = the whole-image square)")
	minSide := fs.Int("min-side", collect.DefaultMinSide, "smallest window side in pixels")
	link := fs.Float64("link", collect.DefaultLink, "average-link cosine threshold: higher makes tighter, smaller clusters")
	dedup := fs.Float64("dedup", collect.DefaultDedup, "cosine at which a crop is a near-duplicate of an earlier one (above 1: off)")
	window := fs.Int("dedup-window", collect.DefaultDedupWindow, "images back in walk order that near-duplicates are looked for in")
	minSize := fs.Int("min-size", collect.DefaultMinSize, "leave out clusters with fewer crops (pack suggestions always stay)")
	maxProps := fs.Int("max-proposals", collect.DefaultMaxProposals, "refuse runs with more crops than this")
	threshold := fs.Float64("threshold", 0, "override the pack's threshold for suggestions (0: the pack's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-in and -o are required")
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	opts := collect.Options{
		Model: m, MinSide: *minSide, Link: float32(*link), Dedup: float32(*dedup), DedupWindow: *window,
		MinSize: *minSize, MaxProposals: *maxProps,
		Warn:     func(s string) { fmt.Fprintln(stderr, "warning:", s) },
		Progress: progress(stderr, "embedding"),
	}
	if *boxes != "" {
		f, err := os.Open(*boxes)
		if err != nil {
			return err
		}
		opts.Boxes, err = collect.ReadBoxes(f, *boxes, *enlarge)
		f.Close()
		if err != nil {
			return err
		}
		if opts.Boxes == nil {
			opts.Boxes = map[string][]image.Rectangle{}
		}
		opts.BoxesName = filepath.Base(*boxes)
	} else if opts.Grid, err = collect.ParseGrid(*grid); err != nil {
		return err
	}
	if *packDirs != "" {
		var packs []*pack.Pack
		for _, d := range strings.Split(*packDirs, ",") {
			p, err := pack.Open(os.DirFS(d), pack.OpenOptions{ModelSHA256: m.Info().SHA256})
			if err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
			packs = append(packs, p)
			opts.PackNames = append(opts.PackNames, p.Name)
		}
		if opts.Matcher, err = pack.NewMatcher(packs...); err != nil {
			return err
		}
		if *threshold != 0 {
			opts.Matcher.SetThreshold(float32(*threshold))
		}
	}
	p, err := collect.Propose(context.Background(), *in, *out, opts)
	if err != nil {
		return err
	}
	st := p.Stats
	fmt.Fprintf(stderr, "%d images (%d files skipped): %d crops, %d near-duplicates dropped, %d suggested by the pack, "+
		"%d in %d clusters, %d left out (clusters under %d)\n",
		st.Images, st.Skipped, st.Proposals, st.Duplicates, st.Suggested, st.Clustered+st.Suggested, len(p.Clusters), st.LeftOut, *minSize)
	fmt.Fprintf(stdout, "%s\n", filepath.Join(*out, "review.html"))
	return nil
}

func runCollectApply(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("collect apply", "collect apply -review REVIEWDIR -labels labels.tsv -o OUTDIR [-in DIR]\n\n"+
		"Checks labels.tsv (from review.html) against REVIEWDIR/proposals.json and writes OUTDIR/crops/,\n"+
		"OUTDIR/gallery.tsv for 'toonid pack build -gallery' and OUTDIR/icartoonface.txt (+ _labels.tsv)\n"+
		"for model/train's iCartoonFace adapter (image root: OUTDIR).", stderr)
	review := fs.String("review", "", "review folder written by 'collect propose' (required)")
	labels := fs.String("labels", "", "labels.tsv exported by the review page (required)")
	out := fs.String("o", "", "output folder (required)")
	in := fs.String("in", "", "source images folder, when it moved since propose (default: proposals.json's root)")
	maxSide := fs.Int("max-side", collect.DefaultMaxSide, "downscale crops whose longer side is over this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *review == "" || *labels == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-review, -labels and -o are required")
	}
	p, err := collect.ReadProposals(os.DirFS(*review))
	if err != nil {
		return fmt.Errorf("%s: %w", *review, err)
	}
	f, err := os.Open(*labels)
	if err != nil {
		return err
	}
	l, err := collect.ReadLabels(f, *labels)
	f.Close()
	if err != nil {
		return err
	}
	res, err := collect.Apply(context.Background(), p, l, *labels, *out, collect.ApplyOptions{Root: *in, MaxSide: *maxSide})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d crops of %d characters -> %s\nnext: toonid pack build -gallery %s -o PACKDIR\n",
		res.Crops, res.Identities, *out, res.Gallery)
	fmt.Fprintln(stdout, res.Gallery)
	return nil
}
