package collect

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/toonid/toonid/model"
	"github.com/toonid/toonid/model/shipped"
)

// galleryImg is the open art of the default pack (tools/gallery/img): real cartoon characters.
const galleryImg = "../gallery/img"

var (
	shippedOnce  sync.Once
	shippedModel *model.Model
	shippedErr   error
)

// testModel is the shipped model (the same one the CLI uses by default).
func testModel(t testing.TB) *model.Model {
	t.Helper()
	shippedOnce.Do(func() { shippedModel, shippedErr = model.Load(shipped.Model) })
	if shippedErr != nil {
		t.Fatalf("shipped model: %v", shippedErr)
	}
	return shippedModel
}

// copyFiles copies gallery images (paths relative to tools/gallery/img) into dir under their base
// names, or under the names given after "=" ("supertux/owl_left-0.png=a/owl0.png").
func copyFiles(t testing.TB, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		src, dst, ok := strings.Cut(f, "=")
		if !ok {
			dst = filepath.Base(f)
		}
		b, err := os.ReadFile(filepath.Join(galleryImg, src))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, dst), b)
	}
}

func writeFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// solidPNG is a w x h PNG of one colour.
func solidPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var owls = []string{"supertux/owl_left-0.png", "supertux/owl_left-1.png", "supertux/owl_left-2.png", "supertux/owl_left-3.png"}
var bombs = []string{"supertux/mr_bomb_bomb1.png", "supertux/mr_bomb_bomb3.png", "supertux/mr_bomb_bomb5.png", "supertux/mr_bomb_bomb7.png"}

// twoCharacters writes the four owl and four Mr. Bomb sprites of SuperTux into a new folder.
func twoCharacters(t testing.TB) string {
	dir := t.TempDir()
	copyFiles(t, dir, append(append([]string{}, owls...), bombs...)...)
	return dir
}
