package eval

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif"  // decoders for LoadImage
	_ "image/jpeg" //
	_ "image/png"  //
	"io"
	"os"
	"runtime"
	"sync"
)

// MaxPixels is the default cap on decoded image size (width·height), checked from the header
// before decoding so a hostile file cannot make us allocate gigabytes.
const MaxPixels = 40_000_000

// LoadImage decodes a PNG, JPEG or GIF after checking its header's size against maxPixels
// (0 = MaxPixels). Transparent pixels are composited onto white, so sprites look the same
// wherever they come from.
func LoadImage(name string, maxPixels int) (image.Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeImage(f, name, maxPixels)
}

// DecodeImage is LoadImage for an already open file or bytes (name is used in errors only):
// the same size check from the header before decoding, the same flattening onto white. The
// result is an *image.RGBA whose bounds start at (0, 0). f must be at the start of the image.
func DecodeImage(f io.ReadSeeker, name string, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = MaxPixels
	}
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%s: %s image is %dx%d, over the limit of %d pixels", name, format, cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return flatten(img), nil
}

// flatten draws img over white into an RGBA (a no-op copy for opaque images).
func flatten(img image.Image) *image.RGBA {
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Over)
	return dst
}

// An Embedder embeds the box of an image; *model.Model is one.
type Embedder interface {
	EmbedImage(img image.Image, box image.Rectangle) ([]float32, error)
}

// EmbedOptions configures EmbedFiles.
type EmbedOptions struct {
	Workers   int                   // default GOMAXPROCS
	MaxPixels int                   // default MaxPixels
	Progress  func(done, total int) // called from one goroutine at a time
	// Box picks the box to embed in each image (default: the whole image).
	Box func(path string, bounds image.Rectangle) image.Rectangle
}

// EmbedFiles loads and embeds every file on several goroutines (decode and embed both scale with
// cores). Every unreadable image is reported by path, and then the call fails.
func EmbedFiles(ctx context.Context, e Embedder, paths []string, opts EmbedOptions) ([][]float32, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	out := make([][]float32, len(paths))
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < min(opts.Workers, max(1, len(paths))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = embedOne(e, paths[i], opts)
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, len(paths))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eval: embed: %w", err)
	}
	var bad []error
	for _, err := range errs {
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("eval: %d of %d images failed:\n%w", len(bad), len(paths), errors.Join(bad...))
	}
	return out, nil
}

func embedOne(e Embedder, path string, opts EmbedOptions) ([]float32, error) {
	img, err := LoadImage(path, opts.MaxPixels)
	if err != nil {
		return nil, err
	}
	box := img.Bounds()
	if opts.Box != nil {
		box = opts.Box(path, box)
	}
	v, err := e.EmbedImage(img, box)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
