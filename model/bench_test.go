package model

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"testing"
	"time"
)

// benchGraph is a 96 px ResNet-like embedder of the shipped model's size (about 36 MMAC):
// stem 3x3/2, then basic blocks 16->32/2, 32->64/2, 64->128/2, 128->128, GAP, 128-d dense.
func benchGraph() *Graph {
	r := rand.New(rand.NewSource(11))
	relu := Act{Kind: ActRelu}
	same := [4]int{1, 1, 1, 1}
	g := &Graph{InputC: 3, InputH: 96, InputW: 96, Mean: [3]float32{.5, .5, .5}, Std: [3]float32{.5, .5, .5}}
	add := func(op Op) int { g.Ops = append(g.Ops, op); return len(g.Ops) }
	x := add(convOp(r, 0, 3, 16, 3, 2, 1, same, relu))
	cin := 16
	for _, st := range []struct{ c, s int }{{32, 2}, {64, 2}, {128, 2}, {128, 1}} {
		y := add(convOp(r, x, cin, st.c, 3, st.s, 1, same, relu))
		y = add(convOp(r, y, st.c, st.c, 3, 1, 1, same, Act{}))
		short := x
		if st.s != 1 || cin != st.c {
			short = add(convOp(r, x, cin, st.c, 1, st.s, 1, [4]int{}, Act{}))
		}
		x = add(Op{Kind: OpAdd, In: [2]int{y, short}, Act: relu})
		cin = st.c
	}
	x = add(Op{Kind: OpGlobalAvgPool, In: [2]int{x, -1}})
	x = add(Op{Kind: OpFlatten, In: [2]int{x, -1}})
	add(Op{Kind: OpDense, In: [2]int{x, -1}, Weight: randSlice(r, 128*128, 0.1), WeightShape: []int{128, 128}, Bias: randSlice(r, 128, 0.1)})
	return g
}

func BenchmarkEmbed(b *testing.B) {
	m, err := FromGraph(benchGraph())
	if err != nil {
		b.Fatal(err)
	}
	in := testInput(1, m.InputLen())
	b.Run(fmt.Sprintf("one/%.1fMMAC", float64(m.Info().MACs)/1e6), func(b *testing.B) {
		for b.Loop() {
			m.Embed(in)
		}
		b.ReportMetric(float64(m.Info().MACs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
	batch := make([][]float32, 32)
	for i := range batch {
		batch[i] = testInput(int64(i), m.InputLen())
	}
	b.Run("batch32", func(b *testing.B) {
		for b.Loop() {
			m.EmbedBatch(batch)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch))/1e6, "ms/embedding")
	})
}

// BenchmarkOps reports where one embedding's time goes, per op (kind and shape).
func BenchmarkOps(b *testing.B) {
	m, err := FromGraph(benchGraph())
	if err != nil {
		b.Fatal(err)
	}
	benchOps(b, m)
}

func benchOps(b *testing.B, m *Model) {
	p := m.plan
	a := p.newArena()
	in := testInput(1, m.InputLen())
	for i := range p.ops {
		op := &p.ops[i]
		a.vals[0] = in
		for j := 0; j <= i; j++ { // fill every value up to op i
			runOp(p, a, j)
		}
		name := fmt.Sprintf("%02d-%v-%dx%d-s%d-%v", i, op.Kind, op.KH, op.KW, op.StrideH, p.shapes[i+1])
		b.Run(name, func(b *testing.B) {
			// The minimum too: on a shared machine the mean mostly measures other jobs.
			best := time.Duration(math.MaxInt64)
			for b.Loop() {
				t0 := time.Now()
				runOp(p, a, i)
				best = min(best, time.Since(t0))
			}
			b.ReportMetric(float64(best.Nanoseconds())/1e3, "min-us")
		})
	}
}

// BenchmarkShippedOps is BenchmarkOps on the shipped model file (read from shipped/; the
// shipped package itself imports model, so it cannot be imported here).
func BenchmarkShippedOps(b *testing.B) {
	buf, err := os.ReadFile("shipped/toonid.tmdl")
	if err != nil {
		b.Skip(err)
	}
	m, err := Load(buf)
	if err != nil {
		b.Fatal(err)
	}
	benchOps(b, m)
}

func BenchmarkShippedEmbed(b *testing.B) {
	buf, err := os.ReadFile("shipped/toonid.tmdl")
	if err != nil {
		b.Skip(err)
	}
	m, err := Load(buf)
	if err != nil {
		b.Fatal(err)
	}
	in := testInput(1, m.InputLen())
	for b.Loop() {
		m.Embed(in)
	}
	passes := 1.0 // MACs counts one network pass; a mirror-averaged Embed runs two
	if m.Info().Mirror {
		passes = 2
	}
	b.ReportMetric(passes*float64(m.Info().MACs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// BenchmarkFileOps and BenchmarkFileEmbed are BenchmarkShippedOps / BenchmarkShippedEmbed
// (one pass, Forward) on the model file named by $TOONID_BENCH_MODEL (skipped when unset),
// e.g. a candidate model before it ships.
func BenchmarkFileOps(b *testing.B) {
	benchOps(b, benchFileModel(b))
}

func BenchmarkFileEmbed(b *testing.B) {
	m := benchFileModel(b)
	in := testInput(1, m.InputLen())
	best := time.Duration(math.MaxInt64)
	for b.Loop() {
		t0 := time.Now()
		m.Forward(in)
		best = min(best, time.Since(t0))
	}
	b.ReportMetric(float64(m.Info().MACs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	b.ReportMetric(float64(best.Nanoseconds())/1e6, "min-ms")
}

func benchFileModel(b *testing.B) *Model {
	path := os.Getenv("TOONID_BENCH_MODEL")
	if path == "" {
		b.Skip("TOONID_BENCH_MODEL not set")
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Load(buf)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
