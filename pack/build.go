package pack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// BuildOptions configures Build.
type BuildOptions struct {
	Name        string
	ModelSHA256 string
	// Threshold is the unknown threshold until Calibrate sets one (default 0.5).
	Threshold float32
	// MaxSubCentres caps sub-centres per character (default 8).
	MaxSubCentres int
	// Spread is the mean within-cluster cosine similarity at which k stops growing (default 0.8).
	Spread float32
	// IVFLists > 0 adds a coarse level with this many lists (for packs of 100k+ characters).
	IVFLists int
	// NProbe is the number of lists a query scans by default (default max(1, IVFLists/16)).
	NProbe int
	// Seed makes k-means reproducible (default 1).
	Seed uint64
	// Exact holds, per label (in labels' order; a shorter list or an empty entry means none),
	// embeddings kept as sub-centres of their own, never clustered with embs: a view of a
	// character that the clustering would average away (wasm/bridge: a taught face as the
	// detector crops it, beside the click search's crops). A label may have only these.
	Exact [][][]float32
}

// Build makes a pack from per-label embeddings: embs[i] holds the gallery embeddings of labels[i].
// Each character gets sub-centres by spherical k-means (see FORMAT.md), and opts.Exact's
// embeddings as they are, quantised to int8.
func Build(labels []Label, embs [][][]float32, opts BuildOptions) (*Pack, error) {
	if len(labels) != len(embs) {
		return nil, fmt.Errorf("pack: build: %d labels but %d embedding groups", len(labels), len(embs))
	}
	if len(opts.Exact) > len(labels) {
		return nil, fmt.Errorf("pack: build: %d labels but %d exact embedding groups", len(labels), len(opts.Exact))
	}
	exact := func(i int) [][]float32 {
		if i < len(opts.Exact) {
			return opts.Exact[i]
		}
		return nil
	}
	if len(labels) > MaxLabels {
		return nil, fmt.Errorf("pack: build: %d labels, limit %d", len(labels), MaxLabels)
	}
	if opts.IVFLists > MaxLists {
		return nil, fmt.Errorf("pack: build: %d IVF lists, limit %d", opts.IVFLists, MaxLists)
	}
	if t := opts.Threshold; !(t >= -1 && t <= 1) {
		return nil, fmt.Errorf("pack: build: threshold %v, want -1..1", t)
	}
	if sp := opts.Spread; !(sp >= -1 && sp <= 1) {
		return nil, fmt.Errorf("pack: build: spread %v, want a cosine in -1..1", sp)
	}
	if opts.Threshold == 0 {
		opts.Threshold = 0.5
	}
	if opts.MaxSubCentres <= 0 {
		opts.MaxSubCentres = 8
	}
	if opts.Spread == 0 {
		opts.Spread = 0.8
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	dim := 0
	ids := map[string]bool{}
	for i, l := range labels {
		if l.ID == "" {
			return nil, fmt.Errorf("pack: build: label %d has an empty id", i)
		}
		if ids[l.ID] {
			return nil, fmt.Errorf("pack: build: duplicate id %q", l.ID)
		}
		ids[l.ID] = true
		if len(embs[i]) == 0 && len(exact(i)) == 0 {
			return nil, fmt.Errorf("pack: build: label %q has no embeddings", l.ID)
		}
		for _, group := range [][][]float32{embs[i], exact(i)} {
			for _, e := range group {
				if dim == 0 {
					dim = len(e)
				}
				if len(e) != dim || dim > MaxDim {
					return nil, fmt.Errorf("pack: build: label %q: embedding of %d values, want %d", l.ID, len(e), dim)
				}
			}
		}
	}
	if dim == 0 {
		return nil, fmt.Errorf("pack: build: %w", errNoRows)
	}
	p := &Pack{
		Name: opts.Name, ModelSHA256: opts.ModelSHA256, Dim: dim, Threshold: opts.Threshold,
		Labels: append([]Label(nil), labels...),
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x70616b))
	// Sub-centres in float first; then one pack-wide centre (their mean) so int8 carries only the
	// residuals. Embeddings of one model share a large common component (0.94 of the norm for the
	// shipped model of 2026-11-26): quantising whole vectors cost 24 points of top-1 on
	// tools/gallery/eval.tsv, residuals none (pack/FORMAT.md).
	type sub struct {
		label uint32
		v     []float32
	}
	var subs []sub
	for i := range labels {
		vs := make([][]float32, 0, len(embs[i]))
		for _, e := range embs[i] {
			n, err := normalized(e, dim)
			if err != nil {
				return nil, fmt.Errorf("pack: build: label %q: %w", labels[i].ID, err)
			}
			vs = append(vs, n)
		}
		if len(vs) > 0 {
			for _, c := range SubCentres(vs, opts.MaxSubCentres, opts.Spread, rng) {
				subs = append(subs, sub{uint32(i), c})
			}
		}
		for _, e := range exact(i) {
			n, err := normalized(e, dim)
			if err != nil {
				return nil, fmt.Errorf("pack: build: label %q: exact embedding: %w", labels[i].ID, err)
			}
			subs = append(subs, sub{uint32(i), n})
		}
	}
	centre := make([]float32, dim)
	for _, s := range subs {
		for j, x := range s.v {
			centre[j] += x / float32(len(subs))
		}
	}
	all := Shard{Dim: dim, Centre: centre}
	for _, s := range subs {
		all.Quantize(s.label, s.v)
	}
	if opts.IVFLists <= 0 {
		p.lists = []Shard{all}
		return p, nil
	}
	return p, p.buildIVF(&all, opts, rng)
}

// buildIVF clusters the rows into opts.IVFLists coarse lists. The coarse centroids train on a sample
// (at most 32 rows per list), then every row goes to its nearest centroid.
func (p *Pack) buildIVF(all *Shard, opts BuildOptions, rng *rand.Rand) error {
	n := all.Len()
	nl := min(opts.IVFLists, n)
	sample := make([][]float32, 0, min(n, 32*nl))
	for _, i := range rng.Perm(n)[:min(n, 32*nl)] {
		sample = append(sample, all.Row(nil, i))
	}
	cents, _ := kmeans(sample, nl, 10, rng)
	p.coarse = &Shard{Dim: p.Dim, Centre: all.Centre}
	for i, c := range cents {
		p.coarse.Quantize(uint32(i), c)
	}
	p.nprobe = opts.NProbe
	if p.nprobe <= 0 {
		p.nprobe = max(1, nl/16)
	}
	p.nprobe = min(p.nprobe, nl)
	p.lists = make([]Shard, nl)
	for i := range p.lists {
		p.lists[i].Dim = p.Dim
		p.lists[i].Centre = all.Centre
	}
	row := make([]float32, p.Dim)
	for r := 0; r < n; r++ {
		row = all.Row(row, r)
		best, bs := 0, float32(math.Inf(-1))
		for j, c := range cents {
			if s := dot(c, row); s > bs {
				best, bs = j, s
			}
		}
		l := &p.lists[best]
		l.Labels = append(l.Labels, all.Labels[r])
		l.Scales = append(l.Scales, all.Scales[r])
		l.Data = append(l.Data, all.Data[r*p.Dim:(r+1)*p.Dim]...)
	}
	return nil
}

// SubCentres clusters one character's L2-normalised embeddings: k = 1 below 4 images, otherwise the
// smallest k <= min(maxK, n/2) whose mean within-cluster cosine similarity reaches spread.
func SubCentres(vs [][]float32, maxK int, spread float32, rng *rand.Rand) [][]float32 {
	kmax := 1
	if len(vs) >= 4 {
		kmax = min(maxK, len(vs)/2)
	}
	var cents [][]float32
	for k := 1; k <= kmax; k++ {
		var fit float32
		cents, fit = kmeans(vs, k, 20, rng)
		if fit >= spread {
			break
		}
	}
	return cents
}

// kmeans is spherical k-means with k-means++ seeding: it returns k unit centroids and the mean cosine
// similarity of each vector to its centroid.
func kmeans(vs [][]float32, k, iters int, rng *rand.Rand) ([][]float32, float32) {
	n := len(vs)
	if k >= n {
		out := make([][]float32, n)
		for i, v := range vs {
			out[i] = append([]float32(nil), v...)
		}
		return out, 1
	}
	dim := len(vs[0])
	cents := [][]float32{append([]float32(nil), vs[rng.IntN(n)]...)}
	dist := make([]float64, n)
	for len(cents) < k {
		var sum float64
		for i, v := range vs {
			d := math.Inf(1)
			for _, c := range cents {
				d = math.Min(d, float64(1-dot(c, v)))
			}
			dist[i] = math.Max(d, 0)
			sum += dist[i]
		}
		pick := 0
		if sum > 0 {
			r := rng.Float64() * sum
			for pick = 0; pick < n-1 && r >= dist[pick]; pick++ {
				r -= dist[pick]
			}
		} else {
			pick = rng.IntN(n)
		}
		cents = append(cents, append([]float32(nil), vs[pick]...))
	}
	assign := make([]int, n)
	var fit float64
	for it := 0; it < iters; it++ {
		changed := false
		fit = 0
		for i, v := range vs {
			best, bs := 0, float32(math.Inf(-1))
			for j, c := range cents {
				if s := dot(c, v); s > bs {
					best, bs = j, s
				}
			}
			if assign[i] != best || it == 0 {
				changed = changed || assign[i] != best
				assign[i] = best
			}
			fit += float64(bs)
		}
		if !changed && it > 0 {
			break
		}
		sums := make([][]float64, k)
		for j := range sums {
			sums[j] = make([]float64, dim)
		}
		counts := make([]int, k)
		for i, v := range vs {
			counts[assign[i]]++
			for d, x := range v {
				sums[assign[i]][d] += float64(x)
			}
		}
		for j := range cents {
			if counts[j] == 0 {
				continue // keep an empty cluster's old centroid
			}
			var ss float64
			for _, x := range sums[j] {
				ss += x * x
			}
			if ss == 0 {
				continue
			}
			inv := 1 / math.Sqrt(ss)
			for d := range cents[j] {
				cents[j][d] = float32(sums[j][d] * inv)
			}
		}
	}
	// Final fit against the final centroids.
	fit = 0
	for _, v := range vs {
		bs := float32(math.Inf(-1))
		for _, c := range cents {
			bs = max(bs, dot(c, v))
		}
		fit += float64(bs)
	}
	return cents, float32(fit / float64(n))
}

// ThresholdAtFAR returns the lowest threshold t such that at most far·len(scores) of the scores are >= t
// (scores of impostors: distractor best scores, or impostor pair similarities). With no scores it returns +Inf.
// far must be a rate in [0, 1].
func ThresholdAtFAR(scores []float32, far float64) (float32, error) {
	if !(far >= 0 && far <= 1) {
		return 0, fmt.Errorf("pack: false-accept rate %v, want 0..1", far)
	}
	if len(scores) == 0 {
		return float32(math.Inf(1)), nil
	}
	s := append([]float32(nil), scores...)
	sort.Slice(s, func(i, j int) bool { return s[i] > s[j] })
	allowed := int(math.Floor(far*float64(len(s)) + 1e-9))
	if allowed >= len(s) {
		return float32(math.Inf(-1)), nil
	}
	// Any t just above s[allowed] admits exactly the scores strictly greater than it: at most `allowed`.
	return math.Nextafter32(s[allowed], float32(math.Inf(1))), nil
}

// Calibrate sets the unknown threshold so that at most far of the distractors (embeddings of
// characters not in the pack) have a best score >= threshold.
func (p *Pack) Calibrate(distractors [][]float32, far float64) error {
	if len(distractors) == 0 {
		return fmt.Errorf("pack: calibrate: no distractor embeddings")
	}
	if !(far > 0 && far < 1) { // NaN fails both comparisons
		return fmt.Errorf("pack: calibrate: far %v out of range (0,1)", far)
	}
	m, err := NewMatcher(p)
	if err != nil {
		return err
	}
	scores := make([]float32, len(distractors))
	for i, d := range distractors {
		r, err := m.Match(d, 1)
		if err != nil {
			return fmt.Errorf("pack: calibrate: distractor %d: %w", i, err)
		}
		scores[i] = float32(math.Inf(-1))
		if len(r.Answers) > 0 {
			scores[i] = r.Answers[0].Score
		}
	}
	t, err := ThresholdAtFAR(scores, far)
	if err != nil {
		return err
	}
	// Scores are clamped to [-1, 1]; just above 1 means "accept nothing" and still validates.
	t = max(-1, min(t, math.Nextafter32(1, 2)))
	p.Threshold, p.ThresholdFAR, p.ThresholdCalibrated = t, far, true
	return nil
}

// CheckDistractors refuses calibration identities that are in the gallery. Calibration measures
// how high a character the pack does not know can score; a known one scores high because it is
// known, and would set the threshold so high that the gallery's own characters come back unknown.
// Callers check the labels before embedding anything; CalibrateItems checks again.
func CheckDistractors(gallery, distractors []Label) error {
	in := make(map[string]bool, len(gallery))
	for _, l := range gallery {
		in[l.ID] = true
	}
	for _, l := range distractors {
		if in[l.ID] {
			return fmt.Errorf("pack: calibration identity %q is in the gallery; calibration needs identities outside it", clip(l.ID))
		}
	}
	return nil
}

// CalibrateItems is Calibrate for labelled distractors: it refuses any whose identity is one of
// the pack's characters (CheckDistractors) before calibrating on their embeddings.
func (p *Pack) CalibrateItems(distractors []Item, far float64) error {
	labels := make([]Label, len(distractors))
	embs := make([][]float32, len(distractors))
	for i, d := range distractors {
		labels[i], embs[i] = d.Label, d.Embedding
	}
	if err := CheckDistractors(p.Labels, labels); err != nil {
		return err
	}
	return p.Calibrate(embs, far)
}

// An Item is one gallery image's embedding with its character.
type Item struct {
	Label     Label
	Embedding []float32
}

// BuildItems groups items by Label.ID (first-seen order; the first item's name, series and credit
// win, later non-empty fields fill gaps) and builds a pack: what `toonid pack build` and the evaluator do.
func BuildItems(items []Item, opts BuildOptions) (*Pack, error) {
	index := map[string]int{}
	var labels []Label
	var embs [][][]float32
	for _, it := range items {
		i, ok := index[it.Label.ID]
		if !ok {
			i = len(labels)
			index[it.Label.ID] = i
			labels = append(labels, it.Label)
			embs = append(embs, nil)
		}
		l := &labels[i]
		if l.Name == "" {
			l.Name = it.Label.Name
		}
		if l.Series == "" {
			l.Series = it.Label.Series
		}
		if l.Credit == "" {
			l.Credit = it.Label.Credit
		}
		if l.Thumbnail == "" {
			l.Thumbnail = it.Label.Thumbnail
		}
		embs[i] = append(embs[i], it.Embedding)
	}
	return Build(labels, embs, opts)
}
