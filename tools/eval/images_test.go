package eval

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// meanColour embeds an image as its mean RGB over the box: enough to tell solid colours apart.
type meanColour struct{}

func (meanColour) EmbedImage(img image.Image, box image.Rectangle) ([]float32, error) {
	var s [3]float32
	n := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			s[0] += float32(r)
			s[1] += float32(g)
			s[2] += float32(b)
			n++
		}
	}
	return []float32{s[0] / float32(n), s[1] / float32(n), s[2]/float32(n) + 1}, nil
}

func writePNG(t *testing.T, name string, c color.Color, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if name != "" {
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// hugePNG claims w x h pixels in a valid IHDR (correct CRC) with no image data behind it.
func hugePNG(t *testing.T, name string, w, h uint32) {
	b := writePNG(t, "", color.White, 1, 1)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadImage(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.png")
	writePNG(t, ok, color.NRGBA{255, 0, 0, 255}, 8, 6)
	clear := filepath.Join(dir, "clear.png")
	writePNG(t, clear, color.NRGBA{0, 0, 0, 0}, 4, 4)
	huge := filepath.Join(dir, "huge.png")
	hugePNG(t, huge, 100000, 100000)
	junk := filepath.Join(dir, "junk.png")
	os.WriteFile(junk, []byte("not an image"), 0o644)

	img, err := LoadImage(ok, 0)
	if err != nil || img.Bounds().Dx() != 8 || img.Bounds().Dy() != 6 {
		t.Fatalf("ok.png: %v %v", err, img)
	}
	// Transparent pixels become white.
	img, err = LoadImage(clear, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, a := img.At(1, 1).RGBA(); r != 0xffff || g != 0xffff || b != 0xffff || a != 0xffff {
		t.Errorf("transparent pixel -> %v %v %v %v, want white", r, g, b, a)
	}
	for _, tc := range []struct{ name, want string }{
		{huge, "over the limit"},
		{junk, "junk.png"},
		{filepath.Join(dir, "missing.png"), "missing.png"},
	} {
		if _, err := LoadImage(tc.name, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadImage(ok, 47); err == nil {
		t.Error("48-pixel image accepted under a 47-pixel limit")
	}
}

func TestEmbedFilesReportsEveryBadPath(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i, c := range []color.Color{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{0, 0, 255, 255}} {
		p := filepath.Join(dir, string(rune('a'+i))+".png")
		writePNG(t, p, c, 5, 5)
		paths = append(paths, p)
	}
	calls := 0
	embs, err := EmbedFiles(context.Background(), meanColour{}, paths, EmbedOptions{Workers: 2, Progress: func(d, n int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || embs[0][0] <= embs[0][1] || embs[1][1] <= embs[1][0] {
		t.Fatalf("progress calls %d, embeddings %v", calls, embs)
	}
	bad1, bad2 := filepath.Join(dir, "bad1.png"), filepath.Join(dir, "nope.png")
	os.WriteFile(bad1, []byte("\x89PNG garbage"), 0o644)
	_, err = EmbedFiles(context.Background(), meanColour{}, append(paths, bad1, bad2), EmbedOptions{})
	if err == nil || !strings.Contains(err.Error(), bad1) || !strings.Contains(err.Error(), bad2) || !strings.Contains(err.Error(), "2 of 5") {
		t.Fatalf("err = %v, want both bad paths named", err)
	}
}

func TestReadManifestAndGallery(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.tsv")
	os.WriteFile(m, []byte("path\tidentity\trole\n# comment\na/1.png\tA\tgallery\n/abs/2.png\tA\tprobe\nx.png\tX\tdistractor\n"), 0o644)
	rows, err := ReadManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{filepath.Join(dir, "a/1.png"), "A", Gallery}, {"/abs/2.png", "A", Probe}, {filepath.Join(dir, "x.png"), "X", Distractor}}
	if len(rows) != 3 || rows[0] != want[0] || rows[1] != want[1] || rows[2] != want[2] {
		t.Fatalf("rows %+v", rows)
	}
	g := filepath.Join(dir, "g.tsv")
	os.WriteFile(g, []byte("identity\tpath\tname\tcredit\nsintel\ts.png\tSintel\tBlender\nbob\tb.png\n"), 0o644)
	gr, err := ReadGallery(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(gr) != 2 || gr[0].Label.Name != "Sintel" || gr[0].Label.Credit != "Blender" || gr[1].Label.Name != "bob" || gr[1].Path != filepath.Join(dir, "b.png") {
		t.Fatalf("gallery %+v", gr)
	}
	for _, tc := range []struct{ body, want string }{
		{"path\tidentity\n", "lacks column \"role\""},
		{"path\tidentity\trole\na.png\tA\tjudge\n", "role \"judge\""},
		{"path\tidentity\trole\na.png\t\tprobe\n", "empty \"identity\""},
		{"", "empty file"},
	} {
		os.WriteFile(m, []byte(tc.body), 0o644)
		if _, err := ReadManifest(m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.body, err, tc.want)
		}
	}
}
