//go:build js && wasm

// Command wasm is the browser benchmark's Go side: it exposes a model to the bench page as
// a global object (named by argv[1]) with load, setInput, pass, embed and forward functions, so
// the page can time one network pass of toonid's runtime next to onnxruntime-web on the same
// input (pass), and separately a whole Embed, which is two passes for a mirror-averaged model.
package main

import (
	"fmt"
	"image"
	"os"
	"syscall/js"
	"unsafe"

	"github.com/toonid/toonid/model"
)

func main() {
	name := "toonidBench"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	var m *model.Model
	var in []float32
	fail := func(err error) any { return map[string]any{"error": err.Error()} }
	api := map[string]any{
		"load": js.FuncOf(func(_ js.Value, args []js.Value) any {
			b := make([]byte, args[0].Length())
			js.CopyBytesToGo(b, args[0])
			var err error
			if m, err = model.Load(b); err != nil {
				return fail(err)
			}
			info := m.Info()
			return map[string]any{"inputW": info.InputW, "inputH": info.InputH, "embedDim": info.EmbedDim,
				"macs": float64(info.MACs), "int8": info.Int8, "simd": simdBuild, "mirror": info.Mirror}
		}),
		// setInput takes the CHW float32 input as a Uint8Array view of its bytes.
		"setInput": js.FuncOf(func(_ js.Value, args []js.Value) any {
			if m == nil || args[0].Length() != 4*m.InputLen() {
				return fail(fmt.Errorf("input has %d bytes, want %d", args[0].Length(), 4*m.InputLen()))
			}
			b := make([]byte, args[0].Length())
			js.CopyBytesToGo(b, args[0])
			in = unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
			return nil
		}),
		// pass runs the network once (Forward): what the comparison with onnxruntime-web times.
		"pass": js.FuncOf(func(_ js.Value, _ []js.Value) any {
			if _, err := m.Forward(in); err != nil {
				return fail(err)
			}
			return nil
		}),
		// embed is the product's Embed: one pass, or two plus the average for a mirror model.
		"embed": js.FuncOf(func(_ js.Value, _ []js.Value) any {
			if _, err := m.Embed(in); err != nil {
				return fail(err)
			}
			return nil
		}),
		"forward": js.FuncOf(func(_ js.Value, _ []js.Value) any {
			out, err := m.Forward(in)
			if err != nil {
				return fail(err)
			}
			vals := make([]any, len(out))
			for i, v := range out {
				vals[i] = float64(v)
			}
			return vals
		}),
		// preprocess resamples a side x side crop of a synthetic 1920x1080 frame into the
		// model input (the hot path before embed).
		"preprocess": js.FuncOf(func(_ js.Value, args []js.Value) any {
			side := args[0].Int()
			if frame == nil {
				frame = make([]byte, 1920*1080*4)
				for i := range frame {
					frame[i] = byte(i * 7)
				}
			}
			if _, err := m.Preprocess(dst, frame, 1920*4, 1920, 1080, image.Rect(100, 20, 100+side, 20+side)); err != nil {
				return fail(err)
			}
			return nil
		}),
	}
	js.Global().Set(name, js.ValueOf(api))
	select {}
}

var (
	frame []byte
	dst   = make([]float32, 3*512*512)
)
