package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
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

// toV1 rewrites a version-2 file from Encode as the version-1 writer wrote it: the same
// file without header bytes 96..128 (flags and reserved), so every table moves 32 bytes
// down and the data section stays 32-byte aligned. The flags must be 0.
func toV1(b []byte) []byte {
	le := binary.LittleEndian
	if le.Uint32(b[4:]) != 2 || le.Uint32(b[flagsOffset:]) != 0 {
		panic("toV1: not a version-2 file without flags")
	}
	v1 := append(append([]byte(nil), b[:headerSizeV1]...), b[headerSize:]...)
	le.PutUint32(v1[4:], 1)
	le.PutUint32(v1[88:], le.Uint32(v1[88:])-(headerSize-headerSizeV1))
	return reseal(v1)
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
		again, err := Encode(g, EncodeOptions{Int8: q8})
		if err != nil {
			t.Fatal(err)
		}
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
		{"wrong version", "version 3", mut(func(b []byte) []byte { le.PutUint32(b[4:], 3); return reseal(b) })},
		{"version 0", "version 0", mut(func(b []byte) []byte { le.PutUint32(b[4:], 0); return reseal(b) })},
		{"v2 header cut short", "shorter than the 128-byte", reseal(good[:110])},
		{"unknown flag bit", "unknown bits 0x2", mut(func(b []byte) []byte { le.PutUint32(b[flagsOffset:], 2); return reseal(b) })},
		{"unknown flag bits next to mirror", "unknown bits 0x80000000", mut(func(b []byte) []byte { le.PutUint32(b[flagsOffset:], 1<<31|flagMirror); return reseal(b) })},
		{"unknown flags not resealed", "sha256 mismatch", mut(func(b []byte) []byte { b[flagsOffset] = 4; return b })},
		{"reserved byte 116", "reserved header byte 116", mut(func(b []byte) []byte { b[116] = 1; return reseal(b) })},
		{"unknown kind at 100", "kind 16777217 unknown", mut(func(b []byte) []byte { b[100] = 1; b[103] = 1; return reseal(b) })},
		{"reserved byte 127", "reserved header byte 127", mut(func(b []byte) []byte { b[127] = 0x80; return reseal(b) })},
		{"v1 header on a v2 file", "corrupt file", mut(func(b []byte) []byte { le.PutUint32(b[4:], 1); return reseal(b) })},
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
	for name, file := range map[string][]byte{
		"truncated file": reseal(good[:len(good)-7]),
		"unknown flags":  mut(func(b []byte) []byte { b[flagsOffset+1] = 1; return reseal(b) }),
		"reserved bytes": mut(func(b []byte) []byte { b[flagsOffset+4] = 1; return reseal(b) }),
	} {
		if _, err := Load(file); !errors.Is(err, errCorrupt) {
			t.Fatalf("%s: %v does not wrap errCorrupt", name, err)
		}
	}
}

// The checks on op kinds 10 (Concat), 11 (L2Norm) and activation 6 (Sqrt), in FORMAT.md's
// order, each rejection on an otherwise valid file of branchGraph (every new op and act):
// kinds and acts past the known ones, a Concat whose second input is out of range or
// missing, an L2Norm with one, weights on either, Concat inputs of different heights and
// widths.
func TestLoadRejectsBadNewOps(t *testing.T) {
	g := branchGraph(1, 16)
	good, err := Encode(g, EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Fatal(err)
	}
	find := func(kind OpKind, ok func(op *Op) bool) int {
		for i := range g.Ops {
			if g.Ops[i].Kind == kind && ok(&g.Ops[i]) {
				return i
			}
		}
		t.Fatalf("branchGraph has no such %v", kind)
		return -1
	}
	first := func(*Op) bool { return true }
	mapConcat := find(OpConcat, first) // two [8,8,8] feature maps
	l2 := find(OpL2Norm, first)
	scale := find(OpMul, func(op *Op) bool { return op.In[0] != 0 && op.Weight != nil }) // the 0.8 on branch B's vector
	mapVal := g.Ops[mapConcat].In[0]
	rec := func(i int) int { return headerSize + opRecSize*i }
	le := binary.LittleEndian
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return reseal(b)
	}
	setIn := func(b []byte, i, j, v int) { le.PutUint32(b[rec(i)+4+4*j:], uint32(int32(v))) }
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"op kind 13", "unknown kind 13", mut(func(b []byte) { b[rec(l2)] = 13 })},
		{"colour histogram of an activation", "(ColourHist): reads value", mut(func(b []byte) { b[rec(l2)] = 12 })},
		{"activation 7", "activation 7", mut(func(b []byte) { b[rec(l2)+1] = 7 })},
		{"concat second input from the future", "second input", mut(func(b []byte) { setIn(b, mapConcat, 1, mapConcat+1) })},
		{"concat without second input", "(Concat): needs a second input", mut(func(b []byte) { setIn(b, mapConcat, 1, -1) })},
		{"l2norm with a second input", "(L2Norm): takes one input", mut(func(b []byte) { setIn(b, l2, 1, 0) })},
		{"weights on l2norm", "(L2Norm): unexpected weights", mut(func(b []byte) { b[rec(scale)] = byte(OpL2Norm) })},
		{"weights on concat", "(Concat): unexpected weights", mut(func(b []byte) {
			b[rec(scale)] = byte(OpConcat)
			setIn(b, scale, 1, g.Ops[scale].In[0])
		})},
		{"concat of different heights", "(Concat): inputs [8 8 8] and [3 16 16] differ in height or width", mut(func(b []byte) { setIn(b, mapConcat, 1, 0) })},
		{"concat of a vector and a map", "(Concat): inputs [12 1 1] and [8 8 8] differ in height or width", mut(func(b []byte) { setIn(b, len(g.Ops)-1, 1, mapVal) })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.want)
			}
		})
	}
	// The same checks guard Encode, which validates the graph before writing it.
	bad := *g
	bad.Ops = slices.Clone(g.Ops)
	bad.Ops[mapConcat].In[1] = -1
	if _, err := Encode(&bad, EncodeOptions{}); err == nil || !strings.Contains(err.Error(), "needs a second input") {
		t.Fatalf("Encode of a Concat without a second input: %v", err)
	}
}

// Version-1 files (the frozen seeds written by the version-1 writer, and today's files
// rewritten in the v1 layout) load with Mirror false; version-2 files keep the flag through
// a round trip; the two layouts of one graph load to the same network.
func TestFileVersions(t *testing.T) {
	g := testGraph(9, 16)
	enc := func(opt EncodeOptions) []byte {
		b, err := Encode(g, opt)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seed := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ref, err := Load(enc(EncodeOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(21, ref.InputLen())
	want, err := ref.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		file    []byte
		version uint32
		mirror  bool
		int8    bool
	}{
		{"v1 seed f32", seed("tiny_f32.tmdl"), 1, false, false},
		{"v1 seed int8", seed("tiny_int8.tmdl"), 1, false, true},
		{"v1 layout of today's file", toV1(enc(EncodeOptions{})), 1, false, false},
		{"v2 seed f32", seed("tiny_v2_f32.tmdl"), 2, false, false},
		{"v2 seed int8 mirror", seed("tiny_v2_int8_mirror.tmdl"), 2, true, true},
		{"v2 f32", enc(EncodeOptions{}), 2, false, false},
		{"v2 f32 mirror", enc(EncodeOptions{Mirror: true}), 2, true, false},
		{"v2 int8 mirror", enc(EncodeOptions{Int8: true, Mirror: true}), 2, true, true},
		{"v2 int8 f32-dense mirror", enc(EncodeOptions{Int8: true, F32Dense: true, Mirror: true}), 2, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if v := binary.LittleEndian.Uint32(c.file[4:]); v != c.version {
				t.Fatalf("file version %d, want %d", v, c.version)
			}
			m, err := Load(c.file)
			if err != nil {
				t.Fatal(err)
			}
			info := m.Info()
			if info.Mirror != c.mirror || info.Int8 != c.int8 || info.InputW != 16 || info.EmbedDim != 16 {
				t.Fatalf("info %+v, want Mirror %v Int8 %v", info, c.mirror, c.int8)
			}
			// The file's own checksum names it, whatever its layout.
			if sum := sha256.Sum256(c.file[sumEnd:]); info.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("SHA256 %s is not the sha256 of bytes 40..end", info.SHA256)
			}
			if c.version == 2 {
				// Encode writes the flag and zero reserved bytes, and writes it again the same way.
				if f := binary.LittleEndian.Uint32(c.file[flagsOffset:]); (f == flagMirror) != c.mirror || f&^flagMirror != 0 {
					t.Fatalf("flags %#x", f)
				}
				again, err := Encode(m.Graph(), EncodeOptions{Mirror: info.Mirror})
				if err != nil {
					t.Fatal(err)
				}
				if m2, err := Load(again); err != nil || m2.Info().Mirror != c.mirror {
					t.Fatalf("re-encoded: %v, mirror %v", err, m2 != nil && m2.Info().Mirror)
				}
			}
			// Forward is one pass in every file; the float files give the same network.
			got, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			if c.int8 {
				if cos := Cosine(got, want); cos < 0.99 {
					t.Fatalf("int8 Forward: cosine %v to the float network", cos)
				}
			} else if i, ok := closeEnough(got, want, 0); !ok {
				t.Fatalf("Forward output %d: %v, want %v", i, got[i], want[i])
			}
		})
	}
	// The frozen v1 seeds are exactly what the v1 writer made of this graph, i.e. the v1
	// layout of today's files: the move to v2 changed nothing but the header.
	for name, q8 := range map[string]bool{"tiny_f32.tmdl": false, "tiny_int8.tmdl": true} {
		if !bytes.Equal(seed(name), toV1(enc(EncodeOptions{Int8: q8}))) {
			t.Errorf("%s differs from the v1 layout of Encode's output", name)
		}
	}
}

// FuzzLoad: Load never panics, and a file it accepts runs. Every input is tried as is and
// resealed, so mutations reach the parser behind the checksum.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.tmdl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if det, err := Encode(detectorGraph(5), EncodeOptions{Int8: true, Kind: KindDetector, Decode: center5}); err == nil {
		f.Add(det) // a detector: kind 1 and its decode record
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, file := range [][]byte{b, reseal(b)} {
			m, err := Load(file)
			if err != nil {
				continue
			}
			run := m.Embed
			if m.Info().Kind == KindDetector {
				run = m.Forward // Embed refuses detectors
			}
			if _, err := run(make([]float32, m.InputLen())); err != nil {
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
		exact := slices.Equal(a.Weight, b.Weight)
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
	all, err := Encode(g, EncodeOptions{Int8: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(file) <= len(all) {
		t.Errorf("F32Dense file %d bytes, all-int8 %d: want larger", len(file), len(all))
	}
}

// F32Depthwise keeps exactly the depthwise convolutions' weights (group = channels, one input
// channel per group) float32; grouped non-depthwise and ordinary convolutions stay int8.
func TestEncodeF32Depthwise(t *testing.T) {
	g := testGraph(1, 32)
	file, err := Encode(g, EncodeOptions{Int8: true, F32Depthwise: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Graph()
	var dw, other int
	for i := range g.Ops {
		a, b := &g.Ops[i], &got.Ops[i]
		if a.Kind != OpConv {
			continue
		}
		exact := slices.Equal(a.Weight, b.Weight)
		depthwise := a.Group > 1 && a.WeightShape[1] == 1
		if depthwise {
			dw++
		} else {
			other++
		}
		if exact != depthwise {
			t.Errorf("op %d (group %d, weight %v): stored exactly = %v, want %v", i, a.Group, a.WeightShape, exact, depthwise)
		}
	}
	if dw == 0 || other == 0 {
		t.Fatalf("test graph has %d depthwise and %d other convs; want both", dw, other)
	}
}
