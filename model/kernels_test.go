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
	for _, sz := range [][3]int{{1, 1, 1}, {4, 16, 3}, {5, 7, 9}, {13, 33, 27}, {24, 2304, 27}, {64, 36, 576}, {3, 9, 128}, {128, 1, 64}, {16, 49, 96}, {8, 196, 32}, {12, 23, 5}, {4, 11, 4}, {64, 49, 192}, {36, 50, 9}, {20, 51, 16}, {8, 57, 3},
		// B over gemmColBlockMin: column blocks (the last one partial), a partial last panel.
		{26, 8200, 17}, {8, 1200, 144}, {6, 2400, 96}} {
		m, n, k := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("gemm%dx%dx%d", m, n, k), func(t *testing.T) {
			a := randSlice(r, m*k, 1)
			b := randSlice(r, k*n, 1)
			bias := randSlice(r, m, 1)
			ap := packA(a, m, k)
			got := make([]float32, m*n)
			want := make([]float32, m*n)
			offs := rowOffsets(k, n)
			inf := float32(math.Inf(1))
			gemm(ap, m, n, k, b, offs, got, bias, -inf, inf)
			gemmGeneric(ap, m, n, k, b, offs, want, bias, -inf, inf)
			// The SIMD kernels sum in another order (by vector lanes, in groups of four K
			// steps): the rounding difference grows with the square root of K.
			tol := 1e-5 * max(1, math.Sqrt(float64(k))/8)
			if i, ok := closeEnough(got, want, tol); !ok {
				t.Fatalf("element %d: got %v want %v", i, got[i], want[i])
			}
			// With capacity past B's end (as the plan's arenas leave it) the 128-bit build
			// computes the column tail as whole tiles (gemm4Tail): what lies there (NaN
			// here) must not reach the result, nor anything be written past C.
			bs := append(make([]float32, 0, k*n+arenaSlack), b...)
			nan := float32(math.NaN())
			for i := len(bs); i < cap(bs); i++ {
				bs = append(bs, nan)
			}
			bs = bs[:k*n]
			cs := make([]float32, m*n+1)
			cs[m*n] = 42
			gemm(ap, m, n, k, bs, offs, cs[:m*n], bias, -inf, inf)
			if i, ok := closeEnough(cs[:m*n], want, tol); !ok || cs[m*n] != 42 {
				t.Fatalf("with B slack: element %d: got %v want %v", i, cs[i], want[i])
			}
			// The fused epilogues: Relu, Clip(0, 0.5), bias-free Clips (lo < 0 and lo = 0).
			for _, ep := range []struct {
				bias   []float32
				lo, hi float32
			}{{bias, 0, inf}, {bias, 0, 0.5}, {nil, -0.25, 0.25}, {nil, 0, 1}} {
				wantEp := make([]float32, m*n)
				gemm(ap, m, n, k, bs, offs, cs[:m*n], ep.bias, ep.lo, ep.hi)
				gemmGeneric(ap, m, n, k, b, offs, wantEp, ep.bias, ep.lo, ep.hi)
				if i, ok := closeEnough(cs[:m*n], wantEp, tol); !ok || cs[m*n] != 42 {
					t.Fatalf("epilogue %v %v: element %d: got %v want %v", ep.lo, ep.hi, i, cs[i], wantEp[i])
				}
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
			scale(got, x, -0.7)
			scaleGeneric(want, x, -0.7)
			if i, ok := closeEnough(got, want, 0); !ok {
				t.Fatalf("scale n=%d element %d: %v vs %v", n, i, got[i], want[i])
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
		for _, rows := range []int{1, 3} { // several rows of n samples, 5 apart in the output
			s := randSlice(r, rows*(n+2), 1)
			ga, gb := make([]float32, rows*(n/2+5)), make([]float32, rows*(n/2+5))
			wa, wb := append([]float32(nil), ga...), append([]float32(nil), gb...)
			dealRows(ga, gb, n/2+5, s, n+2, rows, n)
			dealRowsGeneric(wa, wb, n/2+5, s, n+2, rows, n)
			if _, ok := closeEnough(append(ga, gb...), append(wa, wb...), 0); !ok {
				t.Fatalf("dealRows n=%d rows=%d: %v %v vs %v %v", n, rows, ga, gb, wa, wb)
			}
			if n > 0 && (wa[0] != s[0] || (n%2 == 1 && wa[n/2] != s[n-1])) {
				t.Fatalf("dealRowsGeneric n=%d: %v from %v", n, wa, s)
			}
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
			f    func([]float32, int, int, int, []float32, []int32, []float32, []float32, float32, float32)
		}{{"build", gemm}, {"generic", gemmGeneric}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl.name, m, n, k), func(b *testing.B) {
				for b.Loop() {
					impl.f(a, m, n, k, bb, offs, c, nil, float32(math.Inf(-1)), float32(math.Inf(1)))
				}
				b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// The depthwise kernels (dw3x3 of the build: SIMD natively and in wasm, or the scalar
// fallback; and dw3x3Scalar, which SIMD builds use for narrow rows) agree with dwGeneric on
// channel planes laid out as depthwise lays them out: strides 1 and 2, symmetric and
// asymmetric (Keras "same" bottom/right) pads, odd and tiny sizes, one to three channels
// per call, with and without bias, random data, and the epilogues none, Relu, Clip(0, 6)
// and a clip below zero. Sums run in another order, hence the tolerance.
func TestDepthwiseKernelsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	inf := float32(math.Inf(1))
	for _, side := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 14, 15, 16, 17, 28, 31, 56, 57} {
		for _, s := range []int{1, 2} {
			for _, pads := range [][4]int{{1, 1, 1, 1}, {0, 0, 1, 1}, {0, 0, 0, 0}, {1, 0, 2, 1}} {
				for _, width := range []int{side, side + 3} {
					if side+pads[0]+pads[2] < 3 || width+pads[1]+pads[3] < 3 {
						continue
					}
					nc := 1 + (side+width+s)%3
					op := convOp(r, 0, nc, nc, 3, s, nc, pads, Act{})
					in := Shape{nc, side, width}
					out := Shape{nc, (side+pads[0]+pads[2]-3)/s + 1, (width+pads[1]+pads[3]-3)/s + 1}
					l := newDwLayout(&op, in, out)
					ph := make([]float32, nc*l.plane+l.phaseLen-l.group*l.plane) // all nc channels, slack as planned
					x := randSlice(r, in.Size(), 2)
					for c := 0; c < nc; c++ {
						splitPhases(ph[c*l.plane:], x[c*side*width:(c+1)*side*width], 1, side, width, &op, l)
					}
					for bi, bounds := range [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {-0.5, 0.5}} {
						w := randSlice(r, 9*nc, 1)
						var bias []float32
						if bi%2 == 0 {
							bias = randSlice(r, nc, 0.5)
						}
						oh, ow := out[1], out[2]
						want := make([]float32, nc*oh*ow)
						for c := 0; c < nc; c++ {
							dwGeneric(want[c*oh*ow:(c+1)*oh*ow], oh, ow, ph[c*l.plane:], l.pws, l.offs, w[9*c:9*c+9], at(bias, c), bounds[0], bounds[1])
						}
						got := make([]float32, nc*oh*ow+1)
						got[nc*oh*ow] = 42 // nothing is written past the channels
						tmp := make([]float32, l.tmpLen)
						dw3x3(got[:nc*oh*ow], nc, oh, ow, ph, l.plane, l.pws, (*[9]int32)(l.offs), w, bias, bounds[0], bounds[1], tmp)
						name := fmt.Sprintf("%dx%d s%d pads %v x%d clamp %v", side, width, s, pads, nc, bounds)
						if i, ok := closeEnough(got[:nc*oh*ow], want, 1e-6); !ok || got[nc*oh*ow] != 42 {
							t.Fatalf("dw3x3 %s: element %d: %v, want %v", name, i, got[i], want[i])
						}
						dw3x3Scalar(got, nc, oh, ow, ph, l.plane, l.pws, (*[9]int32)(l.offs), w, bias, bounds[0], bounds[1])
						if i, ok := closeEnough(got[:nc*oh*ow], want, 1e-6); !ok {
							t.Fatalf("dw3x3Scalar %s: element %d: %v, want %v", name, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 33, 49, 100} {
		x := randSlice(r, n, 8)
		for _, bounds := range [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {1, -1}, {0.5, 2}, {0, -1}, {-2, 0}} {
			got, want := make([]float32, n), make([]float32, n)
			biasClamp(got, x, 0.3, bounds[0], bounds[1])
			biasClampGeneric(want, x, 0.3, bounds[0], bounds[1])
			if i, ok := closeEnough(got, want, 0); !ok {
				t.Fatalf("biasClamp n=%d %v element %d: %v vs %v", n, bounds, i, got[i], want[i])
			}
			// Three rows of n with a bias each (a GEMM block's epilogue), and no bias.
			for _, bias := range [][]float32{{0.3, -2, 5}, nil} {
				rows := append(append(append([]float32(nil), x...), x...), x...)
				wantR := make([]float32, 3*n)
				for r := 0; r < 3; r++ {
					biasClampGeneric(wantR[r*n:(r+1)*n], rows[r*n:(r+1)*n], at(bias, r), bounds[0], bounds[1])
				}
				biasClampRows(rows, 3, n, bias, bounds[0], bounds[1])
				if i, ok := closeEnough(rows, wantR, 0); !ok {
					t.Fatalf("biasClampRows n=%d %v element %d: %v vs %v", n, bounds, i, rows[i], wantR[i])
				}
			}
			for i, v := range x { // and the reference is ONNX's Clip: min(max(x, lo), hi)
				if c := min(max(v+0.3, bounds[0]), bounds[1]); c != want[i] {
					t.Fatalf("biasClampGeneric(%v) = %v, want %v", v, want[i], c)
				}
			}
		}
	}
}

// BenchmarkDepthwise times the 3x3 depthwise convolutions of the MobileNetV2 student at
// 112 px (channels x output side, stride; Keras pads: 1 all round for stride 1, bottom/right
// 1 for stride 2), whole ops (phase split + kernel) through the plan.
func BenchmarkDepthwise(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, sz := range [][3]int{{32, 56, 1}, {96, 28, 2}, {144, 28, 1}, {144, 14, 2}, {192, 14, 1}, {192, 7, 2}, {384, 7, 1}, {576, 7, 1}} {
		c, side, s := sz[0], sz[1], sz[2]
		pads := [4]int{1, 1, 1, 1}
		if s == 2 {
			pads, side = [4]int{0, 0, 1, 1}, 2*side
		}
		op := convOp(r, 0, c, c, 3, s, c, pads, Act{Kind: ActClip, A: 0, B: 6})
		in := Shape{c, side, side}
		out := Shape{c, (side+pads[0]+pads[2]-3)/s + 1, (side+pads[1]+pads[3]-3)/s + 1}
		l := newDwLayout(&op, in, out)
		src, dst := randSlice(r, in.Size(), 3), make([]float32, out.Size())
		scratch := make([]float32, l.phaseLen+l.tmpLen)
		b.Run(fmt.Sprintf("%dx%dx%d-s%d", c, out[1], out[2], s), func(b *testing.B) {
			for b.Loop() {
				depthwise(&op, l, src, dst, in, out, scratch)
			}
			b.ReportMetric(float64(out.Size()*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// BenchmarkGemmPointwise times gemm on the 1x1 convolutions' shapes of the MobileNetV2
// student at 112 px (out channels x pixels x in channels).
func BenchmarkGemmPointwise(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	for _, sz := range [][3]int{{96, 3136, 16}, {16, 3136, 32}, {24, 784, 96}, {144, 784, 24}, {32, 196, 144}, {192, 196, 32}, {64, 49, 192}, {384, 49, 64}, {576, 49, 96}, {96, 49, 576}} {
		m, n, k := sz[0], sz[1], sz[2]
		// B with the slack capacity the plan's arenas leave (see arenaSlack); Relu6 epilogue.
		a, bb := packA(randSlice(r, m*k, 1), m, k), append(make([]float32, 0, k*n+arenaSlack), randSlice(r, k*n, 1)...)
		c, bias := make([]float32, m*n), randSlice(r, m, 1)
		offs := rowOffsets(k, n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				gemm(a, m, n, k, bb, offs, c, bias, 0, 6)
			}
			b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
