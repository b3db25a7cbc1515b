package model

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// detectorGraph: a 32x32 input, one 1x1 stride-4 conv to the 5 maps of an [5,8,8] centre+size
// detector.
func detectorGraph(oc int) *Graph {
	return &Graph{InputC: 3, InputH: 32, InputW: 32, Std: [3]float32{1, 1, 1},
		Ops: []Op{{Kind: OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 4, StrideW: 4, KH: 1, KW: 1,
			Weight: make([]float32, oc*3), WeightShape: []int{oc, 3, 1, 1}, Bias: make([]float32, oc)}}}
}

var center5 = DetectDecode{Scheme: DecodeCenter5, Threshold: 0.3, NMS: 0.5}

func TestDetectorKindRoundTrip(t *testing.T) {
	b, err := Encode(detectorGraph(5), EncodeOptions{Int8: true, Kind: KindDetector, Decode: center5})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	want := center5
	want.Stride = 4
	if info.Kind != KindDetector || info.Decode != want || info.Output != (Shape{5, 8, 8}) {
		t.Fatalf("info %+v", info)
	}
	if _, err := m.Embed(make([]float32, m.InputLen())); !errors.Is(err, ErrNotEmbedder) {
		t.Fatalf("Embed on a detector: %v", err)
	}
	if _, err := m.Forward(make([]float32, m.InputLen())); err != nil {
		t.Fatal(err)
	}
}

// Files written before the kind field (every testdata file) load as embedders.
func TestOldFilesAreEmbedders(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.tmdl")
	if len(files) == 0 {
		t.Fatal("no testdata/*.tmdl")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.Info().Kind != KindEmbedder || m.Info().Decode != (DetectDecode{}) {
			t.Fatalf("%s: kind %v decode %+v", f, m.Info().Kind, m.Info().Decode)
		}
	}
}

func TestEncodeRefusesBadKinds(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
		opt  EncodeOptions
		want string
	}{
		{"unknown kind", detectorGraph(5), EncodeOptions{Kind: 2, Decode: center5}, "kind 2 unknown"},
		{"detector without a scheme", detectorGraph(5), EncodeOptions{Kind: KindDetector}, "scheme 0 unknown"},
		{"detector with 4 channels", detectorGraph(4), EncodeOptions{Kind: KindDetector, Decode: center5}, "5 channels"},
		{"detector mirror-averaged", detectorGraph(5), EncodeOptions{Kind: KindDetector, Decode: center5, Mirror: true}, "mirror"},
		{"threshold NaN", detectorGraph(5), EncodeOptions{Kind: KindDetector, Decode: DetectDecode{Scheme: 1, Threshold: float32(math.NaN()), NMS: 0.5}}, "out of range"},
		{"NMS 0", detectorGraph(5), EncodeOptions{Kind: KindDetector, Decode: DetectDecode{Scheme: 1, Threshold: 0.3}}, "out of range"},
		{"embedder with a decode record", testGraph(1, 32), EncodeOptions{Decode: center5}, "decode record"},
		{"embedder with a map output", detectorGraph(5), EncodeOptions{}, "[N,1,1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.g, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadRefusesBadKinds(t *testing.T) {
	det, err := Encode(detectorGraph(5), EncodeOptions{Kind: KindDetector, Decode: center5})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := Encode(testGraph(1, 32), EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	tests := []struct {
		name string
		base []byte
		mut  func(b []byte)
		want string
	}{
		{"unknown kind", det, func(b []byte) { le.PutUint32(b[kindOffset:], 7) }, "kind 7 unknown"},
		{"unknown scheme", det, func(b []byte) { b[decodeOffset] = 9 }, "scheme 9 unknown"},
		{"no scheme", det, func(b []byte) { b[decodeOffset] = 0 }, "scheme 0 unknown"},
		{"reserved decode byte", det, func(b []byte) { b[decodeOffset+2] = 1 }, "reserved decode bytes"},
		{"threshold above 1", det, func(b []byte) { le.PutUint32(b[decodeOffset+4:], math.Float32bits(1.5)) }, "out of range"},
		{"NMS NaN", det, func(b []byte) { le.PutUint32(b[decodeOffset+8:], math.Float32bits(float32(math.NaN()))) }, "out of range"},
		{"reserved byte after the record", det, func(b []byte) { b[headerSize-1] = 1 }, "reserved header byte 127"},
		{"mirror flag on a detector", det, func(b []byte) { le.PutUint32(b[flagsOffset:], flagMirror) }, "mirror"},
		{"embedder file marked detector", emb, func(b []byte) {
			le.PutUint32(b[kindOffset:], uint32(KindDetector))
			b[decodeOffset] = DecodeCenter5
			le.PutUint32(b[decodeOffset+4:], math.Float32bits(0.3))
			le.PutUint32(b[decodeOffset+8:], math.Float32bits(0.5))
		}, "5 channels"},
		{"detector file marked embedder", det, func(b []byte) { le.PutUint32(b[kindOffset:], 0) }, "reserved header byte 104"},
		{"embedder with decode bytes", emb, func(b []byte) { b[decodeOffset+4] = 1 }, "reserved header byte 108"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), tc.base...)
			tc.mut(b)
			_, err := Load(reseal(b))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
