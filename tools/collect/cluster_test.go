package collect

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
)

// unit returns v scaled to length 1.
func unit(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

// blobs makes n unit vectors around each of k random centres, with noise.
func blobs(rng *rand.Rand, k, n, dim int, noise float64) (vs [][]float32, truth []int) {
	for c := 0; c < k; c++ {
		centre := make([]float32, dim)
		for j := range centre {
			centre[j] = float32(rng.NormFloat64())
		}
		centre = unit(centre)
		for i := 0; i < n; i++ {
			v := make([]float32, dim)
			for j := range v {
				v[j] = centre[j] + float32(noise*rng.NormFloat64()/math.Sqrt(float64(dim)))
			}
			vs = append(vs, unit(v))
			truth = append(truth, c)
		}
	}
	return vs, truth
}

// naiveAverageLink is the textbook algorithm: repeatedly merge the pair of clusters with the
// highest mean pairwise cosine while it is at least link (ties: lowest indices).
func naiveAverageLink(vs [][]float32, link float32) [][]int {
	var cl [][]int
	for i := range vs {
		cl = append(cl, []int{i})
	}
	avg := func(a, b []int) float64 {
		var s float64
		for _, i := range a {
			for _, j := range b {
				s += float64(dot32(vs[i], vs[j]))
			}
		}
		return s / float64(len(a)*len(b))
	}
	for {
		bi, bj, bs := -1, -1, math.Inf(-1)
		for i := range cl {
			for j := i + 1; j < len(cl); j++ {
				if s := avg(cl[i], cl[j]); s > bs {
					bi, bj, bs = i, j, s
				}
			}
		}
		if bi < 0 || bs < float64(link) {
			break
		}
		cl[bi] = append(cl[bi], cl[bj]...)
		cl = append(cl[:bj], cl[bj+1:]...)
	}
	for _, c := range cl {
		sort.Ints(c)
	}
	sort.SliceStable(cl, func(i, j int) bool {
		if len(cl[i]) != len(cl[j]) {
			return len(cl[i]) > len(cl[j])
		}
		return cl[i][0] < cl[j][0]
	})
	return cl
}

func TestAverageLinkMatchesTextbook(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  uint64
		k, n  int
		noise float64
		link  float32
	}{
		{"separated", 1, 4, 6, 0.5, 0.6},
		{"overlapping", 2, 5, 5, 1.5, 0.3},
		{"noise, high link", 3, 3, 8, 1.2, 0.6},
		{"all merge", 4, 2, 5, 0.3, -0.99},
		{"nothing merges", 5, 3, 4, 0.5, 1},
		{"random", 6, 1, 40, 4, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, 9))
			vs, _ := blobs(rng, tc.k, tc.n, 16, tc.noise)
			got := AverageLink(vs, tc.link)
			want := naiveAverageLink(vs, tc.link)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("nearest-neighbour chain\n %v\ntextbook\n %v", got, want)
			}
		})
	}
	if AverageLink(nil, 0.5) != nil {
		t.Error("no vectors, want no clusters")
	}
}

func TestAverageLinkSplitsAndIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	vs, truth := blobs(rng, 3, 10, 32, 0.6)
	a := AverageLink(vs, 0.5)
	if len(a) != 3 {
		t.Fatalf("%d clusters, want 3: %v", len(a), a)
	}
	for _, c := range a {
		for _, i := range c {
			if truth[i] != truth[c[0]] {
				t.Fatalf("cluster %v mixes blobs", c)
			}
		}
	}
	if b := AverageLink(vs, 0.5); !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs differ:\n%v\n%v", a, b)
	}
	// The partition does not depend on the input order (no ties in random data).
	perm := rng.Perm(len(vs))
	pv := make([][]float32, len(vs))
	for i, p := range perm {
		pv[i] = vs[p]
	}
	partition := func(cl [][]int, idx func(int) int) map[int]int {
		m := map[int]int{}
		for _, c := range cl {
			lo := len(vs)
			for _, i := range c {
				lo = min(lo, idx(i))
			}
			for _, i := range c {
				m[idx(i)] = lo
			}
		}
		return m
	}
	if pa, pb := partition(a, func(i int) int { return i }), partition(AverageLink(pv, 0.5), func(i int) int { return perm[i] }); !reflect.DeepEqual(pa, pb) {
		t.Fatalf("permuted input gives another partition")
	}
}

func TestDedup(t *testing.T) {
	a := unit([]float32{1, 0, 0})
	a2 := unit([]float32{1, 0.05, 0}) // cosine 0.9988 with a
	b := unit([]float32{0, 1, 0})
	c := unit([]float32{0.7, 0.7, 0}) // cosine 0.707 with a and b
	for _, tc := range []struct {
		name      string
		vs        [][]float32
		images    []int
		threshold float32
		window    int
		want      []int
	}{
		{"consecutive frames", [][]float32{a, a2, a, b}, []int{0, 1, 2, 3}, 0.95, 8, []int{-1, 0, 0, -1}},
		{"same image overlapping windows", [][]float32{a, a2, b}, []int{0, 0, 0}, 0.95, 0, []int{-1, 0, -1}},
		{"beyond the window", [][]float32{a, b, b, a}, []int{0, 1, 2, 3}, 0.95, 2, []int{-1, -1, 1, -1}},
		{"within the window", [][]float32{a, b, b, a}, []int{0, 1, 2, 3}, 0.95, 3, []int{-1, -1, 1, 0}},
		{"threshold", [][]float32{a, c, b}, []int{0, 1, 2}, 0.7, 8, []int{-1, 0, -1}},
		{"off above 1", [][]float32{a, a}, []int{0, 1}, 1.01, 8, []int{-1, -1}},
		{"best match wins", [][]float32{a, c, a2}, []int{0, 0, 0}, 0.6, 1, []int{-1, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Dedup(tc.vs, tc.images, tc.threshold, tc.window); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Dedup = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCohesionAndScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	vs, _ := blobs(rng, 1, 6, 8, 1)
	idx := []int{0, 2, 3, 5}
	mean, c := cohesion(vs, idx)
	var s float64
	n := 0
	for i := range idx {
		for j := i + 1; j < len(idx); j++ {
			s += float64(dot32(vs[idx[i]], vs[idx[j]]))
			n++
		}
	}
	if math.Abs(float64(c)-s/float64(n)) > 1e-5 {
		t.Errorf("cohesion %v, brute force %v", c, s/float64(n))
	}
	if _, c1 := cohesion(vs, []int{4}); c1 != 1 {
		t.Errorf("one member: cohesion %v", c1)
	}
	if sc := scoreTo(vs[0], mean); sc <= 0 || sc > 1.0001 {
		t.Errorf("score %v", sc)
	}
	if sc := scoreTo(vs[0], make([]float64, 8)); sc != 0 {
		t.Errorf("score against a zero sum: %v", sc)
	}
}
