package collect

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// Defaults of Options.
const (
	DefaultMinSide      = 32
	DefaultDedup        = 0.95
	DefaultDedupWindow  = 8
	DefaultLink         = 0.6
	DefaultMinSize      = 2
	DefaultMaxProposals = 20000
	embedBatch          = 128
)

// Options configures Propose. Zero values take the defaults above.
type Options struct {
	Model *model.Model // required
	// Matcher, when set, pre-labels proposals it answers above its threshold.
	Matcher *pack.Matcher
	// PackNames are recorded in proposals.json with the matcher's threshold.
	PackNames []string
	// Boxes, when non-nil, are the proposals (path -> boxes, clipped to the image); images not in
	// it are passed over and Grid is ignored. BoxesName is recorded in proposals.json.
	Boxes     map[string][]image.Rectangle
	BoxesName string
	Grid      []int // window divisors (default DefaultGrid)
	MinSide   int   // smallest grid window side in pixels
	// Dedup is the cosine at which a proposal is a near-duplicate of an earlier kept one from the
	// same image or the DedupWindow images before it. Above 1 turns deduplication off.
	Dedup       float32
	DedupWindow int
	Link        float32 // average-link cosine threshold of the clustering
	// MinSize: clusters (not pack suggestions) with fewer members are left out of the result.
	MinSize int
	// MaxProposals bounds the proposals of one run, checked from the image headers before any
	// embedding (clustering is quadratic in it).
	MaxProposals int
	MaxPixels    int // per image, default eval.MaxPixels
	// Warn receives one line per skipped file; Progress is called as images are embedded.
	Warn     func(string)
	Progress func(done, total int)
}

func (o *Options) defaults() error {
	if o.Model == nil {
		return errors.New("collect: no model")
	}
	if o.Grid == nil {
		o.Grid = DefaultGrid
	}
	if o.MinSide <= 0 {
		o.MinSide = DefaultMinSide
	}
	if o.Dedup == 0 {
		o.Dedup = DefaultDedup
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.Link == 0 {
		o.Link = DefaultLink
	}
	if o.MinSize <= 0 {
		o.MinSize = DefaultMinSize
	}
	if o.MaxProposals <= 0 {
		o.MaxProposals = DefaultMaxProposals
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if o.Matcher != nil {
		if t := float64(o.Matcher.Threshold()); !(t >= -1 && t <= 1) {
			return fmt.Errorf("collect: matcher threshold %v, want -1..1", t)
		}
	}
	if !(o.Link > -1 && o.Link <= 1) || !(o.Dedup > 0) || math.IsNaN(float64(o.Dedup)) {
		return fmt.Errorf("collect: link %v must be in (-1, 1], dedup %v above 0", o.Link, o.Dedup)
	}
	if o.Boxes == nil && len(o.Grid) == 0 {
		return errors.New("collect: no grid and no boxes: nothing to propose")
	}
	return nil
}

// proposal is one crop before it is placed in a cluster.
type proposal struct {
	image int
	box   image.Rectangle
	vec   []float32
	dups  int
	match *Suggestion
}

// Propose walks the folder in, proposes square crops of every image, embeds, deduplicates,
// pre-labels and clusters them, and writes the review folder out: proposals.json (and
// proposals.js), thumbs/<id>.jpg and the review page. out must not be inside in.
func Propose(ctx context.Context, in, out string, opts Options) (*Proposals, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	absIn, err := filepath.Abs(in)
	if err != nil {
		return nil, err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	// Compared with symlinks resolved: a link to the review folder inside the input (or an input
	// given through a link) must not get past the check.
	realIn, err := resolvePath(absIn)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	realOut, err := resolvePath(absOut)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if rel, err := filepath.Rel(realIn, realOut); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("collect: the review folder %s is inside the input folder %s (the next run would collect its thumbnails)", out, in)
	}
	root, err := os.OpenRoot(absIn)
	if err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	defer root.Close()
	p, props, err := proposeRoot(ctx, root, absIn, &opts)
	if err != nil {
		return nil, err
	}
	if err := writeReview(root, absOut, p, props, opts.Model); err != nil {
		return nil, err
	}
	return p, nil
}

// proposeRoot does the work of Propose up to the review folder.
func proposeRoot(ctx context.Context, root *os.Root, absIn string, opts *Options) (*Proposals, []proposal, error) {
	m := opts.Model
	info := m.Info()
	p := &Proposals{
		Format: FormatName, Version: FormatVersion, Root: absIn,
		Model:  ModelRef{SHA256: info.SHA256, Input: info.InputW},
		Params: Params{MinSide: opts.MinSide, Dedup: opts.Dedup, DedupWindow: opts.DedupWindow, Link: opts.Link, MinSize: opts.MinSize},
		Images: []Image{}, Clusters: []Cluster{},
	}
	if opts.Boxes != nil {
		p.Params.Boxes = opts.BoxesName
	} else {
		p.Params.Grid = opts.Grid
	}
	if opts.Matcher != nil {
		p.Pack = &PackRef{Names: opts.PackNames, Threshold: opts.Matcher.Threshold()}
		if opts.Matcher.Dim() != info.EmbedDim {
			return nil, nil, fmt.Errorf("collect: pack has %d-D embeddings, the model %d-D", opts.Matcher.Dim(), info.EmbedDim)
		}
	}
	skip := func(path, reason string) {
		p.Skipped = append(p.Skipped, Skip{Path: path, Reason: reason})
		opts.Warn(fmt.Sprintf("skipping %s: %s", path, reason))
	}
	paths, skipped, err := walkImages(root.FS())
	if err != nil {
		return nil, nil, fmt.Errorf("collect: %w", err)
	}
	for _, s := range skipped {
		skip(s.Path, s.Reason)
	}
	// Pass over the headers: sizes, boxes, and the proposal count before any decoding.
	type job struct {
		path  string
		boxes []image.Rectangle
	}
	var jobs []job
	total := 0
	inBoxes := map[string]bool{}
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		var boxes []image.Rectangle
		if opts.Boxes != nil {
			if _, ok := opts.Boxes[path]; !ok {
				continue // not listed: not proposed, silently (a box list usually covers some frames)
			}
			inBoxes[path] = true
		}
		cfg, err := readConfig(root, path, opts.MaxPixels)
		if err != nil {
			skip(path, reason(err, path))
			continue
		}
		bounds := image.Rect(0, 0, cfg.Width, cfg.Height)
		if opts.Boxes != nil {
			for _, b := range opts.Boxes[path] {
				if c := b.Intersect(bounds); !c.Empty() {
					boxes = append(boxes, c)
				} else {
					opts.Warn(fmt.Sprintf("%s: box %v is outside the %dx%d image; left out", path, b, cfg.Width, cfg.Height))
				}
			}
		} else {
			boxes = Windows(cfg.Width, cfg.Height, opts.Grid, opts.MinSide)
		}
		if len(boxes) == 0 {
			continue
		}
		total += len(boxes)
		if total > opts.MaxProposals {
			return nil, nil, fmt.Errorf("collect: more than %d proposals (at %s): use a coarser -grid, fewer frames, or raise -max-proposals", opts.MaxProposals, path)
		}
		jobs = append(jobs, job{path, boxes})
	}
	if opts.Boxes != nil {
		var missing []string
		for path := range opts.Boxes {
			if !inBoxes[path] {
				missing = append(missing, path)
			}
		}
		sort.Strings(missing)
		for _, path := range missing {
			opts.Warn(fmt.Sprintf("%s: in the box list but not an image found in the folder", path))
		}
	}

	// Decode, preprocess and embed, in batches that span images (one image may have one box).
	var props []proposal
	var batch [][]float32
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		vs, err := m.EmbedBatch(batch)
		if err != nil {
			return fmt.Errorf("collect: %w", err)
		}
		for i, v := range vs {
			props[len(props)-len(vs)+i].vec = v
		}
		batch = batch[:0]
		return nil
	}
	for ji, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		img, sum, err := readImage(root, j.path, opts.MaxPixels)
		if err != nil {
			skip(j.path, reason(err, j.path))
			continue
		}
		ii := len(p.Images)
		p.Images = append(p.Images, Image{Path: j.path, Width: img.Rect.Dx(), Height: img.Rect.Dy(), SHA256: sum})
		for _, b := range j.boxes {
			b = b.Intersect(img.Rect) // the header's size and the decoded one agree, but be sure
			if b.Empty() {
				continue
			}
			in, err := m.Preprocess(nil, img.Pix, img.Stride, img.Rect.Dx(), img.Rect.Dy(), b)
			if err != nil { // e.g. a listed box over the model's size limit
				opts.Warn(fmt.Sprintf("%s: box %v left out: %v", j.path, b, err))
				continue
			}
			batch = append(batch, in)
			props = append(props, proposal{image: ii, box: b})
			if len(batch) >= embedBatch {
				if err := flush(); err != nil {
					return nil, nil, err
				}
			}
		}
		if opts.Progress != nil {
			opts.Progress(ji+1, len(jobs))
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	p.Stats.Images = len(p.Images)
	p.Stats.Skipped = len(p.Skipped)
	p.Stats.Proposals = len(props)
	group(p, props, opts)
	return p, props, nil
}

// reason shortens an error for the skip list: the path is already there.
func reason(err error, path string) string {
	if errEscape(err) {
		return "leads outside the folder (symlink); not followed"
	}
	return strings.TrimPrefix(err.Error(), path+": ")
}

// group deduplicates, pre-labels and clusters props into p.Clusters.
func group(p *Proposals, props []proposal, opts *Options) {
	vecs := make([][]float32, len(props))
	imgs := make([]int, len(props))
	for i := range props {
		vecs[i], imgs[i] = props[i].vec, props[i].image
	}
	dupOf := Dedup(vecs, imgs, opts.Dedup, opts.DedupWindow)
	var kept []int
	for i, d := range dupOf {
		if d >= 0 {
			props[d].dups++
			p.Stats.Duplicates++
		} else {
			kept = append(kept, i)
		}
	}
	// Pack suggestions: one group per suggested character, in order of first appearance.
	var rest []int
	var suggested [][]int
	bySugg := map[string]int{}
	for _, i := range kept {
		if opts.Matcher != nil {
			res, err := opts.Matcher.Match(props[i].vec, 1)
			if err == nil && !res.Unknown && len(res.Answers) > 0 {
				a := res.Answers[0]
				props[i].match = &Suggestion{ID: a.ID, Name: a.Name, Series: a.Series, Credit: a.Credit, Score: round4(a.Score)}
				g, ok := bySugg[a.ID]
				if !ok {
					g = len(suggested)
					bySugg[a.ID] = g
					suggested = append(suggested, nil)
				}
				suggested[g] = append(suggested[g], i)
				p.Stats.Suggested++
				continue
			}
		}
		rest = append(rest, i)
	}
	restVecs := make([][]float32, len(rest))
	for k, i := range rest {
		restVecs[k] = vecs[i]
	}
	type grp struct {
		idx  []int // into props
		sugg bool
	}
	var groups []grp
	for _, g := range suggested {
		groups = append(groups, grp{g, true})
	}
	for _, c := range AverageLink(restVecs, opts.Link) {
		if len(c) < opts.MinSize {
			p.Stats.LeftOut += len(c)
			continue
		}
		idx := make([]int, len(c))
		for k, r := range c {
			idx[k] = rest[r]
		}
		p.Stats.Clustered += len(c)
		groups = append(groups, grp{idx, false})
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if len(groups[i].idx) != len(groups[j].idx) {
			return len(groups[i].idx) > len(groups[j].idx)
		}
		return groups[i].idx[0] < groups[j].idx[0]
	})
	for gi, g := range groups {
		mean, coh := cohesion(vecs, g.idx)
		c := Cluster{ID: fmt.Sprintf("c%04d", gi+1), Cohesion: round4(coh)}
		for _, i := range g.idx {
			pr := props[i]
			c.Members = append(c.Members, Member{
				ID: memberID(i), Image: pr.image, Path: p.Images[pr.image].Path,
				Box:   [4]int{pr.box.Min.X, pr.box.Min.Y, pr.box.Dx(), pr.box.Dy()},
				Score: round4(scoreTo(pr.vec, mean)), Dups: pr.dups, Match: pr.match,
			})
		}
		sort.SliceStable(c.Members, func(a, b int) bool { return c.Members[a].Score > c.Members[b].Score })
		if g.sugg {
			s := *props[g.idx[0]].match
			var sum float32
			for _, i := range g.idx {
				sum += props[i].match.Score
			}
			s.Score = round4(sum / float32(len(g.idx)))
			c.Suggestion = &s
		}
		p.Clusters = append(p.Clusters, c)
	}
}

func round4(f float32) float32 { return float32(math.Round(float64(f)*1e4) / 1e4) }

//go:embed review/review.html review/review.js
var reviewFiles embed.FS

// writeReview writes the review folder: thumbnails of every member (the exact pixels the model
// saw, denormalised), proposals.json, proposals.js and the page. A previous run's thumbs/ is
// replaced; a thumbs/ that is not ours (no proposals.json beside it) stops the run.
func writeReview(root *os.Root, out string, p *Proposals, props []proposal, m *model.Model) (err error) {
	thumbs := filepath.Join(out, ThumbDir)
	// A run that fails after making thumbs/ but before proposals.json takes thumbs/ away again:
	// left behind, it would make every rerun refuse the folder as one propose did not write.
	made := false // thumbs/ is this run's to take away
	defer func() {
		if err == nil || !made {
			return
		}
		if _, serr := os.Stat(filepath.Join(out, ProposalsFile)); errors.Is(serr, fs.ErrNotExist) {
			os.RemoveAll(thumbs)
		}
	}()
	if _, err := os.Stat(thumbs); err == nil {
		if _, err := os.Stat(filepath.Join(out, ProposalsFile)); err != nil {
			return fmt.Errorf("collect: %s exists and %s has no %s: not overwriting a folder propose did not write", thumbs, out, ProposalsFile)
		}
		if err := os.RemoveAll(thumbs); err != nil {
			return fmt.Errorf("collect: %w", err)
		}
	}
	if err := os.MkdirAll(thumbs, 0o755); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	made = true
	// Members by image, so each image is decoded once more.
	byImage := map[int][]*Member{}
	for ci := range p.Clusters {
		for mi := range p.Clusters[ci].Members {
			mb := &p.Clusters[ci].Members[mi]
			byImage[mb.Image] = append(byImage[mb.Image], mb)
		}
	}
	order := make([]int, 0, len(byImage))
	for i := range byImage {
		order = append(order, i)
	}
	sort.Ints(order)
	info := m.Info()
	var in []float32
	for _, ii := range order {
		im := p.Images[ii]
		img, sum, err := readImage(root, im.Path, 0)
		if err != nil {
			return fmt.Errorf("collect: thumbnails: %w", err)
		}
		if sum != im.SHA256 {
			return fmt.Errorf("collect: %s changed while propose ran", im.Path)
		}
		for _, mb := range byImage[ii] {
			box := image.Rect(mb.Box[0], mb.Box[1], mb.Box[0]+mb.Box[2], mb.Box[1]+mb.Box[3])
			if in, err = m.Preprocess(in, img.Pix, img.Stride, img.Rect.Dx(), img.Rect.Dy(), box); err != nil {
				return fmt.Errorf("collect: %s: %w", im.Path, err)
			}
			var b bytes.Buffer
			if err := jpeg.Encode(&b, tensorImage(in, info), &jpeg.Options{Quality: 85}); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(thumbs, mb.ID+".jpg"), b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("collect: %w", err)
			}
		}
	}
	js, err := p.Marshal()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(out, ProposalsFile), js); err != nil {
		return err
	}
	// proposals.js: the same object for the page when opened from file://. JSON is valid JS;
	// U+2028/2029 are already escaped by encoding/json.
	script := append([]byte("// Written by toonid collect propose: proposals.json for review.html opened from file://.\nglobalThis.toonidProposals = "), bytes.TrimSpace(js)...)
	script = append(script, ";\n"...)
	if err := writeFileAtomic(filepath.Join(out, ProposalsScript), script); err != nil {
		return err
	}
	for _, name := range []string{"review.html", "review.js"} {
		b, err := reviewFiles.ReadFile("review/" + name)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(out, name), b); err != nil {
			return err
		}
	}
	return nil
}

// resolvePath is filepath.EvalSymlinks for a path whose tail may not exist yet: the deepest
// existing ancestor is resolved and the rest joined on.
func resolvePath(p string) (string, error) {
	var rest []string
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// tensorImage turns the model's CHW normalised input back into an RGB image.
func tensorImage(in []float32, info model.Info) *image.RGBA {
	w, h := info.InputW, info.InputH
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for c := 0; c < 3; c++ {
		plane := in[c*w*h : (c+1)*w*h]
		for i, x := range plane {
			v := (x*info.Std[c] + info.Mean[c]) * 255
			img.Pix[4*i+c] = uint8(max(0, min(255, math.Round(float64(v)))))
		}
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

// writeFileAtomic is fsutil.WriteFileAtomic, so readers never see half a file.
func writeFileAtomic(name string, b []byte) error {
	if err := fsutil.WriteFileAtomic(name, b, 0o644); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	return nil
}
