package model

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// The integer depthwise kernel: the build's run is bit for bit its reference, and both stay
// within the input's quantisation error of the float depthwise convolution on the same
// weights, over shapes with Keras's and symmetric padding, rows with and without a scalar
// tail (w % 8), rows narrower than one step, and output rows that are not whole vectors.
func TestQdwMatchesReferenceAndFloat(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	keras, sym := [4]int{0, 0, 1, 1}, [4]int{1, 1, 1, 1}
	clip6 := Act{Kind: ActClip, A: 0, B: 6}
	for _, tc := range []struct {
		c, h, w int
		pads    [4]int
		act     Act
		bound   float32 // the producer's clip (inputs in [0, bound]), or 0
		int8    bool    // weights exactly int8 per channel (else float32)
	}{
		{3, 16, 16, keras, clip6, 6, true}, {96, 128, 128, keras, clip6, 6, false}, {5, 9, 13, sym, Act{}, 0, true},
		{2, 7, 8, sym, Act{Kind: ActRelu}, 0, false}, {4, 5, 5, keras, clip6, 0, true}, {1, 2, 2, sym, Act{}, 0, true},
		{7, 30, 22, sym, clip6, 6, false}, {2, 3, 33, keras, Act{}, 0, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d-p%d-int8=%v", tc.c, tc.h, tc.w, tc.pads[0], tc.int8), func(t *testing.T) {
			op := convOp(r, 0, tc.c, tc.c, 3, 2, tc.c, tc.pads, tc.act)
			if tc.int8 {
				op.Weight = int8Weights(r, tc.c, 9)
			}
			in := Shape{tc.c, tc.h, tc.w}
			out := Shape{tc.c, (tc.h+tc.pads[0]+tc.pads[2]-3)/2 + 1, (tc.w+tc.pads[1]+tc.pads[3]-3)/2 + 1}
			d := newQdw(&op, in, out)
			if d == nil {
				t.Fatal("refused")
			}
			wq, wmax := float64(qdwWmax), 127.0 // steps of the weights' rounding
			if tc.int8 {
				wq = math.Inf(1) // none: taken exactly
			} else {
				wmax = qdwWmax
			}
			src := randSlice(r, in.Size(), 3)
			if tc.bound > 0 {
				for i, v := range src {
					src[i] = float32(math.Abs(float64(v))) // within [0, 3] of the bound 6
				}
			}
			lo, hi, _ := actBounds(&tc.act)
			got, want := make([]float32, out.Size()), make([]float32, out.Size())
			// Garbage in the scratch: run must clear what it relies on.
			scratch := randSlice(r, d.scratchLen(), 100)
			d.run(src, got, op.Bias, lo, hi, tc.bound, scratch)
			d.runGeneric(src, want, op.Bias, lo, hi, tc.bound)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("element %d: run %v, reference %v", i, got[i], want[i])
				}
			}
			l := newDwLayout(&op, in, out)
			fl := make([]float32, out.Size())
			depthwise(&op, l, src, fl, in, out, make([]float32, l.phaseLen+l.tmpLen))
			amax := float64(max(tc.bound, inputAmax(len(src), 1, src, []int32{0})))
			for i := range got {
				// Over 9 taps: |w| times the input's rounding plus the weight's rounding
				// (half a step of max|w|) times |x|.
				s := float64(d.scale[i/(out[1]*out[2])])
				tol := 9*(wmax*s*amax/qdwQmax/2+wmax*s*amax/wq/2) + 1e-5*(1+math.Abs(float64(fl[i])))
				if dd := math.Abs(float64(got[i] - fl[i])); dd > tol {
					t.Fatalf("element %d: %v vs float %v (|d| %g > %g)", i, got[i], fl[i], dd, tol)
				}
			}
		})
	}
}

// Kernels or strides the integer kernel does not have keep the float one.
func TestQdwRefuses(t *testing.T) {
	r := rand.New(rand.NewSource(18))
	in := Shape{4, 8, 8}
	for name, op := range map[string]Op{
		"stride 1": convOp(r, 0, 4, 4, 3, 1, 4, [4]int{1, 1, 1, 1}, Act{}),
		"5x5":      convOp(r, 0, 4, 4, 5, 2, 4, [4]int{2, 2, 2, 2}, Act{}),
	} {
		out := Shape{4, (8+op.Pads[0]+op.Pads[2]-op.KH)/op.StrideH + 1, (8+op.Pads[1]+op.Pads[3]-op.KW)/op.StrideW + 1}
		if newQdw(&op, in, out) != nil {
			t.Errorf("%s: taken", name)
		}
	}
}

// A zero input gives the bias; a non-finite one NaN everywhere.
func TestQdwSpecialInputs(t *testing.T) {
	r := rand.New(rand.NewSource(19))
	op := convOp(r, 0, 2, 2, 3, 2, 2, [4]int{1, 1, 1, 1}, Act{})
	op.Weight = int8Weights(r, 2, 9)
	in, out := Shape{2, 10, 10}, Shape{2, 5, 5}
	d := newQdw(&op, in, out)
	inf := float32(math.Inf(1))
	c := make([]float32, out.Size())
	d.run(make([]float32, in.Size()), c, op.Bias, -inf, inf, 0, make([]float32, d.scratchLen()))
	for i, v := range c {
		if v != op.Bias[i/25] {
			t.Fatalf("zero input: element %d = %v, want bias %v", i, v, op.Bias[i/25])
		}
	}
	src := make([]float32, in.Size())
	src[37] = float32(math.NaN())
	d.run(src, c, op.Bias, -inf, inf, 0, make([]float32, d.scratchLen()))
	for i, v := range c {
		if v == v {
			t.Fatalf("NaN input: element %d = %v, want NaN", i, v)
		}
	}
}
