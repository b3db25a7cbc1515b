package model

import (
	"math"
	"slices"
	"unsafe"
)

// plan is a Graph made ready to run: shapes resolved, weights packed for the kernels.
type plan struct {
	ops     []Op
	shapes  []Shape
	packed  [][]float32 // per op: conv weights packed per group (concatenated), else nil
	q       [][]*qgemm  // per op: its groups' integer GEMMs, where it runs on them (qgemm.go)
	qdw     []*qdw      // per op: its integer depthwise form, where it runs on it (qdw.go)
	qbound  []float32   // per op on q or qdw: a bound on |input| from its producer's clip, else 0
	amaxOf  []bool      // per value: a residual join that gives its output's largest |x| (arena.amax)
	layout  []*convLayout
	scratch int        // largest conv scratch (phase planes + wide output) of any op
	mean    [3]float32 // the input's normalisation, for OpColourHist
	std     [3]float32
	bnActs  int // total activation elements
}

func newPlan(g *Graph) (*plan, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	p := &plan{ops: g.Ops, shapes: shapes, packed: make([][]float32, len(g.Ops)), q: make([][]*qgemm, len(g.Ops)), qdw: make([]*qdw, len(g.Ops)), amaxOf: make([]bool, len(shapes)), qbound: make([]float32, len(g.Ops)), layout: make([]*convLayout, len(g.Ops)), mean: g.Mean, std: g.Std}
	for i := range g.Ops {
		op := &g.Ops[i]
		p.bnActs += shapes[i+1].Size()
		if op.Kind == OpColourHist {
			in := shapes[op.In[0]]
			p.scratch = max(p.scratch, colourHistScratch(in[1], in[2]))
		}
		if op.Kind != OpConv {
			continue
		}
		in, out := shapes[op.In[0]], shapes[i+1]
		if isDepthwise(op, in) {
			l := newDwLayout(op, in, out)
			p.layout[i] = l
			p.scratch = max(p.scratch, l.phaseLen+l.tmpLen)
			continue
		}
		ocg := op.WeightShape[0] / op.Group
		k := op.WeightShape[1] * op.KH * op.KW
		var packed []float32
		for gi := 0; gi < op.Group; gi++ {
			packed = append(packed, packA(op.Weight[gi*ocg*k:(gi+1)*ocg*k], ocg, k)...)
		}
		p.packed[i] = slices.Grow(packed, mr) // slack for gemm4, see packA
		l := newConvLayout(op, in, out, false)
		p.layout[i] = l
		p.scratch = max(p.scratch, l.phaseLen+l.tmpLen)
		if winoEligible(op, in, out) {
			l.wino = newWinoLayout(op, in, out)
		}
	}
	// Winograd needs several times its input as scratch: a convolution keeps the direct
	// plan where that would pass the size cap, so that every model that loaded before loads.
	for i, l := range p.layout {
		if l == nil || l.wino == nil {
			continue
		}
		in, out := shapes[p.ops[i].In[0]], shapes[i+1]
		// Where the integer GEMM can take it, it is faster than float Winograd (node 20,
		// the dual embedder's ResNet branch: 440 -> 324 us at 28x28, 417 -> 287 at 14x14,
		// 470 -> 407 at 7x7).
		// (Should planQgemm then refuse it, for the scratch cap, it runs on the float GEMM.)
		if qgemmOn {
			if _, _, ok := exactInt8(p.ops[i].Weight, p.ops[i].WeightShape[0]); ok {
				l.wino = nil
				continue
			}
		}
		if n := l.wino.scratchLen(in[0], out[0]); p.bnActs+max(p.scratch, n) <= maxTotalElems {
			p.scratch = max(p.scratch, n)
			p.packed[i] = nil // the direct plan's weights
		} else {
			l.wino = nil
		}
	}
	if qgemmOn {
		p.planQgemm()
	}
	if p.bnActs+p.scratch > maxTotalElems {
		return nil, errTooLarge
	}
	return p, nil
}

// planQgemm moves every GEMM convolution whose weights are exactly int8 per output channel
// onto the integer GEMM (and drops its float weights), and every 3x3 stride-2 depthwise one
// onto the integer depthwise kernel, where the scratch allows.
func (p *plan) planQgemm() {
	for i, l := range p.layout {
		op := &p.ops[i]
		if l != nil && isDepthwise(op, p.shapes[op.In[0]]) {
			if d := newQdw(op, p.shapes[op.In[0]], p.shapes[i+1]); d != nil && p.bnActs+max(p.scratch, d.scratchLen()) <= maxTotalElems {
				p.scratch = max(p.scratch, d.scratchLen())
				p.qdw[i] = d
				p.qbound[i] = p.producerBound(op)
			}
			continue
		}
		if l == nil || l.wino != nil || p.packed[i] == nil {
			continue
		}
		in, out := p.shapes[op.In[0]], p.shapes[i+1]
		ocg := op.WeightShape[0] / op.Group
		k := op.WeightShape[1] * op.KH * op.KW
		if !l.direct {
			// The integer GEMM needs no widened planes, and its multiply-adds are cheaper:
			// planes may pay where the float GEMM's did not (the layout is kept only if the
			// integer GEMM takes the convolution, below).
			l = newConvLayout(op, in, out, true)
		}
		n := out[1] * out[2]
		if !l.direct && !l.im2col {
			n = out[1] * l.pws
		}
		var qs []*qgemm
		for gi := 0; gi < op.Group; gi++ {
			q := newQgemm(op.Weight[gi*ocg*k:(gi+1)*ocg*k], ocg, k)
			if q == nil {
				qs = nil
				break
			}
			qs = append(qs, q)
		}
		if qs == nil {
			continue
		}
		need := l.phaseLen + l.tmpLen + qs[0].scratchLen(n)
		if p.bnActs+max(p.scratch, need) > maxTotalElems {
			continue
		}
		p.scratch = max(p.scratch, need)
		p.layout[i], p.q[i], p.packed[i] = l, qs, nil
		p.qbound[i] = p.producerBound(op)
	}
	// An integer kernel without a producer bound reads its input's largest |x|: a residual join
	// gives it while adding (addActAmax), where the kernel's scale is its whole input's (one
	// group), instead of a pass of the kernel's own.
	for i := range p.ops {
		op := &p.ops[i]
		if v := op.In[0]; v > 0 && p.qbound[i] == 0 && (p.qdw[i] != nil || p.q[i] != nil && op.Group == 1) && isResidual(&p.ops[v-1]) {
			p.amaxOf[v] = true
		}
	}
}

// bound is the integer kernels' input bound for op i: its producer's clip, or its input's
// largest |x| where the residual join that wrote it gave it, else 0 (the kernel finds it).
func (p *plan) bound(a *arena, i int) float32 {
	if b := p.qbound[i]; b != 0 {
		return b
	}
	op := &p.ops[i]
	if v := op.In[0]; p.amaxOf[v] && (p.qdw[i] != nil || p.q[i] != nil && op.Group == 1) {
		return a.amax[v]
	}
	return 0
}

// isResidual says whether op is a residual join: an Add of two values, then nothing or Relu.
func isResidual(op *Op) bool {
	return op.Kind == OpAdd && op.In[1] >= 0 && (op.Act.Kind == ActNone || op.Act.Kind == ActRelu)
}

// producerBound returns a bound on |input| of op where its producer is a convolution with a
// finite clip at lo >= 0 (ReLU6's [0, 6]), else 0: the integer kernels' input scale without a
// pass over it. Such a clip runs on the bits and maps a NaN to hi, so the bound holds for
// every value; one with lo < 0 lets a NaN through, which the max pass turns into NaN outputs.
func (p *plan) producerBound(op *Op) float32 {
	if j := op.In[0] - 1; j >= 0 && p.ops[j].Kind == OpConv && p.ops[j].Act.Kind == ActClip {
		a := p.ops[j].Act
		if b := max(a.A, float32(math.Abs(float64(a.B)))); a.A >= 0 && !math.IsInf(float64(b), 0) && b == b {
			return b
		}
	}
	return 0
}

func isDepthwise(op *Op, in Shape) bool {
	return op.Group > 1 && op.Group == in[0] && op.WeightShape[0] == in[0] && op.WeightShape[1] == 1
}

func isPointwise(op *Op) bool {
	return op.KH == 1 && op.KW == 1 && op.StrideH == 1 && op.StrideW == 1 && op.Pads == [4]int{}
}

// arena holds one run's activations and scratch, so that concurrent runs do not share memory.
type arena struct {
	vals    [][]float32
	amax    []float32 // per value with plan.amaxOf: its largest |x|, from the run that wrote it
	scratch []float32
	mirror  []float32 // the input flipped along W (Embed of a Mirror model), else nil
}

// Values and scratch keep arenaSlack floats of capacity past their ends (the next value's
// memory, or slack at the end of the arena): the 128-bit gemm's column tail reads up to 11
// floats past its B rows (see gemm4Tail) and drops what it computes from them.
const arenaSlack = 16

func (p *plan) newArena() *arena {
	a := &arena{vals: make([][]float32, len(p.shapes)), amax: make([]float32, len(p.shapes)), scratch: make([]float32, p.scratch, p.scratch+arenaSlack)}
	buf := make([]float32, p.bnActs+arenaSlack)
	for i := 1; i < len(p.shapes); i++ {
		n := p.shapes[i].Size()
		a.vals[i], buf = buf[:n], buf[n:]
	}
	return a
}

// run executes the plan on in (the network input, CHW) and returns the last value, which
// aliases the arena.
func (p *plan) run(a *arena, in []float32) []float32 {
	a.vals[0] = in
	for i := range p.ops {
		runOp(p, a, i)
	}
	return a.vals[len(p.ops)]
}

// runOp executes op i of the plan.
func runOp(p *plan, a *arena, i int) {
	op := &p.ops[i]
	src, dst := a.vals[op.In[0]], a.vals[i+1]
	ins, outs := p.shapes[op.In[0]], p.shapes[i+1]
	switch op.Kind {
	case OpConv:
		if d := p.qdw[i]; d != nil {
			if lo, hi, ok := actBounds(&op.Act); ok {
				d.run(src, dst, op.Bias, lo, hi, p.bound(a, i), a.scratch)
				return
			}
			lo, hi, _ := actBounds(&Act{})
			d.run(src, dst, op.Bias, lo, hi, p.bound(a, i), a.scratch)
		} else if isDepthwise(op, ins) {
			if depthwise(op, p.layout[i], src, dst, ins, outs, a.scratch) {
				return
			}
		} else if p.conv(i, op, src, dst, ins, outs, a.scratch, p.bound(a, i)) {
			return
		}
	case OpDense:
		k := op.WeightShape[1]
		for j := range dst {
			s := dot(op.Weight[j*k:(j+1)*k], src)
			if op.Bias != nil {
				s += op.Bias[j]
			}
			dst[j] = s
		}
	case OpAdd, OpMul:
		if isResidual(op) {
			// A residual join: add and activate in one pass.
			if p.amaxOf[i+1] {
				a.amax[i+1] = addActAmax(dst, src, a.vals[op.In[1]], op.Act.Kind == ActRelu)
			} else {
				addAct(dst, src, a.vals[op.In[1]], op.Act.Kind == ActRelu)
			}
			return
		}
		elementwise(op, src, a.vals, dst, ins)
	case OpAct:
		copy(dst, src)
	case OpMaxPool, OpAvgPool:
		pool(op, src, dst, ins, outs)
	case OpGlobalAvgPool:
		hw := ins[1] * ins[2]
		for c := range outs[0] {
			dst[c] = sum(src[c*hw:(c+1)*hw]) / float32(hw)
		}
	case OpFlatten:
		copy(dst, src)
	case OpConcat:
		// CHW: the channels of the first input, then those of the second, are contiguous.
		n := copy(dst, src)
		copy(dst[n:], a.vals[op.In[1]])
	case OpL2Norm:
		l2NormChannels(dst, src, ins[0], ins[1]*ins[2])
	case OpColourHist:
		colourHist(dst, src, ins[1], ins[2], op.Group, p.mean, p.std, a.scratch)
	}
	if op.Act.Kind != ActNone {
		activate(&op.Act, dst, outs[1]*outs[2])
	}
}

// convLayout says how a convolution reads its input. The padded input is split into
// stride-phase planes (sh*sw planes of ceil(ph/sh) x ceil(pw/sw)); then the input sample
// of tap (ci, ky, kx) for output (oy, ox) sits at offs[ci,ky,kx] + oy*pws + ox, so GEMM's B
// matrix is the phase buffer read at per-row offsets, with output rows pws wide (the extra
// pws-ow columns are computed and dropped). A 1x1 stride-1 unpadded convolution reads its
// input directly.
type convLayout struct {
	direct, im2col   bool
	wino             *winoLayout // when set, the convolution runs as Winograd F(2x2, 3x3)
	sh, sw, phs, pws int
	offs             []int32
	need             []bool // phases (py*sw+px) some tap reads
	phaseLen, tmpLen int
	plane, group     int // depthwise: floats of one channel's planes, channels per kernel call
}

// The im2col choice (see newConvLayout): a dropped column costs ocg multiply-adds, an im2col
// copy of a B element about as much as im2colFloat float32 ones (~1/14 ns each in wasm
// against ~1.5 ns) or im2colInt integer ones (~1/39 ns each in the wasm integer GEMM). On
// the dual embedder's 7x7 convolutions (128 channels, 9 columns per row for 7) im2col was a
// quarter of the integer one's time.
const (
	im2colFloat = 22
	im2colInt   = 58
)

// newConvLayout lays out a convolution's input for the float GEMM or (integer) the integer
// one: stride-phase planes, or an im2col copy where the planes' dropped columns (pws-ow per
// row) would cost more than copying.
func newConvLayout(op *Op, in, out Shape, integer bool) *convLayout {
	icg, ocg := in[0]/op.Group, out[0]/op.Group
	if isPointwise(op) {
		return &convLayout{direct: true, offs: rowOffsets(icg, in[1]*in[2])}
	}
	sh, sw := op.StrideH, op.StrideW
	ph, pw := in[1]+op.Pads[0]+op.Pads[2], in[2]+op.Pads[1]+op.Pads[3]
	l := &convLayout{sh: sh, sw: sw, phs: (ph + sh - 1) / sh, pws: (pw + sw - 1) / sw, need: make([]bool, sh*sw)}
	// Widen the planes (zero columns) so that the GEMM width oh*pws is a whole number of
	// register tiles: a column tail runs on the float GEMM's slow path (the integer one pads
	// its packed input instead).
	tile := gemmCols()
	if integer {
		tile = 1
	}
	for extra := 0; extra < tile; extra++ {
		if out[1]*(l.pws+extra)%tile == 0 {
			l.pws += extra
			break
		}
	}
	plane := l.phs * l.pws
	for ci := 0; ci < icg; ci++ {
		for ky := 0; ky < op.KH; ky++ {
			for kx := 0; kx < op.KW; kx++ {
				ph := (ky%sh)*sw + kx%sw
				l.need[ph] = true
				l.offs = append(l.offs, int32((ci*sh*sw+ph)*plane+(ky/sh)*l.pws+kx/sw))
			}
		}
	}
	// The last tile may read up to KW-1 samples past the last plane (see the type comment).
	l.phaseLen = icg*sh*sw*plane + op.KW
	l.tmpLen = ocg * out[1] * l.pws
	// On small maps the dropped columns cost more than an im2col copy: each B element
	// feeds ocg multiply-adds (~1/14 ns each in wasm) while copying it costs ~1.5 ns.
	oh, ow := out[1], out[2]
	copyMACs := im2colFloat
	if integer {
		copyMACs = im2colInt
	}
	if (l.pws-ow)*ocg > copyMACs*ow {
		k := icg * op.KH * op.KW
		l.im2col = true
		l.offs = rowOffsets(k, oh*ow)
		l.phaseLen = k * oh * ow
		l.tmpLen = 0
	}
	return l
}

// conv runs a convolution as one GEMM per group over the phase-split input. The bias and a
// ReLU are applied in one pass over the GEMM result (which also drops the extra columns of
// the phase layout); conv reports whether it applied op.Act.
func (p *plan) conv(i int, op *Op, src, dst []float32, ins, outs Shape, scratch []float32, known float32) bool {
	l := p.layout[i]
	icg := ins[0] / op.Group
	ocg := outs[0] / op.Group
	k := icg * op.KH * op.KW
	hw := ins[1] * ins[2]
	oh, ow := outs[1], outs[2]
	panel := (ocg + mr - 1) / mr * mr * k
	relu := op.Act.Kind == ActRelu
	if l.wino != nil {
		winoConv(l.wino, op, src, dst, ins, outs, scratch, relu)
		return op.Act.Kind == ActNone || relu
	}
	lo, hi, fused := actBounds(&op.Act)
	if !fused {
		lo, hi, _ = actBounds(&Act{})
	}
	for g := 0; g < op.Group; g++ {
		in := src[g*icg*hw : (g+1)*icg*hw]
		out := dst[g*ocg*oh*ow : (g+1)*ocg*oh*ow]
		var bias []float32
		if op.Bias != nil {
			bias = op.Bias[g*ocg : (g+1)*ocg]
		}
		// The GEMM: the integer one where the plan chose it, else the float one.
		mul := func(n int, b []float32, c []float32) {
			if p.q[i] != nil {
				// The group's input bounds every B element (padding is 0) and is smaller
				// than B where the rows overlap (phase planes) or copy it (im2col).
				bound := known
				if bound == 0 {
					bound = inputAmaxV(len(in), in, []int32{0})
				}
				p.q[i][g].run(n, b, l.offs, c, n, bias, lo, hi, scratch[l.phaseLen+l.tmpLen:], bound)
				return
			}
			gemm(p.packed[i][g*panel:(g+1)*panel], ocg, n, k, b, l.offs, c, bias, lo, hi)
		}
		if l.direct || l.im2col {
			b := in
			if l.im2col {
				b = scratch[:k*oh*ow]
				im2col(b, in, icg, ins[1], ins[2], op, oh, ow)
			}
			mul(oh*ow, b, out)
			continue
		}
		phase := scratch[:l.phaseLen]
		tmp := scratch[l.phaseLen : l.phaseLen+l.tmpLen]
		splitPhases(phase, in, icg, ins[1], ins[2], op, l)
		n := oh * l.pws
		mul(n, phase, tmp)
		for oc := 0; oc < ocg; oc++ {
			for oy := 0; oy < oh; oy++ {
				copy(out[(oc*oh+oy)*ow:(oc*oh+oy+1)*ow], tmp[oc*n+oy*l.pws:])
			}
		}
	}
	return fused
}

// at returns b[i], or 0 for a nil b.
func at(b []float32, i int) float32 {
	if b == nil {
		return 0
	}
	return b[i]
}

// im2col writes, for each (channel, ky, kx), the row of input samples every output position
// reads; padding reads as zero.
func im2col(dst, in []float32, c, h, w int, op *Op, oh, ow int) {
	sh, sw, pt, pl := op.StrideH, op.StrideW, op.Pads[0], op.Pads[1]
	r := 0
	for ci := 0; ci < c; ci++ {
		plane := in[ci*h*w : (ci+1)*h*w]
		for ky := 0; ky < op.KH; ky++ {
			for kx := 0; kx < op.KW; kx++ {
				row := dst[r*oh*ow : (r+1)*oh*ow]
				r++
				for oy := 0; oy < oh; oy++ {
					out := row[oy*ow : (oy+1)*ow]
					y := oy*sh + ky - pt
					if y < 0 || y >= h {
						for ox := range out {
							out[ox] = 0
						}
						continue
					}
					src := plane[y*w : (y+1)*w]
					for ox := range out {
						x := ox*sw + kx - pl
						v := float32(0)
						if uint(x) < uint(len(src)) {
							v = src[x]
						}
						out[ox] = v
					}
				}
			}
		}
	}
}

// splitPhases writes the zero-padded input of c channels as stride-phase planes.
func splitPhases(dst, in []float32, c, h, w int, op *Op, l *convLayout) {
	pt, pl := op.Pads[0], op.Pads[1]
	plane := l.phs * l.pws
	if l.sh == 2 && l.sw == 2 && l.need[0] && l.need[1] && l.need[2] && l.need[3] {
		// Stride 2 (every phase used): clear once, then deal each input row's samples
		// into its two phase rows in one sequential pass (per-phase strided gathers and
		// per-row clears cost ~5 ns per sample in wasm).
		clear(dst)
		writePhases(dst, in, c, h, w, op, l)
		return
	}
	for ci := 0; ci < c; ci++ {
		src := in[ci*h*w : (ci+1)*h*w]
		for py := 0; py < l.sh; py++ {
			for px := 0; px < l.sw; px++ {
				if !l.need[py*l.sw+px] {
					continue
				}
				pd := dst[(ci*l.sh*l.sw+py*l.sw+px)*plane : (ci*l.sh*l.sw+py*l.sw+px+1)*plane]
				for Y := 0; Y < l.phs; Y++ {
					row := pd[Y*l.pws : (Y+1)*l.pws]
					y := Y*l.sh + py - pt
					if y < 0 || y >= h {
						clear(row)
						continue
					}
					s := src[y*w : (y+1)*w]
					if l.sw == 1 {
						// x = X - pl: zeros, the input row, zeros.
						lo, hi := min(pl, l.pws), min(pl+w, l.pws)
						clear(row[:lo])
						copy(row[lo:hi], s)
						clear(row[hi:])
						continue
					}
					// x = X*sw + px - pl is inside [0, w) for X in [lo, hi).
					lo := min(max((pl-px+l.sw-1)/l.sw, 0), len(row))
					hi := 0
					if t := w - 1 + pl - px; t >= 0 {
						hi = t/l.sw + 1
					}
					hi = max(min(hi, len(row)), lo)
					clear(row[:lo])
					clear(row[hi:])
					if lo < hi {
						// Strided gather by pointer walk (bounds checks cost ~2x in wasm):
						// x runs from lo*sw+px-pl to (hi-1)*sw+px-pl < w.
						// Pointers are formed only for valid elements (never one past the end).
						sp := unsafe.Pointer(&s[lo*l.sw+px-pl])
						_ = s[(hi-1)*l.sw+px-pl]
						out := row[lo:hi]
						for i := range out {
							out[i] = *(*float32)(unsafe.Add(sp, 4*l.sw*i))
						}
					}
				}
			}
		}
	}
	clear(dst[c*l.sh*l.sw*plane:])
}

// actBounds returns the clamp an activation is, for the fused epilogues of convolutions:
// none (-Inf, +Inf), Relu [0, +Inf), Clip [A, B]; ok is false for the others (they run as
// a pass after the op).
func actBounds(a *Act) (lo, hi float32, ok bool) {
	inf := float32(math.Inf(1))
	switch a.Kind {
	case ActNone:
		return -inf, inf, true
	case ActRelu:
		return 0, inf, true
	case ActClip:
		return a.A, a.B, true
	}
	return 0, 0, false
}

// newDwLayout lays out a depthwise convolution's scratch: a group of channels at a time
// (l.group of them, the planes of a group within dwGroupFloats), each channel's zero-padded
// input split into stride-phase planes (as convLayout does for one input channel, without
// widening: offs has one offset per tap), l.plane floats per channel, then a vector of
// slack (the wide-vector kernels read up to a vector past the last tap's extent, see
// dw3x3), then tmp, one channel's output at the plane width (oh*pws, plus slack).
func newDwLayout(op *Op, in, out Shape) *convLayout {
	sh, sw := op.StrideH, op.StrideW
	ph, pw := in[1]+op.Pads[0]+op.Pads[2], in[2]+op.Pads[1]+op.Pads[3]
	l := &convLayout{sh: sh, sw: sw, phs: (ph + sh - 1) / sh, pws: (pw + sw - 1) / sw, need: make([]bool, sh*sw)}
	plane := l.phs * l.pws
	for ky := 0; ky < op.KH; ky++ {
		for kx := 0; kx < op.KW; kx++ {
			phase := (ky%sh)*sw + kx%sw
			l.need[phase] = true
			l.offs = append(l.offs, int32(phase*plane+(ky/sh)*l.pws+kx/sw))
		}
	}
	const slack = 16 // floats: the widest vector (AVX-512)
	l.plane = sh * sw * plane
	l.group = min(in[0], max(1, dwGroupFloats/l.plane))
	l.phaseLen = l.group*l.plane + slack
	l.tmpLen = out[1]*l.pws + slack
	return l
}

// dwGroupFloats bounds the phase planes of a group of depthwise channels (16 KB, half of
// L1): the kernels run over a group per call.
const dwGroupFloats = 4096

// writePhases writes the input samples of c channels into their places in the
// stride-phase planes, leaving the padding as it is: splitPhases for planes whose padding
// is already zero (depthwise runs one channel at a time through one buffer, whose padding
// stays zero). Only stride 1 and stride 2 with every phase used.
func writePhases(dst, in []float32, c, h, w int, op *Op, l *convLayout) {
	pt, pl := op.Pads[0], op.Pads[1]
	plane := l.phs * l.pws
	for ci := 0; ci < c; ci++ {
		src := in[ci*h*w : (ci+1)*h*w]
		if l.sh == 1 && l.sw == 1 {
			// copy() is memory.copy in wasm: faster than a vector loop even for 7 floats.
			for y := 0; y < h; y++ {
				o := ci*plane + (y+pt)*l.pws + pl
				copy(dst[o:o+w], src[y*w:(y+1)*w])
			}
			continue
		}
		// Input rows of each parity: row y lands in row (y+pt)/2 of the row phase
		// (y+pt)%2, and sample x at column X = x+pl: column phase X%2, position X/2. a
		// gets the samples of even x, b those of odd x.
		for y0 := 0; y0 < min(2, h); y0++ {
			py, yy := (y0+pt)%2, (y0+pt)/2
			base := (ci*4+py*2)*plane + yy*l.pws
			a := dst[base+(pl%2)*plane+pl/2:]
			b := dst[base+((pl+1)%2)*plane+(pl+1)/2:]
			dealRows(a, b, l.pws, src[y0*w:], 2*w, (h-y0+1)/2, w)
		}
	}
}

// depthwise runs a per-channel (group = channels) convolution: a group of channels' inputs
// are written zero-padded into stride-phase planes (so that stride 2 reads at unit stride
// too), then a 3x3 kernel runs dw3x3 over the group (SIMD along each output row, bias and
// a Relu or Clip fused), any other dwGeneric per channel. It reports whether it applied
// op.Act.
func depthwise(op *Op, l *convLayout, src, dst []float32, ins, outs Shape, scratch []float32) bool {
	h, w := ins[1], ins[2]
	oh, ow := outs[1], outs[2]
	lo, hi, fused := actBounds(&op.Act)
	if !fused {
		lo, hi, _ = actBounds(&Act{})
	}
	kk := op.KH * op.KW
	ph := scratch[:l.phaseLen]
	tmp := scratch[l.phaseLen : l.phaseLen+l.tmpLen]
	// Strides 1 and 2: the padding is cleared once and only the samples are written per
	// channel (the per-row clears of splitPhases cost as much as the copies).
	fast := (l.sh == 1 && l.sw == 1) || (l.sh == 2 && l.sw == 2 && l.need[0] && l.need[1] && l.need[2] && l.need[3])
	if fast {
		clear(ph)
	}
	for c0 := 0; c0 < ins[0]; c0 += l.group {
		nc := min(l.group, ins[0]-c0)
		in := src[c0*h*w : (c0+nc)*h*w]
		if fast {
			writePhases(ph, in, nc, h, w, op, l)
		} else {
			for c := 0; c < nc; c++ {
				splitPhases(ph[c*l.plane:], in[c*h*w:(c+1)*h*w], 1, h, w, op, l)
			}
		}
		out := dst[c0*oh*ow : (c0+nc)*oh*ow]
		var bias []float32
		if op.Bias != nil {
			bias = op.Bias[c0 : c0+nc]
		}
		wt := op.Weight[c0*kk : (c0+nc)*kk]
		if kk == 9 && op.KW == 3 {
			dw3x3(out, nc, oh, ow, ph, l.plane, l.pws, (*[9]int32)(l.offs), wt, bias, lo, hi, tmp)
			continue
		}
		for c := 0; c < nc; c++ {
			dwGeneric(out[c*oh*ow:(c+1)*oh*ow], oh, ow, ph[c*l.plane:], l.pws, l.offs, wt[c*kk:(c+1)*kk], at(bias, c), lo, hi)
		}
	}
	return fused
}

// elementwise runs Add or Mul with a second value or a (scalar or per-channel) constant.
func elementwise(op *Op, src []float32, vals [][]float32, dst []float32, s Shape) {
	hw := s[1] * s[2]
	if op.In[1] >= 0 {
		other := vals[op.In[1]]
		if op.Kind == OpAdd {
			add(dst, src, other)
		} else {
			for i := range dst {
				dst[i] = src[i] * other[i]
			}
		}
		return
	}
	for c := 0; c < s[0]; c++ {
		k := op.Weight[0]
		if len(op.Weight) > 1 {
			k = op.Weight[c]
		}
		// Vector kernels: as scalar loops in wasm the dual embedder's x*0.5+0.5 on its
		// input cost 120 us of a 12 ms pass.
		d, x := dst[c*hw:(c+1)*hw], src[c*hw:(c+1)*hw]
		if op.Kind == OpAdd {
			biasAct(d, x, k, false)
		} else {
			scale(d, x, k)
		}
	}
}

func pool(op *Op, src, dst []float32, ins, outs Shape) {
	h, w := ins[1], ins[2]
	oh, ow := outs[1], outs[2]
	for c := 0; c < ins[0]; c++ {
		plane := src[c*h*w : (c+1)*h*w]
		out := dst[c*oh*ow : (c+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			y0 := oy*op.StrideH - op.Pads[0]
			for ox := 0; ox < ow; ox++ {
				x0 := ox*op.StrideW - op.Pads[1]
				m := float32(math.Inf(-1))
				var s float32
				cnt := 0
				for y := max(y0, 0); y < min(y0+op.KH, h); y++ {
					for x := max(x0, 0); x < min(x0+op.KW, w); x++ {
						v := plane[y*w+x]
						m = max(m, v)
						s += v
						cnt++
					}
				}
				if op.Kind == OpMaxPool {
					out[oy*ow+ox] = m
					continue
				}
				if op.CountIncludePad {
					// The window clipped to the padded input, as ONNX counts it.
					cnt = (min(y0+op.KH, h+op.Pads[2]) - y0) * (min(x0+op.KW, w+op.Pads[3]) - x0)
				}
				out[oy*ow+ox] = s / float32(max(cnt, 1))
			}
		}
	}
}

// activate applies a in place; hw is the plane size, so that PRelu finds each channel.
func activate(a *Act, x []float32, hw int) {
	switch a.Kind {
	case ActRelu:
		relu(x)
	case ActClip:
		biasClamp(x, x, 0, a.A, a.B)
	case ActPRelu:
		for i, v := range x {
			if v < 0 {
				s := a.Slope[0]
				if len(a.Slope) > 1 {
					s = a.Slope[i/hw]
				}
				x[i] = s * v
			}
		}
	case ActHardSigmoid:
		for i, v := range x {
			x[i] = max(0, min(1, a.A*v+a.B))
		}
	case ActHardSwish:
		for i, v := range x {
			x[i] = v * max(0, min(1, v/6+0.5))
		}
	case ActSqrt:
		// One generic loop for every build (scalar, SIMD, wasm): it runs on embedding-sized
		// vectors after a global pool, far from the convolutions' cost.
		for i, v := range x {
			x[i] = float32(math.Sqrt(float64(max(v, 0))))
		}
	}
}

// l2NormChannels writes src, c channels of hw pixels (CHW), with each pixel's channel
// vector divided by its L2 norm; a zero vector stays zero (ONNX LpNormalization would
// divide by zero). Sums and quotients run in float64. One generic implementation for
// every build: OpL2Norm normalises embedding-sized vectors ([C,1,1]), where a vector kernel
// would save nothing measurable; on feature maps the strided reads are still O(c*hw).
func l2NormChannels(dst, src []float32, c, hw int) {
	for p := 0; p < hw; p++ {
		var s float64
		for ch := 0; ch < c; ch++ {
			v := float64(src[ch*hw+p])
			s += v * v
		}
		if s == 0 {
			for ch := 0; ch < c; ch++ {
				dst[ch*hw+p] = 0
			}
			continue
		}
		// Divide in float64: 1/norm of a vector of subnormals overflows float32.
		norm := math.Sqrt(s)
		for ch := 0; ch < c; ch++ {
			dst[ch*hw+p] = float32(float64(src[ch*hw+p]) / norm)
		}
	}
}
