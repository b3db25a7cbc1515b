package model

import (
	"fmt"
	"math/rand"
	"testing"
)

// Winograd convolutions (3x3, stride 1, pad 1) agree with the naive loops, over channel
// counts that leave partial weight panels and map sizes that leave padded tiles (odd sides:
// a last tile row and column half outside the output), with and without bias and ReLU.
func TestWinogradMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, sz := range [][3]int{{2, 3, 8}, {4, 8, 3}, {6, 5, 130}, {8, 16, 16}, {12, 4, 7}, {24, 32, 32}, {6, 128, 128}, {10, 2, 2}, {7, 128, 128}, {7, 5, 9}, {3, 4, 4}, {5, 8, 12}, {13, 3, 6}} {
		side, ic, oc := sz[0], sz[1], sz[2]
		for _, act := range []Act{{}, {Kind: ActRelu}, {Kind: ActClip, A: -0.1, B: 0.2}} {
			t.Run(fmt.Sprintf("%dpx-%dto%d-act%d", side, ic, oc, act.Kind), func(t *testing.T) {
				// The input has 3 channels: a 1x1 convolution makes ic of them.
				g := &Graph{InputC: 3, InputH: side, InputW: side, Mean: half, Std: half}
				g.Ops = []Op{convOp(r, 0, 3, ic, 1, 1, 1, [4]int{}, Act{}), convOp(r, 1, ic, oc, 3, 1, 1, [4]int{1, 1, 1, 1}, act),
					{Kind: OpFlatten, In: [2]int{2, -1}}}
				m, err := FromGraph(g)
				if err != nil {
					t.Fatal(err)
				}
				if m.plan.layout[1].wino == nil {
					t.Fatal("plan does not use Winograd")
				}
				in := testInput(int64(side), m.InputLen())
				got, err := m.Forward(in)
				if err != nil {
					t.Fatal(err)
				}
				want := naiveForward(g, in)
				if i, ok := closeEnough(got, want, 1e-4); !ok {
					t.Fatalf("output %d: %v, want %v", i, got[i], want[i])
				}
			})
		}
	}
}

// The build's Winograd transforms agree with the references.
func TestWinoKernelsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	for _, nt := range []int{4, 8, 12} {
		pw2 := nt + 4
		e, o := randSlice(r, 4*pw2, 1), randSlice(r, 4*pw2, 1)
		stride := nt + 3
		got, want := make([]float32, 16*stride), make([]float32, 16*stride)
		winoIn(got, stride, e, o, pw2, nt)
		winoInGeneric(want, stride, e, o, pw2, nt)
		if i, ok := closeEnough(got, want, 0); !ok {
			t.Fatalf("winoIn nt=%d element %d: %v vs %v", nt, i, got[i], want[i])
		}
		m := randSlice(r, 16*stride, 1)
		for _, valid := range []int{nt, nt - 1, nt - 3} {
			for _, relu := range []bool{false, true} {
				ow := 2*nt + 1
				got, want := randSlice(r, 2*ow, 1), make([]float32, 2*ow)
				copy(want, got)
				winoOut(got, ow, m, stride, valid, 0.25, relu)
				winoOutGeneric(want, ow, m, stride, valid, 0.25, relu)
				if i, ok := closeEnough(got, want, 1e-6); !ok {
					t.Fatalf("winoOut nt=%d valid=%d relu=%v element %d: %v vs %v", nt, valid, relu, i, got[i], want[i])
				}
			}
		}
	}
}

// A convolution whose Winograd scratch would pass the size cap keeps the direct plan, so
// that models that loaded before Winograd still load.
func TestWinogradKeepsSizeCap(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	g := &Graph{InputC: 3, InputH: 388, InputW: 388, Mean: half, Std: half}
	g.Ops = []Op{convOp(r, 0, 3, 20, 3, 1, 1, [4]int{1, 1, 1, 1}, Act{}), {Kind: OpFlatten, In: [2]int{1, -1}}}
	m, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	p := m.plan
	if w := newWinoLayout(&p.ops[0], p.shapes[0], p.shapes[1]); p.bnActs+w.scratchLen(3, 20) <= maxTotalElems {
		t.Fatal("test case does not reach the cap with Winograd")
	}
	if p.layout[0].wino != nil {
		t.Fatal("Winograd planned past the size cap")
	}
	if m.plan.bnActs+m.plan.scratch > maxTotalElems {
		t.Fatalf("plan needs %d elements, cap %d", m.plan.bnActs+m.plan.scratch, maxTotalElems)
	}
}
