package track

import "math"

// assign solves the rectangular assignment problem on an n x m row-major cost matrix: it
// returns, for each row, its column (-1 when n > m left it out), minimising the total cost.
//
// Why optimal (Hungarian, O(n^2 m)) rather than greedy: greedy takes the cheapest pair first,
// and that is exactly wrong when two faces cross, where one detection is close to both
// predictions and the greedy pick can leave the other track with a worse (or no) match and swap
// the two. With at most MaxTracks rows and the detector's 100 boxes this costs microseconds.
// Refused pairs carry the constant cost forbidden, so the solution first has as few of them as
// possible (the most admissible matches), then the lowest cost; the caller drops them.
func assign(cost []float64, n, m int) []int {
	if n > m {
		t := make([]float64, n*m)
		for i := range n {
			for j := range m {
				t[j*n+i] = cost[i*m+j]
			}
		}
		cols := assign(t, m, n)
		rows := make([]int, n)
		for i := range rows {
			rows[i] = -1
		}
		for j, i := range cols {
			if i >= 0 {
				rows[i] = j
			}
		}
		return rows
	}
	// The Hungarian method with potentials: one shortest augmenting path per row (1-based,
	// column 0 is the virtual start).
	inf := math.Inf(1)
	u := make([]float64, n+1)
	v := make([]float64, m+1)
	p := make([]int, m+1) // p[j]: the row assigned to column j
	way := make([]int, m+1)
	minv := make([]float64, m+1)
	used := make([]bool, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j], used[j] = inf, false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], inf, 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				if cur := cost[(i0-1)*m+j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = -1
	}
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			rows[p[j]-1] = j - 1
		}
	}
	return rows
}
