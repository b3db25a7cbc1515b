package identify

import (
	"image"
	"math"
	"testing"

	"github.com/toonid/toonid/detect"
	"github.com/toonid/toonid/model"
)

// redDetector is a real detector file of one 1x1 stride-4 convolution: a cell fires where the
// red channel is above one half, with a 4-px box at its 32-px input (16 px on a 128-px frame).
func redDetector(t testing.TB) *detect.Detector {
	t.Helper()
	w := make([]float32, 15)
	w[0] = 20
	g := &model.Graph{InputC: 3, InputH: 32, InputW: 32, Std: [3]float32{1, 1, 1},
		Ops: []model.Op{{Kind: model.OpConv, In: [2]int{0, -1}, Group: 1, StrideH: 4, StrideW: 4, KH: 1, KW: 1,
			Weight: w, WeightShape: []int{5, 3, 1, 1}, Bias: []float32{-10, 0, 0, 0, 0}}}}
	b, err := model.Encode(g, model.EncodeOptions{Kind: model.KindDetector,
		Decode: model.DetectDecode{Scheme: model.DecodeCenter5, Threshold: 0.5, NMS: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// squares is a black side x side frame with 16x16 squares of the given colours at the given
// top-left corners.
func squares(side int, sq map[[2]int][4]byte) []byte {
	pix := make([]byte, 4*side*side)
	for i := 3; i < len(pix); i += 4 {
		pix[i] = 255
	}
	for at, c := range sq {
		for y := at[1]; y < at[1]+16; y++ {
			for x := at[0]; x < at[0]+16; x++ {
				copy(pix[4*(y*side+x):], c[:])
			}
		}
	}
	return pix
}

func TestIdentifyAll(t *testing.T) {
	id, emb := testIdentifier(t, DefaultSearch())
	d := redDetector(t)
	red, white := [4]byte{255, 0, 0, 255}, [4]byte{255, 255, 255, 255}
	tests := []struct {
		name  string
		side  int
		pix   []byte
		boxes [][4]float32
		names []string // "" = unknown
	}{
		{"two faces", 128, squares(128, map[[2]int][4]byte{{32, 32}: red, {80, 80}: white}),
			[][4]float32{{32, 32, 16, 16}, {80, 80, 16, 16}}, []string{"Red", ""}},
		{"blank frame", 128, squares(128, nil), nil, nil},
		{"tiny frame", detect.MinSide - 1, squares(detect.MinSide-1, map[[2]int][4]byte{{4, 4}: red}), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emb.calls = 0
			r, err := id.IdentifyAll(tc.pix, tc.side, tc.side, d, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Faces) != len(tc.boxes) || r.Faces == nil {
				t.Fatalf("%d faces %+v, want %d", len(r.Faces), r.Faces, len(tc.boxes))
			}
			if want := min(1, len(tc.boxes)); emb.calls != want {
				t.Errorf("%d EmbedBatch calls, want %d (all faces in one)", emb.calls, want)
			}
			for i, f := range r.Faces {
				if f.Box != tc.boxes[i] {
					t.Errorf("face %d box %v, want %v", i, f.Box, tc.boxes[i])
				}
				b := tc.boxes[i]
				if c := FaceCrop(detect.Box{X: b[0], Y: b[1], W: b[2], H: b[3]}); f.Crop != [4]int{c.Min.X, c.Min.Y, c.Dx(), c.Dy()} || c.Dx() != 20 {
					t.Errorf("face %d crop %v, want the FaceCropScale square %v", i, f.Crop, c)
				}
				got := ""
				if !f.Unknown {
					got = f.Answers[0].Name
				}
				if got != tc.names[i] || len(f.Answers) != 2 || f.Best != f.Answers[0].Score {
					t.Errorf("face %d: %+v, want %q", i, f, tc.names[i])
				}
			}
			// Detect gives the same boxes, unnamed.
			boxes, err := Detect(tc.pix, tc.side, tc.side, d)
			if err != nil || len(boxes) != len(tc.boxes) {
				t.Fatalf("Detect: %v %v", boxes, err)
			}
		})
	}
}

// The same face answers the same through IdentifyAll and through Identify given its crop.
func TestIdentifyAllMatchesBoxRequest(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	pix := squares(128, map[[2]int][4]byte{{40, 48}: {255, 0, 0, 255}})
	all, err := id.IdentifyAll(append([]byte(nil), pix...), 128, 128, redDetector(t), 3)
	if err != nil || len(all.Faces) != 1 {
		t.Fatalf("%+v %v", all, err)
	}
	c := all.Faces[0].Crop
	box := image.Rect(c[0], c[1], c[0]+c[2], c[1]+c[3])
	one, err := id.Identify(pix, 128, 128, Request{Box: &box, K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if f := all.Faces[0]; math.Abs(float64(f.Best-one.Score)) > 1e-6 || f.Answers[0] != one.Answers[0] || f.Unknown != one.Unknown {
		t.Fatalf("IdentifyAll %+v, Identify %+v", f, one)
	}
}

func TestIdentifyAllBadInput(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	d := redDetector(t)
	for _, tc := range []struct {
		name string
		pix  []byte
		w, h int
	}{
		{"short buffer", make([]byte, 10), 64, 64},
		{"zero size", nil, 0, 0},
		{"huge", nil, MaxSide + 1, 1},
	} {
		if _, err := id.IdentifyAll(tc.pix, tc.w, tc.h, d, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if _, err := Detect(tc.pix, tc.w, tc.h, d); err == nil {
			t.Errorf("%s: Detect: no error", tc.name)
		}
	}
}

// Faces split between two NameFaces calls, each on its own copy of the frame as sent (the
// browser's two workers), answer exactly as IdentifyAll names them in one call. Half of the
// frame is translucent, so the flattening both sides do must agree too.
func TestNameFacesSplitMatchesIdentifyAll(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	d := redDetector(t)
	red := [4]byte{255, 0, 0, 255}
	pix := squares(128, map[[2]int][4]byte{{16, 16}: red, {64, 20}: red, {24, 80}: {255, 0, 0, 200}, {90, 90}: red})
	for i := 3; i < len(pix)/2; i += 8 {
		pix[i] = 100
	}
	all, err := id.IdentifyAll(append([]byte(nil), pix...), 128, 128, d, 3)
	if err != nil || len(all.Faces) < 3 {
		t.Fatalf("IdentifyAll: %d faces, %v", len(all.Faces), err)
	}
	boxes, err := Detect(append([]byte(nil), pix...), 128, 128, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []Face
	for _, share := range [][]detect.Box{boxes[:1], boxes[1:]} {
		f, err := id.NameFaces(append([]byte(nil), pix...), 128, 128, share, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f...)
	}
	if len(got) != len(all.Faces) {
		t.Fatalf("%d faces split, %d in one call", len(got), len(all.Faces))
	}
	for i, f := range got {
		w := all.Faces[i]
		if f.Box != w.Box || f.Crop != w.Crop || f.Unknown != w.Unknown || f.Best != w.Best || len(f.Answers) != len(w.Answers) {
			t.Fatalf("face %d split %+v, in one call %+v", i, f, w)
		}
		for j := range f.Answers {
			if f.Answers[j] != w.Answers[j] {
				t.Errorf("face %d answer %d: split %+v, in one call %+v", i, j, f.Answers[j], w.Answers[j])
			}
		}
	}
	if f, err := id.NameFaces(pix, 128, 128, nil, 3); err != nil || f == nil || len(f) != 0 {
		t.Errorf("no boxes: %v %v, want an empty list", f, err)
	}
}

func TestNameFacesBadBoxes(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	pix := squares(64, nil)
	nan := float32(math.NaN())
	for _, tc := range []struct {
		name  string
		boxes []detect.Box
	}{
		{"left of the frame", []detect.Box{{X: -5, Y: 0, W: 10, H: 10}}},
		{"past the bottom", []detect.Box{{X: 0, Y: 60, W: 10, H: 10}}},
		{"empty", []detect.Box{{X: 1, Y: 1, W: 0, H: 10}}},
		{"NaN", []detect.Box{{X: nan, Y: 1, W: 4, H: 4}}},
		{"huge", []detect.Box{{X: 0, Y: 0, W: 1e30, H: 1e30}}},
		{"too many", make([]detect.Box, MaxFaces+1)},
	} {
		if _, err := id.NameFaces(pix, 64, 64, tc.boxes, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := id.NameFaces(make([]byte, 10), 64, 64, nil, 1); err == nil {
		t.Error("short buffer: no error")
	}
}

// A face no character matches is Doubtful under DoubtfulScore (IdentifyAll and the browser's
// split leave it out); a matched face is not at any detector score, an unmatched one from it up.
func TestNameFacesMarksDoubtful(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	red, white := [4]byte{255, 0, 0, 255}, [4]byte{255, 255, 255, 255}
	pix := squares(128, map[[2]int][4]byte{{16, 16}: red, {80, 80}: white})
	tests := []struct {
		name     string
		box      detect.Box
		doubtful bool
	}{
		{"unknown, low score", detect.Box{X: 80, Y: 80, W: 16, H: 16, Score: DoubtfulScore - 0.1}, true},
		{"unknown, high score", detect.Box{X: 80, Y: 80, W: 16, H: 16, Score: DoubtfulScore}, false},
		{"named, low score", detect.Box{X: 16, Y: 16, W: 16, H: 16, Score: 0.3}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := id.NameFaces(append([]byte(nil), pix...), 128, 128, []detect.Box{tc.box}, 2)
			if err != nil || len(f) != 1 {
				t.Fatalf("NameFaces: %v %v", f, err)
			}
			if f[0].Doubtful != tc.doubtful || f[0].Flat {
				t.Errorf("doubtful %v (unknown %v, score %v, flat %v), want %v", f[0].Doubtful, f[0].Unknown, f[0].Score, f[0].Flat, tc.doubtful)
			}
		})
	}
}

// fixedDetector gives the same boxes for every frame.
type fixedDetector []detect.Box

func (d fixedDetector) Detect(image.Image) ([]detect.Box, error) { return d, nil }

// IdentifyAll leaves a Doubtful face out and keeps a matched one at the same low score.
func TestIdentifyAllDropsDoubtful(t *testing.T) {
	id, _ := testIdentifier(t, DefaultSearch())
	red, white := [4]byte{255, 0, 0, 255}, [4]byte{255, 255, 255, 255}
	pix := squares(128, map[[2]int][4]byte{{16, 16}: red, {80, 80}: white})
	d := fixedDetector{{X: 16, Y: 16, W: 16, H: 16, Score: 0.4}, {X: 80, Y: 80, W: 16, H: 16, Score: 0.4}}
	r, err := id.IdentifyAll(pix, 128, 128, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Faces) != 1 || r.Faces[0].Box != [4]float32{16, 16, 16, 16} || r.Faces[0].Unknown {
		t.Fatalf("faces %+v, want only the matched red one", r.Faces)
	}
}
