package eval

import (
	"context"
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
)

// meanInput is a Preprocessor whose input tensor is the image's mean colour, as meanColour
// embeds it: PreprocessFile must hand it the image EmbedFiles hands an Embedder.
type meanInput struct{}

func (meanInput) PreprocessImage(dst []float32, img image.Image, box image.Rectangle) ([]float32, error) {
	return meanColour{}.EmbedImage(img, box)
}

// TestPreprocessFileDecodesAsEmbedFiles: calibration (toonid quantize) sees the pixels eval and
// pack build embed: transparent pixels on white, the same pixel cap.
func TestPreprocessFileDecodesAsEmbedFiles(t *testing.T) {
	dir := t.TempDir()
	clear := filepath.Join(dir, "clear.png") // red under alpha 0: white once flattened
	writePNG(t, clear, color.NRGBA{R: 255, A: 0}, 8, 8)
	half := filepath.Join(dir, "half.png")
	writePNG(t, half, color.NRGBA{G: 255, A: 128}, 8, 8)
	big := filepath.Join(dir, "big.png")
	writePNG(t, big, color.White, 10, 10)
	for _, path := range []string{clear, half} {
		want, err := EmbedFiles(context.Background(), meanColour{}, []string{path}, EmbedOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := PreprocessFile(meanInput{}, path, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[0][i] {
				t.Fatalf("%s: calibration input %v, embedded %v", filepath.Base(path), got, want[0])
			}
		}
	}
	if got, _ := PreprocessFile(meanInput{}, clear, 0); got[0] != 0xffff || got[1] != 0xffff {
		t.Errorf("transparent red calibrates as %v, want white", got)
	}
	if _, err := PreprocessFile(meanInput{}, big, 99); err == nil || !strings.Contains(err.Error(), "over the limit of 99 pixels") {
		t.Errorf("pixel cap: %v", err)
	}
}
