// Package devmodel builds an untrained network shaped like the shipped recipe, for the dev store
// (site/test/devstore) and for benchmarks that need the shipped model's cost but not its weights.
package devmodel

import (
	"math"
	"math/rand/v2"

	"github.com/toonid/toonid/model"
)

// Graph mirrors the shipped recipe's network (model/train/train.py: 96 px, widths
// 16-32-64-128, a residual block per stage, 1x1 to 256, average pool, 128-d projection; ~42 MMAC)
// with He-initialised random weights, so speed figures on the dev store are representative.
// Untrained, its embeddings still separate flat-colour drawings well enough for the harness.
func Graph(rng *rand.Rand) *model.Graph {
	g := &model.Graph{InputC: 3, InputH: 96, InputW: 96, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	last := 0 // value index of the latest output
	conv := func(in, ic, oc, k, stride int, relu bool, gain float64) int {
		w := make([]float32, oc*ic*k*k)
		s := gain * math.Sqrt(2/float64(ic*k*k))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * s)
		}
		op := model.Op{Kind: model.OpConv, In: [2]int{in, -1}, Group: 1, StrideH: stride, StrideW: stride, KH: k, KW: k,
			Pads: [4]int{k / 2, k / 2, k / 2, k / 2}, Weight: w, WeightShape: []int{oc, ic, k, k}, Bias: make([]float32, oc)}
		if relu {
			op.Act = model.Act{Kind: model.ActRelu}
		}
		g.Ops = append(g.Ops, op)
		return len(g.Ops)
	}
	block := func(in, c int) int {
		a := conv(in, c, c, 3, 1, true, 1)
		b := conv(a, c, c, 3, 1, false, 0.5)
		g.Ops = append(g.Ops, model.Op{Kind: model.OpAdd, In: [2]int{in, b}, Act: model.Act{Kind: model.ActRelu}})
		return len(g.Ops)
	}
	last = conv(0, 3, 16, 3, 2, true, 1)
	ic := 16
	for i, oc := range []int{32, 64, 128} {
		_ = i
		last = conv(last, ic, oc, 3, 2, true, 1)
		last = block(last, oc)
		ic = oc
	}
	last = conv(last, 128, 256, 1, 1, true, 1)
	g.Ops = append(g.Ops, model.Op{Kind: model.OpGlobalAvgPool, In: [2]int{last, -1}})
	g.Ops = append(g.Ops, model.Op{Kind: model.OpFlatten, In: [2]int{len(g.Ops), -1}})
	w := make([]float32, 128*256)
	for i := range w {
		w[i] = float32(rng.NormFloat64() / math.Sqrt(256))
	}
	g.Ops = append(g.Ops, model.Op{Kind: model.OpDense, In: [2]int{len(g.Ops), -1}, Weight: w, WeightShape: []int{128, 256}, Bias: make([]float32, 128)})
	return g
}
