package model

import (
	"math"
	"testing"
)

// flipW is the test's own horizontal mirror of a CHW tensor (c, y, x) -> (c, y, w-1-x).
func flipW(in []float32, c, h, w int) []float32 {
	out := make([]float32, len(in))
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[(ch*h+y)*w+(w-1-x)] = in[(ch*h+y)*w+x]
			}
		}
	}
	return out
}

// l2n returns v/|v| computed in float64.
func l2n(v []float32) []float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float64, len(v))
	if s == 0 {
		return out
	}
	for i, x := range v {
		out[i] = float64(x) / math.Sqrt(s)
	}
	return out
}

// symmetricInput is a random input made left-right symmetric.
func symmetricInput(seed int64, h, w int) []float32 {
	in := testInput(seed, 3*h*w)
	for r := 0; r < 3*h; r++ {
		row := in[r*w : (r+1)*w]
		for x := 0; x < w/2; x++ {
			row[w-1-x] = row[x]
		}
	}
	return in
}

// nonSquare is testGraph with a 24-wide, 32-high input, so that a mirror along the wrong
// axis cannot pass.
func nonSquare(seed int64) *Graph {
	g := testGraph(seed, 32)
	g.InputW = 24
	return g
}

// A mirror model's Embed is l2n(l2n(f(x)) + l2n(f(mirror(x)))) computed from two Forward
// calls; Forward stays one pass (the same as the model without the flag); mirrored inputs
// embed identically; a left-right symmetric input gives the single-pass embedding; EmbedBatch
// agrees with Embed.
func TestMirrorEmbed(t *testing.T) {
	cases := []struct {
		name string
		g    *Graph
		opt  EncodeOptions
	}{
		{"f32 32px", testGraph(31, 32), EncodeOptions{}},
		{"int8 32px", testGraph(32, 32), EncodeOptions{Int8: true}},
		{"int8 f32-dense 17px", testGraph(33, 17), EncodeOptions{Int8: true, F32Dense: true}},
		{"f32 32x24", nonSquare(34), EncodeOptions{}},
		{"f32 two branches 16px", branchGraph(36, 16), EncodeOptions{}},
		{"int8 two branches 21px", branchGraph(37, 21), EncodeOptions{Int8: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			load := func(mirror bool) *Model {
				opt := c.opt
				opt.Mirror = mirror
				b, err := Encode(c.g, opt)
				if err != nil {
					t.Fatal(err)
				}
				m, err := Load(b)
				if err != nil {
					t.Fatal(err)
				}
				if m.Info().Mirror != mirror {
					t.Fatalf("Info().Mirror = %v, want %v", m.Info().Mirror, mirror)
				}
				return m
			}
			mm, single := load(true), load(false)
			h, w := c.g.InputH, c.g.InputW
			if mm.Info().MACs != single.Info().MACs {
				t.Fatalf("MACs %d with mirror, %d without: want the per-pass count in both", mm.Info().MACs, single.Info().MACs)
			}
			var batch [][]float32
			for seed := int64(0); seed < 4; seed++ {
				x := testInput(40+seed, mm.InputLen())
				batch = append(batch, x)
				fx, err := mm.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				fm, err := mm.Forward(flipW(x, 3, h, w))
				if err != nil {
					t.Fatal(err)
				}
				if one, err := single.Forward(x); err != nil || !equal(fx, one) {
					t.Fatalf("Forward of the mirror model differs from the single-pass model's (err %v)", err)
				}
				a, b := l2n(fx), l2n(fm)
				want := make([]float32, len(a))
				for i := range a {
					want[i] = float32(a[i] + b[i])
				}
				wantN := l2n(want)
				got, err := mm.Embed(x)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if d := math.Abs(float64(got[i]) - wantN[i]); d > 1e-6 {
						t.Fatalf("input %d, value %d: Embed %v, formula %v", seed, i, got[i], wantN[i])
					}
				}
				// The mirror pass must matter far beyond the tolerance, or the test proves nothing.
				one, err := single.Embed(x)
				if err != nil {
					t.Fatal(err)
				}
				var diff float64
				for i := range got {
					diff = max(diff, math.Abs(float64(got[i]-one[i])))
				}
				if diff < 1e-4 {
					t.Fatalf("input %d: mirror and single-pass embeddings differ by only %v", seed, diff)
				}
				// Mirror averaging makes the embedding blind to a left-right flip.
				if gm, err := mm.Embed(flipW(x, 3, h, w)); err != nil || !equal(gm, got) {
					t.Fatalf("input %d: Embed(mirror(x)) != Embed(x) (err %v)", seed, err)
				}
				// The caller's input is left as it was.
				if !equal(x, testInput(40+seed, mm.InputLen())) {
					t.Fatal("Embed modified its input")
				}
			}
			// Compare (the quantisation gate) compares single passes: the flag changes nothing there.
			if a, err := Compare(single, mm, batch); err != nil || a.MaxAbsDiffRaw != 0 {
				t.Fatalf("Compare(single, mirror) = %+v, %v: want identical single passes", a, err)
			}
			gotB, err := mm.EmbedBatch(batch)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range batch {
				if e, err := mm.Embed(x); err != nil || !equal(gotB[i], e) {
					t.Fatalf("EmbedBatch item %d differs from Embed (err %v)", i, err)
				}
			}
			// A symmetric input: both passes see the same tensor, so the single-pass result.
			sym := symmetricInput(50, h, w)
			if !equal(flipW(sym, 3, h, w), sym) {
				t.Fatal("symmetricInput is not symmetric")
			}
			a, err := mm.Embed(sym)
			if err != nil {
				t.Fatal(err)
			}
			b, err := single.Embed(sym)
			if err != nil {
				t.Fatal(err)
			}
			if i, ok := closeEnough(a, b, 1e-6); !ok {
				t.Fatalf("symmetric input, value %d: mirror %v, single pass %v", i, a[i], b[i])
			}
			if _, err := mm.Embed(sym[:7]); err == nil {
				t.Fatal("short input accepted")
			}
		})
	}
}

// The mirror pass reuses the pooled arena: Embed allocates no more with the flag than without.
func TestMirrorEmbedAllocs(t *testing.T) {
	g := testGraph(35, 32)
	allocs := map[bool]float64{}
	for _, mirror := range []bool{false, true} {
		b, err := Encode(g, EncodeOptions{Mirror: mirror})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(b)
		if err != nil {
			t.Fatal(err)
		}
		in := testInput(1, m.InputLen())
		m.Embed(in) // fill the pool
		allocs[mirror] = testing.AllocsPerRun(50, func() { m.Embed(in) })
	}
	if allocs[true] > allocs[false] {
		t.Fatalf("Embed allocates %v times with mirror, %v without", allocs[true], allocs[false])
	}
	t.Logf("allocations per Embed: %v (mirror), %v (single pass)", allocs[true], allocs[false])
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
