package model

import (
	"fmt"
	"math"
)

// SimulateInt8Activations measures what int8 activations would cost in accuracy, without
// an int8 kernel: every activation tensor (the input and each op's output) is rounded to
// symmetric int8 with one scale per tensor, calibrated as the largest magnitude seen on
// calib; the network then runs on, in float, from the rounded values. It reports the
// agreement of the resulting embeddings on eval (held out from calib) with m's own.
// model/README.md records the result next to the speed measurement that decided against
// int8 activations.
func SimulateInt8Activations(m *Model, calib, eval [][]float32) (Agreement, error) {
	if len(calib) == 0 || len(eval) == 0 {
		return Agreement{}, fmt.Errorf("model: simulate: need calibration and evaluation inputs")
	}
	p := m.plan
	a := p.newArena()
	maxAbs := make([]float32, len(p.shapes))
	for i, in := range calib {
		if len(in) != m.InputLen() {
			return Agreement{}, fmt.Errorf("model: simulate: calibration input %d has %d values", i, len(in))
		}
		a.vals[0] = in
		for j := range p.ops {
			runOp(p, a, j)
		}
		for v, vals := range a.vals {
			for _, x := range vals {
				maxAbs[v] = max(maxAbs[v], float32(math.Abs(float64(x))))
			}
		}
	}
	r := Agreement{N: len(eval), MinCos: math.Inf(1)}
	buf := make([]float32, m.InputLen())
	for i, in := range eval {
		if len(in) != m.InputLen() {
			return Agreement{}, fmt.Errorf("model: simulate: input %d has %d values", i, len(in))
		}
		want, err := m.Forward(in)
		if err != nil {
			return Agreement{}, err
		}
		copy(buf, in)
		fakeQuant(buf, maxAbs[0])
		a.vals[0] = buf
		for j := range p.ops {
			runOp(p, a, j)
			fakeQuant(a.vals[j+1], maxAbs[j+1])
		}
		got := a.vals[len(p.ops)]
		for j := range got {
			r.MaxAbsDiffRaw = max(r.MaxAbsDiffRaw, math.Abs(float64(got[j]-want[j])))
		}
		c := Cosine(got, want)
		r.MinCos = min(r.MinCos, c)
		r.MeanCos += c / float64(len(eval))
	}
	return r, nil
}

// fakeQuant rounds x to the int8 grid of scale maxAbs/127, clamping.
func fakeQuant(x []float32, maxAbs float32) {
	if maxAbs == 0 {
		return
	}
	s := maxAbs / 127
	for i, v := range x {
		q := math.Round(float64(v / s))
		x[i] = float32(max(-127, min(127, q))) * s
	}
}
