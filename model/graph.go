package model

import (
	"fmt"
)

// OpKind names an operation of the runtime's plan. The numeric values are frozen:
// they are stored in model files (see FORMAT.md).
type OpKind uint8

const (
	OpConv          OpKind = 1 // 2-D convolution, any group count; bias and activation fused
	OpDense         OpKind = 2 // fully connected: Weight [N, K] times the flattened input
	OpAdd           OpKind = 3 // In[0] + In[1] (same shape) or In[0] + Weight (1 or per-channel)
	OpMul           OpKind = 4 // In[0] * In[1] (same shape) or In[0] * Weight (1 or per-channel)
	OpAct           OpKind = 5 // a standalone activation
	OpMaxPool       OpKind = 6
	OpAvgPool       OpKind = 7
	OpGlobalAvgPool OpKind = 8
	OpFlatten       OpKind = 9  // [C,H,W] -> [C*H*W,1,1]; the data does not move
	OpConcat        OpKind = 10 // channels of In[0] then of In[1]: [C1,H,W] + [C2,H,W] -> [C1+C2,H,W]
	OpL2Norm        OpKind = 11 // each pixel's channel vector divided by its L2 norm; a zero vector stays zero
	OpColourHist    OpKind = 12 // the network input's foreground colour histogram, Group bins per channel: [bins³,1,1] (colour.go)
	maxOpKind              = 12
)

var opNames = [...]string{"", "Conv", "Dense", "Add", "Mul", "Act", "MaxPool", "AvgPool", "GlobalAvgPool", "Flatten", "Concat", "L2Norm", "ColourHist"}

func (k OpKind) String() string {
	if int(k) < len(opNames) && k != 0 {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// ActKind is an activation applied after an op (fused) or alone (OpAct). Values are frozen.
type ActKind uint8

const (
	ActNone        ActKind = 0
	ActRelu        ActKind = 1
	ActClip        ActKind = 2 // min(max(x, A), B)
	ActPRelu       ActKind = 3 // x < 0 ? Slope[c]*x : x; Slope has 1 or C entries
	ActHardSigmoid ActKind = 4 // max(0, min(1, A*x+B))
	ActHardSwish   ActKind = 5 // x * max(0, min(1, x/6+0.5))
	ActSqrt        ActKind = 6 // sqrt(max(x, 0)): ONNX Sqrt for x >= 0, 0 (not NaN) below
	maxActKind             = 6
)

// Act is an activation with its parameters.
type Act struct {
	Kind  ActKind
	A, B  float32
	Slope []float32
}

// Op is one step of a Graph. Op i reads values In[0] (and In[1] when >= 0: the second
// operand of OpAdd/OpMul, the second half of OpConcat) and writes value
// i+1; value 0 is the network input. Values are [C, H, W] tensors in CHW order.
type Op struct {
	Kind             OpKind
	In               [2]int
	Group            int    // OpConv; OpColourHist: bins per channel
	StrideH, StrideW int    // OpConv, pools
	KH, KW           int    // OpConv, pools
	Pads             [4]int // top, left, bottom, right: OpConv, pools
	CountIncludePad  bool   // OpAvgPool
	Weight           []float32
	WeightShape      []int // OpConv [OC, IC/group, KH, KW]; OpDense [N, K]; OpAdd/OpMul [1] or [C]
	Bias             []float32
	Act              Act
}

// Graph is a float network in the runtime's terms: what the ONNX importer produces, what the
// model file stores (with int8 or float32 weights) and what Load turns into an execution plan.
type Graph struct {
	InputC, InputH, InputW int
	Mean, Std              [3]float32
	Ops                    []Op
}

// Shape is the [C, H, W] shape of a value.
type Shape [3]int

func (s Shape) Size() int { return s[0] * s[1] * s[2] }

// Limits on what a model may ask for, so that a hostile file cannot make Load or the first
// Embed allocate without bound. The shipped model is far inside all of them.
const (
	maxOps         = 4096
	maxInputSide   = 1024
	maxValueElems  = 1 << 22 // one activation tensor (16 MiB of float32)
	maxTotalElems  = 1 << 24 // all activations plus scratch of one run (64 MiB)
	maxKernelSide  = 15
	maxStride      = 8
	maxTensorElems = 1 << 24
)

// Shapes checks the graph and returns the shape of every value (index 0: the input).
// Every error names the op index and kind.
func (g *Graph) Shapes() ([]Shape, error) {
	if g.InputC != 3 || g.InputH < 1 || g.InputW < 1 || g.InputH > maxInputSide || g.InputW > maxInputSide {
		return nil, fmt.Errorf("model: input %dx%dx%d out of range (want 3 channels, sides 1..%d)", g.InputC, g.InputH, g.InputW, maxInputSide)
	}
	if len(g.Ops) == 0 || len(g.Ops) > maxOps {
		return nil, fmt.Errorf("model: %d ops (want 1..%d)", len(g.Ops), maxOps)
	}
	shapes := make([]Shape, 1, len(g.Ops)+1)
	shapes[0] = Shape{g.InputC, g.InputH, g.InputW}
	total := shapes[0].Size()
	for i := range g.Ops {
		s, scratch, err := opShape(&g.Ops[i], shapes)
		if err != nil {
			return nil, fmt.Errorf("model: op %d (%v): %w", i, g.Ops[i].Kind, err)
		}
		if s.Size() > maxValueElems || scratch > maxValueElems {
			return nil, fmt.Errorf("model: op %d (%v): output %v too large", i, g.Ops[i].Kind, s)
		}
		total += s.Size()
		if total > maxTotalElems {
			return nil, fmt.Errorf("model: activations exceed %d elements", maxTotalElems)
		}
		shapes = append(shapes, s)
	}
	return shapes, nil
}

func checkAct(a *Act, c int) error {
	if a.Kind > maxActKind {
		return fmt.Errorf("unknown activation %d", a.Kind)
	}
	if a.Kind == ActPRelu {
		if len(a.Slope) != 1 && len(a.Slope) != c {
			return fmt.Errorf("prelu slope has %d entries for %d channels", len(a.Slope), c)
		}
	} else if a.Slope != nil {
		return fmt.Errorf("slope given for activation %d", a.Kind)
	}
	return nil
}

func prod(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// opShape returns the output shape of op and (an upper bound of) the scratch it needs, given the shapes
// of the values before it.
func opShape(op *Op, shapes []Shape) (Shape, int, error) {
	n := len(shapes)
	if op.In[0] < 0 || op.In[0] >= n {
		return Shape{}, 0, fmt.Errorf("input %d out of range", op.In[0])
	}
	if op.In[1] < -1 || op.In[1] >= n {
		return Shape{}, 0, fmt.Errorf("second input %d out of range", op.In[1])
	}
	switch {
	case op.Kind == OpAdd || op.Kind == OpMul:
		if op.In[1] < 0 && op.Weight == nil {
			return Shape{}, 0, fmt.Errorf("needs a second input or a constant")
		}
	case op.Kind == OpConcat:
		if op.In[1] < 0 {
			return Shape{}, 0, fmt.Errorf("needs a second input")
		}
	case op.In[1] != -1:
		return Shape{}, 0, fmt.Errorf("takes one input")
	}
	if (op.Weight != nil || op.WeightShape != nil) && (len(op.WeightShape) > 4 || prod(op.WeightShape) != len(op.Weight)) {
		return Shape{}, 0, fmt.Errorf("weight shape %v does not match %d values", op.WeightShape, len(op.Weight))
	}
	in := shapes[op.In[0]]
	c, h, w := in[0], in[1], in[2]
	var out Shape
	scratch := 0
	switch op.Kind {
	case OpConv, OpMaxPool, OpAvgPool:
		if op.KH < 1 || op.KW < 1 || op.KH > maxKernelSide || op.KW > maxKernelSide ||
			op.StrideH < 1 || op.StrideW < 1 || op.StrideH > maxStride || op.StrideW > maxStride {
			return Shape{}, 0, fmt.Errorf("kernel %dx%d stride %dx%d out of range", op.KH, op.KW, op.StrideH, op.StrideW)
		}
		for _, p := range op.Pads {
			if p < 0 || p >= maxKernelSide {
				return Shape{}, 0, fmt.Errorf("pads %v out of range", op.Pads)
			}
		}
		ph, pw := h+op.Pads[0]+op.Pads[2], w+op.Pads[1]+op.Pads[3]
		if ph < op.KH || pw < op.KW {
			return Shape{}, 0, fmt.Errorf("kernel %dx%d larger than padded input %dx%d", op.KH, op.KW, ph, pw)
		}
		oh, ow := (ph-op.KH)/op.StrideH+1, (pw-op.KW)/op.StrideW+1
		out = Shape{c, oh, ow}
		if op.Kind == OpConv {
			if len(op.WeightShape) != 4 {
				return Shape{}, 0, fmt.Errorf("conv weight shape %v is not 4-D", op.WeightShape)
			}
			oc, icg := op.WeightShape[0], op.WeightShape[1]
			if op.Group < 1 || c%op.Group != 0 || oc%op.Group != 0 || icg != c/op.Group ||
				op.WeightShape[2] != op.KH || op.WeightShape[3] != op.KW {
				return Shape{}, 0, fmt.Errorf("conv weight %v does not fit input %v with group %d", op.WeightShape, in, op.Group)
			}
			if op.Bias != nil && len(op.Bias) != oc {
				return Shape{}, 0, fmt.Errorf("bias has %d entries for %d channels", len(op.Bias), oc)
			}
			out[0] = oc
			// Phase-split input plus the GEMM's wide output rows (exec.go, convLayout).
			pws := (pw+op.StrideW-1)/op.StrideW + 47 // planes may widen by up to a tile
			phs := (ph + op.StrideH - 1) / op.StrideH
			scratch = icg*op.StrideH*op.StrideW*phs*pws + (oc/op.Group)*oh*pws + op.KW
			scratch = max(scratch, icg*op.KH*op.KW*oh*ow) // or an im2col copy
		} else if op.Weight != nil || op.Bias != nil {
			return Shape{}, 0, fmt.Errorf("pool carries weights")
		}
	case OpDense:
		if len(op.WeightShape) != 2 || op.WeightShape[1] != in.Size() {
			return Shape{}, 0, fmt.Errorf("dense weight %v does not fit input %v", op.WeightShape, in)
		}
		if op.Bias != nil && len(op.Bias) != op.WeightShape[0] {
			return Shape{}, 0, fmt.Errorf("bias has %d entries for %d outputs", len(op.Bias), op.WeightShape[0])
		}
		out = Shape{op.WeightShape[0], 1, 1}
	case OpAdd, OpMul:
		out = in
		if op.In[1] >= 0 {
			if shapes[op.In[1]] != in {
				return Shape{}, 0, fmt.Errorf("shapes %v and %v differ", in, shapes[op.In[1]])
			}
			if op.Weight != nil {
				return Shape{}, 0, fmt.Errorf("both a second input and a constant")
			}
		} else if len(op.Weight) != 1 && len(op.Weight) != c {
			return Shape{}, 0, fmt.Errorf("constant has %d entries for %d channels", len(op.Weight), c)
		}
		if op.Bias != nil {
			return Shape{}, 0, fmt.Errorf("unexpected bias")
		}
	case OpAct, OpGlobalAvgPool, OpFlatten, OpConcat, OpL2Norm:
		if op.Weight != nil || op.Bias != nil {
			return Shape{}, 0, fmt.Errorf("unexpected weights")
		}
		switch op.Kind {
		case OpAct, OpL2Norm:
			out = in
		case OpGlobalAvgPool:
			out = Shape{c, 1, 1}
		case OpConcat:
			in2 := shapes[op.In[1]]
			if in2[1] != h || in2[2] != w {
				return Shape{}, 0, fmt.Errorf("inputs %v and %v differ in height or width", in, in2)
			}
			out = Shape{c + in2[0], h, w}
		default:
			out = Shape{in.Size(), 1, 1}
		}
	case OpColourHist:
		// The histogram reads pixels, so only the network input (whose mean and std
		// the file states) can feed it.
		if op.In[0] != 0 || c != 3 {
			return Shape{}, 0, fmt.Errorf("reads value %d %v (want the network input)", op.In[0], in)
		}
		if op.Group < MinColourBins || op.Group > MaxColourBins {
			return Shape{}, 0, fmt.Errorf("%d bins per channel (want %d..%d)", op.Group, MinColourBins, MaxColourBins)
		}
		if op.Weight != nil || op.Bias != nil || op.Act.Kind != ActNone {
			return Shape{}, 0, fmt.Errorf("unexpected weights or activation")
		}
		out = Shape{op.Group * op.Group * op.Group, 1, 1}
		scratch = colourHistScratch(h, w)
	default:
		return Shape{}, 0, fmt.Errorf("unknown op kind %d", op.Kind)
	}
	if op.Kind == OpAct && op.Act.Kind == ActNone {
		return Shape{}, 0, fmt.Errorf("activation op without activation")
	}
	if err := checkAct(&op.Act, out[0]); err != nil {
		return Shape{}, 0, err
	}
	return out, scratch, nil
}
