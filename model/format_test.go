package model

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reseal recomputes the file's checksum so that tests (and the fuzzer) reach the checks
// behind it.
func reseal(b []byte) []byte {
	if len(b) < sumEnd {
		return b
	}
	b = append([]byte(nil), b...)
	s := sha256.Sum256(b[sumEnd:])
	copy(b[sumOffset:], s[:])
	return b
}

func TestEncodeLoadRoundTrip(t *testing.T) {
	g := testGraph(1, 32)
	for _, q8 := range []bool{false, true} {
		file, err := Encode(g, EncodeOptions{Int8: q8})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(file)
		if err != nil {
			t.Fatalf("int8=%v: %v", q8, err)
		}
		info := m.Info()
		if info.InputW != 32 || info.InputH != 32 || info.EmbedDim != 16 || info.Int8 != q8 || info.Mean != g.Mean || info.Std != g.Std || len(info.SHA256) != 64 {
			t.Fatalf("int8=%v: info %+v", q8, info)
		}
		got := m.Graph()
		if len(got.Ops) != len(g.Ops) {
			t.Fatalf("%d ops, want %d", len(got.Ops), len(g.Ops))
		}
		for i := range g.Ops {
			a, b := &g.Ops[i], &got.Ops[i]
			if a.Kind != b.Kind || a.In != b.In || a.Pads != b.Pads || a.Group != b.Group || a.Act.Kind != b.Act.Kind ||
				a.Act.A != b.Act.A || a.CountIncludePad != b.CountIncludePad || len(a.Weight) != len(b.Weight) || len(a.Bias) != len(b.Bias) {
				t.Fatalf("op %d differs after round trip:\n%+v\n%+v", i, a, b)
			}
			for j := range a.Weight {
				tol := float32(0)
				if q8 && (a.Kind == OpConv || a.Kind == OpDense) {
					tol = 1.0 / 127 // half a step of a scale <= max|w|/127, with |w| <= ~1.2
				}
				if d := a.Weight[j] - b.Weight[j]; d > tol || d < -tol {
					t.Fatalf("op %d weight %d: %v -> %v", i, j, a.Weight[j], b.Weight[j])
				}
			}
		}
		// The same file encodes to the same bytes (deterministic writer).
		again, _ := Encode(g, EncodeOptions{Int8: q8})
		if string(again) != string(file) {
			t.Fatal("Encode is not deterministic")
		}
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	good, err := Encode(testGraph(1, 32), EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "shorter than", nil},
		{"truncated header", "shorter than", good[:50]},
		{"truncated data", "sha256 mismatch", good[:len(good)-1]},
		{"truncated resealed", "does not fit", reseal(good[:len(good)-7])},
		{"bad magic", "bad magic", mut(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"wrong version", "version 2", mut(func(b []byte) []byte { le.PutUint32(b[4:], 2); return reseal(b) })},
		{"flipped weight byte", "sha256 mismatch", mut(func(b []byte) []byte { b[len(b)-3] ^= 1; return b })},
		{"huge op count", "ops", mut(func(b []byte) []byte { le.PutUint32(b[80:], 1<<30); return reseal(b) })},
		{"huge input", "input", mut(func(b []byte) []byte { le.PutUint32(b[44:], 1<<20); return reseal(b) })},
		{"huge dim", "out of range", mut(func(b []byte) []byte {
			le.PutUint32(b[headerSize+opRecSize*len(testGraph(1, 32).Ops)+4:], 1<<31)
			return reseal(b)
		})},
		{"bad embed dim", "embedding size", mut(func(b []byte) []byte { le.PutUint32(b[52:], 17); return reseal(b) })},
		{"zero std", "std", mut(func(b []byte) []byte { le.PutUint32(b[68:], 0); return reseal(b) })},
		{"op reads the future", "out of range", mut(func(b []byte) []byte { le.PutUint32(b[headerSize+4:], 5); return reseal(b) })},
		{"unknown op", "unknown kind", mut(func(b []byte) []byte { b[headerSize] = 77; return reseal(b) })},
		{"huge stride", "out of range", mut(func(b []byte) []byte { le.PutUint32(b[headerSize+16:], 1000); return reseal(b) })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := Load(reseal(good[:len(good)-7])); !errors.Is(err, errCorrupt) {
		t.Fatalf("truncated file: %v does not wrap errCorrupt", err)
	}
}

// FuzzLoad: Load never panics, and a file it accepts runs. Every input is tried as is and
// resealed, so mutations reach the parser behind the checksum.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.tmdl"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, file := range [][]byte{b, reseal(b)} {
			m, err := Load(file)
			if err != nil {
				continue
			}
			if _, err := m.Embed(make([]float32, m.InputLen())); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// F32Dense keeps Dense weights bit-exact while convolutions are still int8.
func TestEncodeF32Dense(t *testing.T) {
	g := testGraph(1, 32)
	file, err := Encode(g, EncodeOptions{Int8: true, F32Dense: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Graph()
	var dense, conv int
	for i := range g.Ops {
		a, b := &g.Ops[i], &got.Ops[i]
		exact := true
		for j := range a.Weight {
			if a.Weight[j] != b.Weight[j] {
				exact = false
			}
		}
		switch a.Kind {
		case OpDense:
			dense++
			if !exact {
				t.Errorf("op %d: Dense weights changed under F32Dense", i)
			}
		case OpConv:
			conv++
			if exact {
				t.Errorf("op %d: Conv weights stored exactly; want int8", i)
			}
		}
	}
	if dense == 0 || conv == 0 {
		t.Fatalf("test graph has %d Dense and %d Conv ops; want both", dense, conv)
	}
	if !m.Info().Int8 {
		t.Error("Info().Int8 = false for a model with int8 conv weights")
	}
	all, _ := Encode(g, EncodeOptions{Int8: true})
	if len(file) <= len(all) {
		t.Errorf("F32Dense file %d bytes, all-int8 %d: want larger", len(file), len(all))
	}
}
