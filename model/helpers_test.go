package model

import (
	"math/rand"
)

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

func convOp(r *rand.Rand, in, ic, oc, k, stride, group int, pads [4]int, act Act) Op {
	icg := ic / group
	return Op{
		Kind: OpConv, In: [2]int{in, -1}, Group: group, StrideH: stride, StrideW: stride, KH: k, KW: k,
		Pads: pads, Weight: randSlice(r, oc*icg*k*k, 1/float32(icg*k*k)+0.2), WeightShape: []int{oc, icg, k, k},
		Bias: randSlice(r, oc, 0.1), Act: act,
	}
}

// testGraph is a small network using every op kind and activation, built in Go so the model
// package's tests need no ONNX.
func testGraph(seed int64, side int) *Graph {
	r := rand.New(rand.NewSource(seed))
	relu := Act{Kind: ActRelu}
	g := &Graph{InputC: 3, InputH: side, InputW: side, Mean: [3]float32{.5, .5, .5}, Std: [3]float32{.5, .5, .5}}
	add := func(op Op) int { g.Ops = append(g.Ops, op); return len(g.Ops) }
	v := add(convOp(r, 0, 3, 16, 3, 2, 1, [4]int{0, 0, 1, 1}, Act{Kind: ActPRelu, Slope: randSlice(r, 16, 0.3)}))
	d := add(convOp(r, v, 16, 16, 3, 1, 16, [4]int{1, 1, 1, 1}, Act{Kind: ActClip, A: 0, B: 6}))
	p := add(convOp(r, d, 16, 24, 1, 1, 1, [4]int{}, Act{Kind: ActHardSwish}))
	q := add(convOp(r, p, 24, 24, 3, 1, 2, [4]int{1, 1, 1, 1}, relu))
	s := add(Op{Kind: OpAdd, In: [2]int{q, p}, Act: relu})
	s = add(Op{Kind: OpMul, In: [2]int{s, -1}, Weight: randSlice(r, 24, 1), WeightShape: []int{24}})
	s = add(Op{Kind: OpAdd, In: [2]int{s, -1}, Weight: []float32{0.1}, WeightShape: []int{1}})
	s = add(Op{Kind: OpAct, In: [2]int{s, -1}, Act: Act{Kind: ActHardSigmoid, A: 0.2, B: 0.5}})
	s = add(Op{Kind: OpMaxPool, In: [2]int{s, -1}, KH: 3, KW: 3, StrideH: 2, StrideW: 2, Pads: [4]int{1, 1, 1, 1}})
	s = add(convOp(r, s, 24, 24, 3, 2, 24, [4]int{1, 1, 1, 1}, relu))
	s = add(convOp(r, s, 24, 32, 3, 1, 1, [4]int{1, 1, 1, 1}, relu))
	s = add(Op{Kind: OpAvgPool, In: [2]int{s, -1}, KH: 2, KW: 2, StrideH: 1, StrideW: 1, Pads: [4]int{0, 0, 1, 1}, CountIncludePad: true})
	s = add(Op{Kind: OpGlobalAvgPool, In: [2]int{s, -1}})
	s = add(Op{Kind: OpFlatten, In: [2]int{s, -1}})
	add(Op{Kind: OpDense, In: [2]int{s, -1}, Weight: randSlice(r, 16*32, 0.3), WeightShape: []int{16, 32}, Bias: randSlice(r, 16, 0.1)})
	return g
}

// branchGraph is an embedder of two branches that both read the network input, each ending
// in a normalised vector, concatenated (the shape of a two-teacher student): a scalar Mul
// and Add directly on the input, Sqrt fused into a depthwise and an ordinary 3x3
// convolution and standalone after a pool, Concat of feature maps and of vectors, L2Norm
// per pixel and of vectors.
func branchGraph(seed int64, side int) *Graph {
	r := rand.New(rand.NewSource(seed))
	g := &Graph{InputC: 3, InputH: side, InputW: side, Mean: [3]float32{.5, .5, .5}, Std: [3]float32{.5, .5, .5}}
	add := func(op Op) int { g.Ops = append(g.Ops, op); return len(g.Ops) }
	sqrt := Act{Kind: ActSqrt}
	x := add(Op{Kind: OpMul, In: [2]int{0, -1}, Weight: []float32{0.5}, WeightShape: []int{1}})
	x = add(Op{Kind: OpAdd, In: [2]int{x, -1}, Weight: []float32{0.5}, WeightShape: []int{1}})
	a := add(convOp(r, x, 3, 8, 3, 2, 1, [4]int{0, 0, 1, 1}, Act{Kind: ActClip, A: 0, B: 6}))
	a = add(convOp(r, a, 8, 8, 3, 1, 8, [4]int{1, 1, 1, 1}, sqrt))
	a2 := add(convOp(r, a, 8, 8, 3, 1, 1, [4]int{1, 1, 1, 1}, sqrt))
	a = add(Op{Kind: OpConcat, In: [2]int{a, a2}})
	a = add(Op{Kind: OpL2Norm, In: [2]int{a, -1}})
	a = add(Op{Kind: OpGlobalAvgPool, In: [2]int{a, -1}})
	a = add(Op{Kind: OpAct, In: [2]int{a, -1}, Act: sqrt})
	a = add(Op{Kind: OpFlatten, In: [2]int{a, -1}})
	a = add(Op{Kind: OpDense, In: [2]int{a, -1}, Weight: randSlice(r, 12*16, 0.5), WeightShape: []int{12, 16}, Bias: randSlice(r, 12, 0.1)})
	a = add(Op{Kind: OpL2Norm, In: [2]int{a, -1}})
	b := add(convOp(r, 0, 3, 6, 3, 2, 1, [4]int{1, 1, 1, 1}, Act{Kind: ActRelu}))
	b = add(Op{Kind: OpGlobalAvgPool, In: [2]int{b, -1}})
	b = add(Op{Kind: OpL2Norm, In: [2]int{b, -1}})
	b = add(Op{Kind: OpMul, In: [2]int{b, -1}, Weight: []float32{0.8}, WeightShape: []int{1}})
	add(Op{Kind: OpConcat, In: [2]int{a, b}})
	return g
}

func testInput(seed int64, n int) []float32 {
	return randSlice(rand.New(rand.NewSource(seed)), n, 1)
}
