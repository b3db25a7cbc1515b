package collect

import (
	"math"
	"sort"
)

// Dedup marks near-duplicates: vectors[i] (L2-normalised) is a duplicate when its cosine with an
// earlier kept vector of the same image or of the window images before it reaches threshold.
// image[i] is the index of vector i's image, non-decreasing (walk order: consecutive video frames
// are consecutive images). It returns, for each vector, -1 when kept or the index of the kept
// vector it duplicates. The earliest of a run of near-identical frames is kept.
//
// Comparing within a window of images, not against everything kept, keeps the cost linear in the
// number of images; the clustering that follows groups far-apart repeats anyway.
func Dedup(vectors [][]float32, image []int, threshold float32, window int) []int {
	dupOf := make([]int, len(vectors))
	var kept []int // kept indices, in order
	first := 0     // first position in kept that may be within the window
	for i, v := range vectors {
		dupOf[i] = -1
		for first < len(kept) && image[kept[first]] < image[i]-window {
			first++
		}
		best, bs := -1, float32(math.Inf(-1))
		for _, k := range kept[first:] {
			if s := dot32(v, vectors[k]); s > bs {
				best, bs = k, s
			}
		}
		if best >= 0 && bs >= threshold {
			dupOf[i] = best
			continue
		}
		kept = append(kept, i)
	}
	return dupOf
}

// AverageLink groups L2-normalised vectors by agglomerative average-link clustering on cosine
// similarity, merging while the best pair of clusters has an average pairwise cosine of at
// least link. It returns the clusters as index lists (each ascending), biggest first, ties by
// smallest index. The result depends only on the vectors and their order.
//
// Average link needs no similarity matrix: for unit vectors the mean pairwise cosine of two
// clusters is sumA·sumB / (|A|·|B|), so each cluster is its sum and size. The merge order is
// found with the nearest-neighbour chain (average link is reducible, so the chain gives exactly
// the dendrogram of the textbook algorithm): O(n²·dim) time and O(n·dim) memory. A cluster whose
// best partner is below link can never reach it later (a merge's similarity to a third cluster
// is a weighted mean of the two it replaced), so it is set aside at once: that is the cut.
func AverageLink(vectors [][]float32, link float32) [][]int {
	n := len(vectors)
	if n == 0 {
		return nil
	}
	dim := len(vectors[0])
	sums := make([][]float64, n)
	size := make([]int, n)
	members := make([][]int, n)
	for i, v := range vectors {
		s := make([]float64, dim)
		for j, x := range v {
			s[j] = float64(x)
		}
		sums[i], size[i], members[i] = s, 1, []int{i}
	}
	sim := func(a, b int) float64 {
		var d float64
		sa, sb := sums[a], sums[b]
		for j := range sa {
			d += sa[j] * sb[j]
		}
		return d / float64(size[a]*size[b])
	}
	active := make([]int, n) // ascending cluster ids
	for i := range active {
		active[i] = i
	}
	remove := func(c int) {
		i := sort.SearchInts(active, c)
		active = append(active[:i], active[i+1:]...)
	}
	var done [][]int
	var chain []int
	t := float64(link)
	for len(active) > 0 {
		if len(chain) == 0 {
			chain = append(chain, active[0])
		}
		top := chain[len(chain)-1]
		best, bs := -1, math.Inf(-1)
		for _, c := range active {
			if c == top {
				continue
			}
			if s := sim(top, c); s > bs {
				best, bs = c, s
			}
		}
		// On a tie, prefer the previous chain element, or the chain could cycle.
		if len(chain) >= 2 {
			if prev := chain[len(chain)-2]; sim(top, prev) >= bs {
				best, bs = prev, sim(top, prev)
			}
		}
		if best < 0 || bs < t {
			// top can never merge again; everything under it in the chain pointed to it with a
			// similarity >= t, which top's best would match, so the chain is just top.
			done = append(done, members[top])
			remove(top)
			chain = chain[:0]
			continue
		}
		if len(chain) >= 2 && best == chain[len(chain)-2] {
			a, b := min(top, best), max(top, best)
			for j := range sums[a] {
				sums[a][j] += sums[b][j]
			}
			size[a] += size[b]
			members[a] = append(members[a], members[b]...)
			sums[b], members[b] = nil, nil
			remove(b)
			chain = chain[:len(chain)-2]
			continue
		}
		chain = append(chain, best)
	}
	for _, m := range done {
		sort.Ints(m)
	}
	sort.SliceStable(done, func(i, j int) bool {
		if len(done[i]) != len(done[j]) {
			return len(done[i]) > len(done[j])
		}
		return done[i][0] < done[j][0]
	})
	return done
}

// cohesion is the mean pairwise cosine of unit vectors (1 for one vector): (|Σv|² - n) / (n(n-1)).
func cohesion(vs [][]float32, idx []int) (mean []float64, c float32) {
	if len(idx) == 0 {
		return nil, 0
	}
	mean = make([]float64, len(vs[idx[0]]))
	var self float64
	for _, i := range idx {
		for j, x := range vs[i] {
			mean[j] += float64(x)
			self += float64(x) * float64(x)
		}
	}
	if len(idx) == 1 {
		return mean, 1
	}
	var s2 float64
	for _, x := range mean {
		s2 += x * x
	}
	n := float64(len(idx))
	return mean, float32((s2 - self) / (n * (n - 1)))
}

// scoreTo is the cosine between v and the direction of sum.
func scoreTo(v []float32, sum []float64) float32 {
	var d, n float64
	for j, x := range sum {
		d += float64(v[j]) * x
		n += x * x
	}
	if n == 0 {
		return 0
	}
	return float32(d / math.Sqrt(n))
}

func dot32(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
