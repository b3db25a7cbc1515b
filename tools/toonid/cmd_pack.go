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
	"github.com/toonid/toonid/pack/thumb"
	"github.com/toonid/toonid/tools/eval"
)

func runPack(args []string, stdout, stderr io.Writer) error {
	return packSub(args, stderr, func(sub string, rest []string) error {
		switch sub {
		case "build":
			return runPackBuild(rest, stdout, stderr)
		case "import":
			return runPackImport(rest, stdout, stderr)
		}
		return runPackInspect(rest, stdout, stderr)
	})
}

// parsePack parses and checks a pack subcommand's arguments only.
func parsePack(args []string, stderr io.Writer) error {
	return packSub(args, stderr, func(sub string, rest []string) error {
		switch sub {
		case "build":
			_, err := parsePackBuild(rest, stderr)
			return err
		case "import":
			_, err := parsePackImport(rest, stderr)
			return err
		}
		_, _, err := parsePackInspect(rest, stderr)
		return err
	})
}

// packSub picks the pack subcommand and hands it the rest of the arguments.
func packSub(args []string, stderr io.Writer, do func(sub string, rest []string) error) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: toonid pack build|inspect|import [flags]")
		return errors.New("missing subcommand: build, inspect or import")
	}
	switch args[0] {
	case "build", "inspect", "import":
		return do(args[0], args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, "usage: toonid pack build|inspect|import [flags]; 'toonid pack build -h' for flags")
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: want build, inspect or import", clipArg(args[0]))
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

// packBuildArgs are pack build's checked arguments.
type packBuildArgs struct {
	gallery, out, calib, model, name string
	far, threshold                   float64
	split, force                     bool
	ivf, nprobe, shardRows           int
}

func parsePackBuild(args []string, stderr io.Writer) (*packBuildArgs, error) {
	fs := newFlags("pack build", "pack build -gallery GALLERY.tsv -o DIR [-calib CALIB.tsv -far 0.01] [-model FILE]\n\n"+
		"GALLERY.tsv: header `path identity [name] [series] [credit]`, paths relative to the TSV.\n"+
		"CALIB.tsv: same format, identities NOT in the gallery; calibrates the unknown threshold at -far.", stderr)
	var a packBuildArgs
	fs.StringVar(&a.gallery, "gallery", "", "gallery TSV (required)")
	fs.StringVar(&a.out, "o", "", "output directory (required)")
	fs.StringVar(&a.calib, "calib", "", "calibration TSV of identities outside the gallery")
	fs.Float64Var(&a.far, "far", 0.01, "false-accept rate to calibrate the threshold at (with -calib), strictly between 0 and 1")
	fs.StringVar(&a.model, "model", "", "model file (default: the shipped model)")
	fs.StringVar(&a.name, "name", "", "pack name (default: the output directory's base name)")
	fs.Float64Var(&a.threshold, "threshold", 0.5, "unknown threshold when not calibrating (-1..1)")
	fs.BoolVar(&a.split, "split-series", false, "put each series in its own shards")
	fs.IntVar(&a.ivf, "ivf", 0, fmt.Sprintf("add a coarse IVF level with this many lists (for 100k+ characters; at most %d)", pack.MaxLists))
	fs.IntVar(&a.nprobe, "nprobe", 0, "lists a query scans by default (with -ivf; default lists/16)")
	fs.IntVar(&a.shardRows, "shard-rows", 8192, "maximum rows per shard")
	fs.BoolVar(&a.force, "force", false, "write into -o even when its manifest.json is not a toonid pack's (replacing it)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if a.gallery == "" || a.out == "" || fs.NArg() > 0 {
		fs.Usage()
		return nil, errors.New("-gallery and -o are required")
	}
	if !(a.far > 0 && a.far < 1) {
		return nil, fmt.Errorf("-far %v: want a false-accept rate strictly between 0 and 1", a.far)
	}
	for _, err := range []error{
		floatIn("threshold", a.threshold, -1, 1),
		intIn("ivf", a.ivf, 0, pack.MaxLists),
		intIn("nprobe", a.nprobe, 0, pack.MaxLists),
		intIn("shard-rows", a.shardRows, 1, maxShardRows),
	} {
		if err != nil {
			return nil, err
		}
	}
	if a.name == "" {
		a.name = filepath.Base(filepath.Clean(a.out))
	}
	return &a, nil
}

// maxShardRows bounds -shard-rows: rows of the smallest (dim 1) that fit in one shard file.
const maxShardRows = pack.MaxShardBytes / 9

func runPackBuild(args []string, stdout, stderr io.Writer) error {
	a, err := parsePackBuild(args, stderr)
	if err != nil {
		return err
	}
	// Before minutes of embedding: -o must not hold another program's manifest.json.
	if !a.force {
		if err := pack.CheckDir(a.out); err != nil {
			return fmt.Errorf("-o %s: %w (pass -force to replace it)", a.out, err)
		}
	}
	rows, err := eval.ReadGallery(a.gallery)
	if err != nil {
		return err
	}
	var crows []eval.GalleryRow
	if a.calib != "" {
		if crows, err = eval.ReadGallery(a.calib); err != nil {
			return err
		}
		// Before minutes of embedding: the calibration set must hold no gallery identity.
		if err := pack.CheckDistractors(galleryLabels(rows), galleryLabels(crows)); err != nil {
			return fmt.Errorf("%s: %w", a.calib, err)
		}
	}
	m, err := loadModel(a.model)
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
		Name: a.name, ModelSHA256: m.Info().SHA256, Threshold: float32(a.threshold), IVFLists: a.ivf, NProbe: a.nprobe,
	})
	if err != nil {
		return err
	}
	// Each character's catalogue thumbnail (pack/FORMAT.md, "Thumbnails"): its first gallery
	// image, decoded as it was embedded (EXIF turned, transparency on white).
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Label.ID] {
			continue
		}
		seen[r.Label.ID] = true
		img, err := eval.LoadImage(r.Path, 0)
		if err != nil {
			return err
		}
		b, err := thumb.Make(img)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Path, err)
		}
		if err := p.SetThumbnail(r.Label.ID, b); err != nil {
			return err
		}
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
		citems := make([]pack.Item, len(crows))
		for i, r := range crows {
			citems[i] = pack.Item{Label: r.Label, Embedding: cembs[i]}
		}
		if err := p.CalibrateItems(citems, a.far); err != nil {
			return fmt.Errorf("%s: %w", a.calib, err)
		}
	}
	man, err := p.WriteDir(a.out, pack.EncodeOptions{ShardRows: a.shardRows, SplitSeries: a.split, Overwrite: a.force})
	if err != nil {
		return err
	}
	cal := "not calibrated"
	if man.ThresholdCalibrated {
		cal = fmt.Sprintf("calibrated at FAR %g on %d images", man.ThresholdFAR, len(crows))
	}
	fmt.Fprintf(stderr, "pack %q: %d characters, %d sub-centres from %d images in %d shards; threshold %.4f (%s); %.1fs -> %s\n",
		man.Name, len(man.Labels), p.Rows(), len(rows), len(man.Shards), man.Threshold, cal, time.Since(start).Seconds(), a.out)
	return nil
}

func galleryLabels(rows []eval.GalleryRow) []pack.Label {
	l := make([]pack.Label, len(rows))
	for i, r := range rows {
		l[i] = r.Label
	}
	return l
}

func parsePackInspect(args []string, stderr io.Writer) (dir string, asJSON bool, err error) {
	fs := newFlags("pack inspect", "pack inspect [-json] DIR\n\nVerifies every shard and thumbnail and prints the pack's manifest and label table.", stderr)
	j := fs.Bool("json", false, "print the manifest as JSON")
	if err := fs.Parse(args); err != nil {
		return "", false, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return "", false, errors.New("want exactly one pack directory")
	}
	return fs.Arg(0), *j, nil
}

func runPackInspect(args []string, stdout, stderr io.Writer) error {
	dir, asJSON, err := parsePackInspect(args, stderr)
	if err != nil {
		return err
	}
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
	if asJSON {
		b, err := pack.MarshalManifest(man)
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	thumbs := 0
	for _, l := range man.Labels {
		b, err := pack.ReadThumbnail(fsys, l)
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if b != nil {
			thumbs++
		}
	}
	var bytes int64
	for _, s := range man.Shards {
		bytes += s.Bytes
	}
	cal := "not calibrated"
	if man.ThresholdCalibrated {
		cal = fmt.Sprintf("calibrated at FAR %g", man.ThresholdFAR)
	}
	fmt.Fprintf(stdout, "pack:         %s (format %s v%d, all shards and %d thumbnails verified)\n", man.Name, man.Format, man.Version, thumbs)
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
