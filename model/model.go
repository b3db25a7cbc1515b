// Package model runs toonid's face-embedding network: it loads the model file (FORMAT.md),
// preprocesses RGBA crops into the input tensor and computes L2-normalised embeddings with
// SIMD kernels (GOEXPERIMENT=simd) or their scalar fallback. The same code runs natively and
// in js/wasm. ONNX import lives in model/onnximport, so the browser build does not link it.
package model

import (
	"encoding/hex"
	"errors"
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
	MACs           int64 // multiply-accumulates of one network pass (Forward); Embed runs two when Mirror
	// Mirror: the file asks for mirror-averaged embeddings (FORMAT.md, header flag bit 0):
	// Embed runs the network on the input and on its horizontal mirror and returns
	// l2n(l2n(f(x)) + l2n(f(mirror(x)))).
	Mirror bool
	// Kind: an embedder (Embed) or a detector (Forward, decoded by package detect as Decode
	// says; Embed refuses it). Output is the last op's [C,H,W] shape.
	Kind   Kind
	Decode DetectDecode
	Output Shape
}

// ErrNotEmbedder is returned by Embed and EmbedBatch for a detector file.
var ErrNotEmbedder = errors.New("model: this model file is a detector, not an embedder")

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
	m, err := newModel(&d.g, d.sum[:], d.int8, d.mirror)
	if err != nil {
		return nil, err
	}
	m.info.Kind, m.info.Decode = d.kind, d.dec
	return m, nil
}

// FromGraph prepares g to run without going through a file (tests, quantisation). The
// model embeds with one pass (Mirror false).
func FromGraph(g *Graph) (*Model, error) { return newModel(g, nil, false, false) }

func newModel(g *Graph, sum []byte, q8, mirror bool) (*Model, error) {
	p, err := newPlan(g)
	if err != nil {
		return nil, err
	}
	out := p.shapes[len(p.shapes)-1]
	m := &Model{graph: *g, plan: p}
	m.info = Info{
		InputW: g.InputW, InputH: g.InputH, Mean: g.Mean, Std: g.Std,
		EmbedDim: out.Size(), SHA256: hex.EncodeToString(sum), Int8: q8,
		Ops: len(g.Ops), MACs: macs(g, p.shapes), Mirror: mirror, Output: out,
	}
	n := m.InputLen()
	m.pool.New = func() any {
		a := p.newArena()
		if mirror {
			a.mirror = make([]float32, n)
		}
		return a
	}
	return m, nil
}

// Info returns the model's description.
func (m *Model) Info() Info { return m.info }

// Graph returns the model's graph (weights as float32, dequantised if stored as int8).
// The caller must not modify it.
func (m *Model) Graph() *Graph { return &m.graph }

// InputLen is the length of the CHW input tensor Embed expects.
func (m *Model) InputLen() int { return 3 * m.info.InputW * m.info.InputH }

// Forward runs the network once on a normalised CHW input and returns the raw graph output
// (not L2-normalised), in a new slice. It ignores Info().Mirror: it is always one pass.
func (m *Model) Forward(in []float32) ([]float32, error) {
	if err := m.checkInput(in); err != nil {
		return nil, err
	}
	a := m.pool.Get().(*arena)
	out := append([]float32(nil), m.plan.run(a, in)...)
	m.pool.Put(a)
	return out, nil
}

func (m *Model) checkInput(in []float32) error {
	if len(in) != m.InputLen() {
		return fmt.Errorf("model: input has %d values, want %d (3x%dx%d)", len(in), m.InputLen(), m.info.InputH, m.info.InputW)
	}
	return nil
}

// Embed runs the network on a normalised CHW input and returns the L2-normalised embedding.
// When the model file asks for it (Info().Mirror) the embedding is mirror-averaged:
// l2n(l2n(f(in)) + l2n(f(mirror(in)))), the mirror flipping the already-preprocessed
// tensor along W; the second pass reuses the pooled arena.
func (m *Model) Embed(in []float32) ([]float32, error) {
	if m.info.Kind != KindEmbedder {
		return nil, ErrNotEmbedder
	}
	if err := m.checkInput(in); err != nil {
		return nil, err
	}
	a := m.pool.Get().(*arena)
	out := append([]float32(nil), m.plan.run(a, in)...)
	normalize(out)
	if m.info.Mirror {
		mirrorW(a.mirror, in, m.info.InputW)
		addNormalized(out, m.plan.run(a, a.mirror))
		normalize(out)
	}
	m.pool.Put(a)
	return out, nil
}

// mirrorW writes src, a CHW tensor with rows of w values, flipped left-right into dst.
func mirrorW(dst, src []float32, w int) {
	for r := 0; r+w <= len(src); r += w {
		s, d := src[r:r+w], dst[r:r+w]
		for x, v := range s {
			d[w-1-x] = v
		}
	}
}

// addNormalized adds v/|v| to dst (nothing when v is zero).
func addNormalized(dst, v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i, x := range v {
		dst[i] += x * inv
	}
}

// EmbedBatch embeds each input as Embed does (mirror-averaged when Info().Mirror, the two
// passes of one item in the same goroutine); natively the inputs are spread over GOMAXPROCS
// goroutines.
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
	in, err := m.PreprocessImage(nil, img, box)
	if err != nil {
		return nil, err
	}
	return m.Embed(in)
}

// PreprocessImage is the input tensor EmbedImage embeds: box cropped out of img (padding
// where it leaves the image) and preprocessed, into dst (reused when large enough).
func (m *Model) PreprocessImage(dst []float32, img image.Image, box image.Rectangle) ([]float32, error) {
	pix, stride, w, h, box, err := rgbaView(img, box)
	if err != nil {
		return nil, err
	}
	return m.Preprocess(dst, pix, stride, w, h, box)
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
