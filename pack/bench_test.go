package pack

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchPack makes n characters with 2 sub-centres each, dim 128, grouped around n/200 "series" centres
// so that an IVF level has structure to find (random points would have none).
func benchPack(b *testing.B, n, ivf int) (*Pack, *Pack, [][]float32) {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	const dim = 128
	groups := make([][]float32, max(1, n/200))
	for i := range groups {
		groups[i] = randUnit(rng, dim)
	}
	labels := make([]Label, n)
	embs := make([][][]float32, n)
	queries := make([][]float32, 0, 64)
	for i := range labels {
		labels[i] = Label{ID: strconv.Itoa(i)}
		c := jitter(rng, groups[i%len(groups)], 1.2)
		embs[i] = [][]float32{c, jitter(rng, c, 0.4)}
		if len(queries) < cap(queries) {
			queries = append(queries, jitter(rng, c, 0.3))
		}
	}
	// One sub-centre per embedding (maxK large, spread 1.01 never reached) -> 2 rows per character.
	p := &Pack{Dim: dim, ModelSHA256: testModel, Labels: labels, lists: []Shard{{Dim: dim}}}
	for i := range embs {
		for _, e := range embs[i] {
			p.lists[0].Quantize(uint32(i), e)
		}
	}
	flat := *p
	if ivf > 0 {
		all := p.lists[0]
		if err := p.buildIVF(&all, BuildOptions{IVFLists: ivf, NProbe: ivf / 16}, rng); err != nil {
			b.Fatal(err)
		}
	}
	return p, &flat, queries
}

func benchMatch(b *testing.B, n, ivf int) {
	p, flat, qs := benchPack(b, n, ivf)
	m, err := NewMatcher(p)
	if err != nil {
		b.Fatal(err)
	}
	recall := -1.0
	if ivf > 0 {
		// Recall of the IVF top-1 against exhaustive search, reported next to the time.
		fm, _ := NewMatcher(flat)
		same := 0
		for _, q := range qs {
			a, _ := m.Match(q, 1)
			e, _ := fm.Match(q, 1)
			if a.Answers[0].ID == e.Answers[0].ID {
				same++
			}
		}
		recall = float64(same) / float64(len(qs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Match(qs[i%len(qs)], 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Rows()), "rows")
	if recall >= 0 {
		b.ReportMetric(recall, "recall@1")
	}
}

// Top-5 over 5k and 100k characters (2 sub-centres each, dim 128): brute force, and with a 256-list IVF
// level scanning 16 lists.
func BenchmarkMatchTop5_5k(b *testing.B)       { benchMatch(b, 5000, 0) }
func BenchmarkMatchTop5_100k(b *testing.B)     { benchMatch(b, 100000, 0) }
func BenchmarkMatchTop5_100k_IVF(b *testing.B) { benchMatch(b, 100000, 256) }

// Enrolling: building an in-memory pack from a few embeddings, as the browser does per character.
func BenchmarkEnroll(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := randUnit(rng, 128)
	embs := [][][]float32{{jitter(rng, c, 0.3), jitter(rng, c, 0.3), jitter(rng, c, 0.3), jitter(rng, c, 0.3), jitter(rng, c, 0.3)}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Build([]Label{{ID: "mine"}}, embs, BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
