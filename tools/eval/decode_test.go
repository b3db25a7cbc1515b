package eval

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toonid/toonid/internal/memtest"
)

// allocated is memtest.Allocated: the bytes f allocates.
var allocated = memtest.Allocated

// pngHeader is a 1x1 RGBA PNG whose IHDR (CRC fixed) claims w x h, the bit depth, colour type
// and interlace given: its IDAT holds one pixel, so a decoder that trusts the header allocates
// the whole image before it finds the data short.
func pngHeader(t *testing.T, w, h uint32, depth, colourType, interlace byte) []byte {
	b := writePNG(t, "", color.White, 1, 1)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	b[24], b[25], b[28] = depth, colourType, interlace
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// jpegHeader is a small baseline JPEG from image/jpeg (4:2:0) with its frame header turned
// into w x h, progressive when asked.
func jpegHeader(t *testing.T, w, h uint16, progressive bool) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	if progressive {
		b[i+1] = 0xc2
	}
	return b
}

// TestDecodeBytesFirst: a 16-bit PNG under the pixel cap (6324^2 = 40 M pixels, 8 bytes each
// decoded) was decoded: 320 MB allocated for a 57-byte header (574 MB peak RSS for `toonid
// embed` on a valid 232 kB one). Now the header's bytes are checked first.
func TestDecodeBytesFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"8-bit RGBA 6324^2", pngHeader(t, 6324, 6324, 8, 6, 0), true},
		{"16-bit RGBA 5000^2", pngHeader(t, 5000, 5000, 16, 6, 0), true},
		{"16-bit RGBA 6324^2", pngHeader(t, 6324, 6324, 16, 6, 0), false},
		{"16-bit RGB 6324^2", pngHeader(t, 6324, 6324, 16, 2, 0), false},
		{"16-bit grey 6324^2", pngHeader(t, 6324, 6324, 16, 0, 0), false},
		{"interlaced 8-bit 6324^2", pngHeader(t, 6324, 6324, 8, 6, 1), false},
		{"baseline JPEG 6324^2", jpegHeader(t, 6324, 6324, false), true},
		{"progressive JPEG 6000x4000", jpegHeader(t, 6000, 4000, true), true},
		{"progressive JPEG 6324^2", jpegHeader(t, 6324, 6324, true), false},
		{"8-bit RGBA 20000000x2", pngHeader(t, 20_000_000, 2, 8, 6, 0), false}, // two 80 MB rows on top
	} {
		_, err := CheckImage(bytes.NewReader(tc.b), tc.name, 0)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "limit of "+strconv.Itoa(MaxDecodeBytes)+" bytes") {
			t.Errorf("%s: err = %v, want the decode byte limit", tc.name, err)
		}
		got := allocated(func() { _, err = DecodeImage(bytes.NewReader(tc.b), tc.name, 0) })
		if err == nil || !strings.Contains(err.Error(), "bytes to decode") {
			t.Errorf("%s: DecodeImage err = %v", tc.name, err)
		}
		if got > 256<<10 {
			t.Errorf("%s: DecodeImage allocated %d bytes before refusing", tc.name, got)
		}
	}
}

// TestDecodeBytesBoundsTheDecoder: what DecodeBytes counts is at least what decoding and
// flattening real images allocates, for each kind of image the tools read.
func TestDecodeBytesBoundsTheDecoder(t *testing.T) {
	const w, h = 301, 203
	rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(i * 7)
	}
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	conv := func(dst draw.Image) image.Image {
		draw.Draw(dst, dst.Bounds(), rgba, image.Point{}, draw.Src)
		return dst
	}
	var jb, jg, gb bytes.Buffer
	jpeg.Encode(&jb, rgba, nil)
	jpeg.Encode(&jg, conv(image.NewGray(rgba.Rect)), nil)
	gif.Encode(&gb, rgba, nil)
	pal := image.NewPaletted(rgba.Rect, color.Palette{color.Black, color.White, color.NRGBA{255, 0, 0, 128}})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"png NRGBA", enc(rgba)},
		{"png RGBA64", enc(conv(image.NewRGBA64(rgba.Rect)))},
		{"png NRGBA64", enc(conv(image.NewNRGBA64(rgba.Rect)))},
		{"png Gray", enc(conv(image.NewGray(rgba.Rect)))},
		{"png Gray16", enc(conv(image.NewGray16(rgba.Rect)))},
		{"png paletted", enc(conv(pal))},
		{"jpeg 4:2:0", jb.Bytes()},
		{"jpeg grey", jg.Bytes()},
		{"gif", gb.Bytes()},
	} {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(tc.b))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := DecodeBytes(bytes.NewReader(tc.b), cfg, format)
		got := allocated(func() {
			img, _, err := image.Decode(bytes.NewReader(tc.b))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			flatten(img)
		})
		if int64(got) > want {
			t.Errorf("%s: decoding allocated %d bytes, DecodeBytes said %d", tc.name, got, want)
		}
		t.Logf("%-24s allocated %8d, counted %8d", tc.name, got, want)
	}
}

type embedFunc func(image.Image, image.Rectangle) ([]float32, error)

func (f embedFunc) EmbedImage(img image.Image, box image.Rectangle) ([]float32, error) {
	return f(img, box)
}

// TestEmbedFilesDecodeBudget: EmbedFiles held one decoded image per worker (GOMAXPROCS: six
// 16-bit bombs in `pack build` took 1.75 GB); now an image holds its DecodeBytes of the
// process's decode budget until it is embedded, so with room for two, two are held at a time
// whatever the worker count.
func TestEmbedFilesDecodeBudget(t *testing.T) {
	old := budget
	budget = newMemBudget(2 * budgetUnit) // each 64x64 image rounds up to one unit
	defer func() { budget = old }()
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 16; i++ {
		p := filepath.Join(dir, strconv.Itoa(i)+".png")
		writePNG(t, p, color.NRGBA{byte(i), 0, 0, 255}, 64, 64)
		paths = append(paths, p)
	}
	var cur, peak atomic.Int32
	var over atomic.Bool
	e := embedFunc(func(img image.Image, box image.Rectangle) ([]float32, error) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if budget.inUse() > 2*budgetUnit {
			over.Store(true)
		}
		time.Sleep(10 * time.Millisecond) // lets the other workers pile up if nothing stops them
		cur.Add(-1)
		return []float32{1, 0}, nil
	})
	if _, err := EmbedFiles(context.Background(), e, paths, EmbedOptions{Workers: 8}); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 2 || over.Load() {
		t.Errorf("%d images held at once (budget over: %v), want at most 2", p, over.Load())
	}
	if budget.inUse() != 0 {
		t.Errorf("%d bytes of the budget still held after EmbedFiles", budget.inUse())
	}
}
