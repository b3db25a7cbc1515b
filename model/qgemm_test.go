package model

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// int8Weights returns m x k weights that are exactly int8 per row (what a -int8 file
// dequantises to).
func int8Weights(r *rand.Rand, m, k int) []float32 {
	w := make([]float32, m*k)
	for i := 0; i < m; i++ {
		s := float32(r.Float64()*0.02 + 0.001)
		for j := 0; j < k; j++ {
			w[i*k+j] = float32(r.Intn(255)-127) * s
		}
		w[i*k+r.Intn(k)] = 127 * s // the row's max, as the quantiser leaves it
	}
	return w
}

// The integer GEMM: the build's run is bit for bit its reference, and both stay within the
// input's quantisation error of the float GEMM on the same weights, over shapes that
// exercise odd k (a zero pair half), partial panels, column tails and several column blocks.
func TestQgemmMatchesReferenceAndFloat(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		m, n, k int
		lo, hi  float32
		bound   float32 // the producer's clip (inputs in [0, bound]), or 0
	}{
		{4, 8, 2, -inf, inf, 0}, {1, 1, 1, -inf, inf, 0}, {5, 13, 3, 0, inf, 0}, {24, 4096, 144, 0, 6, 6},
		{96, 300, 16, 0, 6, 0}, {6, 49, 576, -inf, inf, 0}, {13, 2500, 27, 0, inf, 0}, {8, 9000, 9, -inf, inf, 6},
		{7, 21, 5, -1, 2, 0},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", tc.m, tc.n, tc.k), func(t *testing.T) {
			w := int8Weights(r, tc.m, tc.k)
			g := newQgemm(w, tc.m, tc.k)
			if g == nil {
				t.Fatal("exactly-int8 weights refused")
			}
			b := randSlice(r, tc.k*tc.n, 3)
			if tc.bound > 0 {
				for i, v := range b {
					b[i] = float32(math.Abs(float64(v))) // within [0, 3] of the bound 6
				}
			}
			bias := randSlice(r, tc.m, 1)
			offs := rowOffsets(tc.k, tc.n)
			got := make([]float32, tc.m*tc.n)
			want := make([]float32, tc.m*tc.n)
			g.run(tc.n, b, offs, got, tc.n, bias, tc.lo, tc.hi, make([]float32, g.scratchLen(tc.n)), tc.bound)
			g.runGeneric(tc.n, b, offs, want, tc.n, bias, tc.lo, tc.hi, tc.bound)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("element %d: run %v, reference %v", i, got[i], want[i])
				}
			}
			fl := make([]float32, tc.m*tc.n)
			gemmGeneric(packA(w, tc.m, tc.k), tc.m, tc.n, tc.k, b, offs, fl, bias, tc.lo, tc.hi)
			// Each input is off by at most amax/qmax/2; over k products with |w| <= 127*s.
			amax := float64(max(tc.bound, inputAmax(tc.n, tc.k, b, offs)))
			for i := range got {
				s := float64(g.scale[i/tc.n])
				tol := float64(tc.k)*127*s*amax/float64(g.qmax)/2 + 1e-5*(1+math.Abs(float64(fl[i])))
				if d := math.Abs(float64(got[i] - fl[i])); d > tol {
					t.Fatalf("element %d: %v vs float %v (|d| %g > %g)", i, got[i], fl[i], d, tol)
				}
			}
		})
	}
}

func TestQgemmRefusesFloatWeights(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	if newQgemm(randSlice(r, 8*16, 1), 8, 16) != nil {
		t.Fatal("float32 weights taken as int8")
	}
}

// A zero input gives the bias; a non-finite one NaN everywhere (not a wrapped integer).
func TestQgemmSpecialInputs(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	m, n, k := 4, 10, 6
	g := newQgemm(int8Weights(r, m, k), m, k)
	inf := float32(math.Inf(1))
	bias := []float32{1, -2, 3, 0.5}
	c := make([]float32, m*n)
	g.run(n, make([]float32, k*n), rowOffsets(k, n), c, n, bias, -inf, inf, make([]float32, g.scratchLen(n)), 0)
	for i, v := range c {
		if v != bias[i/n] {
			t.Fatalf("zero input: element %d = %v, want bias %v", i, v, bias[i/n])
		}
	}
	b := make([]float32, k*n)
	b[5] = inf
	g.run(n, b, rowOffsets(k, n), c, n, bias, -inf, inf, make([]float32, g.scratchLen(n)), 0)
	for i, v := range c {
		if v == v {
			t.Fatalf("infinite input: element %d = %v, want NaN", i, v)
		}
	}
}

// An int8 file's plan runs its GEMM convolutions on the integer GEMM where the build has it
// (SIMD wasm), on the float one elsewhere, and either way agrees with the naive executor on
// the file's own (dequantised) weights.
func TestInt8FilePlanUsesQgemm(t *testing.T) {
	for name, g := range map[string]*Graph{"testGraph": testGraph(11, 29), "branchGraph": branchGraph(12, 24)} {
		file, err := Encode(g, EncodeOptions{Int8: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		onQ, gemms := 0, 0
		for i, l := range m.plan.layout {
			if l != nil && l.wino == nil && !isDepthwise(&m.plan.ops[i], m.plan.shapes[m.plan.ops[i].In[0]]) {
				gemms++
				if m.plan.q[i] != nil {
					onQ++
				}
			}
		}
		if want := map[bool]int{true: gemms, false: 0}[qgemmOn]; gemms == 0 || onQ != want {
			t.Fatalf("%s: %d of %d GEMM convolutions on the integer GEMM, want %d", name, onQ, gemms, want)
		}
		in := testInput(13, m.InputLen())
		got, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveForward(m.Graph(), in)
		if i, ok := closeEnough(got, want, 1e-3); !ok {
			t.Fatalf("%s: output %d: plan %v, naive %v", name, i, got[i], want[i])
		}
	}
}

// A K so large that the int32 sums would leave the inputs fewer bits than int8 keeps the float
// GEMM.
func TestQgemmRefusesHugeK(t *testing.T) {
	k := math.MaxInt32/(127*127) + 2
	if newQgemm(make([]float32, k), 1, k) != nil {
		t.Fatalf("k = %d taken", k)
	}
}

// addActAmax is addActGeneric that also returns the largest |output|, NaN included, on every
// length (vector body and tail). (The wasm addAct it replaces in plans gives the same values; the
// native SIMD one's max lets NaN through Relu as 0, which is why the reference is the generic.)
func TestAddActAmax(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, n := range []int{0, 1, 3, 4, 5, 8, 13, 64, 1001} {
		for _, relu := range []bool{false, true} {
			for _, nan := range []bool{false, true} {
				a, b := randSlice(r, n, 3), randSlice(r, n, 3)
				if nan && n > 0 {
					a[r.Intn(n)] = float32(math.NaN())
				}
				got, want := make([]float32, n), make([]float32, n)
				m := addActAmax(got, a, b, relu)
				addActGeneric(want, a, b, relu)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d relu=%v element %d: %v, addActGeneric %v", n, relu, i, got[i], want[i])
					}
				}
				if w := maxAbs(want); m != w && !(m != m && w != w) {
					t.Fatalf("n=%d relu=%v nan=%v: amax %v, want %v", n, relu, nan, m, w)
				}
			}
		}
	}
}

// A residual join read by an integer kernel gives it its input's largest |x| (no pass of the
// kernel's own), in SIMD wasm; the output is the same bit for bit as without.
func TestResidualGivesIntegerBound(t *testing.T) {
	r := rand.New(rand.NewSource(22))
	relu := Act{Kind: ActRelu}
	g := &Graph{InputC: 3, InputH: 16, InputW: 16, Mean: half, Std: half}
	g.Ops = []Op{
		convOp(r, 0, 3, 8, 3, 1, 1, [4]int{1, 1, 1, 1}, relu),
		convOp(r, 1, 8, 8, 1, 1, 1, [4]int{}, Act{}),
		{Kind: OpAdd, In: [2]int{2, 1}, Act: relu},
		convOp(r, 3, 8, 12, 1, 1, 1, [4]int{}, Act{Kind: ActClip, A: 0, B: 6}),
		convOp(r, 3, 8, 8, 3, 2, 8, [4]int{0, 0, 1, 1}, Act{}),
		{Kind: OpFlatten, In: [2]int{5, -1}},
	}
	file, err := Encode(g, EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if m.plan.amaxOf[3] != qgemmOn {
		t.Fatalf("the join's bound used: %v, want %v", m.plan.amaxOf[3], qgemmOn)
	}
	in := testInput(5, m.InputLen())
	got, err := m.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	got = append([]float32(nil), got...)
	without := *m.plan
	without.amaxOf = make([]bool, len(without.shapes))
	want := without.run(without.newArena(), in)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("element %d: %v with the join's bound, %v without", i, got[i], want[i])
		}
	}
}
