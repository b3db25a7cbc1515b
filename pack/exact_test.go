package pack

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// An outlier view averaged into the other examples' sub-centre scores far below itself; kept
// as an exact sub-centre it matches itself (within int8 rounding) and the rest still match.
func TestBuildExactKeepsAViewAsItsOwnSubCentre(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const dim = 32
	centre := randUnit(rng, dim)
	var views [][]float32
	for range 7 {
		views = append(views, jitter(rng, centre, 0.2))
	}
	other := jitter(rng, randUnit(rng, dim), 0.01) // another view of the same character, far from the rest
	labels := []Label{{ID: "user:a", Name: "A"}, {ID: "user:b", Name: "B"}}
	bViews := [][]float32{randUnit(rng, dim)}
	score := func(p *Pack, q []float32) Answer {
		m, err := NewMatcher(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Match(q, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r.Answers[0]
	}
	merged, err := Build(labels, [][][]float32{append(append([][]float32(nil), views...), other), bViews}, BuildOptions{ModelSHA256: testModel})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := Build(labels, [][][]float32{views, bViews}, BuildOptions{ModelSHA256: testModel, Exact: [][][]float32{{other}}})
	if err != nil {
		t.Fatal(err)
	}
	m, k := score(merged, other), score(kept, other)
	if k.ID != "user:a" || k.Score < 0.98 {
		t.Errorf("exact view: got %+v, want user:a at >= 0.98", k)
	}
	if m.ID == "user:a" && m.Score >= k.Score-0.05 {
		t.Errorf("the test does not show the clustering averaging the view away: merged %.3f, exact %.3f", m.Score, k.Score)
	}
	if a := score(kept, centre); a.ID != "user:a" || a.Score < 0.9 {
		t.Errorf("the clustered views: got %+v", a)
	}
	t.Logf("the outlier view: %.3f averaged in, %.3f kept exact", m.Score, k.Score)

	// A label may have exact embeddings only; bad ones are refused.
	if _, err := Build(labels, [][][]float32{nil, bViews}, BuildOptions{ModelSHA256: testModel, Exact: [][][]float32{{other}}}); err != nil {
		t.Errorf("exact only: %v", err)
	}
	for _, tc := range []struct {
		name  string
		embs  [][][]float32
		exact [][][]float32
		want  string
	}{
		{"more groups than labels", [][][]float32{views, bViews}, [][][]float32{nil, nil, {other}}, "exact embedding groups"},
		{"neither", [][][]float32{nil, bViews}, [][][]float32{nil}, "no embeddings"},
		{"wrong dim", [][][]float32{views, bViews}, [][][]float32{{other[:dim-1]}}, "embedding of 31 values"},
		{"zero", [][][]float32{views, bViews}, [][][]float32{{make([]float32, dim)}}, "zero or non-finite"},
	} {
		if _, err := Build(labels, tc.embs, BuildOptions{ModelSHA256: testModel, Exact: tc.exact}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
