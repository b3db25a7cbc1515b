package model

import (
	"math"
	"strings"
	"testing"
)

// rgbInput builds a [3,h,w] network input (mean 0, std 1: values are the [0,1] RGB) from a
// per-pixel colour function.
func rgbInput(h, w int, px func(y, x int) [3]float32) []float32 {
	in := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := px(y, x)
			for ch := 0; ch < 3; ch++ {
				in[ch*h*w+y*w+x] = c[ch]
			}
		}
	}
	return in
}

func TestColourHist(t *testing.T) {
	white, red, blue := [3]float32{1, 1, 1}, [3]float32{0.9, 0.1, 0.1}, [3]float32{0.1, 0.2, 0.8}
	const h, w = 8, 8
	// cell of a colour with 2 bins per channel: (r*2+g)*2+b
	cellRed, cellBlue, cellWhite := 4, 1, 7
	tests := []struct {
		name       string
		px         func(y, x int) [3]float32
		mean, std  [3]float32
		want       map[int]float32 // nonzero cells
		normalised bool            // input given as (v-0.5)/0.5
	}{
		{"a red square on white: the border is background", func(y, x int) [3]float32 {
			if y >= 2 && y < 6 && x >= 2 && x < 6 {
				return red
			}
			return white
		}, [3]float32{0, 0, 0}, [3]float32{1, 1, 1}, map[int]float32{cellRed: 1}, false},
		{"red and blue halves of the figure", func(y, x int) [3]float32 {
			if y >= 2 && y < 6 && x >= 2 && x < 4 {
				return red
			}
			if y >= 2 && y < 6 && x >= 4 && x < 6 {
				return blue
			}
			return white
		}, [3]float32{0, 0, 0}, [3]float32{1, 1, 1}, map[int]float32{cellRed: float32(math.Sqrt(0.5)), cellBlue: float32(math.Sqrt(0.5))}, false},
		{"blank: every pixel counts", func(y, x int) [3]float32 { return white }, [3]float32{0, 0, 0}, [3]float32{1, 1, 1}, map[int]float32{cellWhite: 1}, false},
		{"the header's mean and std are undone", func(y, x int) [3]float32 {
			if y >= 2 && y < 6 && x >= 2 && x < 6 {
				return red
			}
			return white
		}, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5}, map[int]float32{cellRed: 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := rgbInput(h, w, tc.px)
			if tc.normalised {
				for i := range in {
					in[i] = (in[i] - 0.5) / 0.5
				}
			}
			got := make([]float32, 8)
			colourHist(got, in, h, w, 2, tc.mean, tc.std, make([]float32, colourHistScratch(h, w)))
			for i, v := range got {
				if want := tc.want[i]; math.Abs(float64(v-want)) > 1e-6 {
					t.Errorf("cell %d = %v, want %v (all %v)", i, v, want, got)
				}
			}
		})
	}
}

func TestColourHistOutOfRangeValues(t *testing.T) {
	nan := float32(math.NaN())
	in := rgbInput(4, 4, func(y, x int) [3]float32 { return [3]float32{nan, 2, -3} })
	got := make([]float32, 27)
	colourHist(got, in, 4, 4, 3, [3]float32{}, [3]float32{1, 1, 1}, make([]float32, colourHistScratch(4, 4)))
	// NaN and below 0 go to the first cell, 1 and above to the last: (0*3+2)*3+0.
	if got[6] != 1 {
		t.Fatalf("histogram %v, want all in cell 6", got)
	}
}

// colourGraph is a tiny embedder ([4,1,1] output) for the colour cue's tests.
func colourGraph() *Graph {
	return &Graph{InputC: 3, InputH: 8, InputW: 8, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}, Ops: []Op{
		{Kind: OpGlobalAvgPool, In: [2]int{0, -1}},
		{Kind: OpDense, In: [2]int{1, -1}, Weight: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, WeightShape: []int{4, 3}},
	}}
}

func TestAppendColourCue(t *testing.T) {
	g := colourGraph()
	figure := func(c [3]float32) []float32 {
		in := rgbInput(8, 8, func(y, x int) [3]float32 {
			if y >= 2 && y < 6 && x >= 2 && x < 6 {
				return c
			}
			return [3]float32{1, 1, 1}
		})
		for i := range in {
			in[i] = (in[i] - 0.5) / 0.5
		}
		return in
	}
	red, blue := figure([3]float32{0.9, 0.1, 0.1}), figure([3]float32{0.1, 0.2, 0.8})
	if err := AppendColourCue(g, 2, 0.5, [][]float32{red, blue}); err != nil {
		t.Fatal(err)
	}
	if len(g.Ops) != 2+ColourCueOps {
		t.Fatalf("%d ops, want %d", len(g.Ops), 2+ColourCueOps)
	}
	file, err := Encode(g, EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if d := m.Info().EmbedDim; d != 4+8 {
		t.Fatalf("embedding of %d, want 12", d)
	}
	out, err := m.Forward(red)
	if err != nil {
		t.Fatal(err)
	}
	// The CNN part is unit length, the colour part 0.5 long and centred on the calibration
	// mean: red minus (red+blue)/2 is (red-blue)/2, a unit vector with +red -blue.
	var cnn float64
	for _, v := range out[:4] {
		cnn += float64(v) * float64(v)
	}
	c := out[4:]
	s := float32(0.5 / math.Sqrt2)
	want := []float32{0, -s, 0, 0, s, 0, 0, 0} // cells blue (1), red (4)
	if math.Abs(cnn-1) > 1e-5 {
		t.Errorf("CNN part has norm² %v, want 1", cnn)
	}
	for i := range want {
		if math.Abs(float64(c[i]-want[i])) > 1e-5 {
			t.Fatalf("colour part %v, want %v", c, want)
		}
	}
}

func TestAppendColourCueRefuses(t *testing.T) {
	in := make([]float32, 3*8*8)
	tests := []struct {
		name    string
		bins    int
		weight  float32
		calib   [][]float32
		g       *Graph
		wantErr string
	}{
		{"one bin", 1, 0.5, [][]float32{in}, colourGraph(), "bins per channel"},
		{"too many bins", MaxColourBins + 1, 0.5, [][]float32{in}, colourGraph(), "bins per channel"},
		{"zero weight", 4, 0, [][]float32{in}, colourGraph(), "weight"},
		{"NaN weight", 4, float32(math.NaN()), [][]float32{in}, colourGraph(), "weight"},
		{"no calibration", 4, 0.5, nil, colourGraph(), "no calibration"},
		{"wrong input size", 4, 0.5, [][]float32{in[:10]}, colourGraph(), "has 10 values"},
		{"not an embedder", 4, 0.5, [][]float32{in}, &Graph{InputC: 3, InputH: 8, InputW: 8, Std: [3]float32{1, 1, 1},
			Ops: []Op{{Kind: OpAct, In: [2]int{0, -1}, Act: Act{Kind: ActRelu}}}}, "not an embedding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.g.Ops)
			err := AppendColourCue(tc.g, tc.bins, tc.weight, tc.calib)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
			}
			if len(tc.g.Ops) != n {
				t.Fatalf("a refused call left %d ops, want %d", len(tc.g.Ops), n)
			}
		})
	}
}

// A ColourHist op may only read the network input, with bins in range and no weights.
func TestColourHistOpChecks(t *testing.T) {
	tests := []struct {
		name    string
		op      Op
		wantErr string
	}{
		{"reads an activation", Op{Kind: OpColourHist, In: [2]int{1, -1}, Group: 4}, "want the network input"},
		{"one bin", Op{Kind: OpColourHist, In: [2]int{0, -1}, Group: 1}, "bins per channel"},
		{"17 bins", Op{Kind: OpColourHist, In: [2]int{0, -1}, Group: 17}, "bins per channel"},
		{"weights", Op{Kind: OpColourHist, In: [2]int{0, -1}, Group: 4, Weight: []float32{1}, WeightShape: []int{1}}, "unexpected weights"},
		{"activation", Op{Kind: OpColourHist, In: [2]int{0, -1}, Group: 4, Act: Act{Kind: ActRelu}}, "unexpected weights or activation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{InputC: 3, InputH: 8, InputW: 8, Std: [3]float32{1, 1, 1}, Ops: []Op{
				{Kind: OpAct, In: [2]int{0, -1}, Act: Act{Kind: ActRelu}}, tc.op,
			}}
			_, err := g.Shapes()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
