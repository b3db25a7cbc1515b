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
	for _, name := range []string{"ops", "hswish", "gorgonnx"} {
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
