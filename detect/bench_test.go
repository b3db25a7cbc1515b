package detect

import (
	"image"
	"image/color"
	"os"
	"testing"
)

// BenchmarkShippedDetector times one 848x480 frame (letterbox + network + decode) with the
// shipped detector (model/shipped/detect.tmdl); `make bench-detect` runs it natively and as
// js/wasm under node.
func BenchmarkShippedDetector(b *testing.B) {
	buf, err := os.ReadFile("../model/shipped/detect.tmdl")
	if err != nil {
		b.Skip("no shipped detector:", err)
	}
	d, err := Load(buf)
	if err != nil {
		b.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 848, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 848; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Detect(img); err != nil {
			b.Fatal(err)
		}
	}
}
