package model

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func closeEnough(a, b []float32, tol float64) (int, bool) {
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		if d > tol*(1+math.Abs(float64(b[i]))) {
			return i, false
		}
	}
	return -1, true
}

// The build's gemm/madd/dot (SIMD with GOEXPERIMENT=simd) agree with the portable references
// on shapes that exercise every tile and tail path. Float sums may differ in order, hence a
// relative tolerance.
func TestKernelsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, sz := range [][3]int{{1, 1, 1}, {4, 16, 3}, {5, 7, 9}, {13, 33, 27}, {24, 2304, 27}, {64, 36, 576}, {3, 9, 128}, {128, 1, 64}} {
		m, n, k := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("gemm%dx%dx%d", m, n, k), func(t *testing.T) {
			a := randSlice(r, m*k, 1)
			b := randSlice(r, k*n, 1)
			bias := randSlice(r, m, 1)
			ap := packA(a, m, k)
			got := make([]float32, m*n)
			want := make([]float32, m*n)
			offs := rowOffsets(k, n)
			gemm(ap, m, n, k, b, offs, got, bias)
			gemmGeneric(ap, m, n, k, b, offs, want, bias)
			// The SIMD kernels sum in another order (by vector lanes, in groups of four K
			// steps): the rounding difference grows with the square root of K.
			if i, ok := closeEnough(got, want, 1e-5*max(1, math.Sqrt(float64(k))/8)); !ok {
				t.Fatalf("element %d: got %v want %v", i, got[i], want[i])
			}
			// And the reference itself against the plain triple loop.
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := bias[i]
					for kk := 0; kk < k; kk++ {
						s += a[i*k+kk] * b[kk*n+j]
					}
					if math.Abs(float64(s-want[i*n+j])) > 1e-4*(1+math.Abs(float64(s))) {
						t.Fatalf("gemmGeneric[%d,%d] = %v, triple loop %v", i, j, want[i*n+j], s)
					}
				}
			}
		})
	}
	for _, n := range []int{0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 100} {
		src := randSlice(r, n, 1)
		got := randSlice(r, n, 1)
		want := append([]float32(nil), got...)
		madd(got, src, 0.7)
		maddGeneric(want, src, 0.7)
		if i, ok := closeEnough(got, want, 1e-6); !ok {
			t.Fatalf("madd n=%d element %d: %v vs %v", n, i, got[i], want[i])
		}
		x := randSlice(r, n, 1)
		sv, sumG := make([]float32, n), make([]float32, n)
		add(sv, x, src)
		addGeneric(sumG, x, src)
		relu(sv)
		reluGeneric(sumG)
		if i, ok := closeEnough(sv, sumG, 0); !ok {
			t.Fatalf("add+relu n=%d element %d: %v vs %v", n, i, sv[i], sumG[i])
		}
		for _, rl := range []bool{false, true} {
			got, want := make([]float32, n), make([]float32, n)
			biasAct(got, x, 0.3, rl)
			biasActGeneric(want, x, 0.3, rl)
			if i, ok := closeEnough(got, want, 0); !ok {
				t.Fatalf("biasAct n=%d relu=%v element %d: %v vs %v", n, rl, i, got[i], want[i])
			}
			addAct(got, x, src, rl)
			addActGeneric(want, x, src, rl)
			if i, ok := closeEnough(got, want, 0); !ok {
				t.Fatalf("addAct n=%d relu=%v element %d: %v vs %v", n, rl, i, got[i], want[i])
			}
		}
		if s, g := sum(x), sumGeneric(x); math.Abs(float64(s-g)) > 1e-5*float64(n+1) {
			t.Fatalf("sum n=%d: %v vs %v", n, s, g)
		}
		ev, od := make([]float32, (n+1)/2), make([]float32, n/2)
		evG, odG := make([]float32, (n+1)/2), make([]float32, n/2)
		deal(ev, od, x)
		dealGeneric(evG, odG, x)
		if _, ok := closeEnough(append(ev[:n/2], od...), append(evG[:n/2], odG...), 0); !ok {
			t.Fatalf("deal n=%d: %v %v vs %v %v", n, ev, od, evG, odG)
		}
		a, b := randSlice(r, n, 1), randSlice(r, n, 1)
		if d, g := dot(a, b), dotGeneric(a, b); math.Abs(float64(d-g)) > 1e-5*float64(n+1) {
			t.Fatalf("dot n=%d: %v vs %v", n, d, g)
		}
	}
}

func TestAvgBytesMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 1000} {
		a, b := make([]byte, n), make([]byte, n)
		r.Read(a)
		r.Read(b)
		got, want := make([]byte, n), make([]byte, n)
		avgBytes(got, a, b)
		avgBytesGeneric(want, a, b)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n=%d byte %d: avg(%d,%d) = %d, want %d", n, i, a[i], b[i], got[i], want[i])
			}
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	// Shapes of the bench network's convolutions at 96 px (out channels x pixels x K).
	for _, sz := range [][3]int{{24, 2304, 27}, {32, 576, 288}, {64, 144, 576}, {128, 36, 1152}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, bb := packA(randSlice(r, m*k, 1), m, k), randSlice(r, k*n, 1)
		c := make([]float32, m*n)
		offs := rowOffsets(k, n)
		for _, impl := range []struct {
			name string
			f    func([]float32, int, int, int, []float32, []int32, []float32, []float32)
		}{{"build", gemm}, {"generic", gemmGeneric}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl.name, m, n, k), func(b *testing.B) {
				for b.Loop() {
					impl.f(a, m, n, k, bb, offs, c, nil)
				}
				b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
