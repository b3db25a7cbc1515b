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
	"runtime"
	"sync"

	"github.com/toonid/toonid/internal/fsutil"
	"github.com/toonid/toonid/model"
)

// MaxPixels is the default cap on decoded image size (width·height), checked from the header
// before decoding so a hostile file cannot make us allocate gigabytes.
const MaxPixels = 40_000_000

// MaxDecodeBytes caps the memory one decode may take, computed from the header before decoding
// (DecodeBytes): the decoder's own image and buffers plus the one RGBA copy every caller makes.
// It is what MaxPixels costs for an 8-bit RGBA image (with a MiB for the decoder's buffers), so
// 8-bit images keep the whole pixel cap and deeper ones get fewer pixels: a 16-bit PNG (8 bytes
// a pixel decoded) at most 26.7 M, a progressive JPEG (whose decoder keeps 4 bytes of
// coefficients per sample) fewer than a baseline one, a very wide PNG fewer (its decoder keeps
// two rows).
const MaxDecodeBytes = 8*MaxPixels + 1<<20

// DecodeBudget caps the bytes (DecodeBytes) of all decodes in flight in the process together:
// a decode waits until the ones before it are done when it would take the total past this, so
// the decoding memory no longer grows with the number of workers (GOMAXPROCS). Two decodes of
// the largest size fit; small images decode as many at a time as there are workers.
const DecodeBudget = 2 * MaxDecodeBytes

// budget is the process's DecodeBudget (tests swap in a smaller one).
var budget = newMemBudget(DecodeBudget)

// LoadImage decodes a PNG, JPEG or GIF after checking its header against maxPixels (0 =
// MaxPixels) and MaxDecodeBytes (CheckImage). Transparent pixels are composited onto white, so
// sprites look the same wherever they come from, and a JPEG is turned as its EXIF orientation
// says (orient.go), as browsers show it.
func LoadImage(name string, maxPixels int) (image.Image, error) {
	f, err := fsutil.OpenRegular(name) // a FIFO named as an image is refused, not waited on
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeImage(f, name, maxPixels)
}

// DecodeImage is LoadImage for an already open file or bytes (name is used in errors only):
// the same checks from the header before decoding, the same flattening onto white. The result
// is an *image.RGBA whose bounds start at (0, 0). f must be at the start of the image.
func DecodeImage(f io.ReadSeeker, name string, maxPixels int) (image.Image, error) {
	img, release, err := decode(f, name, maxPixels, true)
	if err != nil {
		return nil, err
	}
	release()
	return img, nil
}

// LoadImageAsIs is LoadImage without the flattening: the decoder's own image, colours under
// transparent pixels kept, except that a JPEG with an EXIF orientation comes turned, as an
// RGBA. The same checks come first. (Nothing embeds or calibrates on it: those use LoadImage's
// flattened pixels, PreprocessFile included.)
func LoadImageAsIs(name string, maxPixels int) (image.Image, error) {
	f, err := fsutil.OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, release, err := decode(f, name, maxPixels, false)
	if err != nil {
		return nil, err
	}
	release()
	return img, nil
}

// CheckImage is the rule every tool applies to an image before decoding it, from its header
// alone: a known format, 1..maxPixels pixels (0 = MaxPixels) and at most MaxDecodeBytes of
// decoding memory (DecodeBytes). It returns the header's config with the size as the decoded
// image will have it (a JPEG's EXIF orientation applied: a quarter turn swaps the sides); f is
// left anywhere.
func CheckImage(f io.ReadSeeker, name string, maxPixels int) (image.Config, error) {
	cfg, _, _, err := check(f, name, maxPixels)
	return cfg, err
}

// check returns the config (sides as seen), the decode's bytes and the EXIF orientation (1 for
// all but JPEGs that carry one).
func check(f io.ReadSeeker, name string, maxPixels int) (image.Config, int64, int, error) {
	if maxPixels <= 0 {
		maxPixels = MaxPixels
	}
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return image.Config{}, 0, 0, fmt.Errorf("%s: unreadable image: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return image.Config{}, 0, 0, fmt.Errorf("%s: %s image is %dx%d, over the limit of %d pixels", name, format, cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return image.Config{}, 0, 0, fmt.Errorf("%s: %w", name, err)
	}
	n := DecodeBytes(f, cfg, format)
	o := 1
	if format == "jpeg" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return image.Config{}, 0, 0, fmt.Errorf("%s: %w", name, err)
		}
		o = jpegOrientation(f)
	}
	if orientSwapsSides(o) {
		n += 4 * int64(cfg.Width) * int64(cfg.Height) // the turned copy (orient)
	}
	if n > MaxDecodeBytes {
		return image.Config{}, 0, 0, fmt.Errorf("%s: %s image is %dx%d (%s) and would take %d bytes to decode, over the limit of %d bytes",
			name, format, cfg.Width, cfg.Height, describe(cfg, format), n, MaxDecodeBytes)
	}
	if orientSwapsSides(o) {
		cfg.Width, cfg.Height = cfg.Height, cfg.Width
	}
	return cfg, n, o, nil
}

// decode checks f's header, waits for room in the decode budget, decodes, (with flat) flattens
// and turns a JPEG as its EXIF orientation says. release gives the budget back; until then the
// bytes count as in use.
func decode(f io.ReadSeeker, name string, maxPixels int, flat bool) (image.Image, func(), error) {
	_, n, o, err := check(f, name, maxPixels)
	if err != nil {
		return nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	b := budget
	units := b.acquire(n)
	release := func() { b.release(units) }
	img, _, err := image.Decode(f)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if flat || o != 1 {
		// A JPEG is opaque, so flattening one that must be turned changes no colour.
		img = flatten(img)
	}
	if o != 1 {
		img = orient(img.(*image.RGBA), o)
	}
	return img, release, nil
}

// flatten puts img on white (model.FlattenOnWhite, the rule the browser's pixels follow too)
// in a new RGBA: converted to non-premultiplied RGBA first, then composited.
func flatten(img image.Image) *image.RGBA {
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	model.FlattenOnWhite(n.Pix)
	return &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
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

// A Preprocessor turns the box of an image into the model's input tensor; *model.Model is one.
type Preprocessor interface {
	PreprocessImage(dst []float32, img image.Image, box image.Rectangle) ([]float32, error)
}

// PreprocessFile is the input tensor of the whole image at path, decoded exactly as EmbedFiles
// decodes what it embeds (LoadImage: maxPixels (0 = MaxPixels) and the decode budget, EXIF
// orientation, transparent pixels on white), so the images `toonid quantize` measures the
// int8 model on look to it as eval and pack build images do.
func PreprocessFile(p Preprocessor, path string, maxPixels int) ([]float32, error) {
	img, release, err := loadFlat(path, maxPixels)
	if err != nil {
		return nil, err
	}
	defer release()
	in, err := p.PreprocessImage(nil, img, img.Bounds())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, nil
}

// loadFlat is LoadImage that keeps the image's share of the decode budget until release.
func loadFlat(path string, maxPixels int) (image.Image, func(), error) {
	f, err := fsutil.OpenRegular(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return decode(f, path, maxPixels, true)
}

// embedOne holds the image's share of the decode budget until it is embedded: the flattened
// copy lives that long.
func embedOne(e Embedder, path string, opts EmbedOptions) ([]float32, error) {
	img, release, err := loadFlat(path, opts.MaxPixels)
	if err != nil {
		return nil, err
	}
	defer release()
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
