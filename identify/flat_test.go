package identify

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/toonid/toonid/model"
)

// rgbaFile decodes an image file to flattened RGBA, as the browser and `toonid identify` see it.
func rgbaFile(t testing.TB, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// NRGBA (non-premultiplied) as a canvas gives it; FlattenOnWhite puts transparency on white.
	img := image.NewNRGBA(src.Bounds().Sub(src.Bounds().Min))
	draw.Draw(img, img.Bounds(), src, src.Bounds().Min, draw.Src)
	model.FlattenOnWhite(img.Pix)
	return &image.RGBA{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect}
}

func wholeEdge(t testing.TB, path string) float32 {
	img := rgbaFile(t, path)
	return EdgeStrength(img.Pix, img.Rect.Dx(), img.Rect.Dy(), img.Rect)
}

// manifestPaths lists a manifest's image paths (first column, relative to its folder).
func manifestPaths(t testing.TB, manifest string) []string {
	t.Helper()
	f, err := os.Open(manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p, _, _ := strings.Cut(sc.Text(), "\t")
		if p == "" || p == "path" {
			continue
		}
		out = append(out, filepath.Join(filepath.Dir(manifest), p))
	}
	return out
}

// TestFlatGate keeps the measurements FlatEdge rests on: every hand-cut face crop of the
// real-art validation set and both test images' faces pass with room to spare, and the Sintel
// test frame's out-of-focus background, where the click search named a sprite, is flat.
func TestFlatGate(t *testing.T) {
	root := filepath.Join("..", "tools", "gallery")
	var faces []float32
	for _, p := range manifestPaths(t, filepath.Join(root, "realval", "manifest.tsv")) {
		e := wholeEdge(t, p)
		if e < 2*FlatEdge {
			t.Errorf("%s: edge strength %.3f, want at least %.3f (twice FlatEdge)", p, e, 2*FlatEdge)
		}
		faces = append(faces, e)
	}
	if len(faces) < 150 {
		t.Fatalf("%d realval crops, want the whole set", len(faces))
	}
	slices.Sort(faces)
	t.Logf("realval: %d crops, edge strength min %.3f, median %.3f", len(faces), faces[0], faces[len(faces)/2])

	sintel := rgbaFile(t, filepath.Join(root, "testimages", "sintel_trailer_048.jpg"))
	pepper := rgbaFile(t, filepath.Join(root, "testimages", "pepper_sample.jpg"))
	for _, c := range []struct {
		name string
		img  *image.RGBA
		box  image.Rectangle
	}{
		{"Sintel's face", sintel, image.Rect(296, 69, 296+219, 69+219)},
		{"Sintel's face, 2x", sintel, image.Rect(296-110, 69-110, 296+219+110, 69+219+110)},
		{"Pepper's face", pepper, image.Rect(167, 75, 167+140, 75+140)},
		{"Pepper's face, 2x", pepper, image.Rect(167-70, 75-70, 167+140+70, 75+140+70)},
	} {
		if e := EdgeStrength(c.img.Pix, c.img.Rect.Dx(), c.img.Rect.Dy(), c.box); e < 2*FlatEdge {
			t.Errorf("%s: edge strength %.3f, want at least %.3f", c.name, e, 2*FlatEdge)
		}
	}
	// The background left of Sintel (x < 190): the click search's smaller crops there.
	flat := 0
	var bg []float32
	for _, x := range []int{30, 90, 150} {
		for _, y := range []int{150, 210, 270, 330} {
			for _, side := range []int{106, 163} {
				b := image.Rect(x-side/2, y-side/2, x+side/2, y+side/2).Intersect(sintel.Rect)
				e := EdgeStrength(sintel.Pix, sintel.Rect.Dx(), sintel.Rect.Dy(), b)
				bg = append(bg, e)
				if e < FlatEdge {
					flat++
				}
			}
		}
	}
	slices.Sort(bg)
	t.Logf("Sintel background: %d of %d crops flat, edge strength median %.3f, max %.3f", flat, len(bg), bg[len(bg)/2], bg[len(bg)-1])
	if flat < len(bg)*2/3 {
		t.Errorf("only %d of %d background crops are flat (edge strengths %v)", flat, len(bg), bg)
	}
}

// TestFlatStats prints edge strengths over the manifests in TOONID_FLAT_MANIFESTS
// (comma-separated; the training data's eval sets, which tests cannot rely on): how FlatEdge
// was measured.
func TestFlatStats(t *testing.T) {
	env := os.Getenv("TOONID_FLAT_MANIFESTS")
	if env == "" {
		t.Skip("TOONID_FLAT_MANIFESTS not set")
	}
	for _, m := range strings.Split(env, ",") {
		by := map[string][]float32{}
		for _, p := range manifestPaths(t, m) {
			group := filepath.Base(filepath.Dir(p))
			by[group] = append(by[group], wholeEdge(t, p))
		}
		for g, v := range by {
			slices.Sort(v)
			below, _ := slices.BinarySearch(v, FlatEdge)
			fmt.Printf("%s %-12s n=%5d min %.3f p1 %.3f median %.3f, %d under FlatEdge\n", filepath.Base(m), g, len(v), v[0], v[len(v)/100], v[len(v)/2], below)
		}
	}
}

func TestEdgeStrengthEdges(t *testing.T) {
	w, h := 100, 80
	pix := make([]byte, 4*w*h)
	for i := range pix {
		pix[i] = 200
	}
	if e := EdgeStrength(pix, w, h, image.Rect(0, 0, w, h)); e > 1e-6 {
		t.Errorf("one flat colour: edge strength %v, want 0 (to rounding)", e)
	}
	// A black cross on the flat colour has edges both ways.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x >= 48 && x < 52 || y >= 38 && y < 42 {
				copy(pix[4*(y*w+x):], []byte{0, 0, 0, 255})
			}
		}
	}
	if e := EdgeStrength(pix, w, h, image.Rect(0, 0, w, h)); e < 1 {
		t.Errorf("a black cross: edge strength %v, want >= 1", e)
	}
	for _, b := range []image.Rectangle{image.Rect(200, 200, 300, 300), {}, image.Rect(-50, -50, 0, 0)} {
		if e := EdgeStrength(pix, w, h, b); e != 0 {
			t.Errorf("box %v outside the image: %v, want 0", b, e)
		}
	}
	// One straight edge (a letterbox bar, a horizon) is not a face's strokes: flat.
	bar := make([]byte, 4*w*h)
	for i := range bar {
		bar[i] = 200
		if i >= 4*w*h/2 {
			bar[i] = 0
		}
	}
	if e := EdgeStrength(bar, w, h, image.Rect(0, 0, w, h)); e > 1e-6 {
		t.Errorf("one horizontal edge: edge strength %v, want 0", e)
	}
	// Boxes smaller than FlatSide and partly outside are read, not refused.
	if e := EdgeStrength(pix, w, h, image.Rect(40, 10, 60, 70)); e < 1 {
		t.Errorf("a 20x60 box on the cross: %v, want >= 1", e)
	}
	if e := EdgeStrength(pix, w, h, image.Rect(90, 70, 140, 120)); e > 1e-6 {
		t.Errorf("a corner box on flat colour: %v, want 0", e)
	}
}

// flatIdentifier is testIdentifier with DefaultSearch's flat gate on.
func flatIdentifier(t *testing.T) (*Identifier, *colourEmbedder) {
	id, e := testIdentifier(t, DefaultSearch())
	return New(e, id.match, DefaultSearch()), e
}

// TestFlatCropsAreNotMatched: with the gate on, a click search whose crops are all flat colour
// is answered Flat (unknown, no answers, the matcher's threshold) without an embedding; crops
// with an edge are matched as before; a box the caller gives is never gated; a shared search
// still answers as the whole one; IdentifyAll drops flat faces and NameFaces marks them.
func TestFlatCropsAreNotMatched(t *testing.T) {
	id, e := flatIdentifier(t)
	pix, w, h := scene() // grey, a red 100x100 square at (200, 100)
	ask := func(r Request) Reply {
		t.Helper()
		rep, err := id.Identify(append([]byte(nil), pix...), w, h, r)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	e.calls = 0
	r := ask(Request{Click: &Click{X: 40, Y: 250, Unit: 150}}) // no crop reaches the square
	if !r.Flat || !r.Unknown || len(r.Answers) != 0 || r.Score != 0 || r.Threshold != 0.9 || r.Candidates == 0 || e.calls != 0 {
		t.Errorf("click on the grey: %+v after %d EmbedBatch calls, want Flat, unknown, no answers, threshold 0.9, no embedding", r, e.calls)
	}
	inside, border := image.Rect(210, 110, 290, 190), image.Rect(190, 90, 310, 210)
	if r := ask(Request{Box: &inside}); r.Flat || r.Unknown || r.Answers[0].ID != "red" {
		t.Errorf("box inside the red square: %+v, want Red: a box the caller gives is not gated", r)
	}
	if r := ask(Request{Box: &border}); r.Flat || r.Unknown || len(r.Answers) == 0 || r.Answers[0].ID != "red" {
		t.Errorf("box around the red square's edges: %+v, want Red", r)
	}
	e.crops = 0
	if r := ask(Request{Click: &Click{X: 250, Y: 150, Unit: 300}}); r.Flat || r.Unknown || r.Answers[0].ID != "red" || e.crops >= r.Candidates {
		t.Errorf("click on the red square: %+v, %d crops embedded; want Red, the flat crops inside not embedded", r, e.crops)
	}
	for _, c := range []Click{{40, 250, 150}, {40, 40, 300}, {250, 150, 300}, {205, 105, 300}, {399, 0, 300}} {
		whole := ask(Request{Click: &c, K: 3})
		for _, of := range []int{2, 3} {
			got := mergeParts(t, id, pix, w, h, c, of)
			if got.Box != whole.Box || got.Score != whole.Score || got.Flat != whole.Flat || got.Candidates != whole.Candidates || fmt.Sprint(got.Answers) != fmt.Sprint(whole.Answers) {
				t.Errorf("click %v in %d parts: %+v, whole search %+v", c, of, got, whole)
			}
		}
	}

	// A red frame with one dark dot: the detector fires on the red, and only the crops that
	// reach the dot have an edge.
	side := 128
	frame := squares(side, nil)
	for i := 0; i < len(frame); i += 4 {
		copy(frame[i:], []byte{255, 0, 0, 255})
	}
	for y := 60; y < 64; y++ {
		for x := 60; x < 64; x++ {
			copy(frame[4*(y*side+x):], []byte{0, 0, 0, 255})
		}
	}
	d := redDetector(t)
	boxes, err := Detect(append([]byte(nil), frame...), side, side, d)
	if err != nil || len(boxes) == 0 {
		t.Fatalf("detect: %d boxes, %v", len(boxes), err)
	}
	named, err := id.NameFaces(append([]byte(nil), frame...), side, side, boxes[:min(len(boxes), MaxFaces)], 2)
	if err != nil {
		t.Fatal(err)
	}
	flat := 0
	for _, f := range named {
		if f.Flat {
			flat++
			if len(f.Answers) != 0 || !f.Unknown || f.Best != 0 {
				t.Errorf("flat face %+v: want no answers, unknown, best 0", f)
			}
		}
	}
	all, err := id.IdentifyAll(append([]byte(nil), frame...), side, side, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if flat == 0 || len(all.Faces) != len(named)-flat {
		t.Errorf("%d faces named, %d flat; IdentifyAll kept %d, want the %d with an edge", len(named), flat, len(all.Faces), len(named)-flat)
	}
	for _, f := range all.Faces {
		if f.Flat {
			t.Errorf("IdentifyAll kept a flat face %+v", f)
		}
	}
	if _, err := json.Marshal(named); err != nil {
		t.Errorf("NameFaces' reply does not encode: %v", err)
	}
}

// IsFlat counts where EdgeStrength sorts: the two agree, also at a threshold equal to a crop's
// edge strength (not flat) and just above it (flat).
func TestIsFlatIsEdgeStrengthBelow(t *testing.T) {
	img := rgbaFile(t, filepath.Join("..", "tools", "gallery", "testimages", "sintel_trailer_048.jpg"))
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for i := 0; i < 60; i++ {
		side := 20 + i*13%400
		box := image.Rect(i*37%w-side/3, i*53%h-side/3, i*37%w-side/3+side, i*53%h-side/3+side)
		e := EdgeStrength(img.Pix, w, h, box)
		for _, tc := range []struct {
			t    float32
			flat bool
		}{{e, false}, {math.Nextafter32(e, 10), true}, {FlatEdge, e < FlatEdge}} {
			if tc.t <= 0 {
				continue
			}
			if got := IsFlat(img.Pix, w, h, box, tc.t); got != tc.flat {
				t.Errorf("box %v, edge strength %v, FlatEdge %v: IsFlat %v, want %v", box, e, tc.t, got, tc.flat)
			}
		}
	}
}

// BenchmarkIsFlat is the gate's cost per crop, on the Sintel frame: the click search's smallest
// and largest coarse crops (a click measures up to 10).
func BenchmarkIsFlat(b *testing.B) {
	img := rgbaFile(b, filepath.Join("..", "tools", "gallery", "testimages", "sintel_trailer_048.jpg"))
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for _, side := range []int{346, 106, 346} { // 346 first again: the first run warms a wasm JIT
		b.Run(fmt.Sprintf("side%d", side), func(b *testing.B) {
			for b.Loop() {
				IsFlat(img.Pix, w, h, image.Rect(300, 60, 300+side, 60+side), FlatEdge)
			}
		})
	}
}
