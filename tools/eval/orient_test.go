package eval

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// exifAPP1 is an APP1 segment (marker included) holding IFD0 with one orientation entry.
func exifAPP1(bo binary.ByteOrder, orientation uint16) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	binary.Write(&t, bo, uint16(42))
	binary.Write(&t, bo, uint32(8))
	binary.Write(&t, bo, uint16(1))
	binary.Write(&t, bo, uint16(0x0112))
	binary.Write(&t, bo, uint16(3))
	binary.Write(&t, bo, uint32(1))
	binary.Write(&t, bo, orientation)
	binary.Write(&t, bo, uint16(0))
	binary.Write(&t, bo, uint32(0))
	return app1(append([]byte("Exif\x00\x00"), t.Bytes()...))
}

func app1(payload []byte) []byte {
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// quadrantJPEG is a 32x16 JPEG, red top-left, green top-right, blue bottom-left, white
// bottom-right, with the given segments right after SOI.
func quadrantJPEG(t testing.TB, segs ...[]byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 32; x++ {
			c := [2][2]color.RGBA{{{255, 0, 0, 255}, {0, 255, 0, 255}}, {{0, 0, 255, 255}, {255, 255, 255, 255}}}[y/8][x/16]
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, b.Bytes()[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, b.Bytes()[2:]...)
}

// corner names the quadrant colour at a pixel: R, G, B or W.
func corner(img image.Image, x, y int) string {
	r, g, b, _ := img.At(x, y).RGBA()
	hi := func(v uint32) bool { return v > 0xc000 }
	switch {
	case hi(r) && hi(g) && hi(b):
		return "W"
	case hi(r):
		return "R"
	case hi(g):
		return "G"
	case hi(b):
		return "B"
	}
	return "?"
}

// TestEXIFOrientation: a JPEG is decoded turned as its EXIF orientation says, as browsers show
// it (the corners below are the EXIF definitions: 6 is "0th row on the right, 0th column at the
// top", a quarter turn clockwise), for every entry point that decodes images, and CheckImage
// reports the sides as seen.
func TestEXIFOrientation(t *testing.T) {
	want := map[uint16]string{ // top-left, top-right, bottom-left, bottom-right
		1: "RGBW", 2: "GRWB", 3: "WBGR", 4: "BWRG",
		5: "RBGW", 6: "BRWG", 7: "WGBR", 8: "GWRB",
	}
	dir := t.TempDir()
	for o := uint16(1); o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			// An XMP APP1 first: the walk must go on to the EXIF one.
			data := quadrantJPEG(t, app1([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), exifAPP1(bo, o))
			w, h := 32, 16
			if o >= 5 {
				w, h = 16, 32
			}
			cfg, err := CheckImage(bytes.NewReader(data), "x.jpg", 0)
			if err != nil || cfg.Width != w || cfg.Height != h {
				t.Fatalf("orientation %d %v: CheckImage = %dx%d, %v; want %dx%d", o, bo, cfg.Width, cfg.Height, err, w, h)
			}
			path := filepath.Join(dir, "x.jpg")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			dec, err := DecodeImage(bytes.NewReader(data), "x.jpg", 0)
			if err != nil {
				t.Fatal(err)
			}
			load, err := LoadImage(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			asis, err := LoadImageAsIs(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			for name, img := range map[string]image.Image{"DecodeImage": dec, "LoadImage": load, "LoadImageAsIs": asis} {
				b := img.Bounds()
				if b != image.Rect(0, 0, w, h) {
					t.Fatalf("orientation %d %v: %s bounds %v, want %dx%d", o, bo, name, b, w, h)
				}
				got := corner(img, 1, 1) + corner(img, w-2, 1) + corner(img, 1, h-2) + corner(img, w-2, h-2)
				if got != want[o] {
					t.Errorf("orientation %d %v: %s corners %s, want %s", o, bo, name, got, want[o])
				}
			}
		}
	}
	// EmbedFiles (pack build, embed, eval) decodes the same way: the box it is given is in the
	// turned image.
	data := quadrantJPEG(t, exifAPP1(binary.BigEndian, 6))
	path := filepath.Join(dir, "six.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var bounds image.Rectangle
	if _, err := EmbedFiles(t.Context(), embedFunc(func(img image.Image, box image.Rectangle) ([]float32, error) {
		bounds = img.Bounds()
		return []float32{1}, nil
	}), []string{path}, EmbedOptions{}); err != nil {
		t.Fatal(err)
	}
	if bounds != image.Rect(0, 0, 16, 32) {
		t.Errorf("EmbedFiles: image %v, want 16x32", bounds)
	}
}

// TestEXIFOrientationHostile: EXIF blocks that lie (offsets and counts past the end, wrong
// types, values out of range, truncated segments) read as orientation 1, without a panic.
func TestEXIFOrientationHostile(t *testing.T) {
	mm := func(b ...byte) []byte { return app1(append([]byte("Exif\x00\x00MM\x00\x2a"), b...)) }
	cases := map[string][]byte{
		"empty":          app1([]byte("Exif\x00\x00")),
		"bad order":      app1([]byte("Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08")),
		"bad magic":      app1([]byte("Exif\x00\x00MM\x00\x2b\x00\x00\x00\x08")),
		"ifd past end":   mm(0xff, 0xff, 0xff, 0xf0),
		"ifd at zero":    mm(0, 0, 0, 0),
		"count past end": mm(0, 0, 0, 8, 0xff, 0xff, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6),
		"wrong type":     mm(0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 4, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0),
		"many values":    mm(0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0xff, 0xff, 0xff, 0xff, 0, 6, 0, 0, 0, 0, 0, 0),
		"value 9":        mm(0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0),
		"value 0":        mm(0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
	}
	for name, seg := range cases {
		data := quadrantJPEG(t, seg)
		if o := jpegOrientation(bytes.NewReader(data)); o != 1 {
			t.Errorf("%s: orientation %d, want 1", name, o)
		}
		img, err := DecodeImage(bytes.NewReader(data), name, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds() != image.Rect(0, 0, 32, 16) {
			t.Errorf("%s: bounds %v", name, img.Bounds())
		}
	}
	// A segment whose length runs past the end of the file, and files cut anywhere.
	full := quadrantJPEG(t, exifAPP1(binary.LittleEndian, 6))
	for n := 0; n < 64; n++ {
		jpegOrientation(bytes.NewReader(full[:n]))
	}
	if o := jpegOrientation(bytes.NewReader(full)); o != 6 {
		t.Errorf("uncut: orientation %d, want 6", o)
	}
}

// TestEXIFQuarterTurnCounted: a quarter turn needs a second RGBA, and check counts it.
func TestEXIFQuarterTurnCounted(t *testing.T) {
	plain := quadrantJPEG(t)
	turned := quadrantJPEG(t, exifAPP1(binary.BigEndian, 8))
	_, n1, _, err1 := check(bytes.NewReader(plain), "p", 0)
	_, n8, o, err8 := check(bytes.NewReader(turned), "t", 0)
	if err1 != nil || err8 != nil || o != 8 {
		t.Fatal(err1, err8, o)
	}
	if n8-n1 != 4*32*16 {
		t.Errorf("quarter turn adds %d bytes, want %d", n8-n1, 4*32*16)
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(exifAPP1(binary.BigEndian, 6))
	f.Add(exifAPP1(binary.LittleEndian, 3))
	f.Fuzz(func(t *testing.T, seg []byte) {
		o := jpegOrientation(bytes.NewReader(append([]byte{0xff, 0xd8}, seg...)))
		if o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		if len(seg) > 4 {
			exifOrientation(seg[4:])
		}
	})
}
