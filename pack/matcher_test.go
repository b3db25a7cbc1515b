package pack

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// bruteTopK scores every row in float (dequantised) and takes per-label maxima: the reference.
func bruteTopK(p *Pack, q []float32, k int) []cand {
	q, _ = normalized(q, p.Dim)
	best := map[uint32]float32{}
	for li := range p.lists {
		l := &p.lists[li]
		for r := 0; r < l.Len(); r++ {
			s := dot(l.Row(nil, r), q)
			if b, ok := best[l.Labels[r]]; !ok || s > b {
				best[l.Labels[r]] = s
			}
		}
	}
	var c []cand
	for l, s := range best {
		c = append(c, cand{int32(l), s})
	}
	sort.Slice(c, func(i, j int) bool { return c[i].score > c[j].score })
	return c[:min(k, len(c))]
}

func TestMatchEqualsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	labels, embs, _ := clustered(rng, 200, 6, 64, 1.0)
	p, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		q := randUnit(rng, 64)
		got, err := m.Match(q, 5)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteTopK(p, q, 5)
		for j := range want {
			// 2e-4: the SIMD wasm scan quantises the query to int16; the other scans agree to ~1e-6.
			if got.Answers[j].ID != p.Labels[want[j].label].ID || math.Abs(float64(got.Answers[j].Score-want[j].score)) > 2e-4 {
				t.Fatalf("query %d rank %d: got %s %.6f, want %s %.6f", i, j, got.Answers[j].ID, got.Answers[j].Score, p.Labels[want[j].label].ID, want[j].score)
			}
		}
	}
}

func TestTopKPerLabelMax(t *testing.T) {
	// Offers in this order with k=2: a .5, b .6, a .9, c .7, b .65, c .1
	// per-label maxima: a .9, c .7, b .65 -> top-2 = a .9, c .7.
	tk := topK{k: 2, min: float32(math.Inf(-1))}
	for _, o := range []cand{{0, .5}, {1, .6}, {0, .9}, {2, .7}, {1, .65}, {2, .1}} {
		if o.score > tk.min {
			tk.offer(o.label, o.score)
		}
	}
	sort.Slice(tk.c, func(i, j int) bool { return tk.c[i].score > tk.c[j].score })
	if len(tk.c) != 2 || tk.c[0] != (cand{0, .9}) || tk.c[1] != (cand{2, .7}) {
		t.Fatalf("got %+v, want [{0 .9} {2 .7}]", tk.c)
	}
}

func TestUnknownAndMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	labels, embs, centres := clustered(rng, 20, 4, 32, 0.3)
	p, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel, Name: "download"})
	if err != nil {
		t.Fatal(err)
	}
	var dis [][]float32
	for i := 0; i < 200; i++ {
		dis = append(dis, randUnit(rng, 32))
	}
	if err := p.Calibrate(dis, 0.01); err != nil {
		t.Fatal(err)
	}
	if !p.ThresholdCalibrated || p.ThresholdFAR != 0.01 {
		t.Fatalf("calibration not recorded: %+v", p)
	}
	// The user's own character, enrolled from two embeddings: a cheap in-memory pack.
	own := randUnit(rng, 32)
	user, err := Build([]Label{{ID: "mine", Name: "My Hero"}}, [][][]float32{{jitter(rng, own, 0.2), jitter(rng, own, 0.2)}}, BuildOptions{ModelSHA256: testModel, Name: "user"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(p, user)
	if err != nil {
		t.Fatal(err)
	}
	if m.Threshold() != p.Threshold {
		t.Fatalf("threshold %v, want the calibrated pack's %v", m.Threshold(), p.Threshold)
	}
	r, _ := m.Match(own, 3)
	if r.Unknown || r.Answers[0].ID != "mine" || r.Answers[0].Pack != "user" {
		t.Fatalf("own character: %+v", r)
	}
	r, _ = m.Match(centres[4], 3)
	if r.Unknown || r.Answers[0].ID != labels[4].ID {
		t.Fatalf("pack character: %+v", r)
	}
	// At FAR 1% at most 2 of the 200 calibration distractors may be accepted.
	accepted := 0
	for _, d := range dis {
		if r, _ := m.Match(d, 1); !r.Unknown {
			accepted++
		}
	}
	if accepted > 2 {
		t.Fatalf("%d of 200 distractors accepted at FAR 1%%", accepted)
	}
	// Same id in two packs is one character, with the best score of both.
	dup, _ := Build([]Label{{ID: labels[4].ID, Name: "again"}}, [][][]float32{{own}}, BuildOptions{ModelSHA256: testModel})
	m2, _ := NewMatcher(p, dup)
	r, _ = m2.Match(own, 30)
	seen := map[string]bool{}
	for _, a := range r.Answers {
		if seen[a.ID] {
			t.Fatalf("id %s answered twice", a.ID)
		}
		seen[a.ID] = true
	}
	if r.Answers[0].ID != labels[4].ID || r.Answers[0].Score < 0.99 || r.Answers[0].Score > 1 {
		t.Fatalf("merged duplicate id: %+v", r.Answers[0])
	}
}

func TestMatcherRejects(t *testing.T) {
	p, _ := smallPack(t)
	q := &Pack{Dim: 8, ModelSHA256: testModel}
	if _, err := NewMatcher(p, q); err == nil {
		t.Error("packs of different dims merged")
	}
	r := &Pack{Dim: p.Dim, ModelSHA256: "x"}
	if _, err := NewMatcher(p, r); err == nil {
		t.Error("packs of different models merged")
	}
	m, _ := NewMatcher(p)
	if _, err := m.Match(make([]float32, p.Dim), 1); err == nil {
		t.Error("zero vector matched")
	}
	if _, err := m.Match(make([]float32, 3), 1); err == nil {
		t.Error("wrong-size vector matched")
	}
	if _, err := m.Match(randUnit(rand.New(rand.NewPCG(1, 1)), p.Dim), 0); err == nil {
		t.Error("k=0 accepted")
	}
}

func TestSubCentres(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	a, b := randUnit(rng, 64), randUnit(rng, 64)
	var two [][]float32
	for i := 0; i < 5; i++ {
		two = append(two, jitter(rng, a, 0.2), jitter(rng, b, 0.2))
	}
	// Two well-separated looks (cos(a,b) ~ 0) need two sub-centres to reach spread 0.8.
	if c := SubCentres(two, 8, 0.8, rng); len(c) != 2 {
		t.Errorf("two looks: %d sub-centres, want 2", len(c))
	}
	if c := SubCentres(two[:3], 8, 0.8, rng); len(c) != 1 {
		t.Errorf("3 images: %d sub-centres, want 1", len(c))
	}
	var one [][]float32
	for i := 0; i < 10; i++ {
		one = append(one, jitter(rng, a, 0.2))
	}
	if c := SubCentres(one, 8, 0.8, rng); len(c) != 1 {
		t.Errorf("one look: %d sub-centres, want 1", len(c))
	}
}

func TestThresholdAtFAR(t *testing.T) {
	// 10 scores, far 0.1 -> at most 1 may be >= t: t just above the 2nd highest (0.8).
	s := []float32{0.1, 0.9, 0.8, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.0}
	at := func(s []float32, far float64) float32 {
		t.Helper()
		v, err := ThresholdAtFAR(s, far)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := at(s, 0.1); !(got > 0.8 && got < 0.8001) {
		t.Errorf("far 0.1: %v, want just above 0.8", got)
	}
	// far 0.05 -> 0 allowed: just above the max.
	if got := at(s, 0.05); !(got > 0.9 && got < 0.9001) {
		t.Errorf("far 0.05: %v, want just above 0.9", got)
	}
	// Ties: [0.5 0.5 0.1 0.1], far 0.25 -> 1 allowed; both 0.5s tie, so t must exceed 0.5.
	if got := at([]float32{0.5, 0.1, 0.5, 0.1}, 0.25); !(got > 0.5) {
		t.Errorf("ties: %v, want > 0.5", got)
	}
	if got := at(nil, 0.1); !math.IsInf(float64(got), 1) {
		t.Errorf("no scores: %v, want +Inf", got)
	}
}

func TestIVF(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	labels, embs, centres := clustered(rng, 2000, 1, 32, 0.1)
	p, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel, IVFLists: 16, NProbe: 4})
	if err != nil {
		t.Fatal(err)
	}
	if n, np := p.IVFLists(); n != 16 || np != 4 {
		t.Fatalf("ivf lists %d nprobe %d", n, np)
	}
	m, files, err := p.Encode(EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fsys := mapFS(m, files)
	full, err := Open(fsys, OpenOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	if full.Rows() != 2000 {
		t.Fatalf("rows %d", full.Rows())
	}
	mt, _ := NewMatcher(full)
	hits := 0
	for i := 0; i < 200; i++ {
		r, _ := mt.Match(centres[i], 1)
		if r.Answers[0].ID == labels[i].ID {
			hits++
		}
	}
	// A query equal to a character's centre finds it unless its list is outside the 4 nearest of 16.
	if hits < 190 {
		t.Errorf("ivf recall %d/200", hits)
	}
	// A client that opens only the lists near a query loads a fraction of the rows and still finds it.
	part, err := Open(fsys, OpenOptions{Query: centres[7], NProbe: 2})
	if err != nil {
		t.Fatal(err)
	}
	if part.Rows() >= 2000/2 {
		t.Errorf("partial open loaded %d of 2000 rows", part.Rows())
	}
	pm, _ := NewMatcher(part)
	if r, _ := pm.Match(centres[7], 1); r.Answers[0].ID != labels[7].ID {
		t.Errorf("partial pack answered %s, want %s", r.Answers[0].ID, labels[7].ID)
	}
}

func TestNearListsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	p := &Pack{Dim: 16, coarse: &Shard{Dim: 16}}
	var cents [][]float32
	for i := 0; i < 40; i++ {
		c := randUnit(rng, 16)
		cents = append(cents, c)
		p.coarse.Quantize(uint32(i), c)
	}
	q := randUnit(rng, 16)
	got := p.nearLists(q, 7, func(l int) bool { return l != 3 })
	type ls struct {
		l int
		s float32
	}
	var all []ls
	for i := 0; i < 40; i++ {
		if i != 3 {
			all = append(all, ls{i, p.coarse.Scales[i] * dotInt8(p.coarse.Data[i*16:(i+1)*16], q)})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s > all[j].s })
	for i := range got {
		if got[i] != all[i].l {
			t.Fatalf("nearLists = %v, want the order of %v", got, all[:7])
		}
	}
	if len(got) != 7 {
		t.Fatalf("%d lists, want 7", len(got))
	}
}

func TestScan4MatchesScan1(t *testing.T) {
	// 103 rows per list exercises the remainder; same rows, different summation order: scores
	// agree to float rounding.
	checkScanMatchesScan1(t, scan4, 31, 103, 48, 1e-5)
}

// checkScanMatchesScan1 compares a scan kernel with the one-row reference on the top 10 of 20
// random queries over one list of rows clustered embeddings of dimension dim.
func checkScanMatchesScan1(t *testing.T, scanFn func(*Shard, []float32, []int32, *topK), seed uint64, rows, dim int, tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	labels, embs, _ := clustered(rng, rows, 3, dim, 1.0)
	p, err := Build(labels, embs, BuildOptions{MaxSubCentres: 1})
	if err != nil {
		t.Fatal(err)
	}
	mp := make([]int32, len(labels))
	for i := range mp {
		mp[i] = int32(i)
	}
	for i := 0; i < 20; i++ {
		q, _ := normalized(randUnit(rng, dim), dim)
		a := topK{k: 10, min: float32(math.Inf(-1))}
		b := topK{k: 10, min: float32(math.Inf(-1))}
		scan1(&p.lists[0], q, mp, &a)
		scanFn(&p.lists[0], q, mp, &b)
		sort.Slice(a.c, func(i, j int) bool { return a.c[i].score > a.c[j].score })
		sort.Slice(b.c, func(i, j int) bool { return b.c[i].score > b.c[j].score })
		for j := range a.c {
			if math.Abs(float64(a.c[j].score-b.c[j].score)) > tol {
				t.Fatalf("query %d rank %d: scan1 %+v, other %+v", i, j, a.c[j], b.c[j])
			}
		}
	}
}

// Embeddings with a large shared component (as the shipped model's): the residual int8 rows keep the
// float ranking, where whole-vector int8 (quantization 1) would not (see FORMAT.md).
func TestResidualKeepsRanking(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const dim, n = 64, 300
	common := randUnit(rng, dim)
	labels := make([]Label, n)
	embs := make([][][]float32, n)
	for i := range labels {
		labels[i] = Label{ID: strconv.Itoa(i)}
		r := randUnit(rng, dim)
		v := make([]float32, dim)
		for j := range v {
			v[j] = common[j] + 0.03*r[j]
		}
		embs[i] = [][]float32{v}
	}
	p, err := Build(labels, embs, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := &Pack{Dim: dim, Labels: labels, lists: []Shard{{Dim: dim}}}
	for i := range embs {
		v, _ := normalized(embs[i][0], dim)
		plain.lists[0].Quantize(uint32(i), v)
	}
	mr, _ := NewMatcher(p)
	mq, _ := NewMatcher(plain)
	agreeR, agreeQ := 0, 0
	for k := 0; k < 200; k++ {
		q, _ := normalized(jitter(rng, embs[k%n][0], 0.015), dim)
		best, bs := -1, float32(-2)
		for i := range embs {
			v, _ := normalized(embs[i][0], dim)
			if s := dot(v, q); s > bs {
				best, bs = i, s
			}
		}
		if r, _ := mr.Match(q, 1); r.Answers[0].ID == labels[best].ID {
			agreeR++
		}
		if r, _ := mq.Match(q, 1); r.Answers[0].ID == labels[best].ID {
			agreeQ++
		}
	}
	t.Logf("top-1 equal to float search: residual %d/200, whole-vector int8 %d/200", agreeR, agreeQ)
	if agreeR < 196 || agreeQ >= agreeR {
		t.Errorf("residual rows agree with float search on %d/200 queries, whole-vector int8 on %d", agreeR, agreeQ)
	}
}

// A Matcher does not change after NewMatcher (it is shared, e.g. by the CLI's workers): the
// threshold and nprobe overrides make a new matcher and leave the original answering as before.
func TestMatcherOverridesLeaveOriginal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	labels, embs, centres := clustered(rng, 200, 1, 32, 0.1)
	p, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel, IVFLists: 16, NProbe: 1, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	before, err := m.Match(centres[3], 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		with func(*Matcher) *Matcher
		want func(t *testing.T, d *Matcher)
	}{
		{"threshold", func(m *Matcher) *Matcher { return m.WithThreshold(1.5) }, func(t *testing.T, d *Matcher) {
			if r, _ := d.Match(centres[3], 5); d.Threshold() != 1.5 || !r.Unknown || r.Threshold != 1.5 {
				t.Errorf("derived: threshold %v, reply %+v; want 1.5 and unknown", d.Threshold(), r)
			}
		}},
		{"nprobe", func(m *Matcher) *Matcher { return m.WithNProbe(16) }, func(t *testing.T, d *Matcher) {
			if r, _ := d.Match(centres[3], 5); len(r.Answers) != 5 || r.Answers[0].ID != labels[3].ID {
				t.Errorf("derived scanning every list: %+v", r.Answers)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.with(m)
			if d == m {
				t.Fatal("the override returned the original matcher")
			}
			tc.want(t, d)
			after, err := m.Match(centres[3], 5)
			if err != nil {
				t.Fatal(err)
			}
			if m.Threshold() != 0.5 || !reflect.DeepEqual(after, before) {
				t.Errorf("original changed: threshold %v, answers %+v, before %+v", m.Threshold(), after, before)
			}
		})
	}
}

// Calibration needs characters the pack does not know: a gallery identity among the distractors
// is refused (it scores high because it is known, and would push the threshold above the gallery).
func TestCalibrateItemsRefusesGalleryIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	labels, embs, centres := clustered(rng, 20, 4, 32, 0.3)
	for _, tc := range []struct {
		name string
		ids  []string // distractor identities
		want string   // "" or what the error says
	}{
		{"outside the gallery", []string{"x1", "x2", "x3", "x4"}, ""},
		{"one from the gallery", []string{"x1", "c3", "x3", "x4"}, `identity "c3" is in the gallery`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Build(labels, embs, BuildOptions{ModelSHA256: testModel, Threshold: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			items := make([]Item, len(tc.ids))
			dls := make([]Label, len(tc.ids))
			for i, id := range tc.ids {
				dls[i] = Label{ID: id}
				items[i] = Item{Label: dls[i], Embedding: jitter(rng, centres[i], 2)}
			}
			check := CheckDistractors(labels, dls)
			err = p.CalibrateItems(items, 0.25)
			if tc.want == "" {
				if check != nil || err != nil || !p.ThresholdCalibrated {
					t.Fatalf("CheckDistractors: %v, CalibrateItems: %v, calibrated %v", check, err, p.ThresholdCalibrated)
				}
				return
			}
			for _, e := range []error{check, err} {
				if e == nil || !strings.Contains(e.Error(), tc.want) {
					t.Errorf("err = %v, want it to mention %q", e, tc.want)
				}
			}
			if p.ThresholdCalibrated || p.Threshold != 0.5 {
				t.Errorf("refused calibration changed the pack: threshold %v calibrated %v", p.Threshold, p.ThresholdCalibrated)
			}
		})
	}
}
