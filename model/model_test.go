package model

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

func TestEmbedIsNormalisedAndDeterministic(t *testing.T) {
	m, err := FromGraph(testGraph(2, 32))
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(3, m.InputLen())
	e, err := m.Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, v := range e {
		n += float64(v) * float64(v)
	}
	if math.Abs(n-1) > 1e-5 {
		t.Fatalf("|e|^2 = %v", n)
	}
	e2, err := m.Embed(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e {
		if e[i] != e2[i] {
			t.Fatal("second Embed differs")
		}
	}
	if _, err := m.Embed(in[:10]); err == nil {
		t.Fatal("short input accepted")
	}
}

// The network computed op by op with plain loops (no im2col, no packing, no SIMD) agrees
// with the plan.
func TestPlanMatchesNaive(t *testing.T) {
	for _, g := range []*Graph{testGraph(4, 24), testGraph(5, 31), benchGraph(), branchGraph(6, 16), branchGraph(7, 23)} {
		m, err := FromGraph(g)
		if err != nil {
			t.Fatal(err)
		}
		in := testInput(5, m.InputLen())
		got, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveForward(g, in)
		if i, ok := closeEnough(got, want, 1e-4); !ok {
			t.Fatalf("%dpx: output %d: plan %v, naive %v", g.InputW, i, got[i], want[i])
		}
	}
}

func naiveForward(g *Graph, in []float32) []float32 {
	shapes, err := g.Shapes()
	if err != nil {
		panic(err)
	}
	vals := [][]float32{in}
	for i := range g.Ops {
		op := &g.Ops[i]
		ins, outs := shapes[op.In[0]], shapes[i+1]
		src := vals[op.In[0]]
		dst := make([]float32, outs.Size())
		switch op.Kind {
		case OpConv:
			icg, ocg := ins[0]/op.Group, outs[0]/op.Group
			for oc := 0; oc < outs[0]; oc++ {
				gi := oc / ocg
				for oy := 0; oy < outs[1]; oy++ {
					for ox := 0; ox < outs[2]; ox++ {
						var s float32
						if op.Bias != nil {
							s = op.Bias[oc]
						}
						for ic := 0; ic < icg; ic++ {
							for ky := 0; ky < op.KH; ky++ {
								for kx := 0; kx < op.KW; kx++ {
									y, x := oy*op.StrideH+ky-op.Pads[0], ox*op.StrideW+kx-op.Pads[1]
									if y < 0 || x < 0 || y >= ins[1] || x >= ins[2] {
										continue
									}
									s += op.Weight[((oc*icg+ic)*op.KH+ky)*op.KW+kx] * src[((gi*icg+ic)*ins[1]+y)*ins[2]+x]
								}
							}
						}
						dst[(oc*outs[1]+oy)*outs[2]+ox] = s
					}
				}
			}
		case OpDense:
			k := op.WeightShape[1]
			for j := range dst {
				s := op.Bias[j]
				for kk := 0; kk < k; kk++ {
					s += op.Weight[j*k+kk] * src[kk]
				}
				dst[j] = s
			}
		case OpConcat:
			dst = append(append(dst[:0], src...), vals[op.In[1]]...)
		case OpL2Norm:
			hw := ins[1] * ins[2]
			for p := 0; p < hw; p++ {
				var n float64
				for c := 0; c < ins[0]; c++ {
					n = math.Hypot(n, float64(src[c*hw+p]))
				}
				for c := 0; c < ins[0]; c++ {
					if n > 0 {
						dst[c*hw+p] = float32(float64(src[c*hw+p]) / n)
					}
				}
			}
		default:
			// Elementwise and pooling ops share the plan's simple loops: run a one-op plan.
			cp := *op
			cp.In = [2]int{0, -1}
			shapes1 := []Shape{ins, outs}
			a := &arena{vals: [][]float32{src, dst}}
			if op.In[1] >= 0 {
				cp.In[1] = 2
				shapes1 = append(shapes1, shapes[op.In[1]])
				a.vals = append(a.vals, vals[op.In[1]])
			}
			cp.Act = Act{}
			p := &plan{ops: []Op{cp}, shapes: shapes1, amaxOf: make([]bool, len(shapes1))}
			p.run(a, src)
		}
		if op.Act.Kind != ActNone {
			activate(&op.Act, dst, outs[1]*outs[2])
		}
		vals = append(vals, dst)
	}
	return vals[len(vals)-1]
}

func TestEmbedBatchMatchesEmbed(t *testing.T) {
	m, err := FromGraph(testGraph(6, 32))
	if err != nil {
		t.Fatal(err)
	}
	var ins [][]float32
	for i := 0; i < 9; i++ {
		ins = append(ins, testInput(int64(i), m.InputLen()))
	}
	got, err := m.EmbedBatch(ins)
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range ins {
		want, err := m.Embed(in)
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			if got[i][j] != want[j] {
				t.Fatalf("batch item %d differs", i)
			}
		}
	}
	ins[4] = ins[4][:3]
	if _, err := m.EmbedBatch(ins); err == nil {
		t.Fatal("bad batch item accepted")
	}
}

// The two-branch embedder exported from torch (testdata/gen.py branches; its model files
// are made by the onnximport tests) agrees with onnxruntime in every build, wasm included:
// Mul/Add on the input, Sqrt, three L2Norms and three Concats.
func TestBranchesFileMatchesOnnxruntime(t *testing.T) {
	readF32 := func(name string) []float32 {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v
	}
	in, want := readF32("branches.in.f32"), readF32("branches.ort.f32")
	for _, c := range []struct {
		file   string
		minCos float64
		maxAbs float64
	}{
		{"branches_f32.tmdl", 1 - 1e-9, 1e-5},
		{"branches_int8.tmdl", 0.999, 0.02},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(b)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		got, err := m.Forward(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d outputs, onnxruntime %d", c.file, len(got), len(want))
		}
		var worst float64
		for i := range got {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		cos := Cosine(got, want)
		t.Logf("%s vs onnxruntime: cosine %.7f, max abs diff %.3g", c.file, cos, worst)
		if cos < c.minCos || worst > c.maxAbs {
			t.Errorf("%s: cosine %v, max abs diff %v", c.file, cos, worst)
		}
	}
}

// int8 weights keep the embedding within cosine 0.99 of the float model.
func TestInt8CloseToFloat(t *testing.T) {
	for name, g := range map[string]*Graph{"testGraph": testGraph(7, 32), "branchGraph": branchGraph(8, 32)} {
		f, err := FromGraph(g)
		if err != nil {
			t.Fatal(err)
		}
		file, err := Encode(g, EncodeOptions{Int8: true})
		if err != nil {
			t.Fatal(err)
		}
		q, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		var ins [][]float32
		for i := 0; i < 16; i++ {
			ins = append(ins, testInput(int64(100+i), f.InputLen()))
		}
		a, err := Compare(f, q, ins)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s int8 vs float: min cos %.5f mean %.5f", name, a.MinCos, a.MeanCos)
		if a.MinCos < 0.99 {
			t.Fatalf("%s: min cosine %v < 0.99", name, a.MinCos)
		}
	}
}

func TestEmbedImage(t *testing.T) {
	m, err := FromGraph(testGraph(8, 32))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(10, 10, 90, 70))
	for y := 10; y < 70; y++ {
		for x := 10; x < 90; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 3), uint8(y * 3), 128, 255})
		}
	}
	box := image.Rect(20, 15, 60, 55)
	a, err := m.EmbedImage(img, box)
	if err != nil {
		t.Fatal(err)
	}
	// The same pixels through the generic image path give the same embedding.
	other := image.NewNRGBA64(img.Rect)
	for y := 10; y < 70; y++ {
		for x := 10; x < 90; x++ {
			other.Set(x, y, img.At(x, y))
		}
	}
	b, err := m.EmbedImage(other, box)
	if err != nil {
		t.Fatal(err)
	}
	if c := Cosine(a, b); c < 0.99999 {
		t.Fatalf("RGBA and NRGBA64 paths differ: cos %v", c)
	}
	if _, err := m.EmbedImage(img, image.Rect(200, 200, 300, 300)); err == nil {
		t.Fatal("box outside the image accepted")
	}
}

func TestMain(m *testing.M) {
	// Keep the fuzz seed corpus in step with the writer: regenerate it with
	// TOONID_WRITE_SEEDS=1 go test -run XXX . The version-1 seeds are the v1 layout of the
	// same files (toV1; TestFileVersions checks they are byte for byte what the v1 writer made).
	if os.Getenv("TOONID_WRITE_SEEDS") != "" {
		for _, s := range []struct {
			name string
			opt  EncodeOptions
			v1   bool
		}{
			{"tiny_f32.tmdl", EncodeOptions{}, true},
			{"tiny_int8.tmdl", EncodeOptions{Int8: true}, true},
			{"tiny_v2_f32.tmdl", EncodeOptions{}, false},
			{"tiny_v2_int8_mirror.tmdl", EncodeOptions{Int8: true, Mirror: true}, false},
		} {
			b, err := Encode(testGraph(9, 16), s.opt)
			if err != nil {
				panic(err)
			}
			if s.v1 {
				b = toV1(b)
			}
			if err := os.WriteFile("testdata/"+s.name, b, 0o644); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(m.Run())
}

// Convolutions over small sizes, strides, kernels and asymmetric pads agree with the naive
// loops (phase planes, im2col and 1x1 paths, including inputs narrower than a stride).
func TestConvShapesMatchNaive(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for side := 1; side <= 7; side++ {
		for _, s := range []int{1, 2, 3} {
			for _, k := range []int{1, 2, 3, 5} {
				for _, pads := range [][4]int{{}, {1, 1, 1, 1}, {0, 2, 1, 0}, {0, 0, 1, 1}, {2, 2, 2, 2}} {
					if side+pads[0]+pads[2] < k {
						continue
					}
					for _, oc := range []int{3, 8, 130} {
						for _, kw := range []int{1, k} {
							for _, width := range []int{side, side + 1} {
								if width+pads[1]+pads[3] < kw {
									continue
								}
								g := &Graph{InputC: 3, InputH: side, InputW: width, Mean: half, Std: half}
								op := convOp(r, 0, 3, oc, k, s, 1, pads, Act{Kind: ActRelu})
								op.KW, op.WeightShape[3] = kw, kw
								op.Weight = op.Weight[:oc*3*k*kw]
								g.Ops = []Op{op, {Kind: OpFlatten, In: [2]int{1, -1}}}
								m, err := FromGraph(g)
								if err != nil {
									t.Fatalf("side %d s %d k %dx%d pads %v: %v", side, s, k, kw, pads, err)
								}
								in := testInput(int64(side), m.InputLen())
								got, err := m.Forward(in)
								if err != nil {
									t.Fatal(err)
								}
								want := naiveForward(g, in)
								if i, ok := closeEnough(got, want, 1e-4); !ok {
									t.Fatalf("%dx%d s %d k %dx%d pads %v oc %d: output %d: %v, want %v", side, width, s, k, kw, pads, oc, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestSimulateInt8Activations(t *testing.T) {
	for _, g := range []*Graph{testGraph(12, 32), branchGraph(13, 32)} {
		simulateInt8Activations(t, g)
	}
}

func simulateInt8Activations(t *testing.T, g *Graph) {
	m, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	var calib, eval [][]float32
	for i := 0; i < 8; i++ {
		calib = append(calib, testInput(int64(200+i), m.InputLen()))
		eval = append(eval, testInput(int64(300+i), m.InputLen()))
	}
	a, err := SimulateInt8Activations(m, calib, eval)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulated int8 activations: min cos %.5f mean %.5f", a.MinCos, a.MeanCos)
	// Rounding to 8 bits moves the output, but not far.
	if a.MaxAbsDiffRaw == 0 || a.MinCos < 0.9 || a.MinCos > a.MeanCos {
		t.Fatalf("implausible agreement %+v", a)
	}
	if _, err := SimulateInt8Activations(m, nil, eval); err == nil {
		t.Fatal("no calibration accepted")
	}
}

// Depthwise convolutions (group = channels) of every kernel size, stride and pad agree with
// the naive loops, with their epilogues (none, Relu, Clip, and PRelu applied after): the
// float kernels to float rounding, and where the plan runs one on the integer depthwise
// kernel (3x3 stride 2 in SIMD wasm) that too, to its int16 rounding (about 2^-13 of the
// weights' and the input's magnitudes; qdw_test.go checks it to the bound).
func TestDepthwiseMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	acts := []Act{{}, {Kind: ActRelu}, {Kind: ActClip, A: 0, B: 6}, {Kind: ActPRelu, Slope: []float32{0.1}}}
	for _, side := range []int{1, 2, 3, 5, 7, 8, 14, 15} {
		for _, s := range []int{1, 2, 3} {
			for _, k := range []int{1, 2, 3, 5} {
				for _, pads := range [][4]int{{}, {1, 1, 1, 1}, {0, 0, 1, 1}, {2, 1, 0, 2}} {
					if side+pads[0]+pads[2] < k || side+1+pads[1]+pads[3] < k {
						continue
					}
					for ai, act := range acts {
						// A 1x1 conv to 37 channels first: the depthwise op then runs several
						// channels per kernel call and several groups (newDwLayout).
						const c = 37
						g := &Graph{InputC: 3, InputH: side, InputW: side + 1, Mean: half, Std: half}
						g.Ops = []Op{convOp(r, 0, 3, c, 1, 1, 1, [4]int{}, Act{}), convOp(r, 1, c, c, k, s, c, pads, act), {Kind: OpFlatten, In: [2]int{2, -1}}}
						m, err := FromGraph(g)
						if err != nil {
							t.Fatalf("side %d s %d k %d pads %v: %v", side, s, k, pads, err)
						}
						in := testInput(int64(side), m.InputLen())
						for i := range in {
							in[i] *= 8 // reach past the Clip's 6
						}
						want := naiveForward(g, in)
						q := m.plan.qdw[1]
						for _, integer := range []bool{q != nil, false} {
							m.plan.qdw[1] = nil
							tol := 1e-5
							if integer {
								m.plan.qdw[1], tol = q, 1e-3
							}
							got, err := m.Forward(in)
							if err != nil {
								t.Fatal(err)
							}
							if i, ok := closeEnough(got, want, tol); !ok {
								t.Fatalf("%dx%d s %d k %d pads %v act %d integer %v: output %d: %v, want %v", side, side+1, s, k, pads, ai, integer, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
