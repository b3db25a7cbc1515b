package model

import (
	"fmt"
	"math"
)

// Agreement is how closely two models' embeddings agree on the same inputs.
type Agreement struct {
	N             int
	MinCos        float64
	MeanCos       float64
	MaxAbsDiffRaw float64 // largest difference between raw (unnormalised) outputs
}

// Compare embeds every input with a and b and reports the cosine similarity of their
// embeddings (quantised vs float model, SIMD vs scalar, ...).
func Compare(a, b *Model, inputs [][]float32) (Agreement, error) {
	r := Agreement{N: len(inputs), MinCos: math.Inf(1)}
	if len(inputs) == 0 {
		return r, fmt.Errorf("model: compare: no inputs")
	}
	for i, in := range inputs {
		x, err := a.Forward(in)
		if err != nil {
			return r, fmt.Errorf("model: compare: input %d: %w", i, err)
		}
		y, err := b.Forward(in)
		if err != nil {
			return r, fmt.Errorf("model: compare: input %d: %w", i, err)
		}
		if len(x) != len(y) {
			return r, fmt.Errorf("model: compare: embedding sizes %d and %d differ", len(x), len(y))
		}
		for j := range x {
			r.MaxAbsDiffRaw = max(r.MaxAbsDiffRaw, math.Abs(float64(x[j]-y[j])))
		}
		c := Cosine(x, y)
		r.MinCos = min(r.MinCos, c)
		r.MeanCos += c / float64(len(inputs))
	}
	return r, nil
}

// Cosine returns the cosine similarity of a and b (0 if either is zero).
func Cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}
