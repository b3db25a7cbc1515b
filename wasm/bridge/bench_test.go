package bridge

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/internal/devmodel"
	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// BenchmarkIdentify measures one identify request with a network of the shipped model's shape
// (~42 MMAC, random weights) and a 500-character pack: the click search with and without the
// refine pass, and a single box. Run natively, or in wasm under node:
//
//	GOOS=js GOARCH=wasm GOEXPERIMENT=simd go test ./wasm/bridge -run '^$' -bench Identify \
//	  -exec "$(go env GOROOT)/lib/wasm/go_js_wasm_exec"
func BenchmarkIdentify(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := model.FromGraph(devmodel.Graph(rng))
	if err != nil {
		b.Fatal(err)
	}
	dim := m.Info().EmbedDim
	labels := make([]pack.Label, 500)
	embs := make([][][]float32, len(labels))
	for i := range labels {
		labels[i] = pack.Label{ID: fmt.Sprint("c", i), Name: fmt.Sprint("C", i)}
		for range 3 {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(rng.NormFloat64())
			}
			embs[i] = append(embs[i], v)
		}
	}
	p, err := pack.Build(labels, embs, pack.BuildOptions{Name: "bench", ModelSHA256: testSHA, MaxSubCentres: 3})
	if err != nil {
		b.Fatal(err)
	}
	pm, err := pack.NewMatcher(p)
	if err != nil {
		b.Fatal(err)
	}
	w, h := 640, 360
	pix := make([]byte, 4*w*h)
	for i := range pix {
		pix[i] = byte(rng.IntN(256))
	}
	for _, tc := range []struct {
		name, req string
		confident float32
	}{
		{"click-10-crops", `{"click":{"x":320,"y":180,"unit":360}}`, 0},
		{"click-coarse-only", `{"click":{"x":320,"y":180,"unit":360}}`, -1e9},
		{"box", `{"box":[200,60,240,240]}`, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := identify.DefaultSearch()
			s.Confident = tc.confident
			// A confident margin far below any score makes every coarse answer "clear".
			mt := pm.WithThreshold(2)
			if tc.confident < 0 {
				s.Confident = 1e-9
				mt = pm.WithThreshold(-2)
			}
			br := New(m, mt, s)
			var crops int
			for b.Loop() {
				r := decode(b, br.Identify(pix, w, h, []byte(tc.req)))
				crops = r.Candidates
			}
			b.ReportMetric(float64(crops), "crops")
		})
	}
}

// BenchmarkLoadModel is the model part of the worker's "model+pack init" phase: decode, verify
// the sha256 and plan a network of the shipped shape from its int8 file.
func BenchmarkLoadModel(b *testing.B) {
	mb, err := model.Encode(devmodel.Graph(rand.New(rand.NewPCG(1, 2))), model.EncodeOptions{Int8: true})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(mb)))
	for b.Loop() {
		if _, err := model.Load(mb); err != nil {
			b.Fatal(err)
		}
	}
}
