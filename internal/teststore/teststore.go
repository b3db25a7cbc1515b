// Package teststore writes a small store that a client can use, for the host tests that
// publish it (worker/test, serve/internal/loadtest): toonid publish opens every pack as a
// reader would before it uploads anything, so their fixtures must be real packs, not
// placeholder manifests.
package teststore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/pack"
)

// Write writes models/<sha256>.tmdl (a tiny random int8 network, named by its checksum as the
// pack room names models) and packs/<name>/{manifest.json,<sha256>.tps} for each name, each
// pack with three characters of random embeddings. It returns the model's key.
func Write(dir string, packs ...string) (modelKey string, err error) {
	rng := rand.New(rand.NewPCG(16, 16))
	const dim = 16
	w := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64()) * 0.5
		}
		return v
	}
	g := &model.Graph{
		InputC: 3, InputH: 16, InputW: 16, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25},
		Ops: []model.Op{
			{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 2, StrideW: 2, KH: 3, KW: 3, Pads: [4]int{1, 1, 1, 1},
				Weight: w(8 * 3 * 9), WeightShape: []int{8, 3, 3, 3}, Bias: w(8), Act: model.Act{Kind: model.ActRelu}},
			{Kind: model.OpGlobalAvgPool, In: [2]int{1, -1}},
			{Kind: model.OpDense, In: [2]int{2, -1}, Weight: w(dim * 8), WeightShape: []int{dim, 8}},
		},
	}
	b, err := model.Encode(g, model.EncodeOptions{Int8: true})
	if err != nil {
		return "", fmt.Errorf("teststore: model: %w", err)
	}
	m, err := model.Load(b)
	if err != nil {
		return "", fmt.Errorf("teststore: model: %w", err)
	}
	modelKey = "models/" + m.Info().SHA256 + ".tmdl"
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		return "", fmt.Errorf("teststore: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(modelKey)), b, 0o644); err != nil {
		return "", fmt.Errorf("teststore: %w", err)
	}
	for _, name := range packs {
		labels := make([]pack.Label, 3)
		embs := make([][][]float32, len(labels))
		for i := range labels {
			labels[i] = pack.Label{ID: fmt.Sprintf("%s-%d", name, i), Name: fmt.Sprintf("Character %d", i), Series: "test"}
			for range 2 {
				embs[i] = append(embs[i], unit(rng, m.Info().EmbedDim))
			}
		}
		p, err := pack.Build(labels, embs, pack.BuildOptions{Name: name, ModelSHA256: m.Info().SHA256})
		if err != nil {
			return "", fmt.Errorf("teststore: pack %s: %w", name, err)
		}
		if _, err := p.WriteDir(filepath.Join(dir, "packs", name), pack.EncodeOptions{}); err != nil {
			return "", fmt.Errorf("teststore: pack %s: %w", name, err)
		}
	}
	return modelKey, nil
}

func unit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		v[i] = float32(rng.NormFloat64())
		n += float64(v[i]) * float64(v[i])
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}
