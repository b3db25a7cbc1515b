package pack

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// testJPEG is a w x h JPEG of one colour.
func testJPEG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Thumbnails go through WriteDir and come back from the directory verified, byte for byte;
// a label without one stays without.
func TestThumbnailRoundTrip(t *testing.T) {
	p, _ := smallPack(t)
	red, blue := testJPEG(t, 8, 8, color.RGBA{200, 30, 30, 255}), testJPEG(t, 8, 8, color.RGBA{30, 30, 200, 255})
	for id, b := range map[string][]byte{p.Labels[0].ID: red, p.Labels[2].ID: blue} {
		if err := p.SetThumbnail(id, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SetThumbnail("nobody", red); err == nil {
		t.Error("SetThumbnail for an unknown label: no error")
	}
	if err := p.SetThumbnail(p.Labels[1].ID, []byte("GIF89a")); err == nil || !strings.Contains(err.Error(), "not a JPEG") {
		t.Errorf("SetThumbnail of a non-JPEG: %v", err)
	}
	dir := t.TempDir()
	if _, err := p.WriteDir(dir, EncodeOptions{}); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	m, err := ReadManifest(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenManifest(m, fsys, OpenOptions{ModelSHA256: testModel}); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{red, nil, blue, nil} {
		l := m.Labels[i]
		if want != nil && l.Thumbnail != ThumbnailName(want) {
			t.Errorf("label %d thumbnail %q, want %q", i, l.Thumbnail, ThumbnailName(want))
		}
		got, err := ReadThumbnail(fsys, l)
		if err != nil {
			t.Fatalf("label %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("label %d: thumbnail bytes differ (%d vs %d)", i, len(got), len(want))
		}
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "*.jpg")); len(n) != 2 {
		t.Errorf("%d .jpg files written, want 2", len(n))
	}
}

// Each way a thumbnail can be wrong is refused when it is read (and a pack whose label names a
// thumbnail it does not hold is not written).
func TestThumbnailRejects(t *testing.T) {
	good := testJPEG(t, 8, 8, color.RGBA{10, 200, 10, 255})
	name := ThumbnailName(good)
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)/2] ^= 1
	notJPEG := []byte("\x89PNG\r\n\x1a\n not a jpeg")
	huge := append(append([]byte(nil), good[:len(good)-2]...), make([]byte, MaxThumbnailBytes)...)
	tests := []struct {
		name  string
		file  string // the label's thumbnail
		bytes []byte // what the directory holds under that name (nil: nothing)
		want  string
	}{
		{"missing", name, nil, "file does not exist"},
		{"tampered", name, tampered, "sha256 mismatch"},
		{"not a jpeg", ThumbnailName(notJPEG), notJPEG, "not a JPEG"},
		{"over the limit", ThumbnailName(huge), huge, "larger than the limit"},
		{"not content-addressed", "red.jpg", good, "want <sha256>.jpg"},
		{"traversal", "../" + name, good, "want <sha256>.jpg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			if tc.bytes != nil {
				fsys[strings.TrimPrefix(tc.file, "../")] = &fstest.MapFile{Data: tc.bytes}
			}
			_, err := ReadThumbnail(fsys, Label{ID: "x", Thumbnail: tc.file})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if err := CheckThumbnail(name, good); err != nil {
		t.Errorf("CheckThumbnail(good) = %v", err)
	}
	p, _ := smallPack(t)
	p.Labels[0].Thumbnail = name // named, never set
	if _, _, err := p.Encode(EncodeOptions{}); err == nil || !strings.Contains(err.Error(), "does not hold") {
		t.Errorf("Encode with a thumbnail the pack does not hold: %v", err)
	}
}
