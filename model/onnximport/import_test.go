package onnximport

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/toonid/toonid/model"
)

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
	for _, name := range []string{"ops", "hswish", "gorgonnx", "mnv2"} {
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
