package live

import (
	"errors"
	"image"
	"math"
	"testing"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/identify"
	"github.com/toonid/toonid/pack"
)

// The test world: flat coloured squares (faces) moving over a grey frame. squareDetector finds
// each square of a known colour; colourEmbedder embeds a crop as its mean colour, so which crop
// matches which character is known in advance.

const fw, fh = 640, 360

type square struct {
	r    image.Rectangle
	rgb  [3]byte
	name string
}

func frame(sq ...square) []byte {
	pix := make([]byte, 4*fw*fh)
	for i := 0; i < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2], pix[i+3] = 128, 128, 128, 255
	}
	for _, s := range sq {
		r := s.r.Intersect(image.Rect(0, 0, fw, fh))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				copy(pix[4*(y*fw+x):], s.rgb[:])
			}
		}
	}
	return pix
}

// squareDetector boxes every pixel run that is not the grey background, per colour.
type squareDetector struct{ calls int }

func (d *squareDetector) Detect(img image.Image) ([]detect.Box, error) {
	d.calls++
	m := img.(*image.RGBA)
	type ext struct{ x0, y0, x1, y1 int }
	boxes := map[[3]byte]*ext{}
	var order [][3]byte
	for y := 0; y < m.Rect.Dy(); y++ {
		for x := 0; x < m.Rect.Dx(); x++ {
			p := m.Pix[m.Stride*y+4*x:]
			c := [3]byte{p[0], p[1], p[2]}
			if c == [3]byte{128, 128, 128} {
				continue
			}
			e, ok := boxes[c]
			if !ok {
				e = &ext{x, y, x + 1, y + 1}
				boxes[c] = e
				order = append(order, c)
			}
			e.x0, e.y0, e.x1, e.y1 = min(e.x0, x), min(e.y0, y), max(e.x1, x+1), max(e.y1, y+1)
		}
	}
	var out []detect.Box
	for _, c := range order {
		e := boxes[c]
		out = append(out, detect.Box{X: float32(e.x0), Y: float32(e.y0), W: float32(e.x1 - e.x0), H: float32(e.y1 - e.y0), Score: 0.9})
	}
	return out, nil
}

type colourEmbedder struct{}

func (colourEmbedder) Preprocess(dst []float32, pix []byte, stride, w, h int, box image.Rectangle) ([]float32, error) {
	r := box.Intersect(image.Rect(0, 0, w, h))
	if r.Empty() {
		return nil, errors.New("crop off the frame")
	}
	var s [3]float64
	n := 0.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := pix[y*stride+4*x:]
			if p[0] == 128 && p[1] == 128 && p[2] == 128 {
				continue // the background, so a crop's colour is its face's
			}
			for ch := range 3 {
				s[ch] += float64(p[ch]) / 255
			}
			n++
		}
	}
	n = max(n, 1)
	return append(dst[:0], float32(s[0]/n), float32(s[1]/n), float32(s[2]/n), 0.05), nil
}

func (colourEmbedder) EmbedBatch(in [][]float32) ([][]float32, error) {
	out := make([][]float32, len(in))
	for i, v := range in {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		out[i] = make([]float32, len(v))
		for j, x := range v {
			out[i][j] = float32(float64(x) / math.Sqrt(n))
		}
	}
	return out, nil
}

var (
	red  = [3]byte{230, 20, 20}
	blue = [3]byte{20, 20, 230}
)

func testMatcher(t testing.TB) *pack.Matcher {
	t.Helper()
	labels := []pack.Label{{ID: "red", Name: "Red", Series: "Colours"}, {ID: "blue", Name: "Blue", Series: "Colours"}}
	embs := [][][]float32{{{0.9, 0.08, 0.08, 0.05}}, {{0.08, 0.08, 0.9, 0.05}}}
	p, err := pack.Build(labels, embs, pack.BuildOptions{Name: "test", ModelSHA256: "0000000000000000000000000000000000000000000000000000000000000001", Threshold: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pack.NewMatcher(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scene at frame f: Red walks right, Blue walks left, crossing mid-way at different heights.
func scene(f int) []square {
	return []square{
		{image.Rect(40+8*f, 60, 40+8*f+80, 140), red, "Red"},
		{image.Rect(520-8*f, 200, 520-8*f+80, 280), blue, "Blue"},
	}
}

func iou(a [4]float64, r image.Rectangle) float64 {
	ix := math.Min(a[0]+a[2], float64(r.Max.X)) - math.Max(a[0], float64(r.Min.X))
	iy := math.Min(a[1]+a[3], float64(r.Max.Y)) - math.Max(a[1], float64(r.Min.Y))
	if ix <= 0 || iy <= 0 {
		return 0
	}
	in := ix * iy
	return in / (a[2]*a[3] + float64(r.Dx()*r.Dy()) - in)
}

func TestLabelsFollowMovingFaces(t *testing.T) {
	for _, every := range []int{1, 3} {
		opt := DefaultOptions()
		opt.Every = every
		det := &squareDetector{}
		st, err := New(det, colourEmbedder{}, testMatcher(t), opt)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]uint64{}
		const frames = 60
		for f := range frames {
			sq := scene(f)
			var pix []byte
			if st.WillDetect(float64(f) * 40) { // the frames between need no pixels
				pix = frame(sq...)
			}
			out, err := st.Step(pix, fw, fh, float64(f)*40)
			if err != nil {
				t.Fatal(err)
			}
			if out.Detected != (f%every == 0) {
				t.Fatalf("every %d, frame %d: detected %v", every, f, out.Detected)
			}
			if f < 2*every { // MinHits detections before a track shows
				continue
			}
			if len(out.Faces) != 2 {
				t.Fatalf("every %d, frame %d: %d faces, want 2: %+v", every, f, len(out.Faces), out.Faces)
			}
			for _, s := range sq {
				found := false
				for _, fc := range out.Faces {
					if fc.Label != s.name {
						continue
					}
					found = true
					if v := iou(fc.Box, s.r); v < 0.7 {
						t.Errorf("every %d, frame %d: %s's box %v vs true %v: IoU %.2f", every, f, s.name, fc.Box, s.r, v)
					}
					if id, ok := ids[s.name]; ok && id != fc.ID {
						t.Errorf("every %d, frame %d: %s changed track %d -> %d", every, f, s.name, id, fc.ID)
					}
					ids[s.name] = fc.ID
					if c := fc.Crop; c[2] != c[3] || math.Abs(float64(c[2])-identify.FaceCropScale*max(fc.Box[2], fc.Box[3])) > 1 {
						t.Errorf("every %d, frame %d: crop %v of box %v: want identify.FaceCrop's square", every, f, c, fc.Box)
					}
					if fc.Series != "Colours" || fc.CharID == "" || fc.Score < 0.9 {
						t.Errorf("every %d, frame %d: %+v", every, f, fc)
					}
				}
				if !found {
					t.Errorf("every %d, frame %d: no face labelled %s: %+v", every, f, s.name, out.Faces)
				}
			}
		}
		if want := (frames + every - 1) / every; det.calls != want {
			t.Errorf("every %d: detector ran %d times, want %d", every, det.calls, want)
		}
	}
}

func TestUnknownFaceIsQuestionMark(t *testing.T) {
	st, err := New(&squareDetector{}, colourEmbedder{}, testMatcher(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	green := square{image.Rect(100, 100, 180, 180), [3]byte{20, 230, 20}, ""}
	var out Frame
	for f := range 4 {
		if out, err = st.Step(frame(green), fw, fh, float64(f)*40); err != nil {
			t.Fatal(err)
		}
	}
	if len(out.Faces) != 1 || out.Faces[0].Label != Unknown || out.Faces[0].CharID != "" {
		t.Fatalf("faces %+v, want one %q", out.Faces, Unknown)
	}
}

func TestSeekBackStartsOver(t *testing.T) {
	st, err := New(&squareDetector{}, colourEmbedder{}, testMatcher(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	step := func(f int, tm float64) Frame {
		out, err := st.Step(frame(scene(f)...), fw, fh, tm)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for f := range 5 {
		step(f, 1000+float64(f)*40)
	}
	first := step(5, 1200).Faces[0].ID
	// Back to 0 ms: the old tracks are gone; the new ones show after MinHits frames.
	if out := step(0, 0); len(out.Faces) != 0 {
		t.Fatalf("after a seek back: %+v, want nothing shown yet", out.Faces)
	}
	if out := step(1, 40); len(out.Faces) != 2 || out.Faces[0].ID <= first {
		t.Fatalf("after a seek back: %+v, want 2 new tracks", out.Faces)
	}
}

func TestBadInputIsAnErrorAndChangesNothing(t *testing.T) {
	if _, err := New(&squareDetector{}, colourEmbedder{}, testMatcher(t), Options{Every: 0, K: 5, MaxFaces: 6}); !errors.Is(err, ErrOptions) {
		t.Errorf("Every 0: %v", err)
	}
	if _, err := New(nil, colourEmbedder{}, testMatcher(t), DefaultOptions()); err == nil {
		t.Error("nil detector accepted")
	}
	st, err := New(&squareDetector{}, colourEmbedder{}, testMatcher(t), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	good := frame(scene(0)...)
	for _, tc := range []struct {
		name string
		pix  []byte
		w, h int
		t    float64
	}{
		{"short pixels", good[:100], fw, fh, 0},
		{"zero size", nil, 0, 0, 0},
		{"NaN time", good, fw, fh, math.NaN()},
		{"negative time", good, fw, fh, -1},
		{"infinite time", good, fw, fh, math.Inf(1)},
	} {
		if _, err := st.Step(tc.pix, tc.w, tc.h, tc.t); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if st.n != 0 {
		t.Errorf("a refused frame counted: n = %d", st.n)
	}
	if _, err := st.Step(nil, fw, fh, 0); err == nil {
		t.Error("a detector frame without pixels accepted")
	}
}

// boxDetector finds the same box on every frame, whatever it shows.
type boxDetector struct{ b detect.Box }

func (d boxDetector) Detect(image.Image) ([]detect.Box, error) { return []detect.Box{d.b}, nil }

// A detection on flat grey (a false alarm on sky or a wall) is dropped before it costs an
// embedding, as identify.IdentifyAll drops it; with FlatEdge 0 it is shown as "?".
func TestFlatDetectionIsDropped(t *testing.T) {
	det := boxDetector{detect.Box{X: 300, Y: 100, W: 80, H: 80, Score: 0.9}}
	for _, flatEdge := range []float32{identify.FlatEdge, 0} {
		opt := DefaultOptions()
		opt.FlatEdge = flatEdge
		st, err := New(det, colourEmbedder{}, testMatcher(t), opt)
		if err != nil {
			t.Fatal(err)
		}
		var out Frame
		for f := range 4 { // a track is shown once confirmed
			if out, err = st.Step(frame(), fw, fh, float64(f)*40); err != nil {
				t.Fatal(err)
			}
		}
		if want := btoi(flatEdge == 0); out.Detections != want || len(out.Faces) != want {
			t.Errorf("FlatEdge %v: %d detections, faces %+v; want %d", flatEdge, out.Detections, out.Faces, want)
		}
	}
	opt := DefaultOptions()
	opt.FlatEdge = -1
	if _, err := New(det, colourEmbedder{}, testMatcher(t), opt); err == nil {
		t.Error("FlatEdge -1 accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
