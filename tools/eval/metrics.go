// Package eval measures how well a model and its packs name characters: the iCartoonFace
// rank-1 protocol, verification (TAR at a FAR) and the open-set metrics of a pack built from the
// gallery (top-1/top-5, DIR at 1% FAR), plus the helpers the CLI uses to read manifests and embed
// images in parallel. model/train/metrics.py computes icf_rank1, tar_at_far_1e-3 and the counts
// with these definitions (TestCrossCheck pins both on testdata/crosscheck); its centroid_* keys
// are a float stand-in for the pack metrics, not these.
//
//	rows, _ := eval.ReadManifest("m.tsv")
//	embs, _ := eval.EmbedFiles(ctx, model, eval.Paths(rows), eval.EmbedOptions{})
//	rep, _ := eval.Evaluate(rows, embs, pack.BuildOptions{ModelSHA256: sha})
//	fmt.Println(rep.PackTop1, rep.DIRAtFAR1pct)
package eval

import (
	"container/heap"
	"fmt"
	"math"

	"github.com/toonid/toonid/pack"
)

// Role is a manifest row's role.
type Role string

// Roles of manifest rows.
const (
	Gallery    Role = "gallery"
	Probe      Role = "probe"
	Distractor Role = "distractor"
)

// Row is one manifest line: an image (the face crop), its identity and role.
type Row struct {
	Path     string
	Identity string
	Role     Role
}

// Report holds the metrics under the JSON keys `toonid eval -json` prints (pack/smoke_check.py
// and the model card read them).
type Report struct {
	ICFRank1     float64 `json:"icf_rank1"`
	PackTop1     float64 `json:"pack_top1"`
	PackTop5     float64 `json:"pack_top5"`
	DIRAtFAR1pct float64 `json:"dir_at_far_1pct"`
	TARAtFAR1e3  float64 `json:"tar_at_far_1e-3"`
	NIdentities  int     `json:"n_identities"`
	NGallery     int     `json:"n_gallery"`
	NProbe       int     `json:"n_probe"`
	NDistractor  int     `json:"n_distractor"`
	ModelSHA256  string  `json:"model_sha256"`
	Seconds      float64 `json:"seconds"`
}

// Evaluate computes every metric from rows and their L2-normalised embeddings (embs[i] for rows[i]).
// The pack for pack_top1/5 and dir_at_far_1pct is built from the gallery rows with pack.BuildItems,
// exactly as `toonid pack build` builds one. n_identities counts distinct identities of gallery and
// probe rows. A metric with nothing to count (e.g. no probes) is 0, and so is one whose
// false-accept rate cannot be measured (DIR without distractors, TAR without impostor pairs).
func Evaluate(rows []Row, embs [][]float32, opts pack.BuildOptions) (Report, error) {
	if len(rows) != len(embs) {
		return Report{}, fmt.Errorf("eval: %d rows but %d embeddings", len(rows), len(embs))
	}
	var r Report
	ids := map[string]bool{}
	var items []pack.Item
	for i, row := range rows {
		switch row.Role {
		case Gallery:
			r.NGallery++
			ids[row.Identity] = true
			items = append(items, pack.Item{Label: pack.Label{ID: row.Identity, Name: row.Identity}, Embedding: embs[i]})
		case Probe:
			r.NProbe++
			ids[row.Identity] = true
		case Distractor:
			r.NDistractor++
		default:
			return Report{}, fmt.Errorf("eval: row %d (%s): unknown role %q", i+1, row.Path, row.Role)
		}
	}
	r.NIdentities = len(ids)
	r.ICFRank1 = ICFRank1(rows, embs)
	r.TARAtFAR1e3 = TARAtFAR(rows, embs, 1e-3)
	if len(items) > 0 {
		p, err := pack.BuildItems(items, opts)
		if err != nil {
			return Report{}, fmt.Errorf("eval: gallery pack: %w", err)
		}
		m, err := pack.NewMatcher(p)
		if err != nil {
			return Report{}, fmt.Errorf("eval: %w", err)
		}
		o, err := OpenSet(rows, embs, m)
		if err != nil {
			return Report{}, err
		}
		r.PackTop1, r.PackTop5, r.DIRAtFAR1pct = o.Top1, o.Top5, o.DIR
	}
	return r, nil
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// ICFRank1 is the iCartoonFace official rank-1: over every pair (probe p of a known identity, other
// image m of the same identity, gallery or probe), a hit when sim(p, m) is greater than sim(p, d) for
// every distractor d. Returns hits / pairs, 0 without pairs.
func ICFRank1(rows []Row, embs [][]float32) float64 {
	var dis []int
	byID := map[string][]int{}
	for i, r := range rows {
		if r.Role == Distractor {
			dis = append(dis, i)
		} else {
			byID[r.Identity] = append(byID[r.Identity], i)
		}
	}
	hits, pairs := 0, 0
	for p, r := range rows {
		if r.Role != Probe {
			continue
		}
		worst := float32(math.Inf(-1)) // the best distractor score the mate must beat
		for _, d := range dis {
			worst = max(worst, dot(embs[p], embs[d]))
		}
		for _, m := range byID[r.Identity] {
			if m == p {
				continue
			}
			pairs++
			if dot(embs[p], embs[m]) > worst {
				hits++
			}
		}
	}
	if pairs == 0 {
		return 0
	}
	return float64(hits) / float64(pairs)
}

// OpenSetResult holds the pack metrics.
type OpenSetResult struct {
	Top1, Top5, DIR float64
	Threshold       float32 // the DIR threshold: at most 1% of distractors score >= it
	KnownProbes     int
}

// OpenSet matches probes and distractors against m (a pack of the gallery). Known probes are probes
// whose identity is in the matcher's labels. Top1/Top5: fraction of known probes whose identity is
// first / among the first five. DIR: with t the lowest threshold at which at most 1% of distractors
// have a best score >= t, the fraction of known probes whose first answer is right and scores >= t.
func OpenSet(rows []Row, embs [][]float32, m *pack.Matcher) (OpenSetResult, error) {
	var o OpenSetResult
	var dscores []float32
	type probe struct {
		right1 bool
		score  float32
	}
	var probes []probe
	known := map[string]bool{}
	for _, r := range rows {
		if r.Role == Gallery {
			known[r.Identity] = true
		}
	}
	top5 := 0
	for i, r := range rows {
		if r.Role != Distractor && !(r.Role == Probe && known[r.Identity]) {
			continue
		}
		res, err := m.Match(embs[i], 5)
		if err != nil {
			return o, fmt.Errorf("eval: %s: %w", r.Path, err)
		}
		if len(res.Answers) == 0 {
			return o, fmt.Errorf("eval: %s: empty pack", r.Path)
		}
		if r.Role == Distractor {
			dscores = append(dscores, res.Answers[0].Score)
			continue
		}
		probes = append(probes, probe{res.Answers[0].ID == r.Identity, res.Answers[0].Score})
		for _, a := range res.Answers {
			if a.ID == r.Identity {
				top5++
				break
			}
		}
	}
	o.KnownProbes = len(probes)
	t, err := pack.ThresholdAtFAR(dscores, 0.01)
	if err != nil {
		return o, err
	}
	o.Threshold = t
	if len(probes) == 0 {
		return o, nil
	}
	top1, dir := 0, 0
	for _, p := range probes {
		if p.right1 {
			top1++
			if p.score >= o.Threshold {
				dir++
			}
		}
	}
	n := float64(len(probes))
	o.Top1, o.Top5, o.DIR = float64(top1)/n, float64(top5)/n, float64(dir)/n
	return o, nil
}

// TARAtFAR is verification over all pairs of rows (same identity = genuine, else impostor): with t the
// lowest threshold at which at most far of the impostor pairs have similarity >= t, the fraction of
// genuine pairs with similarity >= t. Only the top impostor scores are kept, so memory stays
// O(far · pairs + genuine pairs). Returns 0 without genuine pairs, and 0 without impostor pairs
// (no false-accept rate to hold: pack.ThresholdAtFAR's +Inf, as DIR without distractors).
func TARAtFAR(rows []Row, embs [][]float32, far float64) float64 {
	n := len(rows)
	var genuine []float32
	nImp := 0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if rows[i].Identity != rows[j].Identity {
				nImp++
			}
		}
	}
	allowed := int(math.Floor(far*float64(nImp) + 1e-9))
	// h keeps the allowed+1 highest impostor scores; its minimum is the (allowed+1)-th highest.
	h := &minHeap{}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			s := dot(embs[i], embs[j])
			if rows[i].Identity == rows[j].Identity {
				genuine = append(genuine, s)
				continue
			}
			if h.Len() < allowed+1 {
				heap.Push(h, s)
			} else if s > (*h)[0] {
				(*h)[0] = s
				heap.Fix(h, 0)
			}
		}
	}
	if len(genuine) == 0 || nImp == 0 {
		return 0
	}
	t := float32(math.Inf(-1))
	if h.Len() == allowed+1 {
		t = math.Nextafter32((*h)[0], float32(math.Inf(1)))
	}
	acc := 0
	for _, s := range genuine {
		if s >= t {
			acc++
		}
	}
	return float64(acc) / float64(len(genuine))
}

type minHeap []float32

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(float32)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
