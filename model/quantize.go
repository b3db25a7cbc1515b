package model

import (
	"errors"
	"fmt"
)

// QuantizeOptions configures Quantize.
type QuantizeOptions struct {
	// Encode says how the file stores the weights (int8 or float32, per kind of op) and whether it
	// is mirror-averaged.
	Encode EncodeOptions
	// MinCos is the gate: Quantize fails when the written model's output and the float model's
	// differ on some calibration input by a cosine below it (-1 lets every file through).
	MinCos float64
}

// Quantized is a model file made by Quantize and what it measured on the calibration inputs.
type Quantized struct {
	File  []byte // the .tmdl file
	Model *Model // File, loaded back
	// Agreement compares single network passes of Model and of the float model on every
	// calibration input, with or without the mirror flag: the mirror average is the same
	// arithmetic on two such passes.
	Agreement Agreement
	// Int8Activations is what int8 activations would lose on top (SimulateInt8Activations; not
	// written: they bring no speed here, see model/README.md), calibrated on every other input
	// and measured on the rest; nil with fewer than two inputs.
	Int8Activations *Agreement
}

// ErrDisagrees is returned (wrapped) by Quantize when the quantized model fails the MinCos gate.
var ErrDisagrees = errors.New("quantized model disagrees with the float model")

// Quantize encodes ref (a float model, e.g. FromGraph of an ONNX import) as a model file with
// opt.Encode, loads the file back and measures it against ref on calibration inputs (ref's
// preprocessed crops: Preprocess of ref). When the file fails the gate, the error wraps
// ErrDisagrees and the *Quantized is returned too, so a caller can report what was measured; the
// file must not be used.
func Quantize(ref *Model, calib [][]float32, opt QuantizeOptions) (*Quantized, error) {
	if len(calib) == 0 {
		return nil, errors.New("model: quantize: no calibration inputs")
	}
	file, err := Encode(ref.Graph(), opt.Encode)
	if err != nil {
		return nil, fmt.Errorf("model: quantize: %w", err)
	}
	q, err := Load(file)
	if err != nil {
		return nil, fmt.Errorf("model: quantize: reloading the written model: %w", err)
	}
	agree, err := Compare(ref, q, calib)
	if err != nil {
		return nil, fmt.Errorf("model: quantize: %w", err)
	}
	r := &Quantized{File: file, Model: q, Agreement: agree}
	if len(calib) >= 2 {
		var cal, held [][]float32
		for i, in := range calib {
			if i%2 == 0 {
				cal = append(cal, in)
			} else {
				held = append(held, in)
			}
		}
		sim, err := SimulateInt8Activations(q, cal, held)
		if err != nil {
			return nil, fmt.Errorf("model: quantize: %w", err)
		}
		r.Int8Activations = &sim
	}
	// Negated so that a NaN cosine (an int8 output with Inf or NaN) fails the gate too.
	if !(agree.MinCos >= opt.MinCos) {
		return r, fmt.Errorf("model: quantize: %w: min cosine %.6f over %d calibration inputs, below %g", ErrDisagrees, agree.MinCos, agree.N, opt.MinCos)
	}
	return r, nil
}
