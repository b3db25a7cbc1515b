package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/toonid/toonid/pack"
	"github.com/toonid/toonid/tools/eval"
)

func runPack(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: toonid pack build|inspect [flags]")
		return errors.New("missing subcommand: build or inspect")
	}
	switch args[0] {
	case "build":
		return runPackBuild(args[1:], stdout, stderr)
	case "inspect":
		return runPackInspect(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: toonid pack build|inspect [flags]; 'toonid pack build -h' for flags")
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: want build or inspect", args[0])
}

// progress prints "label done/total" to w at most every 200 ms, and at the end.
func progress(w io.Writer, label string) func(done, total int) {
	var last time.Time
	return func(done, total int) {
		if done == total || time.Since(last) > 200*time.Millisecond {
			last = time.Now()
			fmt.Fprintf(w, "\r%s %d/%d", label, done, total)
			if done == total {
				fmt.Fprintln(w)
			}
		}
	}
}

func runPackBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pack build", "pack build -gallery GALLERY.tsv -o DIR [-calib CALIB.tsv -far 0.01] [-model FILE]\n\n"+
		"GALLERY.tsv: header `path identity [name] [series] [credit]`, paths relative to the TSV.\n"+
		"CALIB.tsv: same format, identities NOT in the gallery; calibrates the unknown threshold at -far.", stderr)
	gallery := fs.String("gallery", "", "gallery TSV (required)")
	out := fs.String("o", "", "output directory (required)")
	calib := fs.String("calib", "", "calibration TSV of identities outside the gallery")
	far := fs.Float64("far", 0.01, "false-accept rate to calibrate the threshold at (with -calib)")
	modelPath := fs.String("model", "", "model file (default: the shipped model)")
	name := fs.String("name", "", "pack name (default: the output directory's base name)")
	threshold := fs.Float64("threshold", 0.5, "unknown threshold when not calibrating")
	split := fs.Bool("split-series", false, "put each series in its own shards")
	ivf := fs.Int("ivf", 0, "add a coarse IVF level with this many lists (for 100k+ characters)")
	nprobe := fs.Int("nprobe", 0, "lists a query scans by default (with -ivf; default lists/16)")
	shardRows := fs.Int("shard-rows", 8192, "maximum rows per shard")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *gallery == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-gallery and -o are required")
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(*out))
	}
	rows, err := eval.ReadGallery(*gallery)
	if err != nil {
		return err
	}
	var crows []eval.GalleryRow
	if *calib != "" {
		if crows, err = eval.ReadGallery(*calib); err != nil {
			return err
		}
		in := map[string]bool{}
		for _, r := range rows {
			in[r.Label.ID] = true
		}
		for _, r := range crows {
			if in[r.Label.ID] {
				return fmt.Errorf("%s: identity %q is in the gallery; calibration needs identities outside it", *calib, r.Label.ID)
			}
		}
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	paths := make([]string, len(rows))
	for i, r := range rows {
		paths[i] = r.Path
	}
	start := time.Now()
	embs, err := eval.EmbedFiles(context.Background(), m, paths, eval.EmbedOptions{Progress: progress(stderr, "embedding gallery")})
	if err != nil {
		return err
	}
	items := make([]pack.Item, len(rows))
	for i, r := range rows {
		items[i] = pack.Item{Label: r.Label, Embedding: embs[i]}
	}
	p, err := pack.BuildItems(items, pack.BuildOptions{
		Name: *name, ModelSHA256: m.Info().SHA256, Threshold: float32(*threshold), IVFLists: *ivf, NProbe: *nprobe,
	})
	if err != nil {
		return err
	}
	if len(crows) > 0 {
		cp := make([]string, len(crows))
		for i, r := range crows {
			cp[i] = r.Path
		}
		cembs, err := eval.EmbedFiles(context.Background(), m, cp, eval.EmbedOptions{Progress: progress(stderr, "embedding calibration set")})
		if err != nil {
			return err
		}
		if err := p.Calibrate(cembs, *far); err != nil {
			return err
		}
	}
	man, err := p.WriteDir(*out, pack.EncodeOptions{ShardRows: *shardRows, SplitSeries: *split})
	if err != nil {
		return err
	}
	cal := "not calibrated"
	if man.ThresholdCalibrated {
		cal = fmt.Sprintf("calibrated at FAR %g on %d images", man.ThresholdFAR, len(crows))
	}
	fmt.Fprintf(stderr, "pack %q: %d characters, %d sub-centres from %d images in %d shards; threshold %.4f (%s); %.1fs -> %s\n",
		man.Name, len(man.Labels), p.Rows(), len(rows), len(man.Shards), man.Threshold, cal, time.Since(start).Seconds(), *out)
	return nil
}

func runPackInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pack inspect", "pack inspect [-json] DIR\n\nVerifies every shard and prints the pack's manifest and label table.", stderr)
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want exactly one pack directory")
	}
	dir := fs.Arg(0)
	fsys := os.DirFS(dir)
	man, err := pack.ReadManifest(fsys)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	// Opening verifies every shard's size, sha256 and contents.
	p, err := pack.OpenManifest(man, fsys, pack.OpenOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if *asJSON {
		b, err := pack.MarshalManifest(man)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	var bytes int64
	for _, s := range man.Shards {
		bytes += s.Bytes
	}
	cal := "not calibrated"
	if man.ThresholdCalibrated {
		cal = fmt.Sprintf("calibrated at FAR %g", man.ThresholdFAR)
	}
	fmt.Fprintf(stdout, "pack:         %s (format %s v%d, all shards verified)\n", man.Name, man.Format, man.Version)
	fmt.Fprintf(stdout, "model sha256: %s\n", man.ModelSHA256)
	fmt.Fprintf(stdout, "embedding:    %d-D, %s\n", man.EmbedDim, man.Quantization)
	fmt.Fprintf(stdout, "threshold:    %.4f (%s)\n", man.Threshold, cal)
	fmt.Fprintf(stdout, "characters:   %d, sub-centres %d\n", len(man.Labels), p.Rows())
	fmt.Fprintf(stdout, "shards:       %d, %d bytes\n", len(man.Shards), bytes)
	if n, np := p.IVFLists(); n > 0 {
		fmt.Fprintf(stdout, "ivf:          %d lists, nprobe %d\n", n, np)
	}
	for _, s := range man.Shards {
		extra := ""
		if s.Series != "" {
			extra += " series=" + s.Series
		}
		if s.List >= 0 {
			extra += fmt.Sprintf(" list=%d", s.List)
		}
		fmt.Fprintf(stdout, "  %s %7d bytes %5d rows%s\n", s.File, s.Bytes, s.Count, extra)
	}
	series := map[string]int{}
	for _, l := range man.Labels {
		series[l.Series]++
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(stdout, "series:")
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %-40s %d\n", orDash(k), series[k])
	}
	fmt.Fprintln(stdout, "labels (id, name, series, credit):")
	for _, l := range man.Labels {
		fmt.Fprintf(stdout, "  %s\t%s\t%s\t%s\n", l.ID, l.Name, orDash(l.Series), orDash(strings.ReplaceAll(l.Credit, "\n", " ")))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
