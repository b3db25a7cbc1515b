package onnximport

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/toonid/toonid/model"
)

var update = flag.Bool("update", false, "rewrite the model files testdata/branches_*.tmdl from branches.onnx")

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func importFile(t testing.TB, name string) *model.Graph {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Import(b)
	if err != nil {
		t.Fatalf("Import(%s): %v", name, err)
	}
	return g
}

// The float path (import -> float32 model file -> Load -> Forward) matches onnxruntime-node's
// output on the same ONNX and input (references made by testdata/ort_ref.cjs).
func TestFloatPathMatchesOnnxruntime(t *testing.T) {
	for _, name := range []string{"ops", "hswish", "gorgonnx", "mnv2", "branches"} {
		t.Run(name, func(t *testing.T) {
			g := importFile(t, name)
			file, err := model.Encode(g, model.EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			in := readF32(t, filepath.Join("..", "testdata", name+".in.f32"))
			want := readF32(t, filepath.Join("..", "testdata", name+".ort.f32"))
			got, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("output has %d values, onnxruntime %d", len(got), len(want))
			}
			var worst float64
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("%s: %d ops, max abs diff vs onnxruntime %.3g", name, len(g.Ops), worst)
			if worst >= 1e-4 {
				t.Errorf("max abs diff %g >= 1e-4\n got %v\nwant %v", worst, got, want)
			}
		})
	}
}

// The MobileNetV2-like test network (testdata/gen.py mnv2, opset 9 like the student trunk)
// imports into the plan the runtime's fast paths expect: every Relu+Clip(max 6) and
// Clip(0, 6) fused into its convolution as one Clip(0, 6), the Keras bottom/right Pads
// folded into the stride-2 convolutions as asymmetric pads, depthwise convolutions as
// group = channels; and its int8 model file agrees with onnxruntime's float output.
func TestMobileNetV2Net(t *testing.T) {
	g := importFile(t, "mnv2")
	var depthwise, asym, clips int
	for _, op := range g.Ops {
		if op.Kind == model.OpAct {
			t.Errorf("unfused activation op %+v", op.Act)
		}
		if op.Kind != model.OpConv {
			continue
		}
		if op.Act.Kind != model.ActClip || op.Act.A != 0 || op.Act.B != 6 {
			if op.KH == 1 && op.Act.Kind == model.ActNone {
				continue // projections are linear
			}
			t.Errorf("conv %dx%d group %d: activation %+v, want Clip(0, 6)", op.KH, op.KW, op.Group, op.Act)
		}
		clips++
		if op.Group > 1 && op.Group == op.WeightShape[0] && op.WeightShape[1] == 1 {
			depthwise++
		}
		if op.Pads == [4]int{0, 0, 1, 1} && op.StrideH == 2 {
			asym++
		}
	}
	t.Logf("mnv2: %d ops, %d convs with Clip(0, 6), %d depthwise, %d with bottom/right pads", len(g.Ops), clips, depthwise, asym)
	if depthwise != 4 || asym != 3 || clips != 10 {
		t.Fatalf("want 4 depthwise, 3 stride-2 convs with pads [0 0 1 1], 10 Clip(0, 6) convs")
	}
	in := readF32(t, filepath.Join("..", "testdata", "mnv2.in.f32"))
	want := readF32(t, filepath.Join("..", "testdata", "mnv2.ort.f32"))
	q := loadModel(t, encodeInt8(t, g))
	got, err := q.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	c := model.Cosine(got, want)
	t.Logf("mnv2 int8 weights vs onnxruntime (float): cosine %.5f, max abs diff %.3g (outputs up to %.3g)", c, worst, maxAbs(want))
	if c < 0.99 {
		t.Fatalf("int8 vs onnxruntime cosine %v < 0.99", c)
	}
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// Relu then Clip, Clip then Relu and two Clips compose into one clamp to the intersection;
// disjoint ranges, an inverted Clip and other activations do not compose.
func TestComposeClamps(t *testing.T) {
	relu, none := model.Act{Kind: model.ActRelu}, model.Act{}
	clip := func(a, b float32) model.Act { return model.Act{Kind: model.ActClip, A: a, B: b} }
	for _, c := range []struct {
		first, second, want model.Act
		ok                  bool
	}{
		{relu, clip(-math.MaxFloat32, 6), clip(0, 6), true},
		{clip(-1, 6), relu, clip(0, 6), true},
		{clip(-2, 2), clip(-1, 3), clip(-1, 2), true},
		{relu, relu, relu, true},
		{clip(0, 1), clip(2, 3), none, false},
		{clip(3, 1), relu, none, false},
		{model.Act{Kind: model.ActHardSwish}, relu, none, false},
	} {
		got, ok := composeClamps(c.first, c.second)
		if ok != c.ok || (ok && (got.Kind != c.want.Kind || got.A != c.want.A || got.B != c.want.B)) {
			t.Errorf("composeClamps(%+v, %+v) = %+v, %v; want %+v, %v", c.first, c.second, got, ok, c.want, c.ok)
		}
	}
}

// The two-branch embedder (testdata/gen.py branches, opset 9): both branches read the
// network input, one through x*0.5+0.5 (a scalar Mul and Add on value 0, then a Pad folded
// into the Conv), the other directly; Sqrt after the pool stays an Act op, the
// three-input Concat becomes a chain of two, the output Concat joins two L2-normalised
// vectors. Float and int8 model files agree with onnxruntime, the quantizer's path
// (Compare, simulated int8 activations) runs, and mirror-averaged Embed is the formula.
// The committed model files testdata/branches_{f32,int8}.tmdl (read by the model
// package's tests, which cannot import this package) are what Encode makes of it.
func TestBranchesNet(t *testing.T) {
	g := importFile(t, "branches")
	count := map[model.OpKind]int{}
	for _, op := range g.Ops {
		count[op.Kind]++
	}
	if op := g.Ops[0]; op.Kind != model.OpMul || op.In != [2]int{0, -1} || len(op.Weight) != 1 || op.Weight[0] != 0.5 {
		t.Errorf("op 0 = %v %v weight %v, want Mul of value 0 by the scalar 0.5", op.Kind, op.In, op.Weight)
	}
	if op := g.Ops[1]; op.Kind != model.OpAdd || op.In != [2]int{1, -1} || len(op.Weight) != 1 || op.Weight[0] != 0.5 {
		t.Errorf("op 1 = %v %v weight %v, want Add of 0.5 to op 0", op.Kind, op.In, op.Weight)
	}
	if op := g.Ops[2]; op.Kind != model.OpConv || op.In[0] != 2 || op.Pads != [4]int{0, 0, 1, 1} {
		t.Errorf("op 2 = %v %v pads %v, want the Conv reading op 1 with the Pad folded in", op.Kind, op.In, op.Pads)
	}
	var sqrt, readInput int
	for _, op := range g.Ops {
		if op.Kind == model.OpAct && op.Act.Kind == model.ActSqrt {
			sqrt++
		}
		if op.In[0] == 0 {
			readInput++
		}
	}
	if count[model.OpConcat] != 3 || count[model.OpL2Norm] != 3 || sqrt != 1 || readInput != 2 {
		t.Fatalf("ops %v, %d Sqrt acts, %d ops reading the input; want 3 Concat, 3 L2Norm, 1 Sqrt, 2", count, sqrt, readInput)
	}
	if last := g.Ops[len(g.Ops)-1]; last.Kind != model.OpConcat {
		t.Fatalf("last op %v, want the output Concat", last.Kind)
	}
	in := readF32(t, filepath.Join("..", "testdata", "branches.in.f32"))
	want := readF32(t, filepath.Join("..", "testdata", "branches.ort.f32"))
	files := map[string][]byte{}
	for _, c := range []struct {
		name   string
		opt    model.EncodeOptions
		minCos float64
	}{
		{"f32", model.EncodeOptions{}, 1 - 1e-9},
		{"int8", model.EncodeOptions{Int8: true}, 0.99},
	} {
		file, err := model.Encode(g, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		files[c.name] = file
		got, err := loadModel(t, file).Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		cos := model.Cosine(got, want)
		var worst float64
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		t.Logf("branches %s vs onnxruntime: cosine %.6f, max abs diff %.3g", c.name, cos, worst)
		if len(got) != 34 || cos < c.minCos || (c.name == "f32" && worst >= 1e-5) {
			t.Errorf("%s: %d values, cosine %v, max abs diff %v", c.name, len(got), cos, worst)
		}
	}
	for name, file := range files {
		path := filepath.Join("..", "testdata", "branches_"+name+".tmdl")
		if *update {
			if err := os.WriteFile(path, file, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, file) {
			t.Errorf("%s is stale (%v): go test ./model/onnximport -run TestBranchesNet -args -update", path, err)
		}
	}

	// What toonid quantize does: the float reference, the int8 file reloaded, the cosine
	// gate and the simulated int8 activations over inputs near the reference one.
	ref := floatModel(t, g)
	q := loadModel(t, files["int8"])
	var inputs [][]float32
	for s := 0; s < 6; s++ {
		x := make([]float32, len(in))
		for i := range x {
			x[i] = in[i]*0.9 + float32(math.Sin(float64(i*(s+2))*0.05))*0.1
		}
		inputs = append(inputs, x)
	}
	a, err := model.Compare(ref, q, inputs)
	if err != nil || a.MinCos < 0.99 {
		t.Fatalf("int8 vs float: %+v, %v", a, err)
	}
	if sim, err := model.SimulateInt8Activations(q, inputs[:3], inputs[3:]); err != nil || sim.MinCos < 0.9 {
		t.Fatalf("simulated int8 activations: %+v, %v", sim, err)
	}

	// Mirror-averaged Embed: l2n(l2n(f(x)) + l2n(f(mirror(x)))).
	mfile, err := model.Encode(g, model.EncodeOptions{Int8: true, Mirror: true})
	if err != nil {
		t.Fatal(err)
	}
	mm := loadModel(t, mfile)
	flipped := make([]float32, len(in))
	w := g.InputW
	for r := 0; r < len(in); r += w {
		for x := 0; x < w; x++ {
			flipped[r+w-1-x] = in[r+x]
		}
	}
	fx, _ := mm.Forward(in)
	fm, _ := mm.Forward(flipped)
	sum := make([]float32, len(fx))
	for i := range sum {
		sum[i] = float32(unit(fx)[i] + unit(fm)[i])
	}
	wantE := unit(sum)
	gotE, err := mm.Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range gotE {
		if d := math.Abs(float64(gotE[i]) - wantE[i]); d > 1e-6 {
			t.Fatalf("mirror Embed value %d: %v, formula %v", i, gotE[i], wantE[i])
		}
	}
	if c := model.Cosine(fx, fm); c > 0.9999 {
		t.Fatalf("f(x) and f(mirror(x)) have cosine %v: the mirror check proves nothing", c)
	}
}

// unit returns v/|v| in float64.
func unit(v []float32) []float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) / math.Sqrt(s)
	}
	return out
}

// The importer refuses what the new ops cannot express, with an error saying why:
// LpNormalization other than p = 2 along the channels, Concat along another axis, of
// inputs of different heights and widths or ranks, or of a constant. Each case runs one
// ONNX operation on a translator holding the input (value 0, [3 8 8]), a stride-2
// convolution of it ([4 4 4], value 1) and a flattened vector ([4 1 1] at rank 2, value 2).
func TestImportRefusesNewOps(t *testing.T) {
	newT := func() (*translator, []*node) {
		g := &model.Graph{InputC: 3, InputH: 8, InputW: 8, Ops: []model.Op{
			{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 2, StrideW: 2, KH: 1, KW: 1,
				Weight: make([]float32, 12), WeightShape: []int{4, 3, 1, 1}},
			{Kind: model.OpGlobalAvgPool, In: [2]int{1, -1}},
		}}
		tr := &translator{be: newBackend(), g: g, vals: map[int64]value{}, pending: map[int64][4]int{}, consumers: map[int64]int{}}
		ns := []*node{{id: 100, name: "input"}, {id: 101, name: "map"}, {id: 102, name: "vec"}, {id: 103, name: "const"}, {id: 104, name: "out"}}
		tr.vals[100] = value{id: 0, rank: 4}
		tr.vals[101] = value{id: 1, rank: 4}
		tr.vals[102] = value{id: 2, rank: 2}
		return tr, ns
	}
	ints := func(v ...int64) []int64 { return v }
	cases := []struct {
		name, op string
		ins      []int // indices into the nodes: 0 input, 1 map, 2 vec, 3 constant
		attrs    map[string]interface{}
		want     string // "" = accepted
	}{
		{"lpnorm p=2 axis 1", "LpNormalization", []int{1}, map[string]interface{}{"p": int64(2), "axis": int64(1)}, ""},
		{"lpnorm default axis on a vector", "LpNormalization", []int{2}, map[string]interface{}{}, ""},
		{"lpnorm p=1", "LpNormalization", []int{1}, map[string]interface{}{"p": int64(1), "axis": int64(1)}, "p=1 unsupported"},
		{"lpnorm default axis on a map", "LpNormalization", []int{1}, map[string]interface{}{}, "axis 3 of a rank-4 tensor unsupported"},
		{"lpnorm axis 0", "LpNormalization", []int{2}, map[string]interface{}{"axis": int64(0)}, "axis 0"},
		{"lpnorm of a constant", "LpNormalization", []int{3}, map[string]interface{}{"axis": int64(1)}, "is a constant"},
		{"concat axis 1", "Concat", []int{1, 1}, map[string]interface{}{"axis": int64(1)}, ""},
		{"concat axis -1 of vectors", "Concat", []int{2, 2, 2}, map[string]interface{}{"axis": int64(-1)}, ""},
		{"concat axis 2", "Concat", []int{1, 1}, map[string]interface{}{"axis": int64(2)}, "axis 2 of a rank-4 tensor"},
		{"concat axis 0", "Concat", []int{2, 2}, map[string]interface{}{"axis": int64(0)}, "axis 0"},
		{"concat of different sizes", "Concat", []int{0, 1}, map[string]interface{}{"axis": int64(1)}, "differ in height or width"},
		{"concat of a map and a vector", "Concat", []int{1, 2}, map[string]interface{}{"axis": int64(1)}, "inputs of rank 4 and 2"},
		{"concat of one input", "Concat", []int{1}, map[string]interface{}{"axis": int64(1)}, "at least 2 inputs"},
		{"concat with a constant", "Concat", []int{1, 3}, map[string]interface{}{"axis": int64(1)}, "is a constant"},
		{"concat axis of the wrong type", "Concat", []int{1, 1}, map[string]interface{}{"axis": ints(1)}, "want int"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, ns := newT()
			var ins []*node
			for _, i := range c.ins {
				ins = append(ins, ns[i])
			}
			var err error
			switch c.op {
			case "Concat":
				err = tr.concat(ins, ns[4], c.attrs)
			case "LpNormalization":
				err = tr.lpNorm(ins, ns[4], c.attrs)
			}
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tr.g.Shapes(); err != nil {
					t.Fatalf("accepted into an invalid graph: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s: %v, want an error containing %q", c.op, err, c.want)
			}
		})
	}
	// A three-input Concat is two ops, the second appending to the first.
	tr, ns := newT()
	if err := tr.concat([]*node{ns[2], ns[2], ns[2]}, ns[4], map[string]interface{}{"axis": int64(1)}); err != nil {
		t.Fatal(err)
	}
	ops := tr.g.Ops[2:]
	if len(ops) != 2 || ops[0].In != [2]int{2, 2} || ops[1].In != [2]int{3, 2} || tr.vals[104].id != 4 || tr.vals[104].rank != 2 {
		t.Fatalf("chain %+v, output %+v", ops, tr.vals[104])
	}
}

// Mul and Add by a scalar or a per-channel constant import directly on the network input
// (value 0), as a normalisation x*0.5+0.5 or (x-mean)/std written into the graph does.
func TestImportConstantOpsOnInput(t *testing.T) {
	tr := &translator{be: newBackend(), g: &model.Graph{InputC: 3, InputH: 4, InputW: 4},
		vals: map[int64]value{1: {id: 0, rank: 4}}, pending: map[int64][4]int{}, consumers: map[int64]int{}}
	in := &node{id: 1, name: "input"}
	perChannel := &node{id: 2, name: "std", tensor: tensor.New(tensor.WithShape(1, 3, 1, 1), tensor.WithBacking([]float32{2, 3, 4}))}
	scalar := &node{id: 3, name: "half", tensor: tensor.New(tensor.FromScalar(float32(0.5)))}
	outs := []*node{{id: 4, name: "mul"}, {id: 5, name: "add"}}
	if err := tr.binary("Mul", []*node{in, perChannel}, outs[0]); err != nil {
		t.Fatal(err)
	}
	if err := tr.binary("Add", []*node{scalar, outs[0]}, outs[1]); err != nil {
		t.Fatal(err)
	}
	ops := tr.g.Ops
	if len(ops) != 2 || ops[0].Kind != model.OpMul || ops[0].In != [2]int{0, -1} || !slices.Equal(ops[0].Weight, []float32{2, 3, 4}) ||
		ops[1].Kind != model.OpAdd || ops[1].In != [2]int{1, -1} || !slices.Equal(ops[1].Weight, []float32{0.5}) {
		t.Fatalf("ops %+v", ops)
	}
	if _, err := tr.g.Shapes(); err != nil {
		t.Fatal(err)
	}
}
