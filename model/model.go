// Package model runs toonid's face-embedding network: it loads the model file (FORMAT.md),
// preprocesses RGBA crops into the input tensor and computes L2-normalised embeddings with
// SIMD kernels (GOEXPERIMENT=simd) or their scalar fallback. The same code runs natively and
// in js/wasm. ONNX import lives in model/onnximport, so the browser build does not link it.
package model

import (
	"encoding/hex"
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
)

// Info describes a loaded model.
type Info struct {
	InputW, InputH int
	Mean, Std      [3]float32
	EmbedDim       int
	SHA256         string // hex of the file's own checksum (bytes 40..end)
	Int8           bool   // weights stored as int8 (dequantised at load)
	Ops            int
	MACs           int64 // multiply-accumulates of one embedding
}

// Model is a loaded network. It is safe for concurrent use.
type Model struct {
	info  Info
	graph Graph
	plan  *plan
	pool  sync.Pool // *arena
}

// Load verifies a model file (magic, version, sha256, bounds, shapes) and prepares it to run.
// It never panics on bad input and allocates at most a few times len(b) plus the model's
// declared activations, which are capped.
func Load(b []byte) (*Model, error) {
	d, err := decode(b)
	if err != nil {
		return nil, err
	}
	return newModel(&d.g, d.sum[:], d.int8)
}

// FromGraph prepares g to run without going through a file (tests, quantisation).
func FromGraph(g *Graph) (*Model, error) { return newModel(g, nil, false) }

func newModel(g *Graph, sum []byte, q8 bool) (*Model, error) {
	p, err := newPlan(g)
	if err != nil {
		return nil, err
	}
	out := p.shapes[len(p.shapes)-1]
	m := &Model{graph: *g, plan: p}
	m.info = Info{
		InputW: g.InputW, InputH: g.InputH, Mean: g.Mean, Std: g.Std,
		EmbedDim: out.Size(), SHA256: hex.EncodeToString(sum), Int8: q8,
		Ops: len(g.Ops), MACs: macs(g, p.shapes),
	}
	m.pool.New = func() any { return p.newArena() }
	return m, nil
}

// Info returns the model's description.
func (m *Model) Info() Info { return m.info }

// Graph returns the model's graph (weights as float32, dequantised if stored as int8).
// The caller must not modify it.
func (m *Model) Graph() *Graph { return &m.graph }

// InputLen is the length of the CHW input tensor Embed expects.
func (m *Model) InputLen() int { return 3 * m.info.InputW * m.info.InputH }

// Forward runs the network on a normalised CHW input and returns the raw graph output
// (not L2-normalised), in a new slice.
func (m *Model) Forward(in []float32) ([]float32, error) {
	if len(in) != m.InputLen() {
		return nil, fmt.Errorf("model: input has %d values, want %d (3x%dx%d)", len(in), m.InputLen(), m.info.InputH, m.info.InputW)
	}
	a := m.pool.Get().(*arena)
	out := append([]float32(nil), m.plan.run(a, in)...)
	m.pool.Put(a)
	return out, nil
}

// Embed runs the network on a normalised CHW input and returns the L2-normalised embedding.
func (m *Model) Embed(in []float32) ([]float32, error) {
	out, err := m.Forward(in)
	if err != nil {
		return nil, err
	}
	normalize(out)
	return out, nil
}

// EmbedBatch embeds each input; natively the inputs are spread over GOMAXPROCS goroutines.
func (m *Model) EmbedBatch(in [][]float32) ([][]float32, error) {
	out := make([][]float32, len(in))
	errs := make([]error, len(in))
	workers := min(runtime.GOMAXPROCS(0), len(in))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = m.Embed(in[i])
			}
		}()
	}
	for i := range in {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("model: batch item %d: %w", i, err)
		}
	}
	return out, nil
}

// EmbedImage crops box out of img (padding where the box leaves the image), preprocesses
// and embeds it.
func (m *Model) EmbedImage(img image.Image, box image.Rectangle) ([]float32, error) {
	pix, stride, w, h, box, err := rgbaView(img, box)
	if err != nil {
		return nil, err
	}
	in, err := m.Preprocess(nil, pix, stride, w, h, box)
	if err != nil {
		return nil, err
	}
	return m.Embed(in)
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// macs counts multiply-accumulates of conv and dense ops (what benchmarks report).
func macs(g *Graph, shapes []Shape) int64 {
	var n int64
	for i := range g.Ops {
		op := &g.Ops[i]
		switch op.Kind {
		case OpConv:
			out := shapes[i+1]
			n += int64(out.Size()) * int64(op.WeightShape[1]*op.KH*op.KW)
		case OpDense:
			n += int64(len(op.Weight))
		}
	}
	return n
}
