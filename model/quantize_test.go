package model

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestQuantize(t *testing.T) {
	g := testGraph(7, 32)
	ref, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	inputs := func(n int) [][]float32 {
		var ins [][]float32
		for i := range n {
			ins = append(ins, testInput(int64(100+i), ref.InputLen()))
		}
		return ins
	}
	for _, tc := range []struct {
		name    string
		n       int
		opt     QuantizeOptions
		minCos  float64 // the agreement it must reach
		sim     bool    // Int8Activations measured
		wantErr string  // "" or what the error says
	}{
		{"int8", 8, QuantizeOptions{Encode: EncodeOptions{Int8: true}, MinCos: 0.99}, 0.99, true, ""},
		{"float32 agrees exactly", 8, QuantizeOptions{MinCos: 0.99}, 0.99999, true, ""},
		{"mirror flag: the gate still compares single passes", 8, QuantizeOptions{Encode: EncodeOptions{Int8: true, Mirror: true}, MinCos: 0.99}, 0.99, true, ""},
		{"one input: nothing to hold out", 1, QuantizeOptions{Encode: EncodeOptions{Int8: true}, MinCos: -1}, 0.99, false, ""},
		{"gate above what int8 reaches", 8, QuantizeOptions{Encode: EncodeOptions{Int8: true}, MinCos: 1.5}, 0.99, true, "below 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Quantize(ref, inputs(tc.n), tc.opt)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !errors.Is(err, ErrDisagrees) || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want ErrDisagrees mentioning %q", err, tc.wantErr)
			}
			if q == nil {
				t.Fatal("no result: the report must come back with the gate's error too")
			}
			want, err := Encode(g, tc.opt.Encode)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(q.File, want) || q.Model.Info().SHA256 == "" || q.Model.Info().Mirror != tc.opt.Encode.Mirror {
				t.Errorf("file differs from Encode(g, %+v), or its model is not it (info %+v)", tc.opt.Encode, q.Model.Info())
			}
			if q.Agreement.N != tc.n || q.Agreement.MinCos < tc.minCos || q.Agreement.MeanCos < q.Agreement.MinCos {
				t.Errorf("agreement %+v over %d inputs, want min cosine >= %v", q.Agreement, tc.n, tc.minCos)
			}
			if (q.Int8Activations != nil) != tc.sim {
				t.Fatalf("Int8Activations %+v, want measured: %v", q.Int8Activations, tc.sim)
			}
			if tc.sim && q.Int8Activations.N != tc.n/2 {
				t.Errorf("int8 activations measured on %d held-out inputs, want %d", q.Int8Activations.N, tc.n/2)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		inputs [][]float32
		want   string
	}{
		{"no inputs", nil, "no calibration inputs"},
		{"wrong input size", [][]float32{make([]float32, 7)}, "input 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Quantize(ref, tc.inputs, QuantizeOptions{Encode: EncodeOptions{Int8: true}})
			if q != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Quantize = %v, %v; want no result and an error mentioning %q", q, err, tc.want)
			}
		})
	}
}
