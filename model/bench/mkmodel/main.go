// Command mkmodel writes the benchmark's model file from an ONNX network without needing
// calibration images (int8 weights need none; `toonid quantize` is the tool that also
// measures the int8-vs-float agreement).
//
//	go run ./model/bench/mkmodel in.onnx out.tmdl [-f32]
package main

import (
	"fmt"
	"os"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/onnximport"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: mkmodel in.onnx out.tmdl [-f32]")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	g, err := onnximport.Import(b)
	if err != nil {
		return err
	}
	file, err := model.Encode(g, model.EncodeOptions{Int8: len(args) < 3 || args[2] != "-f32"})
	if err != nil {
		return err
	}
	m, err := model.Load(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mkmodel: %s: %d ops, %.1f MMAC, %d bytes\n", args[1], m.Info().Ops, float64(m.Info().MACs)/1e6, len(file))
	return os.WriteFile(args[1], file, 0o644)
}
