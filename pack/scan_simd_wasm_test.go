//go:build wasm && goexperiment.simd

package pack

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Run with: GOEXPERIMENT=simd GOOS=js GOARCH=wasm go test ./pack -run SIMD -exec $(go env GOROOT)/lib/wasm/go_js_wasm_exec
func TestScanSIMDMatchesScan1(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	labels, embs, _ := clustered(rng, 150, 3, 128, 1.0)
	p, err := Build(labels, embs, BuildOptions{MaxSubCentres: 1})
	if err != nil {
		t.Fatal(err)
	}
	mp := make([]int32, len(labels))
	for i := range mp {
		mp[i] = int32(i)
	}
	for i := 0; i < 20; i++ {
		q, _ := normalized(randUnit(rng, 128), 128)
		a := topK{k: 10, min: float32(math.Inf(-1))}
		b := topK{k: 10, min: float32(math.Inf(-1))}
		scan1(&p.lists[0], q, mp, &a)
		scan(&p.lists[0], q, mp, &b)
		sort.Slice(a.c, func(i, j int) bool { return a.c[i].score > a.c[j].score })
		sort.Slice(b.c, func(i, j int) bool { return b.c[i].score > b.c[j].score })
		for j := range a.c {
			// The int16 query adds at most ~1e-4 of error to a cosine.
			if math.Abs(float64(a.c[j].score-b.c[j].score)) > 2e-4 {
				t.Fatalf("query %d rank %d: scan1 %+v simd %+v", i, j, a.c[j], b.c[j])
			}
		}
	}
}
