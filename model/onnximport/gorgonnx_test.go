package onnximport

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	onnx "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"

	"github.com/toonid/toonid/model"
)

// Cross-check against a second, independent implementation: gorgonia's onnx-go backend runs
// testdata/gorgonnx.onnx (only ops gorgonnx supports; the last layer is a MatMul because
// gorgonnx re-adds a Gemm bias on every Run). This is a test-only import: gorgonnx never
// reaches a toonid binary.
func TestFloatPathMatchesGorgonnx(t *testing.T) {
	path := filepath.Join("..", "testdata", "gorgonnx.onnx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := readF32(t, filepath.Join("..", "testdata", "gorgonnx.in.f32"))

	be := gorgonnx.NewGraph()
	om := onnx.NewModel(be)
	if err := om.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	side := int(math.Sqrt(float64(len(in) / 3)))
	if err := om.SetInput(0, tensor.New(tensor.WithShape(1, 3, side, side), tensor.WithBacking(append([]float32(nil), in...)))); err != nil {
		t.Fatal(err)
	}
	if err := be.Run(); err != nil {
		t.Fatal(err)
	}
	outs, err := om.GetOutputTensors()
	if err != nil {
		t.Fatal(err)
	}
	want := outs[0].Data().([]float32)

	got, err := floatModel(t, importFile(t, "gorgonnx")).Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d outputs, gorgonnx %d", len(got), len(want))
	}
	var worst float64
	for i := range got {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("max abs diff vs gorgonnx %.3g", worst)
	if worst >= 1e-4 {
		t.Fatalf("max abs diff %g\n got %v\nwant %v", worst, got, want)
	}
}

// int8 weights on the op-coverage network stay within cosine 0.99 of the float path.
func TestInt8CloseToFloatOnONNX(t *testing.T) {
	for _, name := range []string{"ops", "hswish", "gorgonnx", "mnv2", "branches"} {
		g := importFile(t, name)
		f := floatModel(t, g)
		q := loadModel(t, encodeInt8(t, g))
		in := readF32(t, filepath.Join("..", "testdata", name+".in.f32"))
		inputs := [][]float32{in}
		for s := 1; s < 8; s++ { // more inputs: the fixed one, mirrored and scaled
			x := make([]float32, len(in))
			for i := range x {
				x[i] = in[len(in)-1-i] * float32(s) / 4
			}
			inputs = append(inputs, x)
		}
		a, err := model.Compare(f, q, inputs)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: int8 vs float cosine min %.5f mean %.5f", name, a.MinCos, a.MeanCos)
		if a.MinCos < 0.99 {
			t.Errorf("%s: min cosine %v < 0.99", name, a.MinCos)
		}
	}
}

func TestImportErrors(t *testing.T) {
	if _, err := Import([]byte("not an onnx file")); err == nil {
		t.Fatal("garbage accepted")
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "unsupported.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import(b)
	if err == nil || !contains(err.Error(), "unsupported op Sigmoid") || !contains(err.Error(), "producing") {
		t.Fatalf("Import(unsupported.onnx): %v, want an error naming the op and its output", err)
	}
	b, err = os.ReadFile(filepath.Join("..", "testdata", "int8init.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = Import(b); err == nil || !contains(err.Error(), "int8") {
		t.Fatalf("Import(int8init.onnx): %v, want onnx-go's int8 refusal", err)
	}
	// A Reshape of the 48 input values to [1, 47] (flatten once dropped this error).
	b, err = os.ReadFile(filepath.Join("..", "testdata", "badreshape.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = Import(b); err == nil || !contains(err.Error(), "does not match the input's 48 values") {
		t.Fatalf("Import(badreshape.onnx): %v, want the size mismatch", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func FuzzImport(f *testing.F) {
	for _, name := range []string{"ops", "hswish", "gorgonnx", "branches"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name+".onnx"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Import(b)
		if err != nil {
			return
		}
		if _, err := model.FromGraph(g); err != nil {
			t.Fatalf("Import accepted a graph the runtime rejects: %v", err)
		}
	})
}

// The shipped network: the shipped int8 file stays within cosine 0.99 of its float ONNX.
func TestShippedInt8CloseToFloat(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "shipped", "toonid.onnx"))
	if os.IsNotExist(err) {
		t.Skip("no shipped model yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	g, err := Import(b)
	if err != nil {
		t.Fatal(err)
	}
	f := floatModel(t, g)
	// The file the product ships (written by toonid quantize -f32-dense), not a re-encoding.
	tmdl, err := os.ReadFile(filepath.Join("..", "shipped", "toonid.tmdl"))
	if err != nil {
		t.Fatal(err)
	}
	q := loadModel(t, tmdl)
	// The colour cue is not in the ONNX (toonid quantize appends it): the float reference gets
	// the shipped file's own cue ops, so both sides compute the same function.
	if qo, fo := q.Graph().Ops, g.Ops; len(qo) == len(fo)+model.ColourCueOps {
		for i, op := range qo[len(fo):] {
			if want := []model.OpKind{model.OpL2Norm, model.OpColourHist, model.OpAdd, model.OpL2Norm, model.OpMul, model.OpConcat}[i]; op.Kind != want {
				t.Fatalf("shipped op %d is %v, want the colour cue's %v", len(fo)+i, op.Kind, want)
			}
		}
		g.Ops = append(g.Ops, qo[len(fo):]...)
		g.Mean, g.Std = q.Graph().Mean, q.Graph().Std
		f = floatModel(t, g)
	}
	var inputs [][]float32
	for s := 0; s < 6; s++ {
		x := make([]float32, f.InputLen())
		for i := range x {
			x[i] = float32(math.Sin(float64(i*(s+3))*0.01+float64(s))) * 0.9
		}
		inputs = append(inputs, x)
	}
	a, err := model.Compare(f, q, inputs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shipped: int8 vs float cosine min %.5f mean %.5f", a.MinCos, a.MeanCos)
	if a.MinCos < 0.99 {
		t.Fatalf("min cosine %v < 0.99", a.MinCos)
	}
}

func floatModel(t *testing.T, g *model.Graph) *model.Model {
	t.Helper()
	f, err := model.FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func encodeInt8(t *testing.T, g *model.Graph) []byte {
	t.Helper()
	file, err := model.Encode(g, model.EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func loadModel(t *testing.T, file []byte) *model.Model {
	t.Helper()
	m, err := model.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
