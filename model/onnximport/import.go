// Package onnximport turns a float ONNX network into a model.Graph: onnx-go decodes the
// protobuf into our backend (backend.go), and this package maps its operations onto the
// runtime's ops, folding BatchNormalization into Conv, zero Pads into the next Conv, and
// activations into the op that produces their input. It is used by tools and tests only, so
// that the browser build does not link onnx-go and gorgonia.
package onnximport

import (
	"fmt"
	"math"
	"sort"

	onnx "github.com/owulveryck/onnx-go"
	"gorgonia.org/tensor"

	"github.com/toonid/toonid/model"
)

// Import decodes an ONNX model (float32 weights, batch 1, 3-channel input with fixed
// height and width) into a Graph. Mean and Std are set to 0.5, toonid's convention; callers
// with another normalisation overwrite them. An op the runtime does not support fails the
// import with an error naming the op and the value it produces.
func Import(b []byte) (g *model.Graph, err error) {
	defer func() {
		// onnx-go and gorgonia panic on some malformed inputs; report those as errors.
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("onnximport: decoder panic: %v", r)
		}
	}()
	be := newBackend()
	m := onnx.NewModel(be)
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("onnximport: onnx-go: %w", err)
	}
	if len(m.Input) != 1 || len(m.Output) != 1 {
		return nil, fmt.Errorf("onnximport: model has %d inputs and %d outputs, want 1 and 1", len(m.Input), len(m.Output))
	}
	t := &translator{be: be, g: &model.Graph{Mean: [3]float32{.5, .5, .5}, Std: [3]float32{.5, .5, .5}},
		vals: map[int64]value{}, pending: map[int64][4]int{}}
	in := be.nodes[m.Input[0]]
	if in.tensor == nil {
		return nil, fmt.Errorf("onnximport: input %q has no shape", in.name)
	}
	if s := in.tensor.Shape(); len(s) != 4 || s[0] != 1 || s[1] != 3 || s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("onnximport: input %q has shape %v, want [1 3 H W] with fixed H, W", in.name, s)
	} else {
		t.g.InputC, t.g.InputH, t.g.InputW = 3, s[2], s[3]
	}
	t.vals[in.id] = value{id: 0, rank: 4}
	t.consumers = map[int64]int{m.Output[0]: 1}
	for _, a := range be.ops {
		for _, e := range be.inputs[a.outputs[0].id] {
			t.consumers[e.to]++
		}
	}
	for _, a := range be.ops {
		if err := t.apply(a); err != nil {
			return nil, fmt.Errorf("onnximport: %s producing %q: %w", a.op.Name, a.outputs[0].name, err)
		}
	}
	out, ok := t.vals[m.Output[0]]
	if !ok || out.id != len(t.g.Ops) {
		return nil, fmt.Errorf("onnximport: graph output %q is not the last op's result", be.nodes[m.Output[0]].name)
	}
	if _, err := t.g.Shapes(); err != nil {
		return nil, fmt.Errorf("onnximport: %w", err)
	}
	return t.g, nil
}

type value struct {
	id   int // model value index (0: input, i+1: op i)
	rank int // ONNX rank: 4 for feature maps, 2 after Flatten/Gemm
}

type translator struct {
	be        *backend
	g         *model.Graph
	vals      map[int64]value
	pending   map[int64][4]int // zero Pad waiting to be folded into its consumer Conv
	consumers map[int64]int
}

func (t *translator) inputs(a appliedOp) []*node {
	es := append([]edge(nil), t.be.inputs[a.outputs[0].id]...)
	sort.Slice(es, func(i, j int) bool { return es[i].pos < es[j].pos })
	ns := make([]*node, len(es))
	for i, e := range es {
		ns[i] = t.be.nodes[e.to]
	}
	return ns
}

// val returns the runtime value a node holds; constants are not values.
func (t *translator) val(n *node) (value, error) {
	v, ok := t.vals[n.id]
	if !ok {
		return value{}, fmt.Errorf("input %q is a constant or undefined where a tensor is expected", n.name)
	}
	if _, ok := t.pending[n.id]; ok {
		return value{}, fmt.Errorf("input %q is a non-zero Pad that only a following Conv can absorb", n.name)
	}
	return v, nil
}

// constant returns a node's constant data as float64s with its shape.
func constant(n *node) ([]float64, []int, error) {
	if n.tensor == nil {
		return nil, nil, fmt.Errorf("input %q is not a constant", n.name)
	}
	shape := []int(n.tensor.Shape())
	switch d := n.tensor.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, shape, nil
	case float32:
		return []float64{float64(d)}, nil, nil
	case []float64:
		return d, shape, nil
	case float64:
		return []float64{d}, nil, nil
	case []int64:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, shape, nil
	case int64:
		return []float64{float64(d)}, nil, nil
	case []int32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, shape, nil
	}
	return nil, nil, fmt.Errorf("constant %q has unsupported type %v", n.name, n.tensor.Dtype())
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func attrInts(a map[string]interface{}, name string, def []int) ([]int, error) {
	v, ok := a[name]
	if !ok {
		return def, nil
	}
	is, ok := v.([]int64)
	if !ok {
		return nil, fmt.Errorf("attribute %s: want ints, got %T", name, v)
	}
	out := make([]int, len(is))
	for i, x := range is {
		if x < 0 || x > 1<<16 {
			return nil, fmt.Errorf("attribute %s: %d out of range", name, x)
		}
		out[i] = int(x)
	}
	return out, nil
}

func attrInt(a map[string]interface{}, name string, def int64) (int64, error) {
	v, ok := a[name]
	if !ok {
		return def, nil
	}
	i, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("attribute %s: want int, got %T", name, v)
	}
	return i, nil
}

func attrFloat(a map[string]interface{}, name string, def float32) (float32, error) {
	v, ok := a[name]
	if !ok {
		return def, nil
	}
	f, ok := v.(float32)
	if !ok {
		return 0, fmt.Errorf("attribute %s: want float, got %T", name, v)
	}
	return f, nil
}

func (t *translator) emit(out *node, op model.Op, rank int) {
	t.g.Ops = append(t.g.Ops, op)
	t.vals[out.id] = value{id: len(t.g.Ops), rank: rank}
}

// fusable reports whether v's producing op can absorb a following per-element op: v is the
// latest op's output and this is its only use.
func (t *translator) fusable(in *node, v value) *model.Op {
	if v.id == 0 || v.id != len(t.g.Ops) || t.consumers[in.id] != 1 {
		return nil
	}
	return &t.g.Ops[v.id-1]
}

func (t *translator) apply(a appliedOp) error {
	ins := t.inputs(a)
	out := a.outputs[0]
	for _, o := range a.outputs[1:] {
		if t.consumers[o.id] > 0 {
			return fmt.Errorf("second output %q is used; unsupported", o.name)
		}
	}
	at := a.op.Attributes
	switch a.op.Name {
	case "Constant":
		v, ok := at["value"]
		if !ok {
			return fmt.Errorf("no value attribute")
		}
		tt, ok := v.(tensor.Tensor)
		if !ok {
			return fmt.Errorf("value attribute is %T", v)
		}
		out.tensor = tt
		return nil
	case "Identity", "Dropout":
		v, err := t.val(ins[0])
		if err != nil {
			return err
		}
		t.vals[out.id] = v
		return nil
	case "Conv":
		return t.conv(ins, out, at)
	case "BatchNormalization":
		return t.batchNorm(ins, out, at)
	case "Relu", "Clip", "PRelu", "HardSigmoid", "HardSwish", "Sqrt":
		return t.activation(a.op.Name, ins, out, at)
	case "Add", "Mul":
		return t.binary(a.op.Name, ins, out)
	case "MaxPool", "AveragePool":
		return t.pool(a.op.Name, ins, out, at)
	case "GlobalAveragePool":
		v, err := t.val(ins[0])
		if err != nil {
			return err
		}
		t.emit(out, model.Op{Kind: model.OpGlobalAvgPool, In: [2]int{v.id, -1}}, 4)
		return nil
	case "Flatten", "Reshape":
		return t.flatten(a.op.Name, ins, out, at)
	case "Gemm", "MatMul":
		return t.dense(a.op.Name, ins, out, at)
	case "Pad":
		return t.pad(ins, out, at)
	case "Concat":
		return t.concat(ins, out, at)
	case "LpNormalization":
		return t.lpNorm(ins, out, at)
	}
	return fmt.Errorf("unsupported op %s", a.op.Name)
}

func (t *translator) conv(ins []*node, out *node, at map[string]interface{}) error {
	if len(ins) < 2 {
		return fmt.Errorf("needs input and weight")
	}
	x, err := t.val(ins[0])
	if extra, ok := t.pending[ins[0].id]; ok {
		// A zero Pad before this Conv: take its input and add its pads.
		x, err = t.vals[ins[0].id], nil
		defer func(p [4]int) {
			op := &t.g.Ops[len(t.g.Ops)-1]
			for i := range p {
				op.Pads[i] += p[i]
			}
		}(extra)
	}
	if err != nil {
		return err
	}
	w, ws, err := constant(ins[1])
	if err != nil || len(ws) != 4 {
		return fmt.Errorf("weight must be a 4-D constant (%v)", err)
	}
	if ap, ok := at["auto_pad"]; ok && ap != "NOTSET" {
		return fmt.Errorf("auto_pad %v unsupported (export with explicit pads)", ap)
	}
	dil, err := attrInts(at, "dilations", []int{1, 1})
	if err != nil || len(dil) != 2 || dil[0] != 1 || dil[1] != 1 {
		return fmt.Errorf("dilations %v unsupported (only 1)", dil)
	}
	strides, err := attrInts(at, "strides", []int{1, 1})
	if err != nil || len(strides) != 2 {
		return fmt.Errorf("strides %v: %v", strides, err)
	}
	pads, err := attrInts(at, "pads", []int{0, 0, 0, 0})
	if err != nil || len(pads) != 4 {
		return fmt.Errorf("pads %v: %v", pads, err)
	}
	group, err := attrInt(at, "group", 1)
	if err != nil || group < 1 || group > 1<<16 {
		return fmt.Errorf("group %d: %v", group, err)
	}
	op := model.Op{
		Kind: model.OpConv, In: [2]int{x.id, -1}, Group: int(group),
		StrideH: strides[0], StrideW: strides[1], KH: ws[2], KW: ws[3],
		// ONNX pads: [h_begin, w_begin, h_end, w_end] = top, left, bottom, right.
		Pads:   [4]int{pads[0], pads[1], pads[2], pads[3]},
		Weight: f32s(w), WeightShape: ws,
	}
	if len(ins) > 2 {
		b, _, err := constant(ins[2])
		if err != nil {
			return fmt.Errorf("bias: %w", err)
		}
		op.Bias = f32s(b)
	}
	t.emit(out, op, 4)
	return nil
}

func (t *translator) batchNorm(ins []*node, out *node, at map[string]interface{}) error {
	if len(ins) != 5 {
		return fmt.Errorf("want 5 inputs, got %d", len(ins))
	}
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	var p [4][]float64
	for i := range p {
		if p[i], _, err = constant(ins[i+1]); err != nil {
			return err
		}
		if len(p[i]) != len(p[0]) {
			return fmt.Errorf("parameter sizes differ")
		}
	}
	eps, err := attrFloat(at, "epsilon", 1e-5)
	if err != nil {
		return err
	}
	gamma, beta, mean, variance := p[0], p[1], p[2], p[3]
	c := len(gamma)
	scale, shift := make([]float64, c), make([]float64, c)
	for i := range scale {
		scale[i] = gamma[i] / math.Sqrt(variance[i]+float64(eps))
		shift[i] = beta[i] - mean[i]*scale[i]
	}
	if conv := t.fusable(ins[0], x); conv != nil && conv.Kind == model.OpConv && conv.Act.Kind == model.ActNone && conv.WeightShape[0] == c {
		per := len(conv.Weight) / c
		if conv.Bias == nil {
			conv.Bias = make([]float32, c)
		}
		for oc := 0; oc < c; oc++ {
			for j := 0; j < per; j++ {
				conv.Weight[oc*per+j] = float32(float64(conv.Weight[oc*per+j]) * scale[oc])
			}
			conv.Bias[oc] = float32(float64(conv.Bias[oc])*scale[oc] + shift[oc])
		}
		t.vals[out.id] = x
		return nil
	}
	// Not after a conv: a per-channel scale and shift.
	t.emit(out, model.Op{Kind: model.OpMul, In: [2]int{x.id, -1}, Weight: f32s(scale), WeightShape: []int{c}}, x.rank)
	t.emit(out, model.Op{Kind: model.OpAdd, In: [2]int{len(t.g.Ops), -1}, Weight: f32s(shift), WeightShape: []int{c}}, x.rank)
	return nil
}

func (t *translator) activation(name string, ins []*node, out *node, at map[string]interface{}) error {
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	act := model.Act{}
	switch name {
	case "Relu":
		act.Kind = model.ActRelu
	case "Clip":
		act.Kind = model.ActClip
		lo, hi := float32(-math.MaxFloat32), float32(math.MaxFloat32)
		if v, ok := at["min"]; ok { // opset < 11
			lo, _ = v.(float32)
		}
		if v, ok := at["max"]; ok {
			hi, _ = v.(float32)
		}
		for i, dst := range []*float32{&lo, &hi} {
			if len(ins) > i+1 && ins[i+1].name != "" {
				c, _, err := constant(ins[i+1])
				if err != nil || len(c) != 1 {
					return fmt.Errorf("min/max must be scalar constants")
				}
				*dst = float32(c[0])
			}
		}
		act.A, act.B = lo, hi
		if lo == 0 && hi == float32(math.MaxFloat32) {
			act = model.Act{Kind: model.ActRelu}
		}
	case "PRelu":
		if len(ins) != 2 {
			return fmt.Errorf("needs a slope")
		}
		s, _, err := constant(ins[1])
		if err != nil {
			return fmt.Errorf("slope: %w", err)
		}
		act.Kind, act.Slope = model.ActPRelu, f32s(s)
	case "HardSigmoid":
		a, err := attrFloat(at, "alpha", 0.2)
		if err != nil {
			return err
		}
		b, err := attrFloat(at, "beta", 0.5)
		if err != nil {
			return err
		}
		act.Kind, act.A, act.B = model.ActHardSigmoid, a, b
	case "HardSwish":
		act.Kind = model.ActHardSwish
	case "Sqrt":
		// sqrt(max(x, 0)): ONNX Sqrt wherever it is defined (x >= 0).
		act.Kind = model.ActSqrt
	}
	if op := t.fusable(ins[0], x); op != nil &&
		(op.Kind == model.OpConv || op.Kind == model.OpDense || op.Kind == model.OpAdd || op.Kind == model.OpMul) {
		if op.Act.Kind == model.ActNone {
			op.Act = act
			t.vals[out.id] = x
			return nil
		}
		// Relu then Clip(0, 6) (how opset-9 exports write ReLU6), or two clips: one clip to
		// the intersection of the two ranges.
		if c, ok := composeClamps(op.Act, act); ok {
			op.Act = c
			t.vals[out.id] = x
			return nil
		}
	}
	t.emit(out, model.Op{Kind: model.OpAct, In: [2]int{x.id, -1}, Act: act}, x.rank)
	return nil
}

// composeClamps returns the one activation equal to second(first(x)) when both are Relu or
// Clip and their ranges overlap (a clamp to [a1, b1] then to [a2, b2] is a clamp to the
// intersection; disjoint ranges would give a constant and are left as two ops).
func composeClamps(first, second model.Act) (model.Act, bool) {
	bounds := func(a model.Act) (lo, hi float32, ok bool) {
		switch a.Kind {
		case model.ActRelu:
			return 0, math.MaxFloat32, true
		case model.ActClip:
			return a.A, a.B, true
		}
		return 0, 0, false
	}
	lo1, hi1, ok1 := bounds(first)
	lo2, hi2, ok2 := bounds(second)
	lo, hi := max(lo1, lo2), min(hi1, hi2)
	if !ok1 || !ok2 || lo1 > hi1 || lo2 > hi2 || lo > hi {
		return model.Act{}, false
	}
	if lo == 0 && hi == math.MaxFloat32 {
		return model.Act{Kind: model.ActRelu}, true
	}
	return model.Act{Kind: model.ActClip, A: lo, B: hi}, true
}

func (t *translator) binary(name string, ins []*node, out *node) error {
	if len(ins) != 2 {
		return fmt.Errorf("want 2 inputs, got %d", len(ins))
	}
	kind := model.OpAdd
	if name == "Mul" {
		kind = model.OpMul
	}
	a, errA := t.val(ins[0])
	b, errB := t.val(ins[1])
	if errA == nil && errB == nil {
		t.emit(out, model.Op{Kind: kind, In: [2]int{a.id, b.id}}, a.rank)
		return nil
	}
	x, c := ins[0], ins[1]
	v := a
	if errA != nil {
		x, c, v = ins[1], ins[0], b
		if errB != nil {
			return errB
		}
	}
	k, shape, err := constant(c)
	if err != nil {
		return err
	}
	// Broadcasting is right-aligned: accept a scalar, or a constant that varies only along
	// the channel axis (axis 1 of the value's ONNX shape).
	if len(k) > 1 {
		if len(shape) > v.rank {
			return fmt.Errorf("constant of shape %v broadcast to rank %d", shape, v.rank)
		}
		full := make([]int, v.rank)
		for i := range full {
			full[i] = 1
		}
		copy(full[v.rank-len(shape):], shape)
		for i, d := range full {
			if d != 1 && i != 1 {
				return fmt.Errorf("broadcast of constant shape %v to rank %d is not per-channel; unsupported", shape, v.rank)
			}
		}
	}
	_ = x
	t.emit(out, model.Op{Kind: kind, In: [2]int{v.id, -1}, Weight: f32s(k), WeightShape: []int{len(k)}}, v.rank)
	return nil
}

func (t *translator) pool(name string, ins []*node, out *node, at map[string]interface{}) error {
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	k, err := attrInts(at, "kernel_shape", nil)
	if err != nil || len(k) != 2 {
		return fmt.Errorf("kernel_shape %v: %v", k, err)
	}
	strides, err := attrInts(at, "strides", []int{1, 1})
	if err != nil || len(strides) != 2 {
		return fmt.Errorf("strides %v: %v", strides, err)
	}
	pads, err := attrInts(at, "pads", []int{0, 0, 0, 0})
	if err != nil || len(pads) != 4 {
		return fmt.Errorf("pads %v: %v", pads, err)
	}
	if c, _ := attrInt(at, "ceil_mode", 0); c != 0 {
		return fmt.Errorf("ceil_mode=1 unsupported")
	}
	if ap, ok := at["auto_pad"]; ok && ap != "NOTSET" {
		return fmt.Errorf("auto_pad %v unsupported", ap)
	}
	if d, _ := attrInts(at, "dilations", []int{1, 1}); len(d) != 2 || d[0] != 1 || d[1] != 1 {
		return fmt.Errorf("dilations %v unsupported", d)
	}
	op := model.Op{Kind: model.OpMaxPool, In: [2]int{x.id, -1}, KH: k[0], KW: k[1],
		StrideH: strides[0], StrideW: strides[1], Pads: [4]int{pads[0], pads[1], pads[2], pads[3]}}
	if name == "AveragePool" {
		op.Kind = model.OpAvgPool
		cip, _ := attrInt(at, "count_include_pad", 0)
		op.CountIncludePad = cip == 1
	}
	t.emit(out, op, 4)
	return nil
}

func (t *translator) flatten(name string, ins []*node, out *node, at map[string]interface{}) error {
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	if name == "Flatten" {
		if axis, _ := attrInt(at, "axis", 1); axis != 1 {
			return fmt.Errorf("axis %d unsupported (only 1)", axis)
		}
	} else {
		if len(ins) != 2 {
			return fmt.Errorf("needs a shape input")
		}
		s, _, err := constant(ins[1])
		if err != nil {
			return fmt.Errorf("shape: %w", err)
		}
		// Only reshapes that flatten a batch of one: [1, -1], [0, -1] or [1, N].
		if len(s) != 2 || (s[0] != 1 && s[0] != 0) {
			return fmt.Errorf("reshape to %v unsupported (only flattening to [1, N])", s)
		}
		if s[1] != -1 {
			xs, err := t.shape(x)
			if err != nil {
				return err
			}
			if float64(xs.Size()) != s[1] {
				return fmt.Errorf("reshape to %v does not match the input's %d values (%v)", s, xs.Size(), xs)
			}
		}
	}
	if x.rank == 2 {
		t.vals[out.id] = x
		return nil
	}
	t.emit(out, model.Op{Kind: model.OpFlatten, In: [2]int{x.id, -1}}, 2)
	return nil
}

// shape returns the [C, H, W] shape of a value of the graph built so far.
func (t *translator) shape(v value) (model.Shape, error) {
	if v.id == 0 {
		return model.Shape{t.g.InputC, t.g.InputH, t.g.InputW}, nil
	}
	sh, err := t.g.Shapes()
	if err != nil {
		return model.Shape{}, err
	}
	return sh[v.id], nil
}

// axis1 checks that an axis attribute (default def, negative counting from the end of a
// rank-r tensor) names axis 1, the channels: of [N, C, H, W] feature maps and of [N, C]
// vectors, which the runtime holds as [C, 1, 1].
func axis1(at map[string]interface{}, def int64, rank int) error {
	axis, err := attrInt(at, "axis", def)
	if err != nil {
		return err
	}
	if axis < 0 {
		axis += int64(rank)
	}
	if axis != 1 {
		return fmt.Errorf("axis %d of a rank-%d tensor unsupported (only 1, the channels)", axis, rank)
	}
	return nil
}

// concat maps a channel Concat of n >= 2 values onto n-1 two-input Concat ops, each
// appending the next input to the result so far (channel concatenation is associative).
func (t *translator) concat(ins []*node, out *node, at map[string]interface{}) error {
	if len(ins) < 2 {
		return fmt.Errorf("want at least 2 inputs, got %d", len(ins))
	}
	vs := make([]value, len(ins))
	for i, n := range ins {
		v, err := t.val(n)
		if err != nil {
			return err
		}
		if i > 0 && v.rank != vs[0].rank {
			return fmt.Errorf("inputs of rank %d and %d", vs[0].rank, v.rank)
		}
		vs[i] = v
	}
	if err := axis1(at, 0, vs[0].rank); err != nil {
		return err
	}
	acc := vs[0]
	for _, v := range vs[1:] {
		a, err := t.shape(acc)
		if err != nil {
			return err
		}
		b, err := t.shape(v)
		if err != nil {
			return err
		}
		if a[1] != b[1] || a[2] != b[2] {
			return fmt.Errorf("inputs %v and %v differ in height or width", a, b)
		}
		t.emit(out, model.Op{Kind: model.OpConcat, In: [2]int{acc.id, v.id}}, acc.rank)
		acc = t.vals[out.id]
	}
	return nil
}

// lpNorm maps LpNormalization with p = 2 along the channels (ONNX's default axis is -1,
// which is the channels of an [N, C] tensor) onto OpL2Norm.
func (t *translator) lpNorm(ins []*node, out *node, at map[string]interface{}) error {
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	p, err := attrInt(at, "p", 2)
	if err != nil {
		return err
	}
	if p != 2 {
		return fmt.Errorf("p=%d unsupported (only 2, the L2 norm)", p)
	}
	if err := axis1(at, -1, x.rank); err != nil {
		return err
	}
	t.emit(out, model.Op{Kind: model.OpL2Norm, In: [2]int{x.id, -1}}, x.rank)
	return nil
}

func (t *translator) dense(name string, ins []*node, out *node, at map[string]interface{}) error {
	if len(ins) < 2 {
		return fmt.Errorf("needs two inputs")
	}
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	if x.rank != 2 {
		return fmt.Errorf("input rank %d, want 2 (Flatten first)", x.rank)
	}
	w, ws, err := constant(ins[1])
	if err != nil || len(ws) != 2 {
		return fmt.Errorf("weight must be a 2-D constant (%v)", err)
	}
	transB := int64(0)
	alpha, beta := float32(1), float32(1)
	if name == "Gemm" {
		if ta, _ := attrInt(at, "transA", 0); ta != 0 {
			return fmt.Errorf("transA=1 unsupported")
		}
		transB, _ = attrInt(at, "transB", 0)
		if alpha, err = attrFloat(at, "alpha", 1); err != nil {
			return err
		}
		if beta, err = attrFloat(at, "beta", 1); err != nil {
			return err
		}
	}
	n, k := ws[1], ws[0]
	wt := make([]float32, len(w))
	if transB == 1 {
		n, k = ws[0], ws[1]
		for i, v := range w {
			wt[i] = float32(v) * alpha
		}
	} else {
		for kk := 0; kk < k; kk++ {
			for j := 0; j < n; j++ {
				wt[j*k+kk] = float32(w[kk*n+j]) * alpha
			}
		}
	}
	op := model.Op{Kind: model.OpDense, In: [2]int{x.id, -1}, Weight: wt, WeightShape: []int{n, k}}
	if name == "Gemm" && len(ins) > 2 {
		b, _, err := constant(ins[2])
		if err != nil {
			return fmt.Errorf("bias: %w", err)
		}
		if len(b) != n && len(b) != 1 {
			return fmt.Errorf("bias has %d entries for %d outputs", len(b), n)
		}
		op.Bias = make([]float32, n)
		for i := range op.Bias {
			op.Bias[i] = float32(b[min(i, len(b)-1)]) * beta
		}
	}
	t.emit(out, op, 2)
	return nil
}

func (t *translator) pad(ins []*node, out *node, at map[string]interface{}) error {
	x, err := t.val(ins[0])
	if err != nil {
		return err
	}
	if m, ok := at["mode"]; ok && m != "constant" {
		return fmt.Errorf("mode %v unsupported (only constant zero)", m)
	}
	var p []float64
	if len(ins) > 1 { // opset >= 11: pads (and value) are inputs
		if p, _, err = constant(ins[1]); err != nil {
			return fmt.Errorf("pads: %w", err)
		}
		if len(ins) > 2 && ins[2].name != "" {
			v, _, err := constant(ins[2])
			if err != nil || len(v) != 1 || v[0] != 0 {
				return fmt.Errorf("only zero padding is supported")
			}
		}
	} else {
		ps, err := attrInts(at, "pads", nil)
		if err != nil {
			return err
		}
		for _, v := range ps {
			p = append(p, float64(v))
		}
		if v, _ := attrFloat(at, "value", 0); v != 0 {
			return fmt.Errorf("only zero padding is supported")
		}
	}
	if len(p) != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 {
		return fmt.Errorf("pads %v unsupported (only H and W of a 4-D tensor)", p)
	}
	t.vals[out.id] = x
	extra := [4]int{int(p[2]), int(p[3]), int(p[6]), int(p[7])}
	if extra != [4]int{} {
		for _, v := range extra {
			if v < 0 || v > 16 {
				return fmt.Errorf("pads %v unsupported", p)
			}
		}
		t.pending[out.id] = extra
	}
	return nil
}
